"""slot-migration: lin-kv traffic on the keys of a few slots while a migrator keeps moving those
slots between shard groups (issue 12; the node side is docs/cluster.md, "Slot migration").

Generator: lin-kv's (workloads/lin_kv.py), except that key k is sent as the string
`{hotN}k` with N = k mod HOT_SLOTS, so every key lives in one of HOT_SLOTS slots (hash tags).
Thread n-1 of the first worker group (a reader in lin-kv) is the *migrator*: it asks a random
node to move a random hot slot to a random shard group (`migrate_slot {slot, to_group}`),
one move at a time. The groups are 1..G with G = $FERRITE_CLUSTER_SHARDS, else
node count // 3 (the node's default), at least 2.

History: lin-kv ops with values [key, v] (key the string), and `:migrate` ops with values
[slot, group] (ok: the move was started; a refusal, e.g. a move to the owner or a move of a
moving slot, is a definite :fail).

Checker: per-key linearizability over the whole history, across every move (the migrate ops
are left out of it), and the lost-writes diagnostic; invalid unless at least one move started.
What the nodes report about the moves (fence before activation, one outcome per move, counts
of moves done and aborted) is the `cluster` section's (maelstrom/cluster_check.py).
"""

from __future__ import annotations

import os
import random
from typing import Any

from workloads.lin_kv import LinKVWorkload

__all__ = ["SlotMigrationWorkload", "HOT_SLOTS", "hot_key"]

HOT_SLOTS = 3
_LIN_KV_FS = frozenset({"read", "write", "cas"})


def hot_key(k: int) -> str:
    return f"{{hot{k % HOT_SLOTS}}}{k}"


class SlotMigrationWorkload(LinKVWorkload):
    name = "slot-migration"

    def __init__(self, nodes: list[str], concurrency: int, rng: random.Random) -> None:
        super().__init__(nodes, concurrency, rng)
        from node.cluster.slots import key_slot  # the node's own hashing, by construction

        self.migrator = self.n - 1
        self.hot_slots = sorted({key_slot(hot_key(i)) for i in range(HOT_SLOTS)})
        shards = os.environ.get("FERRITE_CLUSTER_SHARDS", "")
        self.groups = int(shards) if shards.isdigit() and int(shards) > 0 \
            else max(1, len(nodes) // 3)
        if self.groups < 2:
            from maelstrom.errors import BenchError

            raise BenchError("slot-migration needs at least 2 shard groups (e.g. 6+ nodes, or "
                             "FERRITE_CLUSTER_SHARDS=2)")

    def next_op(self, thread: int) -> tuple[str, Any]:
        if thread == self.migrator:
            return "migrate", [self.rng.choice(self.hot_slots),
                               self.rng.randint(1, self.groups)]
        f, value = super().next_op(thread)
        return f, [hot_key(value[0]), value[1]]

    @staticmethod
    def request(f: str, value: Any) -> dict:
        if f == "migrate":
            return {"type": "migrate_slot", "slot": value[0], "to_group": value[1]}
        return LinKVWorkload.request(f, value)

    @staticmethod
    def complete(f: str, value: Any, body: dict) -> tuple[str, Any, Any]:
        if f == "migrate":
            if body.get("type") == "migrate_slot_ok":
                return "ok", value, None
            return "info", value, None
        return LinKVWorkload.complete(f, value, body)

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", [hot_key(k), None]) for k in self.keys_used]

    @staticmethod
    def check(history: list) -> dict:
        kv_ops = [op for op in history if op.f in _LIN_KV_FS or not isinstance(op.process, int)]
        result = LinKVWorkload.check(kv_ops)
        moves = [op for op in history if op.f == "migrate" and op.type == "ok"]
        result["migrations-started"] = len(moves)
        if not moves:
            result["valid?"] = False
            result["error"] = "no slot move started: the run did not exercise migration"
        return result
