"""Client requests of one node: its own clients' (pending) and those other nodes routed to it
(proxied); handing them to a group, retrying, answering (docs/cluster.md, "Routing").

Own clients' requests are tracked by a node-local request id (rid), counted from 1 in each life
of the node process; the origin is `host.origin_id` (the node id and a tag of this life), so a
node started again after a kill never collides with the rids its earlier life left in the
groups' at-most-once tables (node/kv.py):
- write/cas: proposed to the owning group as `{"o": origin, "r": rid, "w": watermark, "c": cmd}`
  (by this node's core if it is a member, else by a member it routes to); the origin answers
  when it applies that entry, or when the member that proposed it reports the result. Handed
  again under the same rid after a leader change, a rejection or `resubmit_after`; the group's
  state machine applies a rid at most once (node/kv.py). Answered 11 only if never handed to any
  group within `request_hold`; once handed over it may still commit, so it is never answered
  with a definite error by the node.
- read: a ReadIndex request (not in the log), served from the group's state machine once it has
  applied up to the confirmed index; answered 11 after `read_deadline` (a read changes nothing).

Routed requests (`kv_route`, carrying the origin's `o`) are proposed in our group under that
origin and rid and answered with `kv_route_ok` when applied (reads: when served); see
node/cluster/router.py.
`Requests` holds no IO: it sends through its host's `_send`/`_reply_error` into `out`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node import protocol as P
from node.cluster.router import ROUTE, ROUTE_MOVED, ROUTE_OK, ROUTE_RETRY
from node.cluster.shard import MOVED

__all__ = ["Requests"]

_INF = float("inf")


@dataclass(slots=True)
class _Pending:
    """A client request this node has not answered yet."""

    rid: int
    client: str
    msg_id: int
    cmd: list
    arrived: float
    group: int | None = None            # the shard group it was last handed to
    submitted_at: float | None = None   # last hand-over (None: not handed over since)
    handed: bool = False                # ever handed to a core or a member: may commit
    attempts: int = 0                   # routings to members of other groups
    read_index: int | None = None       # reads: the confirmed index to wait for


@dataclass(slots=True)
class _Proxy:
    """A request this node proposed in its group on behalf of another node (Router)."""

    src: str      # the node that routed it here (answers go to it)
    origin: str   # its origin id (node and life): the key in the group's tables
    rid: int
    group: int
    cmd: list
    arrived: float
    read_index: int | None = None


class Requests:
    """The requests a node holds; `host` is its Server (state, timing, sending)."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.pending: dict[int, _Pending] = {}
        self.proxied: dict[tuple[str, int], _Proxy] = {}
        self.indexed_reads = 0  # pending + proxied reads with a read_index, waiting to apply
        self.next_sweep = _INF
        self._next_rid = 0

    # -- this node's clients -----------------------------------------------------------------
    def client(self, now: float, src: str, msg_id: int, cmd: list, out: list[dict]) -> None:
        self._next_rid += 1
        p = _Pending(self._next_rid, src, msg_id, cmd, now)
        self.pending[p.rid] = p
        self._arm(now)
        self.submit(now, p, out)

    def submit(self, now: float, p: _Pending, out: list[dict]) -> None:
        """Hand `p` to its group: our own core if we are a member, else a member (Router).
        A no-op while no map is applied or no leader is known."""
        host = self.host
        group = host.router.group_of(p.cmd[1])
        if group is None:
            return
        p.group = group
        core = host.raft.cores.get(group)
        if core is not None:
            if p.cmd[0] == "read":
                ok = core.read_index(now, ["o", host.origin_id, p.rid])
            else:
                ok = core.propose(now, {"o": host.origin_id, "r": p.rid, "w": self.watermark(),
                                        "c": p.cmd})
            host.raft.touched()
            if ok:
                p.submitted_at = now
                p.handed = True
            return
        target = host.router.target(group, p.attempts)
        if target is None:
            return
        p.attempts += 1
        p.submitted_at = now
        p.handed = p.handed or p.cmd[0] != "read"
        host._send(out, target, {"type": ROUTE, "rid": p.rid, "o": host.origin_id,
                                 "w": self.watermark(),
                                 "cmd": p.cmd, "shard": group, "epoch": host.meta.epoch})

    @property
    def received(self) -> int:
        """Client requests this node has received (request ids are numbered from 1)."""
        return self._next_rid

    def watermark(self) -> int:
        # Lowest rid of a write still waiting (dict order is rid order).
        for rid, p in self.pending.items():
            if p.cmd[0] != "read":
                return rid
        return self._next_rid + 1

    def sweep(self, now: float, out: list[dict]) -> None:
        host = self.host
        t = host.timing
        for rid in list(self.pending):
            p = self.pending[rid]
            age = now - p.arrived
            if p.cmd[0] == "read":
                if age >= t.read_deadline:
                    del self.pending[rid]
                    if p.read_index is not None:
                        self.indexed_reads -= 1
                    host._reply_error(out, p.client, p.msg_id, P.TEMPORARILY_UNAVAILABLE,
                                      "read not confirmed by a leader in time")
                elif p.read_index is None and (
                        p.submitted_at is None or now - p.submitted_at >= t.resubmit_after):
                    self.submit(now, p, out)
            elif not p.handed:
                if age >= t.request_hold:
                    # Never handed to any group: surely not applied, and now never will be.
                    del self.pending[rid]
                    host._reply_error(out, p.client, p.msg_id, P.TEMPORARILY_UNAVAILABLE,
                                      "no leader known" if host.meta.epoch else
                                      "no slot map yet")
                else:
                    self.submit(now, p, out)
            elif age >= t.give_up_after:
                # The client timed out long ago; its op is indeterminate either way.
                del self.pending[rid]
            elif p.submitted_at is None or now - p.submitted_at >= t.resubmit_after:
                self.submit(now, p, out)
        for key in [k for k, x in self.proxied.items() if now - x.arrived >= t.give_up_after]:
            x = self.proxied.pop(key)
            if x.read_index is not None:
                self.indexed_reads -= 1
        busy = self.pending or self.proxied
        self.next_sweep = now + t.sweep_interval if busy else _INF

    def _arm(self, now: float) -> None:
        if self.next_sweep == _INF:
            self.next_sweep = now + self.host.timing.sweep_interval

    # -- routed requests (node/cluster/router.py) ----------------------------------------------
    def receive_route(self, now: float, src: str, t: str, body: dict, out: list[dict]) -> None:
        host = self.host
        rid = body.get("rid")
        if t == ROUTE:
            self._proxy(now, src, rid, body, out)
            return
        p = self.pending.get(rid)
        if p is None or body.get("o") != host.origin_id:
            # Answered already (a duplicate, or the result arrived another way), or an answer
            # to an earlier life of this node whose rid we count again.
            return
        if t == ROUTE_OK:
            if p.group is not None:
                host.router.answered(p.group, src)
            del self.pending[rid]
            if p.read_index is not None:
                self.indexed_reads -= 1
            code = body.get("code")
            if p.cmd[0] == "read" and code == 0:
                host._send(out, p.client, {"type": "read_ok", "in_reply_to": p.msg_id,
                                           "value": body.get("value")})
            elif code == 0:
                host._send(out, p.client, {"type": p.cmd[0] + "_ok", "in_reply_to": p.msg_id})
            else:
                code = code if type(code) is int else P.CRASH
                host._reply_error(out, p.client, p.msg_id, code, str(body.get("text", "")))
        else:  # moved, or retry: nothing proposed this time; try again at the next sweep
            if p.group is not None:
                host.router.failed(p.group, src)
            p.submitted_at = None

    def _proxy(self, now: float, src: str, rid: int, body: dict, out: list[dict]) -> None:
        host = self.host
        cmd, w, shard, origin = body.get("cmd"), body.get("w"), body.get("shard"), body.get("o")
        try:
            cmd = P.parse_client_request(P.command_body(cmd))
        except (P.Malformed, TypeError, KeyError, IndexError):
            host._emit({"event": "bad_route", "src": src, "why": "command"})
            return
        if type(w) is not int:
            host._emit({"event": "bad_route", "src": src, "why": "watermark"})
            return
        if type(origin) is not str or not origin.startswith(src + "."):
            host._emit({"event": "bad_route", "src": src, "why": "origin"})
            return
        group = host.router.group_of(cmd[1])
        core = host.raft.cores.get(group) if group is not None else None
        if group is None or group != shard or core is None:
            host._send(out, src, {"type": ROUTE_MOVED, "rid": rid, "o": origin,
                                  "epoch": host.meta.epoch,
                                  "owner": group})
            return
        key = (origin, rid)
        proxy = self.proxied.get(key)
        if proxy is None:
            proxy = self.proxied[key] = _Proxy(src, origin, rid, group, cmd, now)
        self._arm(now)
        if cmd[0] == "read":
            ok = proxy.read_index is not None or core.read_index(now, ["p", origin, rid])
        else:
            ok = core.propose(now, {"o": origin, "r": rid, "w": w, "c": cmd})
        host.raft.touched()
        if not ok:
            self.proxied.pop(key, None)
            host._send(out, src, {"type": ROUTE_RETRY, "rid": rid, "o": origin})

    # -- what the groups decided ---------------------------------------------------------------
    def applied(self, data: dict, result: tuple[int, str] | None, out: list[dict]) -> None:
        """A client entry applied in one of our groups with `result` (None: a stale copy)."""
        host = self.host
        origin = data["o"]
        if result is not None and result[0] == MOVED:
            # Not applied: the group no longer (or not yet) serves the slot. Route it again.
            if origin == host.origin_id:
                p = self.pending.get(data["r"])
                if p is not None:
                    p.submitted_at = None
            else:
                x = self.proxied.pop((origin, data["r"]), None)
                if x is not None:
                    host._send(out, x.src, {"type": ROUTE_MOVED, "rid": x.rid, "o": x.origin,
                                             "epoch": host.meta.epoch, "owner": None})
            return
        if origin == host.origin_id:
            p = self.pending.pop(data["r"], None)
            if p is not None and result is not None:
                code, text = result
                if code:
                    host._reply_error(out, p.client, p.msg_id, code, text)
                else:
                    host._send(out, p.client, {"type": p.cmd[0] + "_ok",
                                               "in_reply_to": p.msg_id})
        else:
            x = self.proxied.pop((origin, data["r"]), None)
            if x is not None and result is not None:
                host._send(out, x.src, {"type": ROUTE_OK, "rid": x.rid, "o": x.origin,
                                        "code": result[0],
                                         "text": result[1]})

    def read_state(self, ctx: Any, index: int) -> None:
        """A ReadIndex read of ours (["o", origin, rid]) or routed to us (["p", origin, rid]) is
        confirmed at `index`. Ours name this life's origin: a leader may confirm a read the
        node's earlier life asked for, whose rid this life counts again for another read (which
        the old, lower index would serve stale)."""
        if type(ctx) is not list or len(ctx) != 3:
            return
        if ctx[0] == "o":
            p = self.pending.get(ctx[2]) if ctx[1] == self.host.origin_id else None
            if p is not None and p.read_index is None:
                p.read_index = index
                self.indexed_reads += 1
        else:
            x = self.proxied.get((ctx[1], ctx[2]))
            if x is not None and x.read_index is None:
                x.read_index = index
                self.indexed_reads += 1

    def serve_reads(self, out: list[dict]) -> None:
        """Answer the confirmed reads whose group has applied up to their index."""
        host = self.host
        cores = host.raft.cores
        for rid in [r for r, p in self.pending.items() if p.read_index is not None
                    and p.read_index <= cores[p.group].applied]:
            p = self.pending[rid]
            self.indexed_reads -= 1
            code, value = host.shards[p.group].read(p.cmd[1])
            if code == MOVED:  # the slot moved away meanwhile: ask its new owner
                p.read_index = None
                p.submitted_at = None
                continue
            del self.pending[rid]
            if code:
                host._reply_error(out, p.client, p.msg_id, code, value)
            else:
                host._send(out, p.client, {"type": "read_ok", "in_reply_to": p.msg_id,
                                           "value": value})
        for key in [k for k, x in self.proxied.items() if x.read_index is not None
                    and x.read_index <= cores[x.group].applied]:
            x = self.proxied.pop(key)
            self.indexed_reads -= 1
            code, value = host.shards[x.group].read(x.cmd[1])
            if code == MOVED:
                host._send(out, x.src, {"type": ROUTE_MOVED, "rid": x.rid, "o": x.origin,
                                           "epoch": host.meta.epoch, "owner": None})
                continue
            reply = {"type": ROUTE_OK, "rid": x.rid, "o": x.origin, "code": code}
            reply["text" if code else "value"] = value
            host._send(out, x.src, reply)

    def new_leader(self, now: float, group: Any, out: list[dict]) -> None:
        """A group has a (new) leader: hand it our waiting requests again (same rids)."""
        for p in list(self.pending.values()):
            if p.group == group and p.read_index is None:
                self.submit(now, p, out)

    def new_map(self, now: float, out: list[dict]) -> None:
        """A new meta state: hand over requests that waited for a map."""
        for p in list(self.pending.values()):
            if p.submitted_at is None:
                self.submit(now, p, out)
