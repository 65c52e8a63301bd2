"""The in-memory Raft log: terms and opaque entry data, indexed from 1.

Index 0 is a sentinel with term 0, so `prev_index = 0` always matches. Terms along the log never
decrease, which lets the conflict searches bisect. The log is not persisted: Maelstrom's lin-kv
runs never restart a node process (see docs/node.md).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

__all__ = ["RaftLog"]


class RaftLog:
    """Terms and data of the entries 1..last_index."""

    __slots__ = ("_terms", "_data")

    def __init__(self) -> None:
        self._terms: list[int] = [0]
        self._data: list[Any] = [None]

    @property
    def last_index(self) -> int:
        return len(self._terms) - 1

    @property
    def last_term(self) -> int:
        return self._terms[-1]

    def term(self, index: int) -> int | None:
        """Term of the entry at `index`, or None if there is no such entry."""
        if 0 <= index < len(self._terms):
            return self._terms[index]
        return None

    def data(self, index: int) -> Any:
        return self._data[index]

    def matches(self, index: int, term: int) -> bool:
        """Whether this log holds an entry at `index` with `term` (Figure 2's consistency check)."""
        return 0 <= index < len(self._terms) and self._terms[index] == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a log ending at (last_index, last_term) is at least as up to date (5.4.1)."""
        return (last_term, last_index) >= (self.last_term, self.last_index)

    def append(self, term: int, data: Any) -> int:
        """Append one entry (leader side); returns its index."""
        # Invariant: terms never decrease along the log.
        assert term >= self._terms[-1]
        self._terms.append(term)
        self._data.append(data)
        return len(self._terms) - 1

    def append_after(self, prev_index: int, entries: list, committed: int) -> int:
        """Follower side of AppendEntries after the consistency check passed.

        Keeps entries that already match, truncates at the first conflict and appends the rest.
        Returns the index of the last entry the message carried. Never truncates at or below
        `committed`.
        """
        index = prev_index
        for term, data in entries:
            index += 1
            if index < len(self._terms):
                if self._terms[index] == term:
                    continue
                # Invariant: a committed entry is never overwritten (Leader Completeness).
                assert index > committed, (index, committed)
                del self._terms[index:]
                del self._data[index:]
            self._terms.append(term)
            self._data.append(data)
        return index

    def entries(self, lo: int, hi: int) -> list[list]:
        """Entries lo..hi inclusive as [term, data] pairs (the wire form)."""
        hi += 1
        return list(map(list, zip(self._terms[lo:hi], self._data[lo:hi])))

    def data_range(self, lo: int, hi: int) -> list:
        """Data of the entries lo..hi inclusive."""
        return self._data[lo:hi + 1]

    def conflict_hint(self, index: int, committed: int) -> tuple[int, int | None]:
        """Hint for a leader whose AppendEntries did not match at `index` (fast backtracking).

        Returns (hint_index, hint_term): if the log is too short, (last_index + 1, None);
        otherwise the term we hold at `index` and the first index holding that term (never at
        or below `committed`, which surely matches).
        """
        if index >= len(self._terms):
            return self.last_index + 1, None
        term = self._terms[index]
        first = bisect_left(self._terms, term, 0, index + 1)
        return max(first, committed + 1), term

    def last_index_of_term(self, term: int, upto: int) -> int:
        """Largest index <= upto whose entry has `term`, or 0 if none."""
        upto = min(upto, self.last_index)
        if upto <= 0:
            return 0
        i = bisect_right(self._terms, term, 0, upto + 1) - 1
        return i if i > 0 and self._terms[i] == term else 0
