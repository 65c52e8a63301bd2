"""timeline.html: Jepsen's timeline of a history (one per key for independent-key workloads).

One column per process; each op a box from its invoke down to its completion, coloured by
outcome (ok blue, info orange, fail pink, as Jepsen's); an op that never completed runs to the
bottom. Rows are the distinct invoke/completion positions in history order, so every op is
tall enough to see. A box's tooltip holds the op (f, value, times, error); the op a
counterexample names is outlined in red.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote
from typing import Any

from maelstrom import edn
from maelstrom.reports.load import Call

__all__ = ["render", "COLOURS"]

COLOURS = {"ok": "#6db6fe", "info": "#ffaa26", "fail": "#feb5da"}
COL, ROW, TOP, LEFT = 110, 18, 8, 60


def _show(v: Any) -> str:
    return edn.excerpt(v, 60)


def render(calls: list[Call], title: str, links: list[tuple[str, str]] = (),
           culprits: frozenset = frozenset()) -> str:
    """The page for `calls`; `culprits` holds invoke indexes of ops to outline; `links` are
    (file name, text) pairs shown under the title (names are URL-quoted here)."""
    processes = sorted({c.process for c in calls},
                       key=lambda p: (0, p, "") if isinstance(p, int) else (1, 0, str(p)))
    col = {p: LEFT + COL * i for i, p in enumerate(processes)}
    positions = sorted({c.invoke_index for c in calls}
                       | {c.complete_index for c in calls if c.complete_index is not None})
    row = {pos: TOP + ROW * i for i, pos in enumerate(positions)}
    height = TOP + ROW * (len(positions) + 1)
    boxes = []
    anchored = False  # the first culprit box is the page's #culprit
    for c in calls:
        y0 = row[c.invoke_index]
        y1 = row[c.complete_index] + ROW if c.complete_index is not None else height
        value = c.value[1] if isinstance(c.value, (list, tuple)) and len(c.value) == 2 \
            else c.value
        latency = f"{(c.end - c.start) * 1000:.1f} ms" if c.end is not None else "never completed"
        tip = (f"process {c.process} :{c.type} :{c.f} {_show(c.value)}\n"
               f"invoked {c.start:.4f} s (op {c.invoke_index}), "
               + (f"completed {c.end:.4f} s (op {c.complete_index}), {latency}"
                  if c.end is not None else latency)
               + (f"\nerror {_show(c.error)}" if c.error is not None else ""))
        cls = f"op {c.type}" + (" culprit" if c.invoke_index in culprits else "")
        anchor = ' id="culprit"' if c.invoke_index in culprits and not anchored else ""
        anchored = anchored or bool(anchor)
        boxes.append(f'<div class="{cls}"{anchor} data-index="{c.invoke_index}" '
                     f'title="{escape(tip)}" '
                     f'style="left:{col[c.process] + 4}px;top:{y0}px;height:{y1 - y0 - 3}px">'
                     f'{escape(c.f)} {escape(_show(value))}</div>')
    heads = "".join(f'<div class="proc" style="left:{col[p] + 4}px">{escape(str(p))}</div>'
                    for p in processes)
    nav = " · ".join(f'<a href="{escape(quote(h))}">{escape(t)}</a>' for h, t in links)
    width = LEFT + COL * max(len(processes), 1) + 20
    counts = {t: sum(1 for c in calls if c.type == t) for t in ("ok", "info", "fail")}
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(title)}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: sans-serif; font-size: 12px; margin: 10px; }}
.ops {{ position: relative; width: {width}px; height: {height}px; }}
.op {{ position: absolute; width: {COL - 10}px; overflow: hidden; white-space: nowrap;
       border: 1px solid #777; border-radius: 3px; padding: 1px 3px; box-sizing: border-box;
       font-size: 11px; }}
.op.ok {{ background: {COLOURS['ok']}; }} .op.info {{ background: {COLOURS['info']}; }}
.op.fail {{ background: {COLOURS['fail']}; }}
.op.culprit {{ border: 3px solid #d62728; scroll-margin-top: 160px; }}
.heads {{ position: sticky; top: 0; height: 20px; width: {width}px; background: #fff;
          border-bottom: 1px solid #ccc; z-index: 1; }}
.proc {{ position: absolute; top: 2px; font-weight: bold; }}
.legend span {{ padding: 1px 6px; margin-right: 6px; border: 1px solid #777; }}
</style></head>
<body>
<h2>{escape(title)}</h2>
<p>{nav}</p>
<p class="legend"><span style="background:{COLOURS['ok']}">ok {counts['ok']}</span>
<span style="background:{COLOURS['info']}">info {counts['info']}</span>
<span style="background:{COLOURS['fail']}">fail {counts['fail']}</span>
One column per process, time running down (rows are invoke/completion positions in history
order); a box spans its op's invoke to its completion.
{'Red outline: the op the counterexample names (<a href="#culprit">go to it</a>).'
 if anchored else ""}</p>
<div class="heads">{heads}</div>
<div class="ops">
{chr(10).join(boxes)}
</div>
</body></html>
"""
