"""What a leader knows about one follower's log, and its replication flow control."""

from __future__ import annotations

from collections import deque

__all__ = ["Progress", "PROBE", "REPLICATE"]

# PROBE: we do not know where the follower's log diverges; one AppendEntries at a time.
# REPLICATE: the follower accepted our last probe; send ahead optimistically (pipelining).
PROBE = "probe"
REPLICATE = "replicate"


class Progress:
    """Replication state of one follower, as seen by the leader.

    Invariant: match < next. `inflight` holds (seq, sent_at) of unacknowledged AppendEntries.
    """

    __slots__ = ("match", "next", "state", "inflight", "acked_seq", "sent_seq", "sent_commit",
                 "last_sent_at", "recent_active", "read_states", "owed", "voter", "quiet")

    def __init__(self, next_index: int, voter: bool = True) -> None:
        self.voter = voter        # False: a learner, replicated to but never in a quorum
        self.quiet = False        # acknowledged that the group went quiet: no heartbeats
        self.match = 0
        self.next = next_index
        self.state = PROBE
        self.inflight: deque[tuple[int, float]] = deque()
        self.acked_seq = 0        # highest message seq this follower acknowledged this term
        self.sent_seq = 0         # seq of the last AppendEntries sent
        self.sent_commit = 0      # commit index carried by the last AppendEntries sent
        self.last_sent_at = float("-inf")
        self.recent_active = False  # heard from since the last CheckQuorum
        self.read_states: list[list] = []  # [ctx, index] confirmed reads to piggyback
        self.owed = 0             # last index of an entry this follower forwarded to us

    def become_probe(self) -> None:
        """Forget what is in flight and probe again from the last known match."""
        self.state = PROBE
        self.next = self.match + 1
        self.inflight.clear()

    def become_replicate(self) -> None:
        self.state = REPLICATE
        self.next = self.match + 1
        self.inflight.clear()

    def ack(self, seq: int) -> None:
        """The follower answered message `seq`: it and everything sent before it are settled."""
        if seq > self.acked_seq:
            self.acked_seq = seq
        inflight = self.inflight
        while inflight and inflight[0][0] <= seq:
            inflight.popleft()

    def window_open(self, max_inflight: int) -> bool:
        if self.state == PROBE:
            return not self.inflight
        return len(self.inflight) < max_inflight

    def urgent(self, commit: int) -> bool:
        """Whether the follower waits on news we hold: answers to its forwarded requests.

        A follower answers its clients when it learns that their entries committed (up to
        `commit`), and serves reads once their index is confirmed: such news goes out at once
        as a notice (no entries, no ack), even when the replication window is closed.
        """
        return bool(self.read_states) or self.sent_commit < min(commit, self.owed)
