"""A load meter: how many operations per second a core has been seeing lately.

The core batches harder when busy (fewer messages per op) and sends eagerly when idle (lower
latency): see `Timing.busy_rate`.
"""

from __future__ import annotations

__all__ = ["LoadMeter"]


class LoadMeter:
    """Counts events in fixed buckets of `bucket` seconds; the rate is that of the busier of
    the current and the previous bucket, so a burst is seen at once and a lull after one
    bucket."""

    __slots__ = ("_bucket", "_start", "_cur", "_prev")

    def __init__(self, bucket: float = 0.1) -> None:
        self._bucket = bucket
        self._start = 0.0
        self._cur = 0
        self._prev = 0

    def _roll(self, now: float) -> None:
        elapsed = now - self._start
        if elapsed >= self._bucket:
            self._prev = self._cur if elapsed < 2 * self._bucket else 0
            self._cur = 0
            self._start = now - elapsed % self._bucket

    def add(self, now: float, count: int = 1) -> None:
        if now - self._start >= self._bucket:
            self._roll(now)
        self._cur += count

    def rate(self, now: float) -> float:
        """Events per second."""
        if now - self._start >= self._bucket:  # (the test in _roll, to skip the call)
            self._roll(now)
        cur, prev = self._cur, self._prev
        return (cur if cur >= prev else prev) / self._bucket
