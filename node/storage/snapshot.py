"""A shard group's state machine as a JSON value, and back: the `state` of a snapshot
(docs/storage.md). Only JSON lists of pairs, never objects with non-string keys, so that
integer keys and request ids survive the round trip through the WAL and InstallSnapshot.

    {"kv": [[key, value]...], "results": [[origin, [[rid, code, text]...]]...],
     "floor": [[origin, watermark]...], "slots": [[origin, rid, slot]...],
     "owned": [slot...], "fenced": [[slot, mig]...], "exports": {mig: [entry...]},
     "staged": [[mig, slot, count, [[part, data, dedup]...]]...], "moves": n}

The meta group is never compacted (its log holds only the layout, moves and membership
changes, a few entries per admin operation), so MetaState needs no snapshot form.
"""

from __future__ import annotations

from typing import Any

try:
    import orjson

    def _copy(value: Any) -> Any:
        return orjson.loads(orjson.dumps(value))
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    import json

    def _copy(value: Any) -> Any:
        return json.loads(json.dumps(value))

__all__ = ["shard_snapshot", "shard_from_snapshot"]


def shard_snapshot(shard: Any) -> Any:
    """`shard` (a node/cluster/shard.py ShardState) as a fresh JSON value sharing nothing
    with it."""
    kv = shard.kv
    value = {
        "kv": [[k, v] for k, v in kv.data.items()],
        "results": [[o, [[r, res[0], res[1]] for r, res in done.items()]]
                    for o, done in kv._results.items()],
        "floor": [[o, w] for o, w in kv._floor.items()],
        "slots": [[o, r, s] for (o, r), s in kv._slots.items()],
        "owned": sorted(shard.owned),
        "fenced": [[s, m] for s, m in shard.fenced.items()],
        "exports": shard.exports,
        "staged": [[m, st["slot"], st["count"],
                    [[i, d, dd] for i, (d, dd) in st["parts"].items()]]
                   for m, st in shard.staged.items()],
        "moves": shard.active_moves,
    }
    return _copy(value)


def shard_from_snapshot(shard_class: type, value: Any) -> Any:
    """A new `shard_class` holding the snapshot `value` (shared with nobody: callers pass a
    fresh value, e.g. from the WAL or a message)."""
    shard = shard_class(value["owned"])
    kv = shard.kv
    kv.data = {k: v for k, v in value["kv"]}
    kv._results = {o: {r: (c, t) for r, c, t in done} for o, done in value["results"]}
    kv._floor = {o: w for o, w in value["floor"]}
    kv._slots = {(o, r): s for o, r, s in value["slots"]}
    shard.fenced = {s: m for s, m in value["fenced"]}
    shard.exports = dict(value["exports"])
    shard.staged = {m: {"slot": slot, "count": count,
                        "parts": {i: (d, dd) for i, d, dd in parts}}
                    for m, slot, count, parts in value["staged"]}
    shard.active_moves = value["moves"]
    return shard
