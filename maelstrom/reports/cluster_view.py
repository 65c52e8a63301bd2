"""cluster.html: what the cluster was doing, drawn against time, with the failure marked on it.

Ours (no Maelstrom tool has it). From the nodes' structured logs (docs/cluster.md) and the
history, on one time axis (workload seconds):

- nemesis: when each fault was on (partition, pause, kill...);
- one lane per Raft group (meta first): who led it in which term, a bar per leadership, a tick
  at every new term; a gap is a time with no leader;
- slot map: every meta epoch, at the first time a node applied it (tooltip: the slot ranges);
- migrations: every slot move from its first step (fence) to done / aborted (green / grey; still
  open at the end: orange), stacked so that concurrent moves do not overlap;
- membership: configuration changes applied by each group, and finished membership requests;
- health: Redis-Cluster-style PFAIL/FAIL and fail-overs, CheckQuorum step-downs;
- gossip, one lane per member: while some node's SWIM view holds it suspect (orange) or dead
  (red), with who did;
- the counterexample: for each key the checker found not linearizable, a red band from the
  culprit op's invoke to its completion across every lane, linked to its timeline and picture.

Tables below the picture list leaderships and migrations with exact times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape
from urllib.parse import quote
from typing import Any

from maelstrom.reports.load import Period

__all__ = ["Marker", "build", "render"]

LEFT, PLOT_W, LANE, TOP = 150, 1100, 24, 40
NODE_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                "#ff9da7", "#9c755f", "#bab0ac", "#1b9e77", "#d95f02", "#7570b3"]
MAX_MIGRATION_ROWS = 8
MAX_TABLE_ROWS = 400


@dataclass(frozen=True)
class Marker:
    """A counterexample op to mark: its key, interval (end None: open) and page links."""

    label: str
    start: float
    end: float | None
    links: tuple[tuple[str, str], ...] = ()


def _group_name(g: Any) -> str:
    return "meta" if g == 0 else f"group {g}"


def build(events: list[dict]) -> dict:
    """The view's data from node events (sorted by time)."""
    leaderships: dict[Any, list[dict]] = defaultdict(list)   # group -> [{node, term, start, end}]
    current: dict[Any, dict] = {}
    terms: dict[Any, list[tuple[float, Any]]] = defaultdict(list)
    max_term: dict[Any, Any] = {}
    epochs: dict[Any, dict] = {}
    migrations: dict[Any, dict] = {}
    configs: list[dict] = []
    members_done: list[dict] = []
    done_ids: set = set()
    health: list[dict] = []
    gossip: dict[str, list[dict]] = {}            # member -> [{start, end, state, observers}]
    views: dict[str, dict[str, str]] = {}         # member -> observer -> state
    end = 0.0
    for e in events:
        t, kind, node = e["t"], e["event"], e.get("node")
        end = max(end, t)
        g = e.get("group")
        if kind == "role":
            term = e.get("term")
            try:
                hashable_g = g if g is None or isinstance(g, (int, str)) else str(g)
            except Exception:
                continue
            if isinstance(term, int) and (hashable_g not in max_term
                                          or term > max_term[hashable_g]):
                max_term[hashable_g] = term
                terms[hashable_g].append((t, term))
            cur = current.get(hashable_g)
            if e.get("role") == "leader":
                if cur is not None:
                    cur["end"] = t
                cur = {"node": str(node), "term": term, "start": t, "end": None}
                leaderships[hashable_g].append(cur)
                current[hashable_g] = cur
            elif cur is not None and cur["node"] == str(node):
                cur["end"] = t
                current.pop(hashable_g, None)
        elif kind == "meta_epoch":
            ep = e.get("epoch")
            if isinstance(ep, (int, str)) and ep not in epochs:
                slots = e.get("slots")
                epochs[ep] = {"epoch": ep, "t": t, "node": node,
                              "slots": slots if isinstance(slots, list) else []}
        elif kind.startswith("slot_") or kind.startswith("migration_"):
            mid = e.get("mig") if kind.startswith("slot_") else e.get("id")
            if not isinstance(mid, (int, str)):
                continue
            m = migrations.setdefault(mid, {"id": mid, "slot": e.get("slot"), "from": None,
                                            "to": None, "start": t, "end": None,
                                            "outcome": None, "steps": {}})
            m["steps"].setdefault(kind, t)
            if m["slot"] is None:
                m["slot"] = e.get("slot")
            if kind in ("migration_done", "migration_aborted"):
                m["from"], m["to"] = e.get("from"), e.get("to")
                if m["end"] is None:
                    m["end"] = t
                    m["outcome"] = kind[10:]
        elif kind == "membership" and e.get("old") is None:
            configs.append({"t": t, "group": g, "node": node, "voters": e.get("voters"),
                            "learners": e.get("learners")})
        elif kind == "membership_done":
            rid = e.get("id")
            key = rid if isinstance(rid, (int, str)) else id(e)
            if key not in done_ids:  # every node logs it: the first time it was done
                done_ids.add(key)
                members_done.append(e)
        elif kind == "gossip_member":
            _gossip(gossip, views, e)
        elif kind in ("fail", "pfail", "fail_cleared", "failover", "check_quorum_failed",
                      "left_group"):
            health.append(e)
    # One configuration mark per group and configuration (every member logs it).
    seen, unique = set(), []
    for c in configs:
        k = (str(c["group"]), str(c["voters"]), str(c["learners"]))
        if k not in seen:
            seen.add(k)
            unique.append(c)
    return {"leaderships": dict(leaderships), "terms": dict(terms), "epochs": epochs,
            "migrations": list(migrations.values()), "configs": unique,
            "members_done": members_done, "health": health, "gossip": gossip,
            "gossip_members": sorted(views, key=lambda n: (len(n), n)), "end": end}


def _gossip(segments: dict[str, list[dict]], views: dict[str, dict[str, str]], e: dict) -> None:
    """One SWIM member-state report: while some node holds `member` suspect or dead, the
    member's lane has a segment (dead if any holds it dead), listing who did."""
    member, observer, state = str(e.get("node")), str(e.get("log")), str(e.get("state"))
    view = views.setdefault(member, {})
    view[observer] = state
    bad = {o: s for o, s in view.items() if s in ("suspect", "dead")}
    worst = "dead" if "dead" in bad.values() else "suspect" if bad else None
    lane = segments.setdefault(member, [])
    cur = lane[-1] if lane and lane[-1]["end"] is None else None
    if cur is not None and cur["state"] != worst:
        cur["end"] = e["t"]
        cur = None
    if worst is not None:
        if cur is None:
            cur = {"start": e["t"], "end": None, "state": worst, "observers": set()}
            lane.append(cur)
        cur["observers"] |= set(bad)


def _sort_groups(groups: Any) -> list:
    return sorted(groups, key=lambda g: (not isinstance(g, int), str(g) if not isinstance(g, int)
                                         else g))


def render(data: dict, periods: list[Period], markers: list[Marker], end: float,
           title: str = "cluster view", links: list[tuple[str, str]] = ()) -> str:
    end = max(end, data["end"], 1e-3)
    scale = PLOT_W / end

    def x(t: float) -> float:
        return LEFT + max(0.0, min(t, end)) * scale

    nodes = sorted({ld["node"] for ls in data["leaderships"].values() for ld in ls},
                   key=lambda n: (len(n), n))
    node_colour = {n: NODE_COLOURS[i % len(NODE_COLOURS)] for i, n in enumerate(nodes)}
    lanes: list[tuple[str, list[str]]] = []   # (label, svg items at y=0..LANE)

    items = []
    for p in periods:
        e = p.end if p.end is not None else end
        items.append(f'<rect x="{x(p.start):.1f}" y="3" width="{max(x(e) - x(p.start), 1):.1f}" '
                     f'height="{LANE - 6}" fill="#d62728" fill-opacity="0.3"><title>'
                     f'{escape(p.kind)} {escape(p.detail)}: {p.start:.3f}-{e:.3f} s</title></rect>')
    lanes.append(("nemesis", items))
    for g in _sort_groups(data["leaderships"]):
        items = []
        for ld in data["leaderships"][g]:
            e = ld["end"] if ld["end"] is not None else end
            w = max(x(e) - x(ld["start"]), 1.5)
            tip = (f"{_group_name(g)}: {ld['node']} leader in term {ld['term']}, "
                   f"{ld['start']:.3f}-" + (f"{ld['end']:.3f} s" if ld["end"] is not None
                                            else "end"))
            items.append(f'<g class="leader" data-group="{escape(str(g))}"><title>{escape(tip)}'
                         f'</title><rect x="{x(ld["start"]):.1f}" y="3" width="{w:.1f}" '
                         f'height="{LANE - 6}" fill="{node_colour[ld["node"]]}"/>'
                         + (f'<text x="{x(ld["start"]) + 2:.1f}" y="{LANE - 8}" fill="#fff">'
                            f'{escape(ld["node"])} t{escape(str(ld["term"]))}</text>'
                            if w > 40 else "") + "</g>")
        for t, term in data["terms"].get(g, []):
            items.append(f'<line x1="{x(t):.1f}" y1="0" x2="{x(t):.1f}" y2="3" stroke="#000">'
                         f'<title>term {escape(str(term))} at {t:.3f} s</title></line>')
        lanes.append((_group_name(g) + " leader", items))
    items = []
    for ep in sorted(data["epochs"].values(), key=lambda e: e["t"]):
        ranges = "; ".join(f"{r[0]}-{r[1]}→{r[2]}" for r in ep["slots"][:12]
                           if isinstance(r, list) and len(r) == 3)
        more = f" (+{len(ep['slots']) - 12} ranges)" if len(ep["slots"]) > 12 else ""
        items.append(f'<g class="epoch"><title>epoch {escape(str(ep["epoch"]))} at '
                     f'{ep["t"]:.3f} s (first applied by {escape(str(ep["node"]))}): '
                     f'{escape(ranges + more)}</title><line x1="{x(ep["t"]):.1f}" y1="3" '
                     f'x2="{x(ep["t"]):.1f}" y2="{LANE - 3}" stroke="#6a3d9a" '
                     f'stroke-width="1.5"/></g>')
    lanes.append((f"slot map ({len(data['epochs'])} epochs)", items))
    rows_end: list[float] = []
    mig_items: list[list[str]] = []
    for m in sorted(data["migrations"], key=lambda m: m["start"]):
        e = m["end"] if m["end"] is not None else end
        for r, free_at in enumerate(rows_end):
            if free_at <= m["start"]:
                break
        else:
            if len(rows_end) >= MAX_MIGRATION_ROWS:
                r = min(range(len(rows_end)), key=lambda i: rows_end[i])
            else:
                rows_end.append(0.0)
                mig_items.append([])
                r = len(rows_end) - 1
        rows_end[r] = max(rows_end[r], e)
        colour = {"done": "#2ca02c", "aborted": "#999999"}.get(m["outcome"], "#ff7f0e")
        steps = ", ".join(f"{k} {v:.3f}" for k, v in m["steps"].items())
        tip = (f"move {m['id']}: slot {m['slot']} group {m['from']}→{m['to']}, "
               f"{m['outcome'] or 'not finished'}; {steps}")
        mig_items[r].append(f'<g class="migration"><title>{escape(tip)}</title><rect '
                            f'x="{x(m["start"]):.1f}" y="5" '
                            f'width="{max(x(e) - x(m["start"]), 2):.1f}"'
                            f' height="{LANE - 10}" fill="{colour}"/></g>')
    for r, its in enumerate(mig_items or [[]]):
        lanes.append((f"migrations ({len(data['migrations'])})" if r == 0 else "", its))
    items = []
    for c in data["configs"]:
        tip = (f"{_group_name(c['group'])} configuration at {c['t']:.3f} s: voters "
               f"{c['voters']} learners {c['learners']}")
        items.append(f'<circle cx="{x(c["t"]):.1f}" cy="{LANE / 2}" r="4" fill="#17becf">'
                     f'<title>{escape(tip)}</title></circle>')
    for d in data["members_done"]:
        tip = "membership request done: " + str({k: v for k, v in d.items() if k != "event"})
        items.append(f'<rect x="{x(d["t"]) - 3:.1f}" y="{LANE / 2 - 3}" width="6" height="6" '
                     f'fill="#1f77b4"><title>{escape(tip)}</title></rect>')
    lanes.append(("membership", items))
    items = []
    states = {"alive": "#2ca02c", "suspect": "#ff7f0e", "dead": "#d62728", "left": "#7f7f7f"}
    for h in data["health"]:
        kind = h["event"]
        colour = states.get(str(h.get("state")), "#d62728" if kind in ("fail", "failover")
                            else "#8c564b")
        what = {k: v for k, v in h.items() if k not in ("event", "t")}
        tip = f"{kind} at {h['t']:.3f} s: {what}"
        items.append(f'<circle cx="{x(h["t"]):.1f}" cy="{LANE / 2}" r="3" fill="{colour}">'
                     f'<title>{escape(tip)}</title></circle>')
    lanes.append(("health", items))
    colours = {"suspect": "#ff7f0e", "dead": "#d62728"}
    for member in data["gossip_members"]:
        items = []
        for seg in data["gossip"].get(member, []):
            e = seg["end"] if seg["end"] is not None else end
            tip = (f"{member} held {seg['state']} by {', '.join(sorted(seg['observers']))}: "
                   f"{seg['start']:.3f}-{e:.3f} s")
            w = max(x(e) - x(seg["start"]), 2)
            items.append(f'<g class="gossip" data-member="{escape(member)}" '
                         f'data-state="{seg["state"]}"><title>{escape(tip)}</title><rect '
                         f'x="{x(seg["start"]):.1f}" y="5" width="{w:.1f}" '
                         f'height="{LANE - 10}" fill="{colours[seg["state"]]}"/></g>')
        lanes.append((f"gossip: {member}", items))

    height = TOP + LANE * len(lanes) + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + PLOT_W + 30}" '
           f'height="{height}" font-family="sans-serif" font-size="10">']
    step = _tick_step(end)
    t = 0.0
    while t <= end + 1e-9:
        svg.append(f'<line x1="{x(t):.1f}" y1="{TOP - 5}" x2="{x(t):.1f}" '
                   f'y2="{TOP + LANE * len(lanes)}" stroke="#eee"/>'
                   f'<text x="{x(t):.1f}" y="{TOP - 8}" text-anchor="middle" fill="#555">'
                   f'{t:g}s</text>')
        t += step
    for i, (label, its) in enumerate(lanes):
        y = TOP + LANE * i
        svg.append(f'<g class="lane" transform="translate(0,{y})">'
                   f'<rect x="{LEFT}" y="0" width="{PLOT_W}" height="{LANE}" '
                   f'fill="{"#fafafa" if i % 2 else "#f2f2f2"}"/>'
                   f'<text x="{LEFT - 6}" y="{LANE / 2 + 4}" text-anchor="end">{escape(label)}'
                   f'</text>{"".join(its)}</g>')
    bottom = TOP + LANE * len(lanes)
    for m in markers:
        e = m.end if m.end is not None else end
        x0, x1 = x(m.start), x(e)
        link = m.links[0][0] if m.links else None
        band = (f'<rect x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 2):.1f}" '
                f'height="{bottom - TOP}" fill="#d62728" fill-opacity="0.35"/>'
                f'<text x="{x0:.1f}" y="{bottom + 12}" fill="#d62728">{escape(m.label)}</text>')
        tip = f"<title>{escape(m.label)}: {m.start:.3f}-{e:.3f} s</title>"
        svg.append(f'<g class="counterexample">{tip}'
                   + (f'<a href="{escape(quote(link))}">{band}</a>' if link else band) + "</g>")
    svg.append("</svg>")

    lead_rows = []
    for g in _sort_groups(data["leaderships"]):
        for ld in data["leaderships"][g]:
            lead_rows.append(f"<tr><td>{escape(_group_name(g))}</td><td>{escape(str(ld['term']))}"
                             f"</td><td>{escape(ld['node'])}</td><td>{ld['start']:.3f}</td><td>"
                             + (f"{ld['end']:.3f}" if ld["end"] is not None else "end")
                             + "</td></tr>")
    mig_rows = [f"<tr><td>{escape(str(m['id']))}</td><td>{escape(str(m['slot']))}</td><td>"
                f"{escape(str(m['from']))}→{escape(str(m['to']))}</td>"
                f"<td>{m['start']:.3f}</td><td>"
                + (f"{m['end']:.3f}" if m["end"] is not None else "") + f"</td><td>"
                f"{escape(m['outcome'] or 'not finished')}</td></tr>"
                for m in sorted(data["migrations"], key=lambda m: m["start"])]
    marker_rows = "".join(
        f"<li>{escape(m.label)}: {m.start:.3f}-"
        + (f"{m.end:.3f}" if m.end is not None else "end") + " s "
        + " ".join(f'<a href="{escape(quote(h))}">{escape(t)}</a>' for h, t in m.links) + "</li>"
        for m in markers)
    nav = " · ".join(f'<a href="{escape(quote(h))}">{escape(t)}</a>' for h, t in links)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(title)}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: sans-serif; font-size: 12px; margin: 10px; }}
table {{ border-collapse: collapse; margin: 6px 0 16px; }}
td, th {{ border: 1px solid #ccc; padding: 1px 6px; text-align: left; }}
</style></head>
<body>
<h2>{escape(title)}</h2>
<p>{nav}</p>
<p>Time in seconds since the workload started. Bars in a group's lane: its leader (colour per
node, label node and term; ticks above mark new terms). Slot map: one line per meta epoch.
Migrations: green done, grey aborted, orange unfinished. Red bands: the ops a counterexample
names (click one for its key's timeline). Hover anything for details.</p>
{"".join(svg)}
{"<h3>Counterexample ops</h3><ul>" + marker_rows + "</ul>" if markers else ""}
<h3>Leaderships</h3>
<table><tr><th>group</th><th>term</th><th>leader</th><th>from (s)</th><th>to (s)</th></tr>
{"".join(lead_rows[:MAX_TABLE_ROWS])}</table>
{f"<p>({len(lead_rows) - MAX_TABLE_ROWS} more)</p>" if len(lead_rows) > MAX_TABLE_ROWS else ""}
<h3>Migrations</h3>
<table><tr><th>move</th><th>slot</th><th>groups</th><th>from (s)</th><th>to (s)</th>
<th>outcome</th></tr>
{"".join(mig_rows[:MAX_TABLE_ROWS])}</table>
{f"<p>({len(mig_rows) - MAX_TABLE_ROWS} more)</p>" if len(mig_rows) > MAX_TABLE_ROWS else ""}
</body></html>
"""


def _tick_step(end: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if end / step <= 20:
            return float(step)
    return end / 10
