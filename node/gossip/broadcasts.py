"""The queue of membership updates waiting to be piggybacked (memberlist's
TransmitLimitedQueue, without its byte accounting: we bound the count per message).

One pending update per member: a newer update about the same member replaces the older one,
which is then never sent again. Each message takes membership news (state or incarnation
changes) before soft-state refreshes, then the least-sent updates first, newest first among
equals; an update leaves the queue once it has been sent `limit` times.
"""

from __future__ import annotations

import heapq

__all__ = ["Broadcasts"]


class Broadcasts:
    __slots__ = ("_queue", "_serial")

    def __init__(self) -> None:
        # member -> [update, times sent, serial (higher = newer), news]
        self._queue: dict[str, list] = {}
        self._serial = 0

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, update: list, news: bool = True) -> None:
        """Queue `update` (its member is update[1]), replacing any pending one about that member.
        `news`: a change of membership (state or incarnation), not a mere soft-state refresh."""
        self._serial += 1
        self._queue[update[1]] = [update, 0, self._serial, news]

    def has_news(self) -> bool:
        return any(e[3] for e in self._queue.values())

    def take(self, room: int, limit: int, skip: frozenset | set = frozenset()) -> list[list]:
        """Up to `room` updates for one message, skipping those about members in `skip`; each
        taken update counts one transmission and is dropped after its `limit`-th."""
        if room <= 0 or not self._queue:
            return []
        queue = self._queue
        candidates = (e for m, e in queue.items() if m not in skip) if skip else queue.values()
        chosen = heapq.nsmallest(room, candidates, key=lambda e: (not e[3], e[1], -e[2]))
        out = []
        for entry in chosen:
            entry[1] += 1
            update = entry[0]
            if entry[1] >= limit:
                del queue[update[1]]
            out.append(update)
        return out

    def pending(self) -> dict[str, tuple[list, int]]:
        """member -> (update, times sent so far), for tests and reports."""
        return {m: (e[0], e[1]) for m, e in self._queue.items()}
