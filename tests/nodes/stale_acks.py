"""The Raft bug of issue 8, restored on purpose: a leader takes any acknowledgement as an answer
to its current term's messages, even a late answer to an AppendEntries of an older term (its
seq restarts each term). A deposed leader can then confirm ReadIndex reads with no real quorum.

For the tests that prove the invariant oracle (maelstrom/invariants.py) and the sweeps catch
it: `maelstrom test --sim --sim-node tests/nodes/stale_acks.py:StaleAckServer`.
"""

from __future__ import annotations

from node.raft.core import RaftCore
from node.server import Server


class StaleAckCore(RaftCore):
    """`RaftCore` with the old ack rule: the seq alone, whatever term it answers."""

    def _answers_this_term(self, pr, m) -> bool:
        if m["seq"] > pr.sent_seq:
            pr.sent_seq = m["seq"]  # as before the fix: an unknown seq was not rejected
        return True


class StaleAckServer(Server):
    core_class = StaleAckCore
