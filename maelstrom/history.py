"""Jepsen histories: the one internal op record, and conversion from/to EDN, JSONL and text.

Every input format is converted to `Op` on the way in; every writer takes `Op`s.

Conventions (shared by the bench, the workloads and the checkers):
- `type` is one of "invoke", "ok", "fail", "info" (Jepsen keywords without the colon).
- `f` is a plain string ("read", "write", "cas", "start-partition", ...).
- `process` is an int for client processes, or the string "nemesis".
- `time` is nanoseconds since the test started (int).
- `value` is plain Python data: lists for EDN vectors/lists, tuples never; an independent
  (keyed) lin-kv value is the 2-list `[key, value]`; a cas value is `[from, to]`; nil is None.
  EDN keywords inside values are `Keyword` instances (so they round-trip); sets are frozensets.
- `error` is None or plain data (Maelstrom writes e.g. `[:temporarily-unavailable "not a leader"]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Op:
    index: int
    time: int
    type: str
    process: int | str
    f: str
    value: Any = None
    error: Any = None
