"""The live one-line progress display on stderr (only on a terminal, never with --quiet)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["Progress", "progress_for", "nemesis_state", "CountProgress", "count_progress_for"]


def nemesis_state(partition: Any, nemeses: Any) -> str:
    """What the nemeses are doing: the partition, and the nodes paused or killed now."""
    nemeses = list(nemeses) or ([partition] if partition is not None else [])
    if not nemeses:
        return "no nemesis"
    parts = []
    for nem in nemeses:
        if nem is partition:
            parts.append(f"partition: {nem.shape}" if nem.partitioned else "network healed")
        elif nem.active:
            parts.append(f"{'killed' if nem.start_f == 'kill' else 'paused'} "
                         + " ".join(nem.hit))
    return ", ".join(parts) or "every node up"


class Progress:
    """Redraws one status line at most every `period` seconds of test time."""

    def __init__(self, stream: TextIO, period: float = 0.25) -> None:
        self.stream = stream
        self.period = period
        self.next_at = 0.0
        self._shown = False

    def update(self, elapsed: float, runner: Any) -> None:
        c = runner.counts
        nemesis = nemesis_state(runner.nemesis, getattr(runner, "nemeses", ()))
        line = (f"[{runner.phase} {elapsed:7.1f}s] ops ok {c['ok']} fail {c['fail']} "
                f"info {c['info']} | {nemesis} | faults {len(runner.faults)}")
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._shown = True
        self.next_at = runner.clock.now() + self.period

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False


def _live(quiet: bool, stream: TextIO) -> bool:
    """Whether to draw a live line: not quiet, and `stream` is a terminal."""
    if quiet:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_for(quiet: bool, stream: TextIO = sys.stderr) -> Progress | None:
    """A Progress if `stream` is a terminal and we are not quiet, else None."""
    return Progress(stream) if _live(quiet, stream) else None


class CountProgress:
    """A progress line for work counted in items (a sweep's seeds, a check's keys):
    `sweep: 12/200 seeds, 1 failing, 0:41 elapsed, ETA 10:52`, redrawn at most every `period`
    seconds of wall time (the ETA assumes the remaining items take as long as the done ones)."""

    def __init__(self, stream: TextIO, what: str, unit: str, total: int,
                 period: float = 0.25, clock: Any = None) -> None:
        import time

        self.stream = stream
        self.what, self.unit, self.total = what, unit, total
        self.period = period
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.next_at = 0.0
        self._shown = False

    def line(self, done: int, failing: int) -> str:
        elapsed = self.clock() - self.started
        eta = (f"ETA {_clock(elapsed / done * (self.total - done))}" if 0 < done < self.total
               else "ETA ?" if done < self.total else "done")
        return (f"{self.what}: {done}/{self.total} {self.unit}, {failing} failing, "
                f"{_clock(elapsed)} elapsed, {eta}")

    def update(self, done: int, failing: int, force: bool = False) -> None:
        now = self.clock()
        if not force and now < self.next_at:
            return
        self.stream.write("\r\x1b[2K" + self.line(done, failing))
        self.stream.flush()
        self._shown = True
        self.next_at = now + self.period

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def count_progress_for(quiet: bool, what: str, unit: str, total: int,
                       stream: TextIO = sys.stderr) -> CountProgress | None:
    """A CountProgress if `stream` is a terminal and we are not quiet, else None."""
    return CountProgress(stream, what, unit, total) if _live(quiet, stream) else None
