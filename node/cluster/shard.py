"""A shard group's state machine: the lin-kv data of the slots it owns, and the slot moves its
own log decides (docs/cluster.md, "Slot migration").

Every member applies the same entries in the same order, so everything here is deterministic;
in particular which slots the group serves is decided by *its own log*, never by when a member
happened to learn of a meta change. Entries (JSON objects):

  {"o", "r", "w", "c"}            a client command (node/kv.py), for the slot of c[1]: applied
                                  only if the group owns that slot and has not fenced it; else
                                  the result is MOVED and nothing is recorded
  {"fence": slot, "mig": id}      the source stops serving `slot`: every write before this
                                  entry is in, none after. The slot's keys and the at-most-once
                                  records of its requests are exported (kept until dropped)
  {"import": slot, "mig": id, "part": i, "parts": n, "data": [[k, v]...], "dedup": [...]}
                                  the target stages one part of the export
  {"activate": slot, "mig": id}   the target starts serving `slot` with the staged data (the
                                  meta log has committed it as the owner)
  {"drop": slot, "mig": id}       the source forgets the slot (after the meta commit)
  {"unfence": slot, "mig": id}    the source serves the slot again (the move was aborted)
  {"unstage": slot, "mig": id}    the target forgets staged parts (aborted)

Reads are served by `read(key)`, which answers MOVED for a slot the group does not serve now.
"""

from __future__ import annotations

from typing import Any, Iterable

from node.cluster.slots import key_slot
from node.kv import KV

__all__ = ["ShardState", "MOVED", "EXPORT_PART_KEYS"]

# The result of a command for a slot this group does not serve: never sent to clients; the
# request goes to the slot's owner instead (node/cluster/requests.py).
MOVED = -1
_MOVED = (MOVED, "slot not served by this group")

# Keys per import entry, so that a big slot does not stall the target group with one entry.
EXPORT_PART_KEYS = 256


class ShardState:
    """One shard group's data and slot ownership."""

    __slots__ = ("kv", "owned", "fenced", "exports", "staged", "active_moves")

    def __init__(self, owned: Iterable[int]) -> None:
        self.kv = KV()
        self.owned: set[int] = set(owned)
        self.fenced: dict[int, str] = {}          # slot -> migration that fenced it
        self.exports: dict[str, list[dict]] = {}  # migration -> parts to ship (source side)
        self.staged: dict[str, dict] = {}         # migration -> {"slot", "parts": {i: part}}
        self.active_moves = 0                     # imports activated (for reports)

    # -- reads ---------------------------------------------------------------------------------
    def serves(self, slot: int) -> bool:
        return slot in self.owned and slot not in self.fenced

    def read(self, key: Any) -> tuple[int, Any]:
        if not self.serves(key_slot(key)):
            return _MOVED
        return self.kv.read(key)

    def staged_complete(self, mig: str) -> bool:
        st = self.staged.get(mig)
        return st is not None and st["parts"] and len(st["parts"]) == st["count"]

    # -- applying ------------------------------------------------------------------------------
    def apply(self, data: dict) -> tuple[int, str] | None:
        """Apply one committed entry; a client command's result (None for a stale copy or a
        migration entry)."""
        if "c" in data:
            slot = key_slot(data["c"][1])
            if not self.serves(slot):
                return _MOVED
            return self.kv.apply(data, slot)
        if "fence" in data:
            self._fence(data["fence"], data["mig"])
        elif "import" in data:
            self._stage(data)
        elif "activate" in data:
            self._activate(data["activate"], data["mig"])
        elif "drop" in data:
            slot, mig = data["drop"], data["mig"]
            if self.fenced.get(slot) == mig:
                del self.fenced[slot]
                self.owned.discard(slot)
                self.exports.pop(mig, None)
                self.kv.forget_slot(slot)
        elif "unfence" in data:
            slot, mig = data["unfence"], data["mig"]
            if self.fenced.get(slot) == mig:
                del self.fenced[slot]
                self.exports.pop(mig, None)
        elif "unstage" in data:
            self.staged.pop(data["mig"], None)
        return None

    def _fence(self, slot: int, mig: str) -> None:
        if slot not in self.owned or slot in self.fenced:
            return
        self.fenced[slot] = mig
        items = self.kv.slot_items(slot)
        dedup = self.kv.slot_records(slot)
        parts = [items[i:i + EXPORT_PART_KEYS] for i in range(0, len(items), EXPORT_PART_KEYS)]
        parts = parts or [[]]
        n = len(parts)
        self.exports[mig] = [{"import": slot, "mig": mig, "part": i, "parts": n, "data": part,
                              "dedup": dedup if i == 0 else []}
                             for i, part in enumerate(parts)]

    def _stage(self, data: dict) -> None:
        mig, slot = data["mig"], data["import"]
        if slot in self.owned:
            return  # already ours (a late duplicate after activation)
        st = self.staged.setdefault(mig, {"slot": slot, "count": data["parts"], "parts": {}})
        st["parts"].setdefault(data["part"], (data["data"], data["dedup"]))

    def _activate(self, slot: int, mig: str) -> None:
        if not self.staged_complete(mig) or slot in self.owned:
            return
        st = self.staged.pop(mig)
        for i in range(st["count"]):
            items, dedup = st["parts"][i]
            for k, v in items:
                self.kv.data[k] = v
            self.kv.import_records(dedup, slot)
        self.owned.add(slot)
        self.active_moves += 1
