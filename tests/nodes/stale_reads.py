"""A deliberately broken variant of our Raft node, for the simulator's tests: every node answers
reads at once from its own state machine, without a ReadIndex round through the leader.

A follower that lags behind the leader (a partition, a lost AppendEntries, a pause) therefore
serves stale values, and so can a deposed leader: not linearizable. Load it with
`maelstrom test --sim --sim-node tests/nodes/stale_reads.py:StaleReadServer`.
"""

from __future__ import annotations

from node import protocol as P
from node.server import Server


class StaleReadServer(Server):
    """`node.server.Server`, except that reads are served from local state immediately."""

    def _receive_client(self, now: float, src: str, body: dict, msg_id, out: list) -> None:
        if body.get("type") == "read" and self.raft is not None and msg_id is not None:
            try:
                cmd = P.parse_client_request(body)
            except P.Malformed:
                cmd = None
            kv = self.shards.get(self.router.group_of(cmd[1])) if cmd is not None else None
            if kv is not None:  # a member of the key's group: answer from our own copy
                code, value = kv.read(cmd[1])
                if code:
                    self._reply_error(out, src, msg_id, code, value)
                else:
                    self._send(out, src, {"type": "read_ok", "in_reply_to": msg_id,
                                          "value": value})
                return
        super()._receive_client(now, src, body, msg_id, out)
