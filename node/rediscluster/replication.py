"""Asynchronous primary -> replica replication, as Redis replicates (replication.c), and the
dataset it replicates.

- The primary executes a write, answers the client, and only then streams the write's effect
  to its replicas: it never waits for them (no WAIT). A write acknowledged to a client can
  therefore exist on the primary alone.
- A node's history is named by a replication id (`replid`) and an `offset` (here: effects
  applied, where Redis counts bytes). The primary keeps a backlog of recent effects.
- A replica attaches with PSYNC(replid, offset). The primary continues the stream from that
  offset if it has the same history there: the same replid and an offset it has, or its
  previous replid (`replid2`) and an offset up to where that history ended for it
  (`off2`, what a promoted replica had when it was promoted). Otherwise: a full resync, and
  the replica replaces its whole dataset with the primary's. That is how a failed-over master
  that comes back loses the writes it acknowledged that its successor never received: its
  offset is past `off2`, so it gets a full resync (logged as `full_resync` with the
  discarded effects).
- A replica promoted to primary keeps its data, moves its replid to `replid2` (so its
  siblings and the old master can continue where they share history) and takes a new replid.
- The stream is one message per batch of effects with its starting offset; a replica applies
  it in order and acknowledges its offset. Redis runs this over TCP; our network drops
  messages during partitions, so unacknowledged effects are resent after `repl_resend_after`
  (TCP's retransmission), and a replica that sees a gap asks for a resend from its offset.
- The primary pings its replicas every `repl_ping_period`; a replica that hears nothing for
  `repl_timeout` marks its link down. The time since the last interaction is the data age
  that decides whether a replica may fail its master over (failover.py).

Message bodies (all carry the sender's `replid`): `rc_psync` {replid, off}; `rc_fullsync`
{replid, off, replid2, off2, data: [[key, value]...]}; `rc_continue` {replid, off};
`rc_stream` {replid, from, ops: [[key, value]...]}; `rc_repl_ack` {off, gap?}; `rc_repl_ping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from node.kv import same_value
from node.rediscluster.timing import GossipTiming

__all__ = ["Replication", "REPL_TYPES", "execute"]

REPL_TYPES = frozenset({"rc_psync", "rc_fullsync", "rc_continue", "rc_stream", "rc_repl_ack",
                        "rc_repl_ping"})

KEY_DOES_NOT_EXIST = 20
PRECONDITION_FAILED = 22
_MISSING = object()
_NEVER = float("-inf")
BACKLOG_LIMIT = 1_000_000   # effects kept for partial resyncs (Redis: repl-backlog-size bytes)
_SAMPLE = 10                # discarded effects quoted in a full_resync event


def execute(data: dict, cmd: list) -> tuple[int, Any, list | None]:
    """Run a lin-kv command against `data`: (code, value-or-text, effect). The effect is the
    [key, value] pair to replicate (None: nothing changed). cas runs atomically, as a Lua
    script would on a Redis primary."""
    op, key = cmd[0], cmd[1]
    current = data.get(key, _MISSING)
    if op == "read":
        if current is _MISSING:
            return KEY_DOES_NOT_EXIST, "key does not exist", None
        return 0, current, None
    if op == "write":
        data[key] = cmd[2]
        return 0, None, [key, cmd[2]]
    if current is _MISSING:
        return KEY_DOES_NOT_EXIST, "key does not exist", None
    if not same_value(current, cmd[2]):
        return PRECONDITION_FAILED, f"expected {cmd[2]!r}, found {current!r}", None
    data[key] = cmd[3]
    return 0, None, [key, cmd[3]]


@dataclass(slots=True)
class _Link:
    """A primary's view of one attached replica."""

    acked: int
    sent: int
    last_send: float


class Replication:
    """One node's dataset and its replication state, as a primary or as a replica."""

    def __init__(self, me: str, *, master: str | None, replid: str, now: float,
                 timing: GossipTiming, emit: Callable[[dict], None]) -> None:
        self.me = me
        self.timing = timing
        self._emit = emit
        self.data: dict[Any, Any] = {}
        self.replid = replid
        self.offset = 0
        self.replid2: str | None = None
        self.off2 = -1
        self._backlog: list[list] = []   # effects at offsets backlog_start+1 .. offset
        self._backlog_start = 0
        self._generation = 0
        # primary side
        self.links: dict[str, _Link] = {}
        self._last_ping = now
        # replica side: `master` is whom we replicate; the link is "connected" once it answered
        self.master = master
        self.link_up = master is not None    # the initial replicas start in sync (module doc)
        self.last_interaction = now
        self.down_since = now
        self._psync_at = _NEVER
        self.full_resyncs = 0
        self.discarded = 0

    # -- queries ------------------------------------------------------------------------------

    @property
    def is_primary(self) -> bool:
        return self.master is None

    def data_age(self, now: float) -> float:
        """Seconds since this replica last heard from its master (Redis' data_age before the
        node-timeout correction)."""
        return now - (self.last_interaction if self.link_up else self.down_since)

    # -- the primary --------------------------------------------------------------------------

    def write(self, now: float, cmd: list, out: list) -> tuple[int, Any]:
        """Execute a client command on the primary: the result is returned at once (the
        client's answer), the effect is streamed to the replicas and never awaited."""
        code, value, effect = execute(self.data, cmd)
        if effect is not None:
            self._append(effect)
            self._stream_all(now, out)
        return code, value

    def _append(self, effect: list) -> None:
        self.offset += 1
        self._backlog.append(effect)
        if len(self._backlog) > BACKLOG_LIMIT:
            drop = len(self._backlog) - BACKLOG_LIMIT
            del self._backlog[:drop]
            self._backlog_start += drop

    def _effects_after(self, offset: int) -> list[list] | None:
        """The effects at offsets offset+1 .. self.offset (None: not in the backlog)."""
        if offset < self._backlog_start or offset > self.offset:
            return None
        return self._backlog[offset - self._backlog_start:]

    def _stream_all(self, now: float, out: list) -> None:
        for replica, link in self.links.items():
            self._stream(now, replica, link, out)

    def _stream(self, now: float, replica: str, link: _Link, out: list) -> None:
        if link.sent >= self.offset:
            return
        ops = self._effects_after(link.sent)
        if ops is None:
            return
        out.append((replica, {"type": "rc_stream", "replid": self.replid, "from": link.sent,
                              "ops": ops}))
        link.sent = self.offset
        link.last_send = now

    def attach(self, replicas: list[str], now: float) -> None:
        """Replicas already in sync at offset 0 (the cluster as it was created)."""
        for replica in replicas:
            self.links[replica] = _Link(self.offset, self.offset, now)

    def become_primary(self, now: float) -> None:
        """Promotion: keep the data; the old history stays continuable under replid2."""
        self._generation += 1
        self.replid2, self.off2 = self.replid, self.offset
        self.replid = f"{self.me}/{self._generation}"
        self.master = None
        self.link_up = False
        self.links = {}
        self._last_ping = now

    def _on_psync(self, now: float, src: str, body: dict, out: list) -> None:
        if not self.is_primary:
            return  # chained replication is not modelled
        replid, off = body.get("replid"), body.get("off")
        if type(off) is not int or off < 0:
            return
        same = (replid == self.replid and off <= self.offset) or \
            (self.replid2 is not None and replid == self.replid2 and off <= self.off2)
        if same and self._effects_after(off) is not None:
            out.append((src, {"type": "rc_continue", "replid": self.replid, "off": off}))
            link = self.links[src] = _Link(off, off, now)
        else:
            out.append((src, {"type": "rc_fullsync", "replid": self.replid, "off": self.offset,
                              "replid2": self.replid2, "off2": self.off2,
                              "data": [[k, v] for k, v in self.data.items()]}))
            link = self.links[src] = _Link(self.offset, self.offset, now)
        self._stream(now, src, link, out)

    def _on_ack(self, now: float, src: str, body: dict, out: list) -> None:
        link = self.links.get(src)
        off = body.get("off")
        if link is None or type(off) is not int:
            return
        if off > link.acked:
            link.acked = min(off, self.offset)
        if body.get("gap"):
            link.sent = min(link.sent, off)
            self._stream(now, src, link, out)

    # -- the replica --------------------------------------------------------------------------

    def become_replica(self, now: float, master: str, out: list) -> None:
        """Replicate `master` from now on: PSYNC with our own history (a demoted primary
        offers its own replid and offset, as Redis' replicationCacheMasterUsingMyself)."""
        self.master = master
        self.links = {}
        self.link_up = False
        self.down_since = now
        self._send_psync(now, out)

    def _send_psync(self, now: float, out: list) -> None:
        self._psync_at = now
        out.append((self.master, {"type": "rc_psync", "replid": self.replid, "off": self.offset}))

    def _from_master(self, src: str) -> bool:
        return self.master is not None and src == self.master

    def _on_fullsync(self, now: float, src: str, body: dict) -> None:
        replid, off, data = body.get("replid"), body.get("off"), body.get("data")
        if not self._from_master(src) or type(off) is not int or type(data) is not list:
            return
        if body.get("replid2") is not None and self.replid == body.get("replid2"):
            common = min(self.offset, body.get("off2", -1))
        elif self.replid == replid:
            common = min(self.offset, off)
        else:
            common = None
        if common is not None and common >= 0:
            discarded = self.offset - common
            lost = self._effects_after(common) or []
        else:
            discarded, lost = None, []
        self.full_resyncs += 1
        self.discarded += discarded or 0
        self._emit({"event": "full_resync", "master": src, "my_replid": self.replid,
                    "my_offset": self.offset, "master_replid": replid, "master_offset": off,
                    "discarded": discarded, "writes": lost[:_SAMPLE]})
        self.data = {}
        for item in data:
            if type(item) is list and len(item) == 2:
                self.data[item[0]] = item[1]
        self.replid, self.offset = replid, off
        self.replid2, self.off2 = None, -1
        self._backlog, self._backlog_start = [], off
        self.link_up = True
        self.last_interaction = now

    def _on_continue(self, now: float, src: str, body: dict) -> None:
        replid, off = body.get("replid"), body.get("off")
        if not self._from_master(src) or type(off) is not int or off > self.offset:
            return
        if replid != self.replid:
            self.replid2, self.off2 = self.replid, self.offset
            self.replid = replid
        if off < self.offset:  # cannot happen with the rules above; keep the prefix
            self.offset = off
            del self._backlog[max(0, off - self._backlog_start):]
        self.link_up = True
        self.last_interaction = now

    def _on_stream(self, now: float, src: str, body: dict, out: list) -> None:
        start, ops = body.get("from"), body.get("ops")
        if not self._from_master(src) or not self.link_up or body.get("replid") != self.replid \
                or type(start) is not int or type(ops) is not list:
            return
        self.last_interaction = now
        if start > self.offset:
            out.append((src, {"type": "rc_repl_ack", "off": self.offset, "gap": True}))
            return
        for op in ops[self.offset - start:]:
            if type(op) is list and len(op) == 2:
                self.data[op[0]] = op[1]
            self._append(op)
        out.append((src, {"type": "rc_repl_ack", "off": self.offset}))

    # -- entry points -------------------------------------------------------------------------

    def receive(self, now: float, src: str, body: dict, out: list) -> None:
        """A replication message from `src`; outgoing (dest, body) pairs go to `out`."""
        t = body.get("type")
        if t == "rc_psync":
            self._on_psync(now, src, body, out)
        elif t == "rc_repl_ack":
            self._on_ack(now, src, body, out)
        elif t == "rc_fullsync":
            self._on_fullsync(now, src, body)
        elif t == "rc_continue":
            self._on_continue(now, src, body)
        elif t == "rc_stream":
            self._on_stream(now, src, body, out)
        elif t == "rc_repl_ping":
            if self._from_master(src) and self.link_up:
                self.last_interaction = now

    def cron(self, now: float, out: list) -> None:
        t = self.timing
        if self.is_primary:
            for replica, link in self.links.items():
                if link.acked < self.offset and now - link.last_send >= t.repl_resend_after:
                    link.sent = link.acked
                    self._stream(now, replica, link, out)
            if now - self._last_ping >= t.repl_ping_period:
                self._last_ping = now
                for replica in self.links:
                    out.append((replica, {"type": "rc_repl_ping", "replid": self.replid}))
            return
        if self.link_up and now - self.last_interaction > t.repl_timeout:
            self.link_up = False
            self.down_since = now
        if not self.link_up and now - self._psync_at >= t.psync_retry:
            self._send_psync(now, out)
