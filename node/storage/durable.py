"""The node's durability: what node/server.py does with the disk (docs/storage.md).

- `restore_node(server, now, out)`, at `init`: read the disk back (node/storage/records.py).
  Empty: a first start; the records of the cores created so far are written. Otherwise every
  persisted core is rebuilt with its term, vote, log, snapshot and commit index
  (RaftCore.restore), the meta log is replayed up to its commit into the MetaState, shard
  state machines start from their snapshots (or the layout) and replay their logs as usual,
  and the groups are reconciled with the meta state (Server._new_epoch). A "boot" record with
  the next incarnation is written. (Client entries of this life carry a fresh origin tag:
  node/server.py `origin_id`, so none is taken for a duplicate of an earlier life's.)
- `install_snapshots(server)`, first in each turn: a snapshot a core installed (from the
  leader, or restored) becomes its shard's state.
- `persist_turn(server)`, last in each turn, before its messages are released: compact shard
  logs past `SNAPSHOT_ENTRIES` applied entries, append every core's records, and sync (unless
  the driver holds the sync: Server.hold_sync). Once the WAL has grown past
  `REWRITE_RECORDS` records (and twice the last checkpoint), it is rewritten as a checkpoint
  of the live state: the WAL stays bounded in long runs.
"""

from __future__ import annotations

from typing import Any

from node.cluster.meta import META_GROUP
from node.storage.records import read_records
from node.storage.snapshot import shard_from_snapshot, shard_snapshot

__all__ = ["restore_node", "install_snapshots", "persist_turn", "checkpoint",
           "SNAPSHOT_ENTRIES", "REWRITE_RECORDS"]

# A shard group's log is compacted once this many applied entries follow its snapshot.
SNAPSHOT_ENTRIES = 5_000
# The WAL is rewritten as a checkpoint after this many records (at least).
REWRITE_RECORDS = 50_000


class _Durable:
    """Per-node bookkeeping of the WAL."""

    __slots__ = ("incarnation", "records", "rewrite_at")

    def __init__(self, incarnation: int) -> None:
        self.incarnation = incarnation
        self.records = 0                  # records since the last checkpoint
        self.rewrite_at = REWRITE_RECORDS


def restore_node(server: Any, now: float, out: list) -> bool:
    """At init (the server has just created its MultiRaft and meta core): recover from the
    disk. Returns True if there was a previous life to recover."""
    loaded = server.disk.load()
    img = read_records(loaded)
    raft = server.raft
    if not img.empty and img.node_id != server.node_id:
        server._emit({"event": "wal_of_other_node", "node_id": img.node_id})
        img = read_records([])
        server.disk.rewrite([])
    restored = bool(img.groups)
    if restored:
        meta_timing = raft.cores[META_GROUP].timing
        raft.cores.clear()
        raft.take_persist()  # (drops the records of the fresh meta core)
        for group, gi in img.groups.items():
            raft.restore_group(now, group, gi,
                               timing=meta_timing if group == META_GROUP else None)
        meta_core = raft.cores.get(META_GROUP)
        if meta_core is not None:
            for _index, data in meta_core.take_committed():
                if data is not None:
                    server.meta.apply(data)
        for group, core in raft.cores.items():
            if group != META_GROUP:
                server.shards[group] = server.shard_class(
                    s for lo, hi, g in server.layout.slots.ranges() if g == group
                    for s in range(lo, hi + 1))
        install_snapshots(server)
        server._emit({"event": "recovered", "incarnation": img.incarnation + 1,
                      "groups": {str(g): [c.term, c.commit, c.log.last_index]
                                 for g, c in raft.cores.items()},
                      "epoch": server.meta.epoch, "bad_records": img.bad})
        if server.meta.epoch > 0:
            server._new_epoch(now, out)
    state = server._durable = _Durable(img.incarnation + 1)
    state.records = len(loaded)
    server.disk.append([["boot", server.node_id, list(server.node_ids), state.incarnation]])
    return restored


def install_snapshots(server: Any) -> None:
    """Shard states from snapshots the cores installed."""
    for group, core in server.raft.cores.items():
        if core._install is not None:
            index, state = core.take_install()
            if group != META_GROUP:
                server.shards[group] = shard_from_snapshot(server.shard_class, state)


def persist_turn(server: Any) -> None:
    """The end of a turn: compact, write the turn's records, sync."""
    raft = server.raft
    shards = server.shards
    for group, core in raft.cores.items():
        if core.applied - core.log.snapshot_index >= SNAPSHOT_ENTRIES and group in shards:
            core.compact(core.applied, shard_snapshot(shards[group]))
    records = raft.take_persist()
    state = server._durable
    disk = server.disk
    if records:
        state.records += len(records)
        if state.records >= state.rewrite_at:
            ckpt = checkpoint(server)
            disk.rewrite(ckpt)
            state.records = len(ckpt)
            state.rewrite_at = max(REWRITE_RECORDS, 2 * len(ckpt))
            return
        disk.append(records)
    if not server.hold_sync:
        disk.sync()


def checkpoint(server: Any) -> list[list]:
    """The node's live state as records (what a rewrite of the WAL holds)."""
    state = server._durable
    out: list[list] = [["boot", server.node_id, list(server.node_ids), state.incarnation]]
    for group, core in server.raft.cores.items():
        initial = core._configs[0][1]
        out.append(["g+", group, list(initial.voters), list(initial.learners), core._joining])
        if core.snapshot is not None:
            out.append(["s", group, *core.snapshot, True])
        log = core.log
        if log.last_index > log.snapshot_index:
            out.append(["e", group, log.snapshot_index + 1,
                        log.entries(log.snapshot_index + 1, log.last_index)])
        out.append(["h", group, *core.hard_state()])
        core._persisted_hs = core.hard_state()
    return out
