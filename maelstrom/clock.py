"""Clocks for the runner: the only place the bench reads time.

Everything that decides (generator, timeouts, nemesis, latencies) asks a clock object for `now()`
in seconds since the clock started, never `time.time()`. The process backend uses `RealClock`;
the deterministic simulator uses `VirtualClock`, which only moves when told to.
"""

from __future__ import annotations

import time

__all__ = ["RealClock", "VirtualClock"]


class RealClock:
    """Monotonic wall-clock time, in seconds since construction (or the last `reset`)."""

    __slots__ = ("_origin",)
    virtual = False

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._origin

    @property
    def log_origin(self) -> float:
        """What node processes log as `t` (their time.monotonic()) at this clock's 0."""
        return self._origin

    def reset(self) -> None:
        """Make now() start again from 0 (the test's time origin)."""
        self._origin = time.monotonic()


class VirtualClock:
    """Simulated time: starts at 0 and moves only through `advance_to`."""

    __slots__ = ("_now", "_offset")
    virtual = True

    def __init__(self) -> None:
        self._now = 0.0
        self._offset = 0.0

    def now(self) -> float:
        return self._now - self._offset

    # Simulated nodes log this clock's now() as `t` (maelstrom/hosts/sim.py).
    log_origin = 0.0

    def reset(self) -> None:
        self._offset = self._now

    def advance_to(self, t: float) -> None:
        """Move to test-relative time `t` (never backwards)."""
        t += self._offset
        if t > self._now:
            self._now = t
