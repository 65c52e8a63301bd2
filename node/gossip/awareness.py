"""Lifeguard's local health multiplier (LHA-Probe): how much a member distrusts itself.

A member whose own probes fail although the intermediaries it asked do not report failure
(missing nacks), or that keeps having to refute suspicions of itself, is probably the slow one:
its timeouts are too short for its own message processing. The score scales its probe interval
and probe timeout so that it probes less often and waits longer, instead of accusing healthy
members.
"""

from __future__ import annotations

__all__ = ["Awareness"]


class Awareness:
    """A score in [0, max_multiplier - 1]; timeouts are multiplied by score + 1."""

    __slots__ = ("max_multiplier", "score")

    def __init__(self, max_multiplier: int) -> None:
        self.max_multiplier = max(1, max_multiplier)
        self.score = 0

    def apply(self, delta: int) -> bool:
        """Add `delta`, clamped to the range. True if the score changed."""
        old = self.score
        self.score = min(self.max_multiplier - 1, max(0, old + delta))
        return self.score != old

    def scale(self, timeout: float) -> float:
        return timeout * (self.score + 1)
