"""Durable storage for the node: one write-ahead log of JSON-able records per node, with two
backends of one interface (docs/storage.md):

  disk.load() -> list          every record readable now (after a crash: what survived)
  disk.append(records)         buffered, not durable yet
  disk.sync()                  make everything appended durable (one fsync: group commit)
  disk.rewrite(records)        atomically replace the whole content (compaction); durable

- `node/storage/memdisk.py`: `MemDisk`, in memory, for the simulator; `crash(lose_unsynced)`.
- `node/storage/wal.py`: `FileWAL`, segmented checksummed files with fsync, for node/run.py.

What the records mean is node/storage/state.py's business (the node's records, recovery).
"""
