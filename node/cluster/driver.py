"""The timer and pacing that every log-driven process of a node shares (slot moves: migration.py,
membership requests: members.py): when to look again, and not to repeat a step too often."""

from __future__ import annotations

__all__ = ["Driver", "RETRY_EVERY"]

RETRY_EVERY = 0.3    # seconds before a step that has not shown up in the logs is taken again
_INF = float("inf")


class Driver:
    """`next_check`: when the owner wants its check() called; `_due`: pacing per step."""

    def __init__(self) -> None:
        self.next_check = _INF
        self._last: dict[tuple[str, str], float] = {}  # (request, step) -> when we last acted

    def wake_now(self, now: float) -> None:
        self._wake(now)

    def _wake(self, at: float) -> None:
        if at < self.next_check:
            self.next_check = at

    def _due(self, now: float, key: str, step: str, every: float = RETRY_EVERY) -> bool:
        """Whether `step` of `key` may be taken now (not within `every` of the last time)."""
        last = self._last.get((key, step))
        if last is not None and now - last < every:
            return False
        self._last[(key, step)] = now
        return True
