"""The meta group's state machine: the slot map, the shard groups and their members, the cluster
config, and an epoch that increases with every change (docs/cluster.md).

Every node is a member of the meta group (at most `cluster.meta_voters` vote; the rest are
learners) and applies the same meta log, so every node computes the same state at the same
index. Entries are JSON objects with an `op`:

  {"op": "init", "layout": Layout.to_json(), "config": ClusterConfig.to_dict()}
      The first committed entry: the initial layout, computed deterministically from
      Maelstrom's `init` (node ids) and the config by every node alike. It takes effect only
      at epoch 0 (a second copy, proposed by a later leader, changes nothing) -> epoch 1.

Later issues add ops (slot migration, membership changes); each that changes anything bumps
the epoch. `apply` returns whether the state changed, so the host can reconcile its groups and
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

    __slots__ = ("epoch", "slots", "groups", "config", "applied_ops")

    def __init__(self) -> None:
        self.epoch = 0
        self.slots: SlotMap | None = None
        self.groups: dict[int, GroupMembers] = {}
        self.config: dict = {}
        self.applied_ops = 0

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
        return False

    def owner(self, slot: int) -> int | None:
        """The shard group that owns `slot`, or None before the layout is applied."""
        return None if self.slots is None else self.slots.owner(slot)

    def member_groups(self, node: str) -> list[int]:
        """Shard groups in which `node` is a voter or a learner."""
        return [g for g, m in self.groups.items() if node in m.voters or node in m.learners]

    def digest(self) -> str:
        """A short digest of the slot map (equal maps, equal digests, in every process)."""
        return "" if self.slots is None else self.slots.digest()
