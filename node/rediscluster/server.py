"""`GossipServer`: a Maelstrom lin-kv node that behaves as a Redis Cluster node does
(`cluster.consensus = "gossip"`; docs/gossip_mode.md). Sans-IO, like node/server.py's Server:

    GossipServer.configure(environ) -> {"config": ClusterConfig(consensus="gossip"), ...}
    GossipServer(seed=..., log=..., config=..., gossip_timing=...)
    receive(now, envelope) -> [envelope...];  tick(now) -> [...];  next_deadline() -> float

The cluster as `redis-cli --cluster create` leaves it: on `init` every node computes the same
layout (node/cluster/layout.py): each shard group's first voter is a master serving the
group's slots with config epoch = the group id, the other members replicate it (in sync, at
offset 0); nodes in no group are masters without slots. Every node knows every node, and the
current epoch is the highest config epoch. From then on only the Redis Cluster rules change
anything: the cluster bus (bus.py), elections (failover.py), replication (replication.py).

Clients. A node serves a key when, in its own view, the key's slot is bound to it and its
cluster state is ok. Otherwise, as a Redis node answers a client:
- state `fail` or the slot unbound: error 11 (CLUSTERDOWN: definitely not executed);
- the slot is another node's: MOVED. Maelstrom's clients cannot follow MOVED, so the node
  follows it for them, as a cluster-aware client would: it sends the command (`rc_cmd`) to that
  owner, which answers (`rc_reply`) with the result, with MOVED of its own (followed, up to
  `max_redirects` times) or with CLUSTERDOWN (error 11). No reply: writes are never answered
  (the client times out: indefinite), reads get error 11 after `read_deadline`.
A primary executes a write, answers at once, and replicates afterwards (replication.py).

Logged events (the `log` callback, one dict per event; the host adds the time):
`role` ({"role": "leader", "group": shard, "term": config epoch} when this node becomes the
primary of its shard, at init or by fail-over; {"role": "replica", "master": ...} when it
replicates), `pfail`, `pfail_cleared`, `fail`, `fail_cleared`, `failover_scheduled`,
`failover_election`, `vote`, `vote_refused`, `failover`, `slots_rebound`, `reconfigured`,
`full_resync` (with the discarded writes), `cluster_state`, `init`, `bad_*`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from node import protocol as P
from node.endpoint import Endpoint, clip
from node.cluster.config import ClusterConfig, ConfigError, load_config
from node.cluster.layout import Layout, initial_layout
from node.cluster.slots import SLOT_COUNT, key_slot
from node.rediscluster.bus import BUS_TYPES, ClusterBus
from node.rediscluster.replication import REPL_TYPES, Replication, execute
from node.rediscluster.timing import DEFAULT, GossipTiming, from_spec
from node.timing_spec import from_environ
from node.rediscluster.view import ClusterView, NodeInfo

__all__ = ["GossipServer", "ConfigError", "TIMING_ENV", "gossip_topology", "build_view",
           "initial_view"]

TIMING_ENV = "FERRITE_GOSSIP_TIMING"
CMD, REPLY = "rc_cmd", "rc_reply"
_INF = float("inf")


@dataclass(slots=True)
class _Request:
    """A client request this node is following MOVED redirections for."""

    rid: int
    client: str
    msg_id: int
    cmd: list
    arrived: float
    hops: int = 0
    target: str | None = None


def gossip_topology(layout: Layout) -> tuple[dict[int, str], dict[str, int]]:
    """(group -> initial master, node -> group) for a layout whose shard groups are disjoint;
    ConfigError otherwise (a Redis node is the master or a replica of one shard)."""
    masters: dict[int, str] = {}
    group_of: dict[str, int] = {}
    for g in sorted(layout.groups):
        members = layout.groups[g]
        for node in members.members:
            if node in group_of:
                raise ConfigError(
                    f"gossip mode needs each node in at most one shard group, but {node} is in "
                    f"groups {group_of[node]} and {g}; use more nodes or fewer "
                    f"cluster.shards/cluster.replicas")
            group_of[node] = g
        masters[g] = members.voters[0]
    return masters, group_of


def build_view(me: str, ids: list[str], layout: Layout, masters: dict[int, str],
               group_of: dict[str, int]) -> ClusterView:
    """Node `me`'s view of the cluster as created: the master of group g serves the group's
    slots with config epoch g, the other members replicate it (knowing its epoch), nodes in
    no group are masters without slots with epochs after the groups', and the current epoch
    is the highest config epoch."""
    nodes: dict[str, NodeInfo] = {}
    for g, master in masters.items():
        nodes[master] = NodeInfo(master, master=True, config_epoch=g)
    epoch = max(masters, default=0)
    for node in ids:
        if node in nodes:
            continue
        g = group_of.get(node)
        if g is None:
            epoch += 1
            nodes[node] = NodeInfo(node, master=True, config_epoch=epoch)
        else:
            nodes[node] = NodeInfo(node, master=False, replica_of=masters[g], config_epoch=g)
    owners: list[str | None] = [None] * SLOT_COUNT
    for lo, hi, g in layout.slots.ranges():
        owners[lo:hi + 1] = [masters[g]] * (hi - lo + 1)
    return ClusterView(me, nodes, owners, epoch)


def initial_view(me: str, node_ids: list[str], config: ClusterConfig) -> ClusterView:
    """`build_view` from Maelstrom's node ids and the config (ConfigError as at init)."""
    ids = sorted(set(node_ids) | {me})
    layout = initial_layout(ids, config)
    masters, group_of = gossip_topology(layout)
    return build_view(me, ids, layout, masters, group_of)


class GossipServer(Endpoint):
    """One Redis Cluster node, minus the IO."""

    @classmethod
    def configure(cls, environ: Any) -> dict:
        """Constructor arguments from the environment: the cluster config (FERRITE_CLUSTER_*,
        FERRITE_CONFIG) with consensus set to "gossip" (this class is that mode), and
        $FERRITE_GOSSIP_TIMING overrides (timing.py). Raises ConfigError."""
        config = load_config(environ)
        if config.consensus != "gossip":
            config = dataclasses.replace(config, consensus="gossip")
        out: dict[str, Any] = {"config": config}
        timing = from_environ(environ, TIMING_ENV, from_spec)
        if timing is not None:
            out["gossip_timing"] = timing
        return out

    def __init__(self, *, seed: int, log: Callable[[dict], None] | None = None,
                 config: ClusterConfig | None = None, gossip_timing: GossipTiming = DEFAULT,
                 timing: Any = None) -> None:
        """`timing` (the Raft node's constants) is accepted and unused, so a driver can build
        either server class with the same arguments."""
        self._rng = random.Random(seed)
        self._log = log
        self.timing = gossip_timing
        self.config = config if config is not None else ClusterConfig(consensus="gossip")
        self.node_id: str | None = None
        self.node_ids: list[str] = []
        self.group: int | None = None
        self._masters: dict[int, str] = {}      # shard group -> its initial master
        self._group_of: dict[str, int] = {}     # node -> its shard group (fixed at init)
        self.view: ClusterView | None = None
        self.bus: ClusterBus | None = None
        self.repl: Replication | None = None
        self._nodes: frozenset[str] = frozenset()
        self._next_msg_id = 0
        self._next_rid = 0
        self._pending: dict[int, _Request] = {}
        self._served: dict[tuple[str, int], tuple[dict, float]] = {}
        self._next_cron = _INF
        self._reply_src: str | None = None
        self._repl_out: list[tuple[str, dict]] = []

    # ----------------------------------------------------------------------------------------
    # Public interface

    def receive(self, now: float, message: dict) -> list[dict]:
        """Handle one envelope {"src", "dest", "body"}; returns the envelopes to send."""
        out: list[dict] = []
        try:
            self._receive(now, message, out)
            self._drain(now, out)
        except Exception:  # bad input never crashes the node
            self._emit({"event": "internal_error", "message": clip(message),
                        "traceback": traceback.format_exc()})
        return out

    def tick(self, now: float) -> list[dict]:
        """Fire the cron if it is due (every `cron_interval`)."""
        out: list[dict] = []
        try:
            if self.bus is not None and now >= self._next_cron:
                self._next_cron = now + self.timing.cron_interval
                self.bus.cron(now)
                self._drain(now, out)
                self.repl.cron(now, self._repl_out)
                self._sweep(now, out)
                self._drain(now, out)
        except Exception:
            self._emit({"event": "internal_error", "traceback": traceback.format_exc()})
        return out

    def next_deadline(self) -> float | None:
        return None if self._next_cron == _INF else self._next_cron

    # ----------------------------------------------------------------------------------------
    # Dispatch

    def _receive(self, now: float, message: Any, out: list[dict]) -> None:
        if type(message) is dict and self.bus is not None:
            body = message.get("body")
            src = message.get("src")
            if type(body) is dict and type(src) is str and "msg_id" not in body:
                t = body.get("type")
                if t in BUS_TYPES:
                    if src in self._nodes:
                        self.bus.receive(now, src, body)
                    return
                if t in REPL_TYPES:
                    if src in self._nodes:
                        self.repl.receive(now, src, body, self._repl_out)
                    return
        parsed = self._envelope(message, out)
        if parsed is None:
            return
        src, body, msg_id, t = parsed
        if t in (CMD, REPLY):
            if self.bus is not None and src in self._nodes:
                (self._on_cmd if t == CMD else self._on_reply)(now, src, body, out)
            return
        if t in BUS_TYPES or t in REPL_TYPES:
            self._emit({"event": "bus_message_dropped", "src": src, "type": t})
            return
        if "in_reply_to" in body:
            self._emit({"event": "unexpected_reply", "src": src, "type": t})
            return
        if t == "init":
            self._receive_init(now, src, body, msg_id, out)
        elif t in P.CLIENT_TYPES:
            self._receive_client(now, src, body, msg_id, out)
        elif t == "cluster_info":
            if msg_id is None:
                self._reply_error(out, src, None, P.MALFORMED_REQUEST, "missing msg_id")
            elif self.bus is None:
                self._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE,
                                  "node not initialized")
            else:
                self._send(out, src, {"type": "cluster_info_ok", "in_reply_to": msg_id,
                                      **self.cluster_info()})
        else:
            self._reply_error(out, src, msg_id, P.NOT_SUPPORTED, f"unsupported message type {t!r}")

    def _receive_init(self, now: float, src: str, body: dict, msg_id: int | None,
                      out: list[dict]) -> None:
        fields = self._init_fields(src, body, msg_id, out)
        if fields is None:
            return
        node_id, node_ids = fields
        if self.bus is None:
            ids = sorted(set(node_ids) | {node_id})
            try:
                layout = initial_layout(ids, self.config)
                masters, group_of = gossip_topology(layout)
            except ConfigError as exc:
                self._reply_error(out, src, msg_id, P.CRASH, f"bad cluster config: {exc}")
                return
            self._start(now, node_id, ids, layout, masters, group_of)
        elif node_id != self.node_id:
            self._emit({"event": "reinit_ignored", "node_id": node_id})
        self._send(out, src, {"type": "init_ok", "in_reply_to": msg_id})

    def _start(self, now: float, me: str, ids: list[str], layout: Layout,
               masters: dict[int, str], group_of: dict[str, int]) -> None:
        """Build the converged cluster of the module docstring."""
        self.node_id = me
        self.node_ids = ids
        self._nodes = frozenset(ids) - {me}
        self.group = group_of.get(me)
        self._masters, self._group_of = masters, group_of
        self.view = build_view(me, ids, layout, masters, group_of)
        nodes = self.view.nodes
        mine = nodes[me]
        group_master = masters.get(self.group) if self.group is not None else None
        if mine.master:
            self.repl = Replication(me, master=None, replid=f"{me}/0", now=now,
                                    timing=self.timing, emit=self._emit)
            self.repl.attach([n for n in ids if nodes[n].replica_of == me], now)
        else:
            self.repl = Replication(me, master=group_master, replid=f"{group_master}/0",
                                    now=now, timing=self.timing, emit=self._emit)
        self.bus = ClusterBus(self.view, timing=self.timing,
                              rng=random.Random(self._rng.getrandbits(64)), now=now,
                              emit=self._emit, offset=lambda: self.repl.offset,
                              data_age=self.repl.data_age)
        self._next_cron = now
        self._emit({"event": "init", "node_id": me, "node_ids": ids,
                    "config": self.config.to_dict(), "group": self.group,
                    "masters": {str(g): m for g, m in masters.items()}})
        self._emit_role()

    # ----------------------------------------------------------------------------------------
    # Role changes decided by the bus

    def _drain(self, now: float, out: list[dict]) -> None:
        bus = self.bus
        if bus is None:
            return
        while bus.changes:
            kind, arg = bus.changes.pop(0)
            if kind == "promoted":
                self.repl.become_primary(now)
                self._emit_role()
            elif kind == "replicate":
                self.repl.become_replica(now, arg, self._repl_out)
                self._emit_role()
            elif kind == "lost_slots":
                lost = set(arg)
                for key in [k for k in self.repl.data if key_slot(k) in lost]:
                    del self.repl.data[key]
        me = self.node_id
        for dest, body in bus.out:
            out.append({"src": me, "dest": dest, "body": body})
        bus.out.clear()
        for dest, body in self._repl_out:
            out.append({"src": me, "dest": dest, "body": body})
        self._repl_out.clear()

    def _emit_role(self) -> None:
        v = self.view
        me = v.myself
        if self.group is None:
            return
        if me.master:
            self._emit({"event": "role", "role": "leader", "group": self.group,
                        "term": me.config_epoch})
        else:
            self._emit({"event": "role", "role": "replica", "group": self.group,
                        "term": v.master_config_epoch(), "master": me.replica_of})

    # ----------------------------------------------------------------------------------------
    # Clients and redirections

    def _receive_client(self, now: float, src: str, body: dict, msg_id: int | None,
                        out: list[dict]) -> None:
        cmd = self._client_command(src, body, msg_id, self.bus is not None, out)
        if cmd is None:
            return
        self._next_rid += 1
        req = _Request(self._next_rid, src, msg_id, cmd, now)
        result = self._query(now, cmd)
        if result[0] == "moved":
            self._redirect(now, req, result[1], out)
        else:
            self._answer(out, req, result[1], result[2])

    def _query(self, now: float, cmd: list) -> tuple:
        """What this node does with a command, as Redis' getNodeByQuery + call:
        ("moved", owner) or ("done", code, value-or-text)."""
        owner = self.view.owner(key_slot(cmd[1]))
        if owner is None:
            return "done", P.TEMPORARILY_UNAVAILABLE, "CLUSTERDOWN Hash slot not served"
        if self.bus.state != "ok":
            return "done", P.TEMPORARILY_UNAVAILABLE, "CLUSTERDOWN The cluster is down"
        if owner != self.node_id:
            return "moved", owner
        if cmd[0] == "read":
            code, value, _ = execute(self.repl.data, cmd)
        else:
            code, value = self.repl.write(now, cmd, self._repl_out)
        return "done", code, value

    def _redirect(self, now: float, req: _Request, owner: Any, out: list[dict]) -> None:
        """Follow MOVED to `owner` (a node id) for the client."""
        if req.hops >= self.timing.max_redirects or owner not in self._nodes:
            self._pending.pop(req.rid, None)
            self._answer(out, req, P.TEMPORARILY_UNAVAILABLE,
                         "MOVED: too many redirections" if owner in self._nodes
                         else f"MOVED to unknown node {owner!r}")
            return
        req.hops += 1
        req.target = owner
        self._pending[req.rid] = req
        self._send(out, owner, {"type": CMD, "rid": req.rid, "cmd": req.cmd})

    def _on_cmd(self, now: float, src: str, body: dict, out: list[dict]) -> None:
        rid = body.get("rid")
        try:
            cmd = P.parse_client_request(P.command_body(body.get("cmd")))
        except (P.Malformed, TypeError, KeyError, IndexError):
            cmd = None
        if type(rid) is not int or cmd is None:
            self._emit({"event": "bad_cmd", "src": src})
            return
        key = (src, rid)
        seen = self._served.get(key)
        if seen is not None:  # a duplicated delivery: TCP would not have delivered it twice
            self._send(out, src, dict(seen[0]))
            return
        result = self._query(now, cmd)
        reply: dict[str, Any] = {"type": REPLY, "rid": rid}
        if result[0] == "moved":
            reply["moved"] = result[1]
        else:
            _, code, value = result
            reply["code"] = code
            reply["text" if code else "value"] = value
            if code != P.TEMPORARILY_UNAVAILABLE:
                self._served[key] = (dict(reply), now)
        self._send(out, src, reply)

    def _on_reply(self, now: float, src: str, body: dict, out: list[dict]) -> None:
        req = self._pending.get(body.get("rid"))
        if req is None:
            return
        if "moved" in body:
            if src != req.target:
                return  # an older hop's answer; the current hop will answer
            owner = body["moved"]
            if owner == self.node_id:
                self._pending.pop(req.rid, None)
                result = self._query(now, req.cmd)
                if result[0] == "done":
                    self._answer(out, req, result[1], result[2])
                else:
                    self._redirect(now, req, result[1], out)
                return
            self._redirect(now, req, owner, out)
            return
        del self._pending[req.rid]
        code = body.get("code")
        if type(code) is not int:
            code = P.CRASH
        self._answer(out, req, code, body.get("text" if code else "value"))

    def _answer(self, out: list[dict], req: _Request, code: int, value: Any) -> None:
        if code:
            self._reply_error(out, req.client, req.msg_id, code, str(value))
        elif req.cmd[0] == "read":
            self._send(out, req.client, {"type": "read_ok", "in_reply_to": req.msg_id,
                                         "value": value})
        else:
            self._send(out, req.client, {"type": req.cmd[0] + "_ok", "in_reply_to": req.msg_id})

    def _sweep(self, now: float, out: list[dict]) -> None:
        t = self.timing
        for rid in list(self._pending):
            req = self._pending[rid]
            age = now - req.arrived
            if req.cmd[0] == "read" and age >= t.read_deadline:
                del self._pending[rid]
                self._reply_error(out, req.client, req.msg_id, P.TEMPORARILY_UNAVAILABLE,
                                  f"no answer from {req.target}")
            elif age >= t.give_up_after:
                del self._pending[rid]  # a write: its client timed out long ago (indefinite)
        if self._served:
            for key in [k for k, (_, at) in self._served.items() if now - at >= t.give_up_after]:
                del self._served[key]

    # ----------------------------------------------------------------------------------------
    # cluster_info

    def cluster_info(self) -> dict:
        """This node's view, in docs/cluster.md's shape where it applies (a group is a shard:
        its voters are the shard's nodes, `leader` the node this node sees serving the shard's
        slots, `term` that node's config epoch, `commit` our replication offset), plus Redis'
        own fields (state, epochs, replication, the node table with flags)."""
        v, bus, repl = self.view, self.bus, self.repl
        runs = v.owner_runs()
        serving: dict[int, str] = {}
        for _lo, _hi, owner in runs:
            if owner is not None and self._group_of.get(owner) is not None:
                serving.setdefault(self._group_of[owner], owner)
        my_role = "leader" if v.myself.master else "replica"
        groups = {}
        for g in sorted(self._masters):
            leader = serving.get(g)
            mine = self.group == g
            groups[str(g)] = {
                "voters": [n for n in self.node_ids if self._group_of.get(n) == g],
                "learners": [], "leader": leader,
                "term": v.nodes[leader].config_epoch if leader else None,
                "role": my_role if mine else None, "commit": repl.offset if mine else None}
        text = json.dumps(runs, separators=(",", ":"))
        return {
            "node": self.node_id, "epoch": v.current_epoch,
            "digest": hashlib.sha256(text.encode()).hexdigest()[:16],
            "config": self.config.to_dict(),
            "slots": [[lo, hi, self._group_of.get(owner) if owner else None]
                      for lo, hi, owner in runs],
            "owners": runs, "groups": groups,
            "roles": {str(self.group): my_role} if self.group is not None else {},
            "state": bus.state, "current_epoch": v.current_epoch,
            "my_epoch": v.myself.config_epoch, "last_vote_epoch": v.last_vote_epoch,
            "replication": {"role": "master" if repl.is_primary else "replica",
                            "master": repl.master, "replid": repl.replid,
                            "offset": repl.offset, "link_up": repl.link_up,
                            "full_resyncs": repl.full_resyncs, "discarded": repl.discarded},
            "election": bus.election.blocked,
            "nodes": {n.id: {"flags": _flag_names(n), "master": n.replica_of,
                             "config_epoch": n.config_epoch, "slots": v.count(n.id),
                             "fail_reports": len(n.fail_reports), "repl_offset": n.repl_offset}
                      for n in v.nodes.values()},
        }

def _flag_names(node: NodeInfo) -> list[str]:
    names = ["master" if node.master else "slave"]
    if node.pfail:
        names.append("fail?")
    if node.fail:
        names.append("fail")
    return names
