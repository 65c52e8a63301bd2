"""membership: lin-kv traffic while an admin thread adds, removes and promotes shard-group
members and transfers leadership (issue 12; the node side is docs/cluster.md, "Membership
changes").

Generator: lin-kv's (workloads/lin_kv.py); thread n-1 of the first worker group (a reader in
lin-kv) is the *admin*: one request at a time, to a random node, for a random group in 1..G
(G = $FERRITE_CLUSTER_SHARDS, else node count // 3) and a random node:
add_member (voter), add_member (learner), remove_member, promote_learner, transfer_leader and
replace_member (one or two voters swapped for other nodes in one joint configuration change:
swapping two of three voters is the change that splits into two disjoint majorities without
the joint step), in proportions that keep groups from shrinking for good (adds outnumber
removals). For replace_member the admin picks voters from its model of each group (the initial
layout, computed as the nodes do, then every change it asked for that was accepted). History:
one `:member` op per request, value [action, group, node] ([action, group, [old...], [new...]]
for replace_member); a request that does not apply is refused with a definite error: a :fail op.

Checker: per-key linearizability across every change (admin ops left out of it), lost writes,
and invalid unless at least one change was requested. The cluster section counts changes done
(`membership_done` events) and fails the run on two leaders of a group in one term.
"""

from __future__ import annotations

import os
import random
from typing import Any

from workloads.lin_kv import LinKVWorkload

__all__ = ["MembershipWorkload"]


def _initial_voters(nodes: list[str]) -> dict[int, set[str]]:
    """Each shard group's voters in the initial layout, as the nodes compute it from `init`
    and the cluster config in the environment ({} if the config does not load)."""
    from node.cluster.config import ConfigError, load_config
    from node.cluster.layout import initial_layout

    try:
        layout = initial_layout(nodes, load_config(os.environ))
    except (ConfigError, ValueError):
        return {}
    return {g: set(m.voters) for g, m in layout.groups.items()}

_LIN_KV_FS = frozenset({"read", "write", "cas"})
# (rpc, weight): adds outweigh removals so groups do not shrink for good.
_ACTIONS = [("add_member", 3), ("add_learner", 2), ("remove_member", 3),
            ("promote_learner", 2), ("transfer_leader", 2), ("replace_member", 4)]


class MembershipWorkload(LinKVWorkload):
    name = "membership"

    def __init__(self, nodes: list[str], concurrency: int, rng: random.Random) -> None:
        super().__init__(nodes, concurrency, rng)
        self.nodes = list(nodes)
        self.admin = self.n - 1
        shards = os.environ.get("FERRITE_CLUSTER_SHARDS", "")
        self.groups = int(shards) if shards.isdigit() and int(shards) > 0 \
            else max(1, len(nodes) // 3)
        self.voters = _initial_voters(self.nodes)  # group -> the voters we believe it has

    def next_op(self, thread: int) -> tuple[str, Any]:
        if thread == self.admin:
            names = [a for a, _ in _ACTIONS]
            action = self.rng.choices(names, weights=[w for _, w in _ACTIONS])[0]
            group = self.rng.randint(1, self.groups)
            if action == "replace_member":
                voters = sorted(self.voters.get(group, ()))
                others = [n for n in self.nodes if n not in voters]
                k = min(self.rng.choice([1, 2, 2]), len(voters), len(others))
                if k > 0:
                    return "member", [action, group, self.rng.sample(voters, k),
                                      self.rng.sample(others, k)]
                action = "transfer_leader"
            return "member", [action, group, self.rng.choice(self.nodes)]
        return super().next_op(thread)

    @staticmethod
    def request(f: str, value: Any) -> dict:
        if f in _LIN_KV_FS:
            return LinKVWorkload.request(f, value)
        action, group, node = value[:3]
        if action == "add_learner":
            return {"type": "add_member", "group": group, "node": node, "learner": True}
        if action == "replace_member":
            return {"type": action, "group": group, "node": node, "with": value[3]}
        return {"type": action, "group": group, "node": node}

    def complete(self, f: str, value: Any, body: dict) -> tuple[str, Any, Any]:
        if f in _LIN_KV_FS:
            return LinKVWorkload.complete(f, value, body)
        action = value[0]
        expected = "add_member_ok" if action == "add_learner" else action + "_ok"
        ok = body.get("type") == expected
        if ok:  # the meta log took it: the group will get there
            voters = self.voters.setdefault(value[1], set())
            if action == "replace_member":
                voters.difference_update(value[2])
                voters.update(value[3])
            elif action in ("add_member", "promote_learner"):
                voters.add(value[2])
            elif action == "remove_member":
                voters.discard(value[2])
        return ("ok" if ok else "info"), value, None

    @staticmethod
    def check(history: list) -> dict:
        kv_ops = [op for op in history if op.f in _LIN_KV_FS or not isinstance(op.process, int)]
        result = LinKVWorkload.check(kv_ops)
        changes = [op for op in history if op.type == "ok" and op.f not in _LIN_KV_FS
                   and isinstance(op.process, int)]
        result["changes-requested"] = len(changes)
        if not changes:
            result["valid?"] = False
            result["error"] = "no membership change requested: the run did not exercise them"
        return result
