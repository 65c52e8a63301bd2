"""What gossip-mode nodes' logs say about a run (docs/gossip_mode.md). Pure functions over the
events GossipServer logs (each with the host's time "t"), plus a command line:

    python -m node.rediscluster.audit STORE_DIR [STORE_DIR...]

prints one JSON object per run: fail-overs, nodes declared FAIL, writes discarded by full
resyncs (acknowledged by a primary and then thrown away), and *two primaries*: intervals in
which two nodes each were primary of the same shard in their own view with cluster state ok,
i.e. both would have accepted writes for the same slots (split brain). The cluster checker
(maelstrom/cluster_check.py) compares leaders per (group, term); in gossip mode the term is the
config epoch, which the election makes unique, so two primaries of one shard always differ in
epoch and only this time-based view shows them. Standard library only; does not import the
bench.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterable

__all__ = ["read_events", "audit", "primary_intervals", "overlaps"]

_EVENTS = frozenset({"role", "cluster_state", "failover", "fail", "full_resync",
                     "failover_election"})


def read_events(log_dir: Path) -> list[dict]:
    """The audit's events from every `*.log` in `log_dir` (non-JSON lines skipped), by time."""
    events = []
    for path in sorted(Path(log_dir).glob("*.log")):
        with open(path, "rb") as f:
            for line in f:
                if b'"event"' not in line:
                    continue
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if type(e) is dict and e.get("event") in _EVENTS:
                    events.append(e)
    events.sort(key=lambda e: (e.get("t", 0.0), str(e.get("node"))))
    return events


def primary_intervals(events: Iterable[dict], end: float) -> dict[int, list[tuple]]:
    """Per shard: (node, config epoch, start, stop) for every interval in which `node` was the
    shard's primary in its own view *and* its cluster state was ok (it served its slots)."""
    leader: dict[str, tuple] = {}      # node -> (group, epoch) while it is a primary
    state: dict[str, str] = {}
    open_: dict[str, tuple] = {}       # node -> (group, epoch, start) of its serving interval
    out: dict[int, list[tuple]] = defaultdict(list)
    for e in events:
        node, t, kind = e.get("node"), e.get("t", 0.0), e.get("event")
        if kind == "role":
            if e.get("role") == "leader":
                leader[node] = (e.get("group"), e.get("term"))
            else:
                leader.pop(node, None)
        elif kind == "cluster_state":
            state[node] = e.get("state")
        else:
            continue
        now = leader.get(node) if state.get(node) == "ok" else None
        was = open_.get(node)
        if was is not None and (now is None or now != was[:2]):
            out[was[0]].append((node, was[1], was[2], t))
            del open_[node]
        if now is not None and node not in open_:
            open_[node] = (now[0], now[1], t)
    for node, (group, epoch, start) in open_.items():
        out[group].append((node, epoch, start, end))
    return dict(out)


def overlaps(intervals: dict[int, list[tuple]]) -> list[dict]:
    """Pairs of serving intervals of two different nodes of one shard that overlap in time."""
    found = []
    for group, spans in sorted(intervals.items(), key=lambda kv: str(kv[0])):
        for i, (a, ea, sa, ta) in enumerate(spans):
            for b, eb, sb, tb in spans[i + 1:]:
                lo, hi = max(sa, sb), min(ta, tb)
                if a != b and lo < hi:
                    found.append({"group": group, "nodes": [[a, ea], [b, eb]],
                                  "from": round(lo, 3), "to": round(hi, 3)})
    return found


def audit(events: list[dict], end: float | None = None) -> dict:
    """The run's summary (module docstring)."""
    if end is None:
        end = max((e.get("t", 0.0) for e in events), default=0.0)
    failovers = [{"t": e.get("t"), "node": e.get("node"), "old_master": e.get("old_master"),
                  "config_epoch": e.get("config_epoch"), "votes": e.get("votes")}
                 for e in events if e.get("event") == "failover"]
    declared = sorted({(e.get("peer"), e.get("role")) for e in events
                       if e.get("event") == "fail"})
    resyncs = [e for e in events if e.get("event") == "full_resync"]
    discarded = [{"t": e.get("t"), "node": e.get("node"), "master": e.get("master"),
                  "discarded": e.get("discarded"), "writes": e.get("writes")}
                 for e in resyncs if e.get("discarded")]
    two = overlaps(primary_intervals(events, end))
    return {
        "failovers": len(failovers),
        "failover-list": failovers,
        "declared-fail": [[p, r] for p, r in declared],
        "elections": sum(1 for e in events if e.get("event") == "failover_election"),
        "full-resyncs": len(resyncs),
        "writes-discarded": sum(d["discarded"] for d in discarded),
        "discarded-list": discarded,
        "two-primaries": two,
    }


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    for arg in argv:
        d = Path(arg)
        logs = d / "node-logs" if (d / "node-logs").is_dir() else d
        summary = audit(read_events(logs))
        summary["store"] = str(d)
        results = d / "results.json"
        if results.is_file():
            r = json.loads(results.read_text())
            summary["valid?"] = r.get("valid?")
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
