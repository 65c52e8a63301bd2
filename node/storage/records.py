"""The node's write-ahead log records and how a node's state is read back from them
(docs/storage.md). Every record is a JSON list whose first item says what it is:

  ["boot", node_id, node_ids, incarnation]   a node (re)started; its incarnation counts boots
  ["g+", group, voters, learners, joining]   this node's core of `group` was created
  ["g-", group]                              ... and stopped (removed from the group)
  ["e", group, lo, [[term, data], ...]]      log entries lo.. (replacing any from lo on)
  ["h", group, term, vote, commit, joining, vote_floor]   the hard state
  ["s", group, index, term, config, state]   a snapshot: the log up to `index` (of `term`)
                                             compacted into the state machine's `state`;
                                             `config` the membership in force there

Later records win: a group's log is its latest snapshot plus the entries after it, each "e"
cutting the log at its `lo` first. A rewrite (compaction of the whole WAL) writes the same
records, one "g+", "s", "e" and "h" per live group, after one "boot".
"""

from __future__ import annotations

from typing import Any

__all__ = ["GroupImage", "NodeImage", "read_records"]


class GroupImage:
    """One group's persisted state."""

    __slots__ = ("voters", "learners", "joining", "hard_state", "snapshot", "lo", "entries")

    def __init__(self, voters: list, learners: list, joining: bool) -> None:
        self.voters = list(voters)
        self.learners = list(learners)
        self.joining = bool(joining)
        self.hard_state: list | None = None
        self.snapshot: list | None = None      # [index, term, config, state]
        self.lo = 1                            # index of entries[0]
        self.entries: list = []

    @property
    def last_index(self) -> int:
        return self.lo + len(self.entries) - 1

    def add_entries(self, lo: int, entries: list) -> None:
        if lo < self.lo:  # (cannot happen after a snapshot: entries below it are committed)
            entries = entries[self.lo - lo:]
            lo = self.lo
        if lo > self.last_index + 1:
            return  # a gap: not something we wrote; ignore
        del self.entries[lo - self.lo:]
        self.entries.extend(entries)

    def set_snapshot(self, index: int, term: int, config: Any, state: Any) -> None:
        self.snapshot = [index, term, config, state]
        if self.lo <= index <= self.last_index:
            self.entries = self.entries[index + 1 - self.lo:]
        else:
            self.entries = []
        self.lo = index + 1


class NodeImage:
    """What a node's records say: who it is and its groups (in creation order)."""

    def __init__(self) -> None:
        self.node_id: str | None = None
        self.node_ids: list[str] = []
        self.incarnation = 0
        self.groups: dict[Any, GroupImage] = {}
        self.bad = 0  # malformed records skipped

    @property
    def empty(self) -> bool:
        return self.node_id is None


def read_records(records: list) -> NodeImage:
    """Replay `records` (as written, in order) into a NodeImage. Never raises on bad input:
    a record it cannot read is counted in `bad` and skipped."""
    img = NodeImage()
    groups = img.groups
    for r in records:
        try:
            kind = r[0]
            if kind == "e":
                g = groups.get(r[1])
                if g is not None:
                    g.add_entries(r[2], r[3])
            elif kind == "h":
                g = groups.get(r[1])
                if g is not None:
                    g.hard_state = r[2:7]
            elif kind == "g+":
                groups.pop(r[1], None)
                groups[r[1]] = GroupImage(r[2], r[3], r[4])
            elif kind == "g-":
                groups.pop(r[1], None)
            elif kind == "s":
                g = groups.get(r[1])
                if g is not None:
                    g.set_snapshot(r[2], r[3], r[4], r[5])
            elif kind == "boot":
                img.node_id, img.node_ids, img.incarnation = r[1], list(r[2]), int(r[3])
            else:
                img.bad += 1
        except (IndexError, KeyError, TypeError, ValueError):
            img.bad += 1
    return img
