"""The meta group's state machine: the slot map, the shard groups and their members, the cluster
config, and an epoch that increases with every change (docs/cluster.md).

Every node is a member of the meta group (at most `cluster.meta_voters` vote; the rest are
learners) and applies the same meta log, so every node computes the same state at the same
index. Entries are JSON objects with an `op`:

  {"op": "init", "layout": Layout.to_json(), "config": ClusterConfig.to_dict()}
      The first committed entry: the initial layout, computed deterministically from
      Maelstrom's `init` (node ids) and the config by every node alike. It takes effect only
      at epoch 0 (a second copy, proposed by a later leader, changes nothing) -> epoch 1.

  {"op": "migrate_begin", "id", "slot", "from", "to"}
      Starts moving `slot` from group `from` (its owner) to `to`: rejected (recorded in
      `rejections`, epoch unchanged) if the slot is not `from`'s, is already moving, `to` is
      unknown or is the owner. The groups then fence, ship and stage the data through their
      own logs (node/cluster/shard.py, node/cluster/migration.py).
  {"op": "migrate_done", "id"}
      The target has staged every part: the slot's owner becomes `to` (a new slot map).
  {"op": "migrate_abort", "id"}
      Gives up a move that is not done: the source serves the slot again.

Each op that changes anything bumps the epoch. `apply` returns whether the state changed, so the host can reconcile its groups and
log the epoch (`meta_epoch` events, which the bench's cluster checker compares across nodes).
"""

from __future__ import annotations

from typing import Any

from node.cluster.layout import GroupMembers, Layout
from node.cluster.slots import SlotMap

__all__ = ["MetaState", "META_GROUP", "init_entry"]

# The meta group's id; shard groups are numbered from 1.
META_GROUP = 0


def init_entry(layout: Layout, config: Any) -> dict:
    """The meta log's first entry."""
    return {"op": "init", "layout": layout.to_json(), "config": config.to_dict()}


class MetaState:
    """What the meta log says, as applied so far."""

    __slots__ = ("epoch", "slots", "groups", "config", "applied_ops", "migrations",
                 "moving", "rejections")

    def __init__(self) -> None:
        self.epoch = 0
        self.slots: SlotMap | None = None
        self.groups: dict[int, GroupMembers] = {}
        self.config: dict = {}
        self.applied_ops = 0
        # id -> {"slot", "from", "to", "state": "moving" | "done" | "aborted"}
        self.migrations: dict[str, dict] = {}
        self.moving: dict[int, str] = {}      # slot -> id of its migration in flight
        self.rejections: dict[str, str] = {}  # id -> why migrate_begin was refused

    def apply(self, data: Any) -> bool:
        """Apply one committed meta entry; True if the state changed (a new epoch)."""
        if not isinstance(data, dict):
            return False
        op = data.get("op")
        if op == "init":
            if self.epoch != 0:
                return False
            layout = Layout.from_json(data["layout"])
            self.slots = layout.slots
            self.groups = dict(layout.groups)
            self.config = dict(data.get("config") or {})
            self.epoch = 1
            self.applied_ops += 1
            return True
        if self.epoch == 0:
            return False
        if op == "migrate_begin":
            return self._begin(data)
        if op in ("migrate_done", "migrate_abort"):
            mig = self.migrations.get(data.get("id"))
            if mig is None or mig["state"] != "moving":
                return False
            if op == "migrate_done":
                mig["state"] = "done"
                self.slots = self.slots.with_owner(mig["slot"], mig["to"])
            else:
                mig["state"] = "aborted"
            del self.moving[mig["slot"]]
            self.epoch += 1
            self.applied_ops += 1
            return True
        return False

    def _begin(self, data: dict) -> bool:
        mig_id, slot, src, dst = data.get("id"), data.get("slot"), data.get("from"), \
            data.get("to")
        if not isinstance(mig_id, str) or mig_id in self.migrations or mig_id in self.rejections:
            return False
        why = self.check_move(slot, src, dst)
        if why:
            self.rejections[mig_id] = why
            return False
        self.migrations[mig_id] = {"slot": slot, "from": src, "to": dst, "state": "moving"}
        self.moving[slot] = mig_id
        self.epoch += 1
        self.applied_ops += 1
        return True

    def check_move(self, slot: Any, src: Any, dst: Any) -> str:
        """Why moving `slot` from `src` to `dst` is not possible now ("" if it is)."""
        if type(slot) is not int or not 0 <= slot < 16384:
            return f"unknown slot {slot!r}"
        if dst not in self.groups:
            return f"unknown group {dst!r}"
        owner = self.slots.owner(slot)
        if dst == owner:
            return f"slot {slot} is already owned by group {dst}"
        if src != owner:
            return f"slot {slot} is owned by group {owner}, not {src!r}"
        if slot in self.moving:
            return f"slot {slot} is already moving ({self.moving[slot]})"
        return ""

    def owner(self, slot: int) -> int | None:
        """The shard group that owns `slot`, or None before the layout is applied."""
        return None if self.slots is None else self.slots.owner(slot)

    def member_groups(self, node: str) -> list[int]:
        """Shard groups in which `node` is a voter or a learner."""
        return [g for g, m in self.groups.items() if node in m.voters or node in m.learners]

    def digest(self) -> str:
        """A short digest of the slot map (equal maps, equal digests, in every process)."""
        return "" if self.slots is None else self.slots.digest()
