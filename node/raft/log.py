"""The in-memory Raft log: terms and opaque entry data, with a compacted prefix.

Entries 1..`snapshot_index` may have been compacted into a snapshot (the state machine's state
at that index; node/storage/, docs/storage.md); the log holds `snapshot_index + 1 ..
last_index`. Position 0 is a sentinel standing for the snapshot: its term is `snapshot_term`
(0 and 0 with no snapshot), so `prev_index = snapshot_index` always matches. Terms along the
log never decrease, which lets the conflict searches bisect.

Durability: every index the log changes (appended, or overwritten after a conflict) is noted in
`dirty_from`; the core hands the entries from there to the driver to persist (RaftCore
`take_persist`) and clears it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

__all__ = ["RaftLog"]


class RaftLog:
    """Terms and data of the entries snapshot_index + 1 .. last_index."""

    __slots__ = ("_terms", "_data", "_offset", "dirty_from")

    def __init__(self) -> None:
        self._terms: list[int] = [0]
        self._data: list[Any] = [None]
        self._offset = 0          # snapshot_index: the index of position 0
        # Lowest index changed since the driver last took the unpersisted entries (or None).
        self.dirty_from: int | None = None

    @property
    def last_index(self) -> int:
        return self._offset + len(self._terms) - 1

    @property
    def last_term(self) -> int:
        return self._terms[-1]

    @property
    def snapshot_index(self) -> int:
        return self._offset

    @property
    def snapshot_term(self) -> int:
        return self._terms[0]

    def term(self, index: int) -> int | None:
        """Term of the entry at `index`, or None if there is no such entry (or it is compacted
        away; the snapshot's own index still answers)."""
        i = index - self._offset
        if 0 <= i < len(self._terms):
            return self._terms[i]
        return None

    def data(self, index: int) -> Any:
        return self._data[index - self._offset]

    def matches(self, index: int, term: int) -> bool:
        """Whether this log holds an entry at `index` with `term` (Figure 2's consistency check)."""
        i = index - self._offset
        return 0 <= i < len(self._terms) and self._terms[i] == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a log ending at (last_index, last_term) is at least as up to date (5.4.1)."""
        return (last_term, last_index) >= (self.last_term, self.last_index)

    def _dirty(self, index: int) -> None:
        if self.dirty_from is None or index < self.dirty_from:
            self.dirty_from = index

    def append(self, term: int, data: Any) -> int:
        """Append one entry (leader side); returns its index."""
        # Invariant: terms never decrease along the log.
        assert term >= self._terms[-1]
        self._terms.append(term)
        self._data.append(data)
        index = self._offset + len(self._terms) - 1
        if self.dirty_from is None:
            self.dirty_from = index
        return index

    def append_after(self, prev_index: int, entries: list, committed: int) -> int:
        """Follower side of AppendEntries after the consistency check passed.

        Keeps entries that already match, truncates at the first conflict and appends the rest.
        Returns the index of the last entry the message carried. Never truncates at or below
        `committed`.
        """
        index = prev_index
        off = self._offset
        terms = self._terms
        for term, data in entries:
            index += 1
            i = index - off
            if i < len(terms):
                if terms[i] == term:
                    continue
                # Invariant: a committed entry is never overwritten (Leader Completeness).
                assert index > committed, (index, committed)
                del terms[i:]
                del self._data[i:]
            if self.dirty_from is None or index < self.dirty_from:
                self.dirty_from = index
            terms.append(term)
            self._data.append(data)
        return index

    def entries(self, lo: int, hi: int) -> list[list]:
        """Entries lo..hi inclusive as [term, data] pairs (the wire form); lo > snapshot_index."""
        off = self._offset
        lo -= off
        hi += 1 - off
        return list(map(list, zip(self._terms[lo:hi], self._data[lo:hi])))

    def data_range(self, lo: int, hi: int) -> list:
        """Data of the entries lo..hi inclusive (lo > snapshot_index)."""
        off = self._offset
        return self._data[lo - off:hi + 1 - off]

    def conflict_hint(self, index: int, committed: int) -> tuple[int, int | None]:
        """Hint for a leader whose AppendEntries did not match at `index` (fast backtracking).

        Returns (hint_index, hint_term): if the log is too short, (last_index + 1, None);
        otherwise the term we hold at `index` and the first index holding that term (never at
        or below `committed`, which surely matches).
        """
        off = self._offset
        i = index - off
        if i >= len(self._terms):
            return self.last_index + 1, None
        if i < 0:
            return committed + 1, None
        term = self._terms[i]
        first = bisect_left(self._terms, term, 0, i + 1) + off
        return max(first, committed + 1), term

    def last_index_of_term(self, term: int, upto: int) -> int:
        """Largest index <= upto whose entry has `term`, or 0 if none (or compacted)."""
        off = self._offset
        upto = min(upto, self.last_index) - off
        if upto <= 0:
            return 0
        i = bisect_right(self._terms, term, 0, upto + 1) - 1
        return i + off if i > 0 and self._terms[i] == term else 0

    # -- compaction and restore ---------------------------------------------------------------
    def compact(self, index: int) -> None:
        """Forget the entries up to `index` (now in a snapshot); snapshot_index <= index <=
        last_index."""
        i = index - self._offset
        if i <= 0:
            return
        self._terms = self._terms[i:]
        self._data = [None] + self._data[i + 1:]
        self._offset = index

    def reset(self, index: int, term: int) -> None:
        """Replace the whole log with a snapshot ending at (index, term): no entries."""
        self._terms = [term]
        self._data = [None]
        self._offset = index
        self.dirty_from = None

    def restore_entries(self, lo: int, entries: list) -> None:
        """Recovery: entries lo.. replace whatever the log holds from lo on (lo may not be
        past last_index + 1)."""
        i = lo - self._offset
        if i < 1:
            entries = entries[1 - i:]
            i = 1
        del self._terms[i:]
        del self._data[i:]
        for term, data in entries:
            self._terms.append(term)
            self._data.append(data)
