"""A broken Raft for the cluster checker's tests: a candidate counts every granted vote twice, so
it can win an election without a majority, and two nodes can lead one group in one term. (It
also skips PreVote, so that rival candidacies in one term, where the bug shows, are common.)

`maelstrom test --sim --sim-node tests/nodes/double_vote.py:DoubleVoteServer` (5+ voters).
"""

from __future__ import annotations

from node.raft.core import CANDIDATE, RaftCore
from node.server import Server


class DoubleVoteCore(RaftCore):
    def become_pre_candidate(self, now: float) -> None:
        self.become_candidate(now)

    def _step_candidate(self, now: float, src: str, m: dict) -> None:
        if m.get("type") == "raft_vote_ok" and m.get("granted") and self.role == CANDIDATE:
            # The bug: the same grant counted once more (booked to a voter not heard from).
            other = next((v for v in self.voters if v not in self._votes and v != src), None)
            if other is not None:
                self._votes[other] = True
        super()._step_candidate(now, src, m)


class DoubleVoteServer(Server):
    core_class = DoubleVoteCore
