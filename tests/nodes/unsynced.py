"""Broken durability for the crash-restart tests (tests/test_storage_restart.py): each breaks
one rule of docs/storage.md, and a kill with lose-unsynced must catch it.

- `UnsyncedVoteServer`: the vote is never made durable before the reply (its hard state
  records carry no vote): a node killed after granting a vote can grant another in the same
  term after its restart, and two leaders can win one term.
- `AckBeforeSyncServer`: entries are acknowledged before they are synced (its disk syncs only
  what earlier turns wrote, like a driver that sends first and fsyncs after): a power loss
  can take acknowledged, even committed, entries from a majority.

`maelstrom test --sim --sim-node tests/nodes/unsynced.py:UnsyncedVoteServer --nemesis kill`.
"""

from __future__ import annotations

from typing import Any

from node.raft.core import RaftCore
from node.server import Server
from node.storage.memdisk import MemDisk


class UnsyncedVoteCore(RaftCore):
    def hard_state(self) -> tuple:
        term, _vote, commit, joining, floor = super().hard_state()
        return (term, None, commit, joining, floor)


class UnsyncedVoteServer(Server):
    core_class = UnsyncedVoteCore


class _LateSync:
    """A disk whose sync() makes durable only what was appended before the previous sync."""

    def __init__(self, disk: Any) -> None:
        self.disk = disk
        self._late: list = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.disk, name)

    def append(self, records: list) -> None:
        self._late.extend(records)

    def sync(self) -> None:
        self.disk.sync()
        if self._late:
            self.disk.append(self._late)
            self._late = []

    def rewrite(self, records: list) -> None:
        self._late = []
        self.disk.rewrite(records)


class AckBeforeSyncServer(Server):
    def __init__(self, *, disk: Any = None, **kwargs: Any) -> None:
        super().__init__(disk=_LateSync(disk if disk is not None else MemDisk()), **kwargs)
