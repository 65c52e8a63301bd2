"""Majority quorum arithmetic, shared by commit, vote counting and ReadIndex confirmation."""

from __future__ import annotations

from typing import Iterable, Mapping

__all__ = ["majority", "quorum_value", "vote_result", "VOTE_WON", "VOTE_LOST", "VOTE_PENDING"]

VOTE_WON = "won"
VOTE_LOST = "lost"
VOTE_PENDING = "pending"


def majority(voter_count: int) -> int:
    """Smallest number of voters that forms a majority."""
    return voter_count // 2 + 1


def quorum_value(values: Iterable[int], voter_count: int) -> int:
    """The largest value that at least a majority of voters have reached.

    `values` holds one number per voter (e.g. match indexes, acknowledged sequence numbers);
    voters missing from it count as 0.
    """
    ordered = sorted(values, reverse=True)
    q = voter_count // 2 + 1  # majority(), inlined: this runs on every ack a leader gets
    return ordered[q - 1] if len(ordered) >= q else 0


def vote_result(votes: Mapping[str, bool], voter_count: int) -> str:
    """VOTE_WON once a majority granted, VOTE_LOST once a majority refused, else VOTE_PENDING."""
    q = majority(voter_count)
    granted = sum(1 for v in votes.values() if v)
    if granted >= q:
        return VOTE_WON
    if len(votes) - granted >= q:
        return VOTE_LOST
    return VOTE_PENDING
