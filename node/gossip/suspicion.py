"""Lifeguard's suspicion timer (LHA-Suspicion), as a pure value: no clock, no callbacks.

A suspicion starts at the longest timeout and shortens as other members independently confirm
it, because each confirmation makes a false positive less likely. The accuser that started it
is recorded so that our own suspicion, gossiped back to us, never counts as a confirmation.
"""

from __future__ import annotations

import math

__all__ = ["Suspicion", "suspicion_bounds", "suspicion_timeout"]


def suspicion_bounds(mult: int, max_mult: int, members: int, interval: float) -> tuple[float, float]:
    """(min, max) suspicion timeouts for a cluster of `members` (not known dead) members:
    min = mult * max(1, log10(members)) * interval, max = max_mult * min."""
    lo = mult * max(1.0, math.log10(max(1, members))) * interval
    return lo, max(1, max_mult) * lo


def suspicion_timeout(confirmations: int, k: int, lo: float, hi: float) -> float:
    """The total timeout after `confirmations` of the `k` expected: hi with none, lo with k,
    logarithmic in between. k = 0 (no confirmations expected) keeps hi, as memberlist does."""
    if k <= 0:
        return hi
    frac = math.log(confirmations + 1) / math.log(k + 1)
    return max(lo, hi - frac * (hi - lo))


class Suspicion:
    """The timer of one suspicion of one member at one incarnation."""

    __slots__ = ("start", "lo", "hi", "k", "confirmers", "confirmations", "deadline")

    def __init__(self, start: float, lo: float, hi: float, k: int, accuser: str) -> None:
        self.start = start
        self.lo = lo
        self.hi = hi
        self.k = max(0, k)
        self.confirmers = {accuser}
        self.confirmations = 0
        self.deadline = start + suspicion_timeout(0, self.k, lo, hi)

    def confirm(self, member: str) -> bool:
        """Count `member`'s independent suspicion. True if it was new and shortened the timer
        (then the caller gossips it on, so that others can count it too)."""
        if self.confirmations >= self.k or member in self.confirmers:
            return False
        self.confirmers.add(member)
        self.confirmations += 1
        self.deadline = self.start + suspicion_timeout(self.confirmations, self.k, self.lo, self.hi)
        return True
