"""Measured round trips, so that a group's timeouts follow its network (issue 8, item 3).

Raft is live only while messages take less than an election timeout (thesis 9.3: broadcast
time << election timeout). A fixed 300 ms timeout is right on a 10 ms network and hopeless where
messages take seconds: elections never finish, CheckQuorum deposes every leader, and nothing
commits. So every request a core sends that expects an answer (AppendEntries, pre-votes, votes)
carries the sender's own clock (`ts`), echoed in the answer; `now - ts` is one round trip to that
peer, measured on one clock. `RoundTrips` keeps the latest samples per peer and says how long a
quorum takes to answer: the round trip within which a majority (the node itself included) can be
expected to have answered, i.e. the (majority - 1)-th fastest peer's high percentile. A slow or
paused minority therefore does not stretch the group's timeouts; a slow majority does.

Samples expire after Timing.rtt_sample_ttl, so timeouts shrink back once the network recovers.
Only liveness depends on this: no safety rule of the core uses time (ReadIndex is confirmed by
message rounds, never by a lease).
"""

from __future__ import annotations

from collections import deque

__all__ = ["RoundTrips"]


class RoundTrips:
    """Recent round-trip samples per peer and the quorum round trip derived from them."""

    __slots__ = ("_ttl", "_window", "_samples", "_cached", "_cached_until")

    def __init__(self, ttl: float, window: int = 16) -> None:
        self._ttl = ttl
        self._window = window
        self._samples: dict[str, deque] = {}  # peer -> (taken at, rtt), oldest first
        self._cached: tuple[int, float] | None = None
        self._cached_until = float("inf")

    def add(self, peer: str, now: float, rtt: float) -> None:
        if rtt < 0.0:
            return  # a clock that went back (cannot happen in one process): ignore
        d = self._samples.get(peer)
        if d is None:
            d = self._samples[peer] = deque(maxlen=self._window)
        d.append((now, rtt))
        self._cached = None

    def quorum_rtt(self, voter_count: int, now: float) -> float:
        """The round trip within which a majority answers (0.0 while too few peers measured).

        Per peer, the 90th percentile of its samples of the last `ttl` seconds; then the
        (majority - 1)-th smallest of those, since the node itself is one of the majority."""
        need = voter_count // 2  # peers needed besides ourselves
        if need == 0:
            return 0.0
        cached = self._cached
        if cached is not None and cached[0] == need and now < self._cached_until:
            return cached[1]
        horizon = now - self._ttl
        per_peer = []
        oldest = float("inf")
        for peer in list(self._samples):
            d = self._samples[peer]
            while d and d[0][0] <= horizon:
                d.popleft()
            if not d:
                del self._samples[peer]
                continue
            if d[0][0] < oldest:
                oldest = d[0][0]
            s = sorted(r for _, r in d)
            per_peer.append(s[int(0.9 * (len(s) - 1))])
        per_peer.sort()
        value = per_peer[need - 1] if len(per_peer) >= need else 0.0
        self._cached = (need, value)
        self._cached_until = oldest + self._ttl  # when the oldest sample used expires
        return value

    def clear(self) -> None:
        self._samples.clear()
        self._cached = None
