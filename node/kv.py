"""The lin-kv state machine: a deterministic map applied from committed log entries.

An entry's data is `{"o": origin node, "r": request id, "w": watermark, "c": command}` with
command `["write", key, value]` or `["cas", key, from, to]`. Every node applies the same entries
in the same order and so computes the same results; the origin node answers its client from its
own copy.

At-most-once: a request can reach the log several times (an origin re-forwards it after a leader
change or a lost message). The first copy applied takes effect; later copies return the recorded
result. An origin puts in `w` the lowest request id it still waits for, so any request id below the
highest `w` seen from that origin is finished there: such copies are skipped and their records
dropped, which keeps the table small.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KV", "OK", "KEY_DOES_NOT_EXIST", "PRECONDITION_FAILED"]

KEY_DOES_NOT_EXIST = 20
PRECONDITION_FAILED = 22

# A result is (0, "") on success or (error code, text).
OK = (0, "")

_MISSING = object()


def same_value(a: Any, b: Any) -> bool:
    """JSON equality without Python's 1 == 1.0 == True conflation."""
    if type(a) is not type(b):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
                and not isinstance(a, bool) and not isinstance(b, bool):
            return a == b
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


class KV:
    """Key-value map plus the per-origin table of applied request ids."""

    __slots__ = ("data", "_results", "_floor", "_slots")

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}
        self._results: dict[str, dict[int, tuple[int, str]]] = {}
        self._floor: dict[str, int] = {}
        # (origin, rid) -> slot of the request, when the caller says (slot migration moves
        # a slot's at-most-once records with its data: node/cluster/shard.py).
        self._slots: dict[tuple[str, int], int] = {}

    def read(self, key: Any) -> tuple[int, Any]:
        """(0, value) or (KEY_DOES_NOT_EXIST, text)."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            return KEY_DOES_NOT_EXIST, "key does not exist"
        return 0, value

    def apply(self, entry: dict, slot: int | None = None) -> tuple[int, str] | None:
        """Apply one committed entry (of `slot`, if given); returns its result, or None for a
        stale duplicate."""
        origin, rid, watermark = entry["o"], entry["r"], entry["w"]
        floor = self._floor.get(origin, 0)
        if rid < floor:
            return None
        done = self._results.get(origin)
        if done is None:
            done = self._results[origin] = {}
        if watermark > floor:
            self._floor[origin] = watermark
            if done:
                for old in [r for r in done if r < watermark]:
                    del done[old]
                    self._slots.pop((origin, old), None)
        previous = done.get(rid)
        if previous is not None:
            return previous
        result = self._execute(entry["c"])
        done[rid] = result
        if slot is not None:
            self._slots[(origin, rid)] = slot
        return result

    # -- slot migration (node/cluster/shard.py) -------------------------------------------
    def slot_items(self, slot: int) -> list[list]:
        """[[key, value]...] of the keys in `slot`, in insertion order."""
        from node.cluster.slots import key_slot

        return [[k, v] for k, v in self.data.items() if key_slot(k) == slot]

    def slot_records(self, slot: int) -> list[list]:
        """[[origin, rid, code, text]...]: the at-most-once records of requests on `slot`."""
        return [[o, r, *self._results[o][r]] for (o, r), s in self._slots.items()
                if s == slot and r in self._results.get(o, {})]

    def import_records(self, records: list, slot: int) -> None:
        """Take over records of `slot` from another group's export (requests applied there
        count as applied here: a retry of one must not apply twice)."""
        for origin, rid, code, text in records:
            if rid < self._floor.get(origin, 0):
                continue
            self._results.setdefault(origin, {}).setdefault(rid, (code, text))
            self._slots[(origin, rid)] = slot

    def forget_slot(self, slot: int) -> None:
        """Drop the keys and records of `slot` (it moved away)."""
        from node.cluster.slots import key_slot

        for k in [k for k in self.data if key_slot(k) == slot]:
            del self.data[k]
        for o, r in [x for x, s in self._slots.items() if s == slot]:
            del self._slots[(o, r)]
            self._results.get(o, {}).pop(r, None)

    def _execute(self, cmd: list) -> tuple[int, str]:
        op = cmd[0]
        key = cmd[1]
        if op == "write":
            self.data[key] = cmd[2]
            return OK
        if op == "cas":
            current = self.data.get(key, _MISSING)
            if current is _MISSING:
                return KEY_DOES_NOT_EXIST, "key does not exist"
            if not same_value(current, cmd[2]):
                return PRECONDITION_FAILED, f"expected {cmd[2]!r}, found {current!r}"
            self.data[key] = cmd[3]
            return OK
        return 10, f"unknown command {op!r}"
