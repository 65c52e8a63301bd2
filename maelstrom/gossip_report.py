"""The `gossip` section of a run's results: what the nodes' SWIM members declared, from their logs.

Raft-mode nodes run a gossip member (node/cluster/health.py) that logs, one JSON object per line:
- `{"event": "gossip_member", "node": M, "state": "alive"|"suspect"|"dead", "incarnation": I,
  "was", "from", "t"}` whenever the logging node's view of member M changes;
- `{"event": "gossip_refute", "incarnation", "was", "claim", "by", "t"}` when it outbids a claim
  about itself;
- `{"event": "replacement_proposed", "group", "node", "dead", "t"}` when, as the meta
  leader, it asks the meta log to replace a voter gossip holds dead.

A declaration is a distinct (member, incarnation, state) that some node's view took: the same
suspicion heard by eight nodes is one declaration. With the `kill` nemesis, `detection` measures
each kill: seconds from the kill to the first node holding the killed node dead, and to every
other node holding it dead (if all did before it was started again), in protocol periods too. A death is *refuted* if the member was later
seen alive at a higher incarnation (it was up after all, or came back). The section is a report,
not a verdict: gossip decides nothing in raft mode, so no view of it can make a run invalid.
No gossip events at all: no section.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from maelstrom.node_logs import log_events

__all__ = ["gossip_report", "summarize"]


def _events(log_dir: Path) -> list[dict]:
    events = []
    for observer, event in log_events(log_dir, (b'"gossip_', b'"replacement_proposed"')):
        event["observer"] = observer
        events.append(event)
    return events


def summarize(events: list[dict], history: list | None = None,
              offset: float | None = None, period: float = 0.5) -> dict | None:
    """The section from already-read events (each with an `observer`); None if no gossip.
    `offset`: what the events' `t` is at the history's time 0 (detection needs it)."""
    members = [e for e in events if e.get("event") == "gossip_member"]
    if not members and not any(e.get("event") == "gossip_refute" for e in events):
        return None
    first: dict[tuple, float] = {}        # (member, incarnation, state) -> first time
    alive_inc: dict[str, int] = {}        # member -> highest incarnation seen alive
    for e in members:
        node, inc, state, t = e.get("node"), e.get("incarnation"), e.get("state"), e.get("t")
        if not isinstance(node, str) or not isinstance(inc, int):
            continue
        if state == "alive":
            alive_inc[node] = max(alive_inc.get(node, -1), inc)
        elif state in ("suspect", "dead"):
            key = (node, inc, state)
            if isinstance(t, (int, float)) and (key not in first or t < first[key]):
                first[key] = t
            else:
                first.setdefault(key, t)
    suspects = [k for k in first if k[2] == "suspect"]
    deaths = sorted((k for k in first if k[2] == "dead"), key=lambda k: (first[k] or 0, k))
    refuted = [k for k in deaths if alive_inc.get(k[0], -1) > k[1]]
    declared: dict[str, Any] = {}
    for node, inc, _ in deaths:
        declared.setdefault(node, {"first-t": first[(node, inc, "dead")], "times": 0})
        declared[node]["times"] += 1
    replacements = [{k: e.get(k) for k in ("t", "group", "node", "dead")}
                    for e in events if e.get("event") == "replacement_proposed"]
    observers = {e["observer"] for e in members}
    detection = (_detection(members, history, offset, observers, period)
                 if history is not None and offset is not None else None)
    return {
        **({"detection": detection} if detection is not None else {}),
        "members": len({e.get("node") for e in members} | observers),
        "suspect-declarations": len(suspects),
        "dead-declarations": len(deaths),
        "dead-refuted": len(refuted),
        "refutations": sum(1 for e in events if e.get("event") == "gossip_refute"),
        "declared-dead": dict(sorted(declared.items())),
        "replacements-proposed": len(replacements),
        "replacement-examples": replacements[:5],
    }


def _detection(members: list[dict], history: list, offset: float, observers: set[str],
               period: float) -> dict | None:
    """Per kill: seconds until the first other node, and until every other node, held the
    killed node dead (before it was started again)."""
    kills, starts = [], []
    for op in history:
        if getattr(op, "process", None) != "nemesis" or not isinstance(op.value, list):
            continue
        if op.f == "kill":
            kills.extend((op.time / 1e9, n) for n in op.value if isinstance(n, str))
        elif op.f == "start":
            starts.extend((op.time / 1e9, n) for n in op.value if isinstance(n, str))
    if not kills:
        return None
    dead_at: dict[str, list[tuple[float, str]]] = {}
    for e in members:
        if e.get("state") == "dead" and isinstance(e.get("t"), (int, float)):
            dead_at.setdefault(e.get("node"), []).append((e["t"] - offset, e["observer"]))
    first, everyone, undetected = [], [], 0
    down_undetected: list[float] = []  # how long those nodes were down
    for t_kill, node in kills:
        t_start = min((t for t, n in starts if n == node and t > t_kill), default=float("inf"))
        seen: dict[str, float] = {}
        for t, observer in dead_at.get(node, ()):
            if t_kill <= t <= t_start and observer != node:
                seen[observer] = min(seen.get(observer, t), t)
        if not seen:
            undetected += 1
            down_undetected.append(round(t_start - t_kill, 3))
            continue
        first.append(min(seen.values()) - t_kill)
        down = {n for t, n in kills if t == t_kill}  # killed together: they cannot see
        if set(seen) >= observers - down:
            everyone.append(max(seen.values()) - t_kill)

    def dist(values: list[float]) -> dict:
        if not values:
            return {"count": 0}
        return {"count": len(values), "min": round(min(values), 3),
                "median": round(statistics.median(values), 3), "max": round(max(values), 3),
                "median-periods": round(statistics.median(values) / period, 1)}

    return {"kills": len(kills), "undetected-before-restart": undetected,
            "undetected-down-s": down_undetected,
            "first-node": dist(first), "every-node": dist(everyone)}


def gossip_report(log_dir: Path, history: list | None = None,
                  offset: float | None = None) -> dict | None:
    """The `gossip` section from the node logs in `log_dir` (module docstring)."""
    return summarize(_events(Path(log_dir)), history, offset)
