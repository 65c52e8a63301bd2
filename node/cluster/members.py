"""Membership changes of shard groups, asked through the meta log and carried out by each group's
own log (docs/cluster.md, "Membership changes").

An admin RPC (any node) proposes a *request* to the meta log:
  {"op": "member_request", "id", "group", "action", "node"}
with action add_voter | add_learner | remove | promote | transfer. The meta state machine
refuses it (recorded in `rejections`) if it cannot apply to the group as the meta log knows it,
or if the group has a request in flight (one change at a time per group). Otherwise whichever
node leads the group drives it, idempotently and resumably, like a slot move:

  add_learner       change the group's configuration to learners + node (one entry)
  add_voter/promote first as a learner (if not one yet), and once its log has caught up with
                    the leader's commit index, voters + node by joint consensus
  remove            voters - node, learners - node (joint consensus if it votes); a removed
                    leader steps down once C_new commits, and the next leader finishes
  transfer          RaftCore.transfer_leadership(node) (TimeoutNow)

After each committed step the leader reports the group's configuration to the meta log
({"op": "group_members", "id", "group", "voters", "learners", "final"}), so every node knows
whom to route to, a node added to a group starts its core (it catches up from the leader's
log), and a node removed from it stops its core. `final` ends the request.
"""

from __future__ import annotations

from typing import Any

from node import protocol as P
from node.cluster.driver import RETRY_EVERY, Driver
from node.cluster.meta import target_members
from node.raft.core import LEADER

__all__ = ["Members", "MEMBER_ADMIN", "ACTIONS", "target_members"]

# RPC type -> action; `add_member {learner: true}` is add_learner.
MEMBER_ADMIN = {"add_member": None, "remove_member": "remove", "promote_learner": "promote",
                "transfer_leader": "transfer"}
ACTIONS = frozenset({"add_voter", "add_learner", "remove", "promote", "transfer"})
_INF = float("inf")


class Members(Driver):
    """This node's part in membership requests; `host` is its Server."""

    def __init__(self, host: Any) -> None:
        self.host = host
        super().__init__()
        self._counter = 0
        self._admin: dict[str, tuple[str, int, str]] = {}  # request id -> (client, msg_id, type)
        self.completed = 0

    def admin(self, now: float, src: str, msg_id: int, body: dict, out: list[dict]) -> None:
        host, meta = self.host, self.host.meta
        t = body["type"]
        group, node = body.get("group"), body.get("node")
        action = MEMBER_ADMIN[t] or ("add_learner" if body.get("learner") else "add_voter")
        if meta.epoch == 0:
            host._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "no slot map yet")
            return
        why = meta.check_member_request(group, action, node, host.node_ids)
        if why:
            code = P.MALFORMED_REQUEST if why.startswith("unknown") else P.PRECONDITION_FAILED
            host._reply_error(out, src, msg_id, code, why)
            return
        self._counter += 1
        req_id = f"{host.node_id}:m{self._counter}"
        entry = {"op": "member_request", "id": req_id, "group": group, "action": action,
                 "node": node}
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
            final = target_members(req["voters"], req["learners"], action, node)
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
            if action in ("add_voter", "promote") and node not in m.voters:
                if node not in m.learners:
                    core.change_membership(now, list(m.voters), list(m.learners) + [node])
                else:
                    match = core.match_of(node)
                    if match is not None and match >= core.commit:  # caught up: promote
                        core.change_membership(now, list(final[0]), list(final[1]))
            else:
                core.change_membership(now, list(final[0]), list(final[1]))
        host.raft.touched()
