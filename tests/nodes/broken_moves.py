"""Broken slot migration, for the slot-migration checkers' tests (tests/test_slot_workloads.py).

- `LeakyFenceServer`: the source keeps accepting writes after its fence; they are not in the
  export the target activates, so they are lost.
- `EarlyTargetServer`: the target starts serving a slot as soon as its move begins, before the
  source has fenced it (and without its data).
"""

from __future__ import annotations

from node.cluster.migration import Migrations
from node.cluster.shard import ShardState
from node.raft.core import LEADER
from node.server import Server


class LeakyShard(ShardState):
    def serves(self, slot: int) -> bool:
        return slot in self.owned  # the bug: a fenced slot still takes writes


class LeakyFenceServer(Server):
    shard_class = LeakyShard


class EagerShard(ShardState):
    def _activate(self, slot: int, mig: str) -> None:
        self.owned.add(slot)  # the bug: no need for the staged export
        self.staged.pop(mig, None)


class EagerMigrations(Migrations):
    def check(self, now: float, out: list[dict]) -> None:
        host = self.host
        for mig_id, mig in host.meta.migrations.items():
            core = host.raft.cores.get(mig["to"])
            shard = host.shards.get(mig["to"])
            if mig["state"] == "moving" and core is not None and core.role == LEADER \
                    and mig["slot"] not in shard.owned and self._due(now, mig_id, "early"):
                core.propose(now, {"activate": mig["slot"], "mig": mig_id})
        super().check(now, out)


class EarlyTargetServer(Server):
    shard_class = EagerShard
    migrations_class = EagerMigrations
