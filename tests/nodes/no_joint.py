"""A membership change without joint consensus, for the membership checkers' tests: a change of
voters takes effect in one step (C_old -> C_new), so C_old's majority and C_new's can decide
separately (two leaders in one term, or two values committed at one index)."""

from __future__ import annotations

from node.raft.core import LEADER, RaftCore
from node.raft.membership import Membership
from node.server import Server


class NoJointCore(RaftCore):
    def change_membership(self, now, voters, learners=()):
        if self.role != LEADER or self._change_in_flight():
            return False
        target = Membership(tuple(voters), tuple(learners))
        if target == self.membership:
            return False
        self._append(now, [target.to_entry()])  # the bug: no C_old,new step
        self._after(now)
        return True


class NoJointServer(Server):
    core_class = NoJointCore
