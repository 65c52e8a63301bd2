"""messages.svg: a Lamport diagram of a run's messages, as Maelstrom draws one.

One column per node and per client (nodes first), time running down; each message an arrow from
its sender's column at the send to its receiver's column at the delivery, coloured by body type
(legend at the top). A message the network never delivered (a partition's grudge, loss) ends in
a red cross just below its send, and partition periods are bands down the left margin, so a
partition's effect shows as a run of crosses beside its band. Rows are the distinct event times
in order (a quiet second takes no room), with the workload time (ms) every few rows.

The journal is streamed: only the first `limit` messages sent inside the window (workload
seconds; default: from the start) are kept, and reading stops once their deliveries are all seen
or the journal is `horizon` seconds past the last of them, so a 14 MB journal costs no more
than its first part.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import orjson

from maelstrom.reports.load import Period, journal_lines, workload_start

__all__ = ["Msg", "select", "render", "PALETTE"]

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd"]
COLUMN, ROW, TOP, LEFT = 80, 12, 70, 70
LOST_DROP = 18   # px below the send where an undelivered message's cross is drawn


@dataclass
class Msg:
    id: Any
    src: str          # the column it leaves from (the printing node for a relayed message)
    dest: str
    type: str
    sent: float       # workload seconds
    received: float | None
    text: str         # body excerpt for the tooltip


def _natural(name: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def select(run_dir: Path, limit: int = 1000,
           window: tuple[float | None, float | None] = (None, None),
           horizon: float = 10.0) -> tuple[list[Msg], float]:
    """The first `limit` messages sent within `window`; returns them and the workload start."""
    start = workload_start(run_dir)
    lo, hi = window
    chosen: dict[Any, Msg] = {}
    order: list[Msg] = []
    waiting = 0
    last_sent = None
    for d in journal_lines(run_dir):
        kind = d.get("type")
        t = d.get("time")
        if not isinstance(t, (int, float)) or kind not in ("send", "recv"):
            continue
        t = t / 1e9 - start
        msg = d.get("message")
        if kind == "send":
            if len(order) >= limit:
                if last_sent is not None and (waiting == 0 or t > last_sent + horizon):
                    break
                continue
            if (lo is not None and t < lo) or (hi is not None and t > hi):
                if hi is not None and t > hi + horizon:
                    break
                continue
            if type(msg) is not dict or d.get("id") in chosen:
                continue
            body = msg.get("body")
            type_ = body.get("type") if type(body) is dict else None
            src = d.get("via") or msg.get("src")
            m = Msg(d.get("id"), str(src), str(msg.get("dest")), str(type_ or "(no type)"), t,
                    None, orjson.dumps(body)[:240].decode("utf-8", "replace"))
            chosen[m.id] = m
            order.append(m)
            waiting += 1
            last_sent = t
        else:
            m = chosen.get(d.get("id"))
            if m is not None and m.received is None:
                m.received = t
                waiting -= 1
    return order, start


def _data(m: Msg) -> str:
    return (f'data-type="{escape(m.type)}" data-src="{escape(m.src)}" '
            f'data-dest="{escape(m.dest)}" data-sent="{m.sent:.6f}"')


def render(msgs: list[Msg], periods: list[Period], title: str = "messages") -> str:
    """The diagram as a standalone SVG document."""
    nodes = sorted({m.src for m in msgs} | {m.dest for m in msgs},
                   key=lambda n: (not n.startswith("n"), _natural(n)))
    col = {n: LEFT + COLUMN * i + COLUMN / 2 for i, n in enumerate(nodes)}
    times = sorted({m.sent for m in msgs} | {m.received for m in msgs if m.received is not None})
    row = {t: TOP + 30 + ROW * i for i, t in enumerate(times)}
    bottom = TOP + 30 + ROW * max(len(times), 1) + LOST_DROP + 20
    width = max(LEFT + COLUMN * max(len(nodes), 1) + 20, 600)
    types = sorted({m.type for m in msgs})
    colour = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(types)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{bottom}" '
           f'font-family="sans-serif" font-size="10">',
           '<defs>' + "".join(
               f'<marker id="a{i}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
               f'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
               f'fill="{colour[t]}"/></marker>' for i, t in enumerate(types)) + '</defs>',
           f'<text x="4" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    # legend: message types, wrapped over up to three lines
    x, y = 4, 22
    for t in types:
        w = 18 + 6 * len(t)
        if x + w > max(width, 600) - 10:
            if y >= 50:
                break
            x, y = 4, y + 14
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour[t]}"/>'
                   f'<text x="{x + 13}" y="{y + 9}">{escape(t)}</text>')
        x += w
    first, last = (times[0], times[-1]) if times else (0.0, 0.0)

    def y_at(t: float) -> float:  # a time between rows: the first row at or after it
        i = bisect.bisect_left(times, t)
        return TOP + 30 + ROW * min(i, max(len(times) - 1, 0))

    for p in periods:
        end = p.end if p.end is not None else last
        if end < first or p.start > last:
            continue
        y0, y1 = y_at(max(p.start, first)), y_at(min(end, last))
        out.append(f'<g class="nemesis" data-kind="{escape(p.kind)}"><title>{escape(p.kind)} '
                   f'{escape(p.detail)} {p.start:.3f}-{end:.3f} s</title>'
                   f'<rect x="2" y="{y0}" width="{LEFT - 8}" height="{max(y1 - y0, 2)}" '
                   f'fill="#d62728" fill-opacity="0.15"/>'
                   f'<text x="4" y="{y0 + 10}" fill="#a00">{escape(p.kind)}</text></g>')
    for n in nodes:
        x = col[n]
        out.append(f'<text x="{x}" y="{TOP + 16}" text-anchor="middle" font-weight="bold" '
                   f'class="column">{escape(n)}</text>'
                   f'<line x1="{x}" y1="{TOP + 22}" x2="{x}" y2="{bottom - 10}" stroke="#bbb"/>')
    for i, t in enumerate(times):
        if i % 10 == 0:
            out.append(f'<text x="{LEFT - 4}" y="{row[t] + 3}" text-anchor="end" '
                       f'fill="#777">{t * 1000:.1f}</text>')
    marker = {t: f"a{i}" for i, t in enumerate(types)}
    for m in msgs:
        x1, y1 = col[m.src], row[m.sent]
        tip = (f"{m.src} → {m.dest} {m.type} sent {m.sent * 1000:.3f} ms, "
               + (f"delivered {m.received * 1000:.3f} ms" if m.received is not None
                  else "never delivered") + f": {m.text}")
        if m.received is not None:
            x2, y2 = col[m.dest], row[m.received]
            if x1 == x2:
                x2 += 12
            out.append(f'<g class="msg" {_data(m)}><title>{escape(tip)}</title>'
                       f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour[m.type]}" '
                       f'stroke-width="1.2" marker-end="url(#{marker[m.type]})"/></g>')
        else:
            x2 = x1 + (col[m.dest] - x1) * 0.35
            y2 = y1 + LOST_DROP
            out.append(f'<g class="msg lost" {_data(m)}><title>{escape(tip)}'
                       f'</title><line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
                       f'stroke="{colour[m.type]}" stroke-width="1.2" stroke-dasharray="3 2"/>'
                       f'<path d="M{x2 - 4},{y2 - 4} L{x2 + 4},{y2 + 4} M{x2 - 4},{y2 + 4} '
                       f'L{x2 + 4},{y2 - 4}" stroke="#d62728" stroke-width="1.5"/></g>')
    out.append("</svg>")
    return "\n".join(out)
