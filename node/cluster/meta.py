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

  {"op": "member_request", "id", "group", "action", "node"[, "with"]}
      Asks a shard group to change its members (node/cluster/members.py; `replace` swaps
      the voters `node` (an id or a list) for `with` (as many) in one joint configuration
      change): refused (in
      `rejections`) if it does not apply to the group as known here, or the group has a
      request in flight. Recorded with the group's members at that moment.
  {"op": "group_members", "id", "group", "voters", "learners", "final"}
      The group's log committed this configuration (reported by its leader); `final` ends
      the request. Nodes start or stop their cores of the group accordingly.

  {"op": "admit", "node"}
      Admits a node that gossip discovered (node/cluster/health.py) into the cluster: it joins
      the meta group as a learner and may then be added to shard groups. The initial layout's
      nodes are admitted by `init`; a shard group takes only admitted nodes.

Each op that changes anything bumps the epoch. `apply` returns whether the state changed, so the host can reconcile its groups and
log the epoch (`meta_epoch` events, which the bench's cluster checker compares across nodes).
"""

from __future__ import annotations

from typing import Any

from node.cluster.layout import GroupMembers, Layout
from node.cluster.slots import SlotMap

__all__ = ["MetaState", "META_GROUP", "init_entry", "node_list", "target_members"]

# The meta group's id; shard groups are numbered from 1.
META_GROUP = 0


def node_list(value: Any) -> list[str] | None:
    """A node id or a list of them as a list of distinct ids (None: neither)."""
    nodes = [value] if isinstance(value, str) else value
    if not isinstance(nodes, list) or not nodes or len(set(map(str, nodes))) != len(nodes) \
            or not all(isinstance(n, str) and n for n in nodes):
        return None
    return nodes


def target_members(voters: tuple, learners: tuple, action: str, node: Any,
                   new: Any = None) -> tuple:
    """(voters, learners) once `action` on `node` is done (`replace`: the voters `node`, one
    id or a list, out, and `new`, as many, in)."""
    v, le = set(voters), set(learners)
    if action == "replace":
        v -= set(node_list(node) or ())
        le -= set(node_list(node) or ())
        v |= set(node_list(new) or ())
    elif action == "add_learner":
        le.add(node)
    elif action in ("add_voter", "promote"):
        v.add(node)
        le.discard(node)
    elif action == "remove":
        v.discard(node)
        le.discard(node)
    return tuple(sorted(v)), tuple(sorted(le - v))


def init_entry(layout: Layout, config: Any) -> dict:
    """The meta log's first entry."""
    return {"op": "init", "layout": layout.to_json(), "config": config.to_dict()}


class MetaState:
    """What the meta log says, as applied so far."""

    __slots__ = ("epoch", "slots", "groups", "config", "applied_ops", "migrations",
                 "moving", "rejections", "member_requests", "changing", "admitted")

    def __init__(self) -> None:
        self.epoch = 0
        self.slots: SlotMap | None = None
        self.groups: dict[int, GroupMembers] = {}
        self.config: dict = {}
        self.applied_ops = 0
        # id -> {"slot", "from", "to", "state": "moving" | "done" | "aborted"}
        self.migrations: dict[str, dict] = {}
        self.moving: dict[int, str] = {}      # slot -> id of its migration in flight
        self.rejections: dict[str, str] = {}  # id -> why a request was refused
        # id -> {"group", "action", "node", "voters", "learners" (at request), "state"}
        self.member_requests: dict[str, dict] = {}
        self.changing: dict[int, str] = {}    # group -> id of its request in flight
        self.admitted: set[str] = set()       # nodes admitted to the cluster

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
            self.admitted = set(layout.nodes)
            self.epoch = 1
            self.applied_ops += 1
            return True
        if self.epoch == 0:
            return False
        if op == "migrate_begin":
            return self._begin(data)
        if op == "member_request":
            return self._member_request(data)
        if op == "group_members":
            return self._group_members(data)
        if op == "admit":
            node = data.get("node")
            if not isinstance(node, str) or not node or node in self.admitted:
                return False
            self.admitted.add(node)
            self.epoch += 1
            self.applied_ops += 1
            return True
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

    def _member_request(self, data: dict) -> bool:
        req_id, group = data.get("id"), data.get("group")
        if not isinstance(req_id, str) or req_id in self.member_requests \
                or req_id in self.rejections:
            return False
        why = self.check_member_request(group, data.get("action"), data.get("node"), None,
                                        data.get("with"))
        if why:
            self.rejections[req_id] = why
            return False
        members = self.groups[group]
        self.member_requests[req_id] = {
            "group": group, "action": data["action"], "node": data["node"],
            "with": data.get("with") if data["action"] == "replace" else None,
            "voters": list(members.voters), "learners": list(members.learners),
            "state": "pending"}
        self.changing[group] = req_id
        self.epoch += 1
        self.applied_ops += 1
        return True

    def _group_members(self, data: dict) -> bool:
        req = self.member_requests.get(data.get("id"))
        group = data.get("group")
        if req is None or req["state"] != "pending" or req["group"] != group:
            return False
        voters, learners = data.get("voters"), data.get("learners")
        if not (isinstance(voters, list) and voters and isinstance(learners, list)):
            return False
        # Only a configuration this request leads to is taken: its end (`final`), or, for a
        # new voter, the learner step before it. A report from a deposed leader with an older
        # configuration must never overwrite the record (nodes left out of it would stop
        # their cores of a group that still counts on them).
        reported = (tuple(sorted(voters)), tuple(sorted(set(learners) - set(voters))))
        start_v, start_l = tuple(req["voters"]), tuple(req["learners"])
        final = target_members(start_v, start_l, req["action"], req["node"], req.get("with"))
        joiners = node_list(req["with"]) if req["action"] == "replace" else [req["node"]]
        if data.get("final"):
            allowed = [final]
        elif req["action"] in ("add_voter", "promote", "replace"):
            allowed = [(tuple(sorted(start_v)),
                        tuple(sorted((set(start_l) | set(joiners)) - set(start_v))))]
        else:
            allowed = []
        if reported not in allowed:
            return False
        self.groups[group] = GroupMembers(tuple(voters), tuple(learners))
        if data.get("final"):
            req["state"] = "done"
            del self.changing[group]
        self.epoch += 1
        self.applied_ops += 1
        return True

    def check_member_request(self, group: Any, action: Any, node: Any,
                             known_nodes: list | None, new: Any = None) -> str:
        """Why `action` on `node` in `group` is not possible now ("" if it is); `new`: the
        node that replaces `node` (action `replace`)."""
        if group not in self.groups:
            return f"unknown group {group!r}"
        if action not in ("add_voter", "add_learner", "remove", "promote", "transfer",
                          "replace"):
            return f"unknown action {action!r}"
        if action == "replace":
            return self._check_replace(group, node, new, known_nodes)
        if not isinstance(node, str) or (known_nodes is not None and node not in known_nodes):
            return f"unknown node {node!r}"
        m = self.groups[group]
        if group in self.changing:
            return f"group {group} is already changing ({self.changing[group]})"
        if action in ("add_voter", "add_learner") and (node in m.voters
                                                       or node in m.learners):
            return f"{node} is already a member of group {group}"
        if action in ("add_voter", "add_learner", "promote") and node not in self.admitted:
            return f"{node} is not admitted to the cluster (not yet seen alive by gossip)"
        if action == "remove":
            if node not in m.voters and node not in m.learners:
                return f"{node} is not a member of group {group}"
            if tuple(m.voters) == (node,):
                return f"{node} is the last voter of group {group}"
        if action == "promote" and node not in m.learners:
            return f"{node} is not a learner of group {group}"
        if action == "transfer" and node not in m.voters:
            return f"{node} is not a voter of group {group}"
        return ""

    def _check_replace(self, group: int, node: Any, new: Any, known_nodes: list | None) -> str:
        olds, news = node_list(node), node_list(new)
        for given, nodes in ((node, olds), (new, news)):
            if nodes is None or (known_nodes is not None
                                 and any(n not in known_nodes for n in nodes)):
                return f"unknown node(s) {given!r}"
        m = self.groups[group]
        if group in self.changing:
            return f"group {group} is already changing ({self.changing[group]})"
        if len(olds) != len(news):
            return "replace takes as many new nodes as old ones"
        for old in olds:
            if old not in m.voters:
                return f"{old} is not a voter of group {group}"
        for n in news:
            if n in m.voters:
                return f"{n} is already a voter of group {group}"
            if n not in self.admitted:
                return f"{n} is not admitted to the cluster (not yet seen alive by gossip)"
        return ""

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
