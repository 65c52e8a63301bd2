"""A Raft group's membership: voters, learners, and the joint configuration of a change
(Raft paper section 6; thesis 4.3).

A configuration is stored in the log like any entry, as the data `{"raft_config": {...}}`, and a
member uses the *latest configuration in its log*, committed or not. Changing the voters goes in
two steps, so that no two disjoint majorities can ever decide:

  C_old -> C_old,new (joint: every decision needs a majority of C_old AND of C_new)
        -> C_new     (appended by the leader once C_old,new is committed).

Changing only the learners needs no joint step: learners are in no quorum. This module is the
arithmetic (who votes, what a quorum is, what is committed); node/raft/core.py decides when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from node.raft import quorum

__all__ = ["Membership", "CONFIG_KEY", "config_of"]

# The key that marks a log entry's data as a configuration.
CONFIG_KEY = "raft_config"


@dataclass(frozen=True)
class Membership:
    """Who is in a group. `old` is set only in a joint configuration: the voters being left."""

    voters: tuple[str, ...]
    learners: tuple[str, ...] = ()
    old: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "voters", tuple(sorted(set(self.voters))))
        # A learner of C_new may still be a voter of C_old while joint: it votes as one
        # until C_new takes over.
        object.__setattr__(self, "learners",
                           tuple(sorted(set(self.learners) - set(self.voters))))
        if self.old is not None:
            object.__setattr__(self, "old", tuple(sorted(set(self.old))))

    # -- who ---------------------------------------------------------------------------------
    @property
    def joint(self) -> bool:
        return self.old is not None

    @property
    def all_voters(self) -> tuple[str, ...]:
        """Everyone whose vote or ack counts: C_new, plus C_old while joint."""
        if self.old is None:
            return self.voters
        return tuple(sorted(set(self.voters) | set(self.old)))

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.all_voters) | set(self.learners)))

    def is_voter(self, node: str) -> bool:
        return node in self.voters or (self.old is not None and node in self.old)

    # -- quorums ------------------------------------------------------------------------------
    def _sets(self) -> list[tuple[str, ...]]:
        return [self.voters] if self.old is None else [self.voters, self.old]

    def quorum_value(self, values: Mapping[str, float]) -> float:
        """The largest value a majority of every voter set has reached (`values` by node;
        missing nodes count as 0): the commit index from match indexes, the confirmed
        sequence number from acks."""
        result = None
        for voters in self._sets():
            v = quorum.quorum_value([values.get(n, 0) for n in voters], len(voters))
            result = v if result is None or v < result else result
        return result if result is not None else 0

    def has_quorum(self, nodes: Iterable[str]) -> bool:
        """Whether `nodes` hold a majority of every voter set."""
        present = set(nodes)
        return all(sum(1 for n in voters if n in present) >= quorum.majority(len(voters))
                   for voters in self._sets())

    def vote_result(self, votes: Mapping[str, bool]) -> str:
        """VOTE_WON if a majority of every voter set granted, VOTE_LOST if any set can no
        longer grant a majority, else VOTE_PENDING."""
        results = []
        for voters in self._sets():
            results.append(quorum.vote_result({n: votes[n] for n in voters if n in votes},
                                              len(voters)))
        if any(r == quorum.VOTE_LOST for r in results):
            return quorum.VOTE_LOST
        if all(r == quorum.VOTE_WON for r in results):
            return quorum.VOTE_WON
        return quorum.VOTE_PENDING

    # -- the log form -------------------------------------------------------------------------
    def to_entry(self) -> dict:
        body: dict[str, Any] = {"voters": list(self.voters), "learners": list(self.learners)}
        if self.old is not None:
            body["old"] = list(self.old)
        return {CONFIG_KEY: body}

    @staticmethod
    def from_entry(data: dict) -> "Membership":
        body = data[CONFIG_KEY]
        old = body.get("old")
        return Membership(tuple(body["voters"]), tuple(body.get("learners") or ()),
                          tuple(old) if old is not None else None)


def config_of(data: Any) -> Membership | None:
    """The configuration an entry's data carries, or None for any other entry."""
    if type(data) is dict and CONFIG_KEY in data:
        try:
            return Membership.from_entry(data)
        except (KeyError, TypeError, ValueError):
            return None
    return None
