"""Slot migration, driven from the applied meta and shard states (docs/cluster.md).

The meta log records each move (`migrate_begin`, `migrate_done`, `migrate_abort`:
node/cluster/meta.py); the two shard groups' own logs decide the data (node/cluster/shard.py).
Every step below is taken by whichever node *leads* the group concerned, is idempotent, and is
retried until the state shows it done, so a move cut by a partition or a leader change resumes
from the logs wherever it stopped:

  source leader   the slot is moving and not yet fenced -> propose `fence` in the source log
  source leader   fenced, move not finished -> ship the export's parts (`slot_export`) to the
                  target group's voters, again every `SHIP_EVERY` seconds
  target leader   a part arrives and is not staged -> propose it (`import`) in the target log
  target leader   every part staged -> propose `migrate_done` to the meta group
  target leader   meta says done, slot not yet served -> propose `activate`
  source leader   meta says done, slot still fenced -> propose `drop`
  meta leader     a move still `moving` after `ABORT_AFTER` seconds -> propose `migrate_abort`
  source/target   meta says aborted -> `unfence` / `unstage`

Requests for a moving slot are answered MOVED by the source's log after the fence and by the
target's before activation: the origin re-routes them (node/cluster/requests.py). A slot is
thus served by one group at a time, and every write the source applied before its fence is in
the export the target activates; no write is applied on both sides, none is lost.

Admin RPCs (from any client, to any node): `migrate_slot {slot, to_group}`, `move_slots
{from_group, to_group, count}`, `abort_migration {id}`; answered once the meta log has decided.
"""

from __future__ import annotations

from typing import Any

from node import protocol as P
from node.cluster.meta import META_GROUP
from node.cluster.driver import RETRY_EVERY, Driver
from node.raft.core import LEADER

__all__ = ["Migrations", "ADMIN_TYPES", "EXPORT"]

EXPORT = "slot_export"
ADMIN_TYPES = frozenset({"migrate_slot", "move_slots", "abort_migration"})

SHIP_EVERY = 0.3     # seconds between shipments of an export's parts (until done)
ABORT_AFTER = 15.0   # a move still `moving` this long (as the meta leader sees it) is aborted
_INF = float("inf")


class Migrations(Driver):
    """This node's part in every slot move; `host` is its Server."""

    def __init__(self, host: Any) -> None:
        self.host = host
        super().__init__()
        self._done_with: set[str] = set()           # moves with nothing left for this node
        self._seen_moving: dict[str, float] = {}     # move -> when we first saw it moving
        self._admin: dict[str, tuple[str, int, str]] = {}  # move -> (client, msg_id, kind)
        self._batches: dict[str, list] = {}          # first move of a move_slots -> all ids
        self._entries: dict[str, dict] = {}          # admin's meta entries, until decided
        self.completed = 0

    # -- admin RPCs ------------------------------------------------------------------------------
    def admin(self, now: float, src: str, msg_id: int, body: dict, out: list[dict]) -> None:
        host, meta = self.host, self.host.meta
        t = body["type"]
        if meta.epoch == 0:
            host._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "no slot map yet")
            return
        if t == "abort_migration":
            mig = meta.migrations.get(body.get("id"))
            if mig is None or mig["state"] != "moving":
                host._reply_error(out, src, msg_id, P.PRECONDITION_FAILED,
                                  f"no migration {body.get('id')!r} in flight")
                return
            entry = {"op": "migrate_abort", "id": body["id"]}
            if self._propose_meta(now, entry):
                self._admin[body["id"]] = (src, msg_id, "abort")
                self._entries["abort:" + body["id"]] = entry
                self._wake(now + RETRY_EVERY)
            else:
                host._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE,
                                  "no meta leader known")
            return
        if t == "migrate_slot":
            slot, dst = body.get("slot"), body.get("to_group")
            moves = [(slot, meta.owner(slot) if type(slot) is int and 0 <= slot < 16384
                      else None, dst)]
        else:
            src_g, dst, count = body.get("from_group"), body.get("to_group"), body.get("count")
            if src_g not in meta.groups or type(count) is not int or count < 1:
                host._reply_error(out, src, msg_id, P.MALFORMED_REQUEST,
                                  "move_slots needs from_group (a group), to_group, count >= 1")
                return
            free = [s for s in range(16384) if meta.slots.owner(s) == src_g
                    and s not in meta.moving][:count]
            moves = [(s, src_g, dst) for s in free]
            if not moves:
                host._reply_error(out, src, msg_id, P.PRECONDITION_FAILED,
                                  f"group {src_g} has no slot free to move")
                return
        for slot, owner, dst in moves:
            why = meta.check_move(slot, owner, dst)
            if why:
                code = P.PRECONDITION_FAILED if "already" in why else P.MALFORMED_REQUEST
                host._reply_error(out, src, msg_id, code, why)
                return
        ids = []
        for slot, owner, dst in moves:
            mig_id = host.new_request_id("s")
            entry = {"op": "migrate_begin", "id": mig_id, "slot": slot, "from": owner, "to": dst}
            if not self._propose_meta(now, entry):
                host._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE,
                                  "no meta leader known")
                return
            ids.append(mig_id)
            self._entries[mig_id] = entry
        self._admin[ids[0]] = (src, msg_id, t)
        self._batches[ids[0]] = ids
        self._wake(now + RETRY_EVERY)

    def answer_admin(self, out: list[dict]) -> None:
        """Answer admin requests the meta log has now decided."""
        host, meta = self.host, self.host.meta
        for first in list(self._admin):
            client, msg_id, kind = self._admin[first]
            if kind == "abort":
                mig = meta.migrations.get(first)
                if mig is not None and mig["state"] == "aborted":
                    del self._admin[first]
                    host._send(out, client, {"type": "abort_migration_ok", "in_reply_to": msg_id,
                                             "id": first})
                elif mig is not None and mig["state"] == "done":
                    del self._admin[first]
                    host._reply_error(out, client, msg_id, P.PRECONDITION_FAILED,
                                      f"migration {first} finished before the abort")
                continue
            ids = self._batches[first]
            if not all(i in meta.migrations or i in meta.rejections for i in ids):
                continue
            del self._admin[first]
            del self._batches[first]
            refused = [meta.rejections[i] for i in ids if i in meta.rejections]
            if refused and len(refused) == len(ids):
                host._reply_error(out, client, msg_id, P.PRECONDITION_FAILED, refused[0])
                continue
            started = [i for i in ids if i in meta.migrations]
            body: dict[str, Any] = {"type": kind + "_ok", "in_reply_to": msg_id}
            if kind == "migrate_slot":
                body.update({"id": started[0], **meta.migrations[started[0]]})
            else:
                body.update({"ids": started, "refused": refused})
            host._send(out, client, body)

    # -- driving the moves ------------------------------------------------------------------------
    def check(self, now: float, out: list[dict]) -> None:
        """Take every step this node should take now (see the module docstring)."""
        host, meta = self.host, self.host.meta
        cores = host.raft.cores
        self.next_check = _INF
        meta_core = cores[META_GROUP]
        # Admin entries the meta log has not decided yet: propose again (the same ids: a
        # decided one is ignored), as a leader change may have lost them.
        for key, entry in list(self._entries.items()):
            mig_id = entry["id"]
            decided = (mig_id in meta.rejections or (mig_id in meta.migrations and (
                entry["op"] == "migrate_begin"
                or meta.migrations[mig_id]["state"] != "moving")))
            if decided:
                del self._entries[key]
            else:
                self._wake(now + RETRY_EVERY)
                if self._due(now, key, "admin"):
                    self._propose_meta(now, entry)
        for mig_id, mig in meta.migrations.items():
            if mig_id in self._done_with:
                continue
            slot, src, dst, state = mig["slot"], mig["from"], mig["to"], mig["state"]
            src_core, dst_core = cores.get(src), cores.get(dst)
            src_shard, dst_shard = host.shards.get(src), host.shards.get(dst)
            lead_src = src_core is not None and src_core.role == LEADER
            lead_dst = dst_core is not None and dst_core.role == LEADER
            if state == "moving":
                self._wake(now + RETRY_EVERY)
                if meta_core.role == LEADER:
                    first = self._seen_moving.setdefault(mig_id, now)
                    if now - first >= ABORT_AFTER and self._due(now, mig_id, "abort"):
                        self._propose_meta(now, {"op": "migrate_abort", "id": mig_id})
                if lead_src:
                    if src_shard.fenced.get(slot) != mig_id:
                        if slot in src_shard.owned and self._due(now, mig_id, "fence"):
                            src_core.propose(now, {"fence": slot, "mig": mig_id})
                    elif self._due(now, mig_id, "ship", SHIP_EVERY):
                        for part in src_shard.exports.get(mig_id, ()):
                            for voter in meta.groups[dst].voters:
                                host._send(out, voter, {"type": EXPORT, **part})
                if lead_dst and dst_shard.staged_complete(mig_id) \
                        and self._due(now, mig_id, "done"):
                    self._propose_meta(now, {"op": "migrate_done", "id": mig_id})
                continue
            pending = False
            if state == "done":
                if dst_shard is not None and slot not in dst_shard.owned:
                    pending = True
                    if lead_dst and dst_shard.staged_complete(mig_id) \
                            and self._due(now, mig_id, "activate"):
                        dst_core.propose(now, {"activate": slot, "mig": mig_id})
                if src_shard is not None and src_shard.fenced.get(slot) == mig_id:
                    pending = True
                    if lead_src and self._due(now, mig_id, "drop"):
                        src_core.propose(now, {"drop": slot, "mig": mig_id})
            else:  # aborted
                if src_shard is not None and src_shard.fenced.get(slot) == mig_id:
                    pending = True
                    if lead_src and self._due(now, mig_id, "unfence"):
                        src_core.propose(now, {"unfence": slot, "mig": mig_id})
                if dst_shard is not None and mig_id in dst_shard.staged:
                    pending = True
                    if lead_dst and self._due(now, mig_id, "unstage"):
                        dst_core.propose(now, {"unstage": slot, "mig": mig_id})
            if pending:
                self._wake(now + RETRY_EVERY)
            else:
                self._done_with.add(mig_id)
                self._seen_moving.pop(mig_id, None)
                if state == "done":
                    self.completed += 1
                host._emit({"event": "migration_" + state, "id": mig_id, "slot": slot,
                            "from": src, "to": dst})
        host.raft.touched()

    def receive_export(self, now: float, src: str, body: dict) -> None:
        """A part of a move's export: the target group's leader proposes what it lacks."""
        host = self.host
        mig = host.meta.migrations.get(body.get("mig"))
        if mig is None or mig["state"] != "moving" or body.get("import") != mig["slot"]:
            return
        core = host.raft.cores.get(mig["to"])
        shard = host.shards.get(mig["to"])
        if core is None or core.role != LEADER:
            return
        staged = shard.staged.get(body["mig"])
        if staged is not None and body.get("part") in staged["parts"]:
            return
        part = {k: body[k] for k in ("import", "mig", "part", "parts", "data", "dedup")
                if k in body}
        if len(part) == 6 and type(part["part"]) is int and type(part["parts"]) is int:
            core.propose(now, part)
            host.raft.touched()

    def _propose_meta(self, now: float, entry: dict) -> bool:
        return self.host.propose_meta(now, entry)
