"""The `cluster` checker: what the nodes themselves reported, read from their logs after a run.

Nodes in cluster mode log (one JSON object per stderr line, docs/cluster.md):
- `{"event": "role", "role": "leader", "group": G, "term": T, "node": N}` when N takes office;
- `{"event": "meta_epoch", "epoch": E, "digest": D, "slots": [[lo, hi, group]...], "node": N}`
  whenever N applies a new meta state.

- `{"event": "slot_fence" | "slot_activate" | "slot_drop" | "slot_unfence", "group", "slot",
  "mig", "t"}` when N applies that step of a slot move in its shard group's log, and
  `{"event": "migration_done" | "migration_aborted", "id", ...}` when a move is over for N.

The checker fails the run if two nodes were leader of the same group in the same term (election
safety, which no client-visible history may reveal), if two nodes applied different slot maps
under the same epoch, or if a slot move broke its order: the target served the slot before the
source fenced it (first `slot_activate` before the first `slot_fence` of that move), or a fenced
slot got both outcomes (activated at the target *and* unfenced at the source). It also counts
leaderships and failovers per group, slot moves done, aborted, fenced and *resumed* (a new
leader of the source or target group took office between the fence and the move's last step,
and carried it on from the logs), and, given the history,
client operations per shard group (by the slot map of the highest epoch), so that a run shows
its keys really spread over the groups. Lines that are not JSON objects (tracebacks) are skipped;
a node that logs nothing of the kind contributes nothing. No events at all: no section.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

from maelstrom.node_logs import log_events

__all__ = ["check_cluster", "events_from_logs", "failover_report"]


def events_from_logs(log_dir: Path) -> Iterable[dict]:
    """The `role` (leader), `meta_epoch`, slot-move and membership events of every node log."""
    for _node, event in log_events(log_dir, (b'"leader"', b'"meta_epoch"', b'"slot_',
                                             b'"migration_', b'"membership_done"')):
        kind = event.get("event")
        if (kind == "role" and event.get("role") == "leader") or kind == "meta_epoch" \
                or kind == "membership_done" \
                or (isinstance(kind, str) and kind.startswith(("slot_", "migration_"))):
            yield event


def check_cluster(events: Iterable[dict], history: list | None = None) -> dict | None:
    """The `cluster` section of a run's results, or None if no node reported such events."""
    leaders: dict[tuple, set] = defaultdict(set)
    maps: dict[Any, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    slots_by_epoch: dict[Any, list] = {}
    steps: dict[Any, dict[str, float]] = defaultdict(dict)  # move -> step -> first time
    last_step: dict[Any, float] = {}                          # move -> last step's time
    move_groups: dict[Any, set] = defaultdict(set)            # move -> groups of its steps
    took_office: dict[Any, list] = defaultdict(list)          # group -> times a leader began
    outcomes: dict[str, set] = {"done": set(), "aborted": set()}
    member_changes: set = set()
    seen = False
    for e in events:
        seen = True
        node = e.get("node")
        kind = e.get("event")
        if kind == "role":
            leaders[(_key(e.get("group")), e.get("term"))].add(node)
            if isinstance(e.get("t"), (int, float)):
                took_office[_key(e.get("group"))].append(e["t"])
        elif kind.startswith("slot_"):
            step, t = kind[5:], e.get("t")
            t = t if isinstance(t, (int, float)) else float("inf")
            mig = _key(e.get("mig"))
            first = steps[mig]
            if step not in first or t < first[step]:
                first[step] = t
            move_groups[mig].add(_key(e.get("group")))
            if t != float("inf"):
                last_step[mig] = max(last_step.get(mig, t), t)
        elif kind == "membership_done":
            member_changes.add(_key(e.get("id")))
        elif kind.startswith("migration_"):
            outcome = kind[10:]
            if outcome in outcomes:
                outcomes[outcome].add(_key(e.get("id")))
        else:
            epoch = e.get("epoch")
            maps[epoch][str(e.get("digest"))].append(node)
            if isinstance(e.get("slots"), list):
                slots_by_epoch.setdefault(epoch, e["slots"])
    if not seen:
        return None
    errors = []
    for (group, term), nodes in sorted(leaders.items(), key=lambda kv: repr(kv[0])):
        if len(nodes) > 1:
            errors.append({"kind": "two-leaders", "group": group, "term": term,
                           "nodes": sorted(map(str, nodes))})
    for epoch, digests in sorted(maps.items(), key=lambda kv: repr(kv[0])):
        if len(digests) > 1:
            errors.append({"kind": "maps-differ", "epoch": epoch,
                           "maps": {d: sorted(map(str, n)) for d, n in digests.items()}})
    for mig, first in sorted(steps.items(), key=lambda kv: repr(kv[0])):
        if "activate" in first and first["activate"] < first.get("fence", float("inf")):
            errors.append({"kind": "served-before-fence", "migration": mig,
                           "activate": first["activate"], "fence": first.get("fence")})
        if "activate" in first and "unfence" in first:
            errors.append({"kind": "two-outcomes", "migration": mig})
    terms_per_group = Counter(group for group, _ in leaders)
    result: dict[str, Any] = {
        "valid?": not errors,
        "errors": errors,
        "leaderships": dict(sorted(terms_per_group.items(), key=lambda kv: repr(kv[0]))),
        "epochs": sorted((e for e in maps if isinstance(e, int)), key=int),
    }
    if member_changes:
        result["membership-changes"] = len(member_changes)
    if steps or outcomes["done"] or outcomes["aborted"]:
        result["migrations"] = {"done": len(outcomes["done"]),
                                "aborted": len(outcomes["aborted"]),
                                "fenced": sum(1 for f in steps.values() if "fence" in f),
                                "resumed": _resumed(steps, last_step, move_groups,
                                                    took_office)}
    if history is not None and slots_by_epoch:
        top = max((e for e in slots_by_epoch if isinstance(e, int)), default=None)
        if top is not None:
            result["ops-per-group"] = _ops_per_group(history, slots_by_epoch[top])
    return result


def _resumed(steps: dict, last_step: dict, move_groups: dict, took_office: dict) -> int:
    """Moves carried on by a new leader: a leader took office in the source or the target
    group after the move's fence and before its last step (the move resumed from the logs)."""
    n = 0
    for mig, first in steps.items():
        start, end = first.get("fence"), last_step.get(mig)
        if start is None or end is None or end <= start:
            continue
        if any(start < t < end for g in move_groups[mig] for t in took_office.get(g, ())):
            n += 1
    return n


def _ops_per_group(history: list, ranges: list) -> dict:
    from node.cluster.slots import key_slot  # the node's own hashing, by construction equal

    owner = {}
    for lo, hi, group in ranges:
        owner[(lo, hi)] = group
    bounds = sorted(owner)
    counts: Counter = Counter()
    for op in history:
        if getattr(op, "type", None) != "invoke" or getattr(op, "process", None) == "nemesis":
            continue
        value = getattr(op, "value", None)
        key = value[0] if isinstance(value, (list, tuple)) and value else None
        try:
            slot = key_slot(key)
        except TypeError:
            continue
        for lo, hi in bounds:
            if lo <= slot <= hi:
                counts[str(owner[(lo, hi)])] += 1
                break
    return dict(sorted(counts.items()))


def _key(group: Any) -> Any:
    return group if isinstance(group, (int, str)) else repr(group)


def failover_report(log_dir: Path) -> dict | None:
    """The `failover` section for nodes in gossip mode (Redis Cluster's protocol), from what
    they logged (node/rediscluster/audit.py): fail-overs, nodes declared FAIL, writes a primary
    acknowledged and a full resync then threw away, and intervals with two primaries of one
    shard (split brain). Invalid if any write was thrown away or two primaries served at once:
    the data loss and split brain Raft mode exists to rule out. None: no such node."""
    from node.rediscluster.audit import audit, read_events

    events = read_events(Path(log_dir))
    if not any(e.get("event") in ("failover", "fail", "full_resync", "cluster_state")
               for e in events):
        return None
    a = audit(events)
    return {"valid?": not a["writes-discarded"] and not a["two-primaries"],
            "failovers": a["failovers"], "declared-fail": a["declared-fail"],
            "writes-discarded": a["writes-discarded"],
            "two-primaries": len(a["two-primaries"]),
            "examples": {"discarded": a["discarded-list"][:3],
                         "two-primaries": a["two-primaries"][:3]}}
