"""The live one-line progress display on stderr (only on a terminal, never with --quiet)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["Progress", "progress_for"]


class Progress:
    """Redraws one status line at most every `period` seconds of test time."""

    def __init__(self, stream: TextIO, period: float = 0.25) -> None:
        self.stream = stream
        self.period = period
        self.next_at = 0.0
        self._shown = False

    def update(self, elapsed: float, runner: Any) -> None:
        c = runner.counts
        nem = runner.nemesis
        if nem is None:
            nemesis = "no nemesis"
        elif nem.partitioned:
            nemesis = f"partition: {nem.shape}"
        else:
            nemesis = "network healed"
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


def progress_for(quiet: bool, stream: TextIO = sys.stderr) -> Progress | None:
    """A Progress if `stream` is a terminal and we are not quiet, else None."""
    if quiet:
        return None
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return Progress(stream) if tty else None
