"""Reading the nodes' structured logs (one JSON object per line; a node log per node in the
store's node-logs/ directory, named after the node): the one reader the checkers and reports
share. Lines that are not JSON objects (tracebacks, marker lines) are skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import orjson

__all__ = ["log_events"]


def log_events(log_dir: Path, markers: tuple[bytes, ...] = ()) -> Iterator[tuple[str, dict]]:
    """(node, event) for every JSON object logged in `log_dir`/*.log, in file order per node
    (nodes in name order). With `markers`, only lines holding one of them are parsed (a cheap
    filter: most lines of a busy run are Raft chatter)."""
    try:
        paths = sorted(Path(log_dir).glob("*.log"))
    except OSError:
        return
    for path in paths:
        try:
            f = open(path, "rb")
        except OSError:
            continue
        with f:
            for line in f:
                if not line.startswith(b"{"):
                    continue
                if markers and not any(m in line for m in markers):
                    continue
                try:
                    event = orjson.loads(line)
                except ValueError:
                    continue
                if type(event) is dict:
                    yield path.stem, event
