"""ReadIndex (thesis 6.4): reads confirmed by a quorum round, without touching the log.

A read registered while the leader's next AppendEntries will carry sequence number `seq` is safe
to serve at the leader's commit index once a majority (the leader included) acknowledged a
message with sequence >= seq: the leader was still leader after the read arrived. Reads are
registered in increasing `seq` order, so confirmation pops from the front.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["ReadIndexQueue"]


class ReadIndexQueue:
    """Pending reads of one leader term, in registration order."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: deque[tuple[int, str, Any]] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, seq: int, origin: str, ctx: Any) -> None:
        """Register a read by node `origin` (its request context `ctx`) needing quorum acks >= seq."""
        self._pending.append((seq, origin, ctx))

    @property
    def highest_seq(self) -> int:
        return self._pending[-1][0] if self._pending else 0

    def confirm(self, quorum_seq: int) -> list[tuple[str, Any]]:
        """Pop and return (origin, ctx) of every read whose seq a quorum acknowledged."""
        done = []
        pending = self._pending
        while pending and pending[0][0] <= quorum_seq:
            _, origin, ctx = pending.popleft()
            done.append((origin, ctx))
        return done

    def clear(self) -> None:
        self._pending.clear()
