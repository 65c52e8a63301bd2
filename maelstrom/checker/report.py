"""Pictures of a counterexample: ops as bars on per-process lines, like Knossos' linear.svg.

`picture(result)` is a pure function from an invalid cas-register result (or a lin-kv key's
`linearizable` result) to the data of the picture: rows, bars, captions. `render_svg` and
`render_html` only draw that data.

Time runs left to right by history position, with every distinct invoke/completion position
given an equal-width column so that long quiet stretches do not squeeze the interesting part.
An op that never completed, or ended `:info`, runs to the right edge (it may take effect any time
after its invoke). The op that cannot be linearized is red, the last op known good is green.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from maelstrom import edn

COLUMN = 36          # px per history position column
ROW = 34             # px per process row
LEFT = 90            # px for the process labels
TOP = 40
BAR_HEIGHT = 22
COLOURS = {"culprit": "#e8615b", "previous-ok": "#6dc36d", "concurrent": "#b9c9dd"}


@dataclass(frozen=True)
class Bar:
    """One op: its row, horizontal extent (px), text and style."""

    process: int
    x0: float
    x1: float
    y: float
    label: str
    detail: str
    role: str            # culprit / previous-ok / concurrent
    open_ended: bool     # :info or never completed: may take effect any time after the invoke


@dataclass(frozen=True)
class Picture:
    title: str
    width: float
    height: float
    rows: list[tuple[str, float]]   # (process label, y of the row's centre)
    bars: list[Bar]
    states: list[str]               # register values reachable just before the culprit
    paths: list[str]                # "after <op> (register v): <op> -> <why not>"


def _show(v: Any) -> str:
    return edn.dumps(v, keyword_keys=False)


def _op_text(op: dict | None) -> str:
    if not op:
        return "the start"
    return f"op {op['index']} (process {op['process']} :{op['type']} :{op['f']} {_show(op['value'])})"


def picture(result: dict, title: str = "linearizability counterexample") -> Picture:
    """The picture data for an invalid result; an empty picture if there is no window."""
    window = result.get("window") or []
    columns = sorted({w["invoke-index"] for w in window} |
                     {w["complete-index"] for w in window if w["complete-index"] is not None})
    col = {pos: i for i, pos in enumerate(columns)}
    right = LEFT + COLUMN * (len(columns) + 1)
    processes = sorted({w["process"] for w in window})
    row_y = {p: TOP + ROW * i + ROW / 2 for i, p in enumerate(processes)}
    bars = []
    for w in window:
        open_ended = w["complete-index"] is None or w["type"] == "info"
        x0 = LEFT + COLUMN * col[w["invoke-index"]] + 2
        x1 = right if open_ended else LEFT + COLUMN * col[w["complete-index"]] + COLUMN - 2
        label = f"{w['f']} {_show(w['value'])}"
        detail = (f"process {w['process']} :{w['type']} :{w['f']} {_show(w['value'])}; "
                  f"invoked at op {w['invoke-index']}"
                  + (f", completed at op {w['complete-index']}" if w["complete-index"] is not None
                     else ", never completed"))
        bars.append(Bar(w["process"], x0, x1, row_y[w["process"]], label, detail, w["role"],
                        open_ended))
    paths = []
    for path in result.get("final-paths") or []:
        head, tail = path[0], path[-1]
        paths.append(f"after {_op_text(head['op'])} (register {_show(head['model'].get('value'))}): "
                     f"{_op_text(tail['op'])} -> {tail['model'].get('inconsistent', '')}")
    return Picture(title=title, width=right + 20, height=TOP + ROW * len(processes) + 20,
                   rows=[(str(p), y) for p, y in row_y.items()], bars=bars,
                   states=[_show(s) for s in result.get("states") or []], paths=paths)


def render_svg(pic: Picture) -> str:
    """The picture as a standalone SVG document."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{pic.width:.0f}" '
           f'height="{pic.height:.0f}" font-family="sans-serif" font-size="11">',
           f'<text x="4" y="18" font-size="13" font-weight="bold">{escape(pic.title)}</text>']
    for label, y in pic.rows:
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{pic.width - 20:.0f}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="4" y="{y + 4:.1f}">process {escape(label)}</text>')
    for bar in pic.bars:
        colour = COLOURS.get(bar.role, "#ccc")
        dash = ' stroke-dasharray="4 3"' if bar.open_ended else ""
        out.append(f'<g><title>{escape(bar.detail)}</title>'
                   f'<rect x="{bar.x0:.1f}" y="{bar.y - BAR_HEIGHT / 2:.1f}" '
                   f'width="{max(bar.x1 - bar.x0, 4):.1f}" height="{BAR_HEIGHT}" rx="3" '
                   f'fill="{colour}" fill-opacity="{0.45 if bar.open_ended else 0.9}" '
                   f'stroke="#555"{dash}/>'
                   f'<text x="{bar.x0 + 4:.1f}" y="{bar.y + 4:.1f}">{escape(bar.label)}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def render_html(pic: Picture, links: list[tuple[str, str]] = ()) -> str:
    """An HTML page: the SVG, the register values reachable before the culprit, the attempts;
    `links`, (file name, text) pairs, under the picture (e.g. the key's timeline)."""
    states = ", ".join(escape(s) for s in pic.states) or "none"
    paths = "\n".join(f"<li><code>{escape(p)}</code></li>" for p in pic.paths)
    nav = " · ".join(f'<a href="{escape(quote(h))}">{escape(t)}</a>' for h, t in links)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{escape(pic.title)}</title><link rel=\"icon\" href=\"data:,\"></head>\n"
            "<body>\n"
            f"{render_svg(pic)}\n" + (f"<p>{nav}</p>\n" if nav else "") +
            "<p>Red: the op that cannot be linearized. Green: the last op known good. "
            "Dashed, to the right edge: ops that may take effect any time after their invoke "
            "(<code>:info</code> or never completed).</p>\n"
            f"<p>Register values reachable just before it: <code>{states}</code></p>\n"
            f"<h3>Failed attempts</h3>\n<ul>\n{paths}\n</ul>\n</body></html>\n")
