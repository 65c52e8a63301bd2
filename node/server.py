"""The sans-IO Maelstrom node: envelopes in, envelopes out; one Raft group serving lin-kv.

`Server.receive(now, envelope)` and `Server.tick(now)` return the envelopes to send, in order;
`next_deadline()` says when tick() has work. The server never reads a clock, never does IO, and
never raises on bad input: bad client requests get error 12 (malformed) or 10 (unknown type);
anything else bad is logged and dropped.

Client requests are tracked by a node-local request id (rid):
- write/cas: proposed to the leader as `{"o": node, "r": rid, "w": watermark, "c": cmd}`; the
  origin answers when *it* applies that entry (every node applies the same log, so the origin
  knows the result without a reply message). Re-proposed under the same rid after a leader
  change or `resubmit_after`; the state machine applies a rid at most once (node/kv.py).
  Answered 11 only if no leader was ever known to take it within `request_hold`; once proposed,
  a request may still commit, so it is never answered with a definite error by the node.
- read: a ReadIndex request (not in the log); served from the local state machine once it has
  applied up to the confirmed index; answered 11 after `read_deadline` (a read changes nothing).
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from node import protocol as P
from node.kv import KV
from node.raft.core import MESSAGE_TYPES, RaftCore
from node.raft.timing import DEFAULT, Timing

__all__ = ["Server", "GROUP"]

# The single Raft group of this node. Multi-Raft will key cores by group id.
GROUP = 0

_INF = float("inf")

# Field -> required type(s) of incoming Raft messages, checked before they reach the core.
_INT = (int,)
_RAFT_FIELDS: dict[str, dict[str, tuple]] = {
    "raft_prevote": {"term": _INT, "last_index": _INT, "last_term": _INT},
    "raft_vote": {"term": _INT, "last_index": _INT, "last_term": _INT},
    "raft_prevote_ok": {"term": _INT, "granted": (bool,)},
    "raft_vote_ok": {"term": _INT, "granted": (bool,)},
    "raft_append": {"term": _INT, "prev_index": _INT, "prev_term": _INT, "entries": (list,),
                    "commit": _INT, "seq": _INT},
    "raft_append_ack": {"term": _INT, "ack_term": _INT, "seq": _INT, "success": (bool,)},
    "raft_forward": {"term": _INT},
}
# The same as (field, exact type) pairs: what JSON parsing gives, checked with `type(v) is t`.
# A value that fails it is checked again the slow way, so int subclasses keep passing.
_RAFT_FIELD_TYPES: dict[str, tuple[tuple[str, type], ...]] = {
    t: tuple((f, types[0]) for f, types in fields.items()) for t, fields in _RAFT_FIELDS.items()
}


@dataclass(slots=True)
class _Pending:
    """A client request this node has not answered yet."""

    rid: int
    client: str
    msg_id: int
    cmd: list
    arrived: float
    submitted_at: float | None = None   # last hand-over to a leader (None: never)
    read_index: int | None = None       # reads: the confirmed index to wait for


class Server:
    """One Maelstrom node process, minus the IO."""

    # The Raft core class (tests substitute broken variants to prove the oracles bite).
    core_class = RaftCore

    def __init__(self, *, seed: int, log: Callable[[dict], None] | None = None,
                 timing: Timing = DEFAULT) -> None:
        self._rng = random.Random(seed)
        self._log = log
        self.timing = timing
        self.node_id: str | None = None
        self.node_ids: list[str] = []
        self.core: RaftCore | None = None
        self.kv = KV()
        self._next_msg_id = 0
        self._next_rid = 0
        self._pending: dict[int, _Pending] = {}
        self._peers: frozenset[str] = frozenset()  # the core's peers, for a quick lookup
        self._indexed_reads = 0  # pending reads with a read_index: waiting to be applied
        self._known_leader: str | None = None
        self._next_sweep = _INF
        self._reply_src: str | None = None

    # ----------------------------------------------------------------------------------------
    # Public interface

    def receive(self, now: float, message: dict) -> list[dict]:
        """Handle one envelope {"src", "dest", "body"}; returns the envelopes to send."""
        out: list[dict] = []
        try:
            self._receive(now, message, out)
            self._pump(now, out)
        except Exception:  # bad input never crashes the node; log it and keep serving
            self._emit({"event": "internal_error", "message": _clip(message),
                        "traceback": traceback.format_exc()})
        return out

    def tick(self, now: float) -> list[dict]:
        """Fire every timer due at or before `now`; returns envelopes to send."""
        out: list[dict] = []
        try:
            if self.core is not None and self.core.next_deadline() <= now:
                self.core.tick(now)
            if now >= self._next_sweep:
                self._sweep(now, out)
            self._pump(now, out)
        except Exception:
            self._emit({"event": "internal_error", "traceback": traceback.format_exc()})
        return out

    def raft_cores(self) -> dict:
        """Group id -> this node's Raft core, for test oracles (maelstrom/invariants.py)."""
        return {} if self.core is None else {GROUP: self.core}

    def next_deadline(self) -> float | None:
        """Earliest time at which tick() has work (None: no timer armed)."""
        if self.core is None:
            return None
        d = self.core.next_deadline()
        if self._next_sweep < d:
            d = self._next_sweep
        return None if d == _INF else d

    # ----------------------------------------------------------------------------------------
    # Dispatch

    def _receive(self, now: float, message: Any, out: list[dict]) -> None:
        if type(message) is dict and self.node_id is not None:
            # Fast path for the bulk of the traffic: a well-formed Raft message (exactly the
            # checks below, in exact-type form; anything else takes the full path).
            body = message.get("body")
            if type(body) is dict and type(message.get("src")) is str \
                    and body.get("msg_id") is None:
                t = body.get("type")
                if type(t) is str and t in MESSAGE_TYPES:
                    self._receive_raft(now, message["src"], body)
                    return
        if not isinstance(message, dict):
            self._emit({"event": "bad_message", "why": "not an object", "message": _clip(message)})
            return
        src = message.get("src")
        body = message.get("body")
        if self.node_id is None and isinstance(message.get("dest"), str):
            self._reply_src = message["dest"]  # before init, answer as whom we were addressed
        if not isinstance(src, str):
            self._emit({"event": "bad_message", "why": "no src", "message": _clip(message)})
            return
        if not isinstance(body, dict):
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "body must be an object")
            return
        msg_id = body.get("msg_id")
        if msg_id is not None and type(msg_id) is not int and not P.is_int(msg_id):
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "msg_id must be an integer")
            return
        t = body.get("type")
        if not isinstance(t, str):
            self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST, "missing or non-string type")
            return
        if t in MESSAGE_TYPES:
            self._receive_raft(now, src, body)
            return
        if "in_reply_to" in body:
            # A reply to something: we send no requests, so there is nothing to match it to.
            # Never answer a reply (two nodes could bounce errors forever).
            self._emit({"event": "unexpected_reply", "src": src, "type": t})
            return
        if t == "init":
            self._receive_init(now, src, body, msg_id, out)
        elif t in P.CLIENT_TYPES:
            self._receive_client(now, src, body, msg_id, out)
        else:
            self._reply_error(out, src, msg_id, P.NOT_SUPPORTED, f"unsupported message type {t!r}")

    def _receive_init(self, now: float, src: str, body: dict, msg_id: int | None,
                      out: list[dict]) -> None:
        node_id, node_ids = body.get("node_id"), body.get("node_ids")
        if not isinstance(node_id, str) or not isinstance(node_ids, list) \
                or not all(isinstance(n, str) for n in node_ids):
            self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST,
                              "init needs node_id (string) and node_ids (list of strings)")
            return
        if msg_id is None:
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "missing msg_id")
            return
        if self.core is None:
            self.node_id = node_id
            self.node_ids = sorted(set(node_ids) | {node_id})
            self.core = self.core_class(group=GROUP, node_id=node_id, voters=self.node_ids,
                                 rng=random.Random(self._rng.getrandbits(64)), now=now,
                                 timing=self.timing, log=self._emit_core)
            self._peers = frozenset(self.core.peers)
            self._emit({"event": "init", "node_id": node_id, "node_ids": self.node_ids})
        elif node_id != self.node_id:
            self._emit({"event": "reinit_ignored", "node_id": node_id})
        self._send(out, src, {"type": "init_ok", "in_reply_to": msg_id})

    def _receive_raft(self, now: float, src: str, body: dict) -> None:
        core = self.core
        if core is None or src not in self._peers:
            self._emit({"event": "raft_message_dropped", "src": src, "type": body["type"]})
            return
        if body.get("group") != GROUP:
            self._emit({"event": "unknown_group", "src": src, "group": _clip(body.get("group"))})
            return
        get = body.get
        for field, exact in _RAFT_FIELD_TYPES[body["type"]]:
            if type(get(field)) is not exact and not self._raft_field_ok(body, field):
                self._emit({"event": "bad_raft_message", "src": src, "field": field})
                return
        core.step(now, src, body)

    @staticmethod
    def _raft_field_ok(body: dict, field: str) -> bool:
        types = _RAFT_FIELDS[body["type"]][field]
        v = body.get(field)
        return isinstance(v, types) and not (types is _INT and isinstance(v, bool))

    def _receive_client(self, now: float, src: str, body: dict, msg_id: int | None,
                        out: list[dict]) -> None:
        if msg_id is None:
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "missing msg_id")
            return
        try:
            cmd = P.parse_client_request(body)
        except P.Malformed as e:
            self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST, str(e))
            return
        if self.core is None:
            self._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "node not initialized")
            return
        self._next_rid += 1
        p = _Pending(self._next_rid, src, msg_id, cmd, now)
        self._pending[p.rid] = p
        if self._next_sweep == _INF:
            self._next_sweep = now + self.timing.sweep_interval
        self._submit(now, p)

    # ----------------------------------------------------------------------------------------
    # Requests

    def _submit(self, now: float, p: _Pending) -> None:
        """Hand `p` to the leader (or ask it for a read index); no-op if no leader is known."""
        core = self.core
        if p.cmd[0] == "read":
            ok = core.read_index(now, p.rid)
        else:
            ok = core.propose(now, {"o": self.node_id, "r": p.rid, "w": self._watermark(),
                                    "c": p.cmd})
        if ok:
            p.submitted_at = now

    def _watermark(self) -> int:
        # Lowest rid of a write still waiting (dict order is rid order).
        for rid, p in self._pending.items():
            if p.cmd[0] != "read":
                return rid
        return self._next_rid + 1

    def _sweep(self, now: float, out: list[dict]) -> None:
        t = self.timing
        leader_known = self.core.lead is not None
        for rid in list(self._pending):
            p = self._pending[rid]
            age = now - p.arrived
            if p.cmd[0] == "read":
                if age >= t.read_deadline:
                    del self._pending[rid]
                    if p.read_index is not None:
                        self._indexed_reads -= 1
                    self._reply_error(out, p.client, p.msg_id, P.TEMPORARILY_UNAVAILABLE,
                                      "read not confirmed by a leader in time")
                elif p.read_index is None and leader_known and (
                        p.submitted_at is None or now - p.submitted_at >= t.resubmit_after):
                    self._submit(now, p)
            elif p.submitted_at is None:
                if leader_known:
                    self._submit(now, p)
                elif age >= t.request_hold:
                    # Never handed to any leader: surely not applied, and now never will be.
                    del self._pending[rid]
                    self._reply_error(out, p.client, p.msg_id, P.TEMPORARILY_UNAVAILABLE,
                                      "no leader known")
            elif age >= t.give_up_after:
                # The client timed out long ago; its op is indeterminate either way.
                del self._pending[rid]
            elif leader_known and now - p.submitted_at >= t.resubmit_after:
                self._submit(now, p)
        self._next_sweep = now + t.sweep_interval if self._pending else _INF

    def _pump(self, now: float, out: list[dict]) -> None:
        """Drain the core: send its messages, apply committed entries, serve reads."""
        core = self.core
        if core is None:
            return
        if core.lead != self._known_leader:
            self._known_leader = core.lead
            if core.lead is not None:
                # A new leader: hand it everything still waiting (same rids: at most once).
                for p in list(self._pending.values()):
                    if p.read_index is None:
                        self._submit(now, p)
        node_id = self.node_id
        pending = self._pending
        messages = core.take_messages()
        if messages:
            append = out.append
            for dest, body in messages:
                append({"src": node_id, "dest": dest, "body": body})
        if core.applied < core.commit:  # (take_committed() would return nothing)
            apply = self.kv.apply
            for _index, data in core.take_committed():
                if data is None:
                    continue  # a leader's no-op
                result = apply(data)
                if data["o"] == node_id:
                    p = pending.pop(data["r"], None)
                    if p is not None and p.read_index is not None:
                        self._indexed_reads -= 1  # (never: rids of reads are not logged)
                    if p is not None and result is not None:
                        self._answer_write(out, p, result)
        for ctx, index in core.take_read_states():
            p = pending.get(ctx)
            if p is not None and p.read_index is None:
                p.read_index = index
                self._indexed_reads += 1
        applied = core.applied
        if applied and self._indexed_reads:
            ready = None
            for rid, p in pending.items():
                if p.read_index is not None and p.read_index <= applied:
                    if ready is None:
                        ready = [rid]
                    else:
                        ready.append(rid)
            for rid in ready or ():
                p = pending.pop(rid)
                self._indexed_reads -= 1
                code, value = self.kv.read(p.cmd[1])
                if code:
                    self._reply_error(out, p.client, p.msg_id, code, value)
                else:
                    self._send(out, p.client, {"type": "read_ok", "in_reply_to": p.msg_id,
                                               "value": value})

    def _answer_write(self, out: list[dict], p: _Pending, result: tuple[int, str]) -> None:
        code, text = result
        if code:
            self._reply_error(out, p.client, p.msg_id, code, text)
        else:
            self._send(out, p.client, {"type": p.cmd[0] + "_ok", "in_reply_to": p.msg_id})

    # ----------------------------------------------------------------------------------------
    # Plumbing

    def _send(self, out: list[dict], dest: str, body: dict) -> None:
        self._next_msg_id += 1
        body["msg_id"] = self._next_msg_id
        out.append({"src": self.node_id or self._reply_src, "dest": dest, "body": body})

    def _reply_error(self, out: list[dict], dest: str, in_reply_to: int | None, code: int,
                     text: str) -> None:
        self._send(out, dest, P.error_body(code, text, in_reply_to))

    def _emit(self, event: dict) -> None:
        if self._log is not None:
            event.setdefault("node", self.node_id)
            self._log(event)

    def _emit_core(self, event: dict) -> None:
        self._emit(event)


def _clip(x: Any) -> Any:
    """A short printable form of arbitrary input, for logs."""
    s = repr(x)
    return s if len(s) <= 300 else s[:300] + "..."
