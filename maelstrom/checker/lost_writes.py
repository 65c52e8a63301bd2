"""Acknowledged writes that a later read shows lost: the anomaly asynchronous replication is
known for (issue 11: gossip mode's failovers drop what the old primary acked and never shipped).

A diagnostic beside the linearizability verdict, for lin-kv histories (per key). An ok write (or
ok cas) W of value v is *lost* when some ok read R of the same key, invoked after W completed,
returns a value u != v that only writes finished before W was invoked could have produced: every
op that may have written u (ok writes and cas with `to` = u, and `:info` ones invoked before R
returned) completed before W began. Then R saw a state older than W: W was acknowledged and is
gone. Conservative by construction: with repeated values (lin-kv writes 0..4), a read whose value
some later or concurrent write could explain accuses nobody, so every reported write is lost for
certain; some lost writes may go unreported.

A linearizable history never has one (such a read would not linearize), so for our Raft node the
count is always 0; the checker's tests prove it bites on a history that loses a write.
"""

from __future__ import annotations

from typing import Any

from maelstrom.checker.prepare import Call, keyed_calls

__all__ = ["lost_writes"]

MAX_EXAMPLES = 5


def _written(c: Call) -> Any:
    """The value `c` leaves in the register if it takes effect, or a marker if none."""
    if c.f == "write":
        return c.value
    if c.f == "cas":
        return c.value[1]
    return _NONE


_NONE = object()
_INF = float("inf")


def lost_writes(ops: list) -> dict:
    """{"count": lost acknowledged writes, "examples": [{key, write, read, ...}]}."""
    count = 0
    examples: list[dict] = []
    for key, calls in keyed_calls(ops).items():
        writers: dict[Any, list[Call]] = {}
        for c in calls:
            v = _written(c)
            if v is not _NONE:
                writers.setdefault(_hashable(v), []).append(c)
        reads = [c for c in calls if c.f == "read" and c.required]
        for w in calls:
            v = _written(w)
            if v is _NONE or not w.required:
                continue
            for r in reads:
                if r.call_pos <= w.ret_pos or _same(r.value, v):
                    continue
                r_end = r.ret_pos if r.ret_pos is not None else _INF
                # The ops that may have written what R read (invoked before R returned).
                sources = [s for s in writers.get(_hashable(r.value), ()) if s.call_pos < r_end]
                if sources and all(s.required and s.ret_pos < w.call_pos for s in sources):
                    count += 1
                    if len(examples) < MAX_EXAMPLES:
                        examples.append({"key": key, "write": w.invoke.index,
                                         "write-value": v, "read": r.invoke.index,
                                         "read-value": r.value})
                    break
    return {"count": count, "examples": examples}


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return (type(v).__name__, v)
    except TypeError:
        return ("repr", repr(v))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
