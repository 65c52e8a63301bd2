"""Membership changes of shard groups, asked through the meta log and carried out by each group's
own log (docs/cluster.md, "Membership changes").

An admin RPC (any node) proposes a *request* to the meta log:
  {"op": "member_request", "id", "group", "action", "node"[, "with"]}
with action add_voter | add_learner | remove | promote | transfer | replace. The meta state machine
refuses it (recorded in `rejections`) if it cannot apply to the group as the meta log knows it,
or if the group has a request in flight (one change at a time per group). Otherwise whichever
node leads the group drives it, idempotently and resumably, like a slot move:

  add_learner       change the group's configuration to learners + node (one entry)
  add_voter/promote first as a learner (if not one yet), and once its log has caught up with
                    the leader's commit index, voters + node by joint consensus
  remove            voters - node, learners - node (joint consensus if it votes); a removed
                    leader steps down once C_new commits, and the next leader finishes
  transfer          RaftCore.transfer_leadership(node) (TimeoutNow)
  replace           voters `node` (an id or a list) out, as many `with` in, in one joint
                    configuration change: the new ones first as learners, and once all have
                    caught up, C_old -> C_old,new -> C_new with C_new = voters - node + with
                    (without the joint step, C_old's majority and C_new's can be disjoint:
                    swapping two voters of three, the two new ones are a majority of C_new)

After each committed step the leader reports the group's configuration to the meta log
({"op": "group_members", "id", "group", "voters", "learners", "final"}), so every node knows
whom to route to, a node added to a group starts its core (it catches up from the leader's
log), and a node removed from it stops its core. `final` ends the request.
"""

from __future__ import annotations

from typing import Any

from node import protocol as P
from node.cluster.driver import RETRY_EVERY, Driver
from node.cluster.meta import node_list, target_members
from node.raft.core import LEADER

__all__ = ["Members", "MEMBER_ADMIN", "ACTIONS", "target_members"]

# RPC type -> action; `add_member {learner: true}` is add_learner.
MEMBER_ADMIN = {"add_member": None, "remove_member": "remove", "promote_learner": "promote",
                "transfer_leader": "transfer", "replace_member": "replace"}
ACTIONS = frozenset({"add_voter", "add_learner", "remove", "promote", "transfer", "replace"})
_INF = float("inf")


class Members(Driver):
    """This node's part in membership requests; `host` is its Server."""

    def __init__(self, host: Any) -> None:
        self.host = host
        super().__init__()
        self._admin: dict[str, tuple[str, int, str]] = {}  # request id -> (client, msg_id, type)
        self.completed = 0

    def admin(self, now: float, src: str, msg_id: int, body: dict, out: list[dict]) -> None:
        host, meta = self.host, self.host.meta
        t = body["type"]
        group, node = body.get("group"), body.get("node")
        action = MEMBER_ADMIN[t] or ("add_learner" if body.get("learner") else "add_voter")
        new = body.get("with") if action == "replace" else None
        if meta.epoch == 0:
            host._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "no slot map yet")
            return
        why = meta.check_member_request(group, action, node, host.node_ids, new)
        if why:
            code = P.MALFORMED_REQUEST if why.startswith("unknown") else P.PRECONDITION_FAILED
            host._reply_error(out, src, msg_id, code, why)
            return
        req_id = host.new_request_id("m")
        entry = {"op": "member_request", "id": req_id, "group": group, "action": action,
                 "node": node}
        if action == "replace":
            entry["with"] = new
        if not host.propose_meta(now, entry):
            host._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "no meta leader known")
            return
        self._admin[req_id] = (src, msg_id, t)

    def answer_admin(self, out: list[dict]) -> None:
        host, meta = self.host, self.host.meta
        for req_id in list(self._admin):
            client, msg_id, t = self._admin[req_id]
            if req_id in meta.rejections:
                del self._admin[req_id]
                host._reply_error(out, client, msg_id, P.PRECONDITION_FAILED,
                                  meta.rejections[req_id])
            elif req_id in meta.member_requests:
                del self._admin[req_id]
                host._send(out, client, {"type": t + "_ok", "in_reply_to": msg_id, "id": req_id,
                                         **meta.member_requests[req_id]})

    def check(self, now: float) -> None:
        """Drive the requests of the groups this node leads (see the module docstring)."""
        host, meta = self.host, self.host.meta
        self.next_check = _INF
        for req_id, req in meta.member_requests.items():
            if req["state"] != "pending":
                continue
            self._wake(now + RETRY_EVERY)
            group, action, node = req["group"], req["action"], req["node"]
            core = host.raft.cores.get(group)
            if core is None or core.role != LEADER:
                continue
            known = meta.groups[group]
            new = req.get("with")
            final = target_members(req["voters"], req["learners"], action, node, new)
            m = core.membership
            settled = core.membership_settled
            current = (m.voters, m.learners)
            if action == "transfer":
                if core.id != node:  # we lead, the target does not yet: hand over
                    if self._due(now, req_id, "transfer"):
                        core.transfer_leadership(now, node)
                elif self._due(now, req_id, "report"):  # the target leads: done
                    host.propose_meta(now, {"op": "group_members", "id": req_id,
                                            "group": group, "voters": list(known.voters),
                                            "learners": list(known.learners), "final": True})
                continue
            if settled and current == final:
                if self._due(now, req_id, "report"):
                    host.propose_meta(now, {"op": "group_members", "id": req_id,
                                            "group": group, "voters": list(final[0]),
                                            "learners": list(final[1]), "final": True})
                continue
            if settled and current != (tuple(known.voters), tuple(known.learners)):
                # An intermediate step committed (a new learner): tell the meta log, so the
                # node starts its core and catches up.
                if self._due(now, req_id, "report"):
                    host.propose_meta(now, {"op": "group_members", "id": req_id,
                                            "group": group, "voters": list(current[0]),
                                            "learners": list(current[1]), "final": False})
                continue
            if not settled or not self._due(now, req_id, "change"):
                continue
            joiners = (node_list(new) or []) if action == "replace" else [node]
            if action in ("add_voter", "promote", "replace") \
                    and any(j not in m.voters for j in joiners):
                missing = [j for j in joiners if j not in m.voters and j not in m.learners]
                if missing:
                    core.change_membership(now, list(m.voters), list(m.learners) + missing)
                elif all((core.match_of(j) or 0) >= core.commit for j in joiners
                         if j not in m.voters):  # all caught up: promote by joint consensus
                    core.change_membership(now, list(final[0]), list(final[1]))
            else:
                core.change_membership(now, list(final[0]), list(final[1]))
        host.raft.touched()
