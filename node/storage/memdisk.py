"""An in-memory disk for the simulator: records written are volatile until synced.

`MemDisk` outlives the node objects that use it: the simulator keeps one per node and hands it
to the node object it builds after a restart (`Server(..., disk=...)`). `crash()` is the power
cut or kill between the two:

- `crash(lose_unsynced=False)`: a process kill. Whatever was written reached the OS page cache
  and survives, synced or not.
- `crash(lose_unsynced=True)`: a power loss (Jepsen's LazyFS). Records not yet synced are lost,
  except that a prefix of them may have reached the disk anyway (the OS wrote back some pages
  before the cut): with an `rng`, a random prefix of the unsynced records survives, else none.
  A record is kept whole or not at all: a torn last record is what the file backend detects by
  its checksum and truncates at start (node/storage/wal.py), which comes to the same thing.

Records are JSON-able values, stored by reference (no copies): writers must not mutate a record
after appending it. This keeps the simulator cheap.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["MemDisk"]


class MemDisk:
    """The records of one node's write-ahead log, in memory."""

    def __init__(self) -> None:
        self._synced: list[Any] = []
        self._pending: list[Any] = []
        self.syncs = 0          # sync() calls that had something to sync
        self.records = 0        # records appended, in all
        self.rewrites = 0
        self.crashes = 0
        self.lost = 0           # records a crash dropped, in all

    # -- the storage interface (node/storage/__init__.py) --------------------------------------
    def load(self) -> list[Any]:
        """Every record readable now, in write order (synced or not: a running system reads
        its own writes)."""
        return self._synced + self._pending

    def append(self, records: list[Any]) -> None:
        self._pending.extend(records)
        self.records += len(records)

    def sync(self) -> None:
        if self._pending:
            self._synced.extend(self._pending)
            self._pending = []
            self.syncs += 1

    def rewrite(self, records: list[Any]) -> None:
        """Replace everything with `records`, durably and atomically (a checkpoint written to
        a new file, synced, renamed over the old ones)."""
        self._synced = list(records)
        self._pending = []
        self.rewrites += 1

    def close(self) -> None:
        pass

    # -- faults --------------------------------------------------------------------------------
    @property
    def unsynced(self) -> int:
        """Records written but not yet synced."""
        return len(self._pending)

    def crash(self, lose_unsynced: bool, rng: random.Random | None = None) -> int:
        """The node died. Returns how many records were lost (see the module docstring)."""
        self.crashes += 1
        lost = 0
        if lose_unsynced and self._pending:
            keep = rng.randrange(len(self._pending) + 1) if rng is not None else 0
            lost = len(self._pending) - keep
            del self._pending[keep:]
        self._synced.extend(self._pending)
        self._pending = []
        self.lost += lost
        return lost

    def wipe(self) -> None:
        """The disk is lost entirely (a new machine under the same node id)."""
        self._synced = []
        self._pending = []
