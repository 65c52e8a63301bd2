"""The sans-IO Maelstrom node: envelopes in, envelopes out; Ferrite's cluster mode serving lin-kv.

`Server.receive(now, envelope)` and `Server.tick(now)` return the envelopes to send, in order;
`next_deadline()` says when tick() has work. The server never reads a clock, never does IO, and
never raises on bad input: bad client requests get error 12 (malformed) or 10 (unknown type);
anything else bad is logged and dropped.

Cluster mode (docs/cluster.md): the node hosts the meta group's core (every node is a member)
and the cores of the shard groups it belongs to, in one `MultiRaft`. On `init` every node
computes the same initial layout from the node ids and the config; the meta leader proposes it
as the meta log's first entry; applying it (epoch 1) starts the shard groups' cores. A client
request's key picks a slot, the applied slot map a group, and `Router` a way to it.

Client requests, routed or not, are node/cluster/requests.py's business.
"""

from __future__ import annotations

import dataclasses
import random
import traceback
from typing import Any, Callable

from node import protocol as P
from node.endpoint import Endpoint, clip
from node.cluster.config import ClusterConfig, ConfigError, load_config
from node.cluster.layout import Layout, initial_layout, natural_sorted
from node.cluster.meta import META_GROUP, MetaState, init_entry
from node.cluster.multiraft import BATCH, MultiRaft
from node.cluster.requests import Requests
from node.cluster.router import ROUTE_TYPES, Router
from node.cluster.health import Health, default_seeds
from node.cluster.members import MEMBER_ADMIN, Members
from node.cluster.migration import ADMIN_TYPES, EXPORT, Migrations
from node.cluster.shard import ShardState
from node.gossip.swim import MESSAGE_TYPES as GOSSIP_TYPES
from node.gossip.timing import DEFAULT as GOSSIP_DEFAULT, Timing as GossipTiming
from node.gossip.timing import from_spec as gossip_timing_from_spec
from node.raft.core import LEADER, MESSAGE_TYPES, RaftCore
from node.raft.timing import DEFAULT, Timing
from node.timing_spec import from_environ
from node.storage.durable import install_snapshots, persist_turn, restore_node
from node.storage.memdisk import MemDisk

__all__ = ["Server", "ConfigError"]

_INF = float("inf")
SWIM_TIMING_ENV = "FERRITE_SWIM_TIMING"
# Shard log entries of a slot move that nodes report (the bench's cluster checker reads them).
_MOVE_STEPS = ("fence", "activate", "drop", "unfence")

# Field -> required type(s) of incoming Raft messages, checked before they reach a core.
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
    "raft_timeout_now": {"term": _INT},
    "raft_snapshot": {"term": _INT, "index": _INT, "snap_term": _INT, "config": (dict,),
                      "commit": _INT, "seq": _INT},
}
# The same as (field, exact type) pairs: what JSON parsing gives, checked with `type(v) is t`.
# A value that fails it is checked again the slow way, so int subclasses keep passing.
_RAFT_FIELD_TYPES: dict[str, tuple[tuple[str, type], ...]] = {
    t: tuple((f, types[0]) for f, types in fields.items()) for t, fields in _RAFT_FIELDS.items()
}


class Server(Endpoint):
    """One Maelstrom node process, minus the IO."""

    # The Raft core, shard state machine and migration driver classes (tests substitute broken
    # variants to prove the checkers bite).
    core_class = RaftCore
    shard_class = ShardState
    migrations_class = Migrations
    # True: receive() and tick() leave the turn's records unsynced and the driver calls sync()
    # before sending what they returned (node/run.py: one fsync per batch of lines read).
    hold_sync = False

    @classmethod
    def configure(cls, environ: Any) -> dict:
        """Constructor arguments from the environment: the cluster config (FERRITE_CLUSTER_*,
        FERRITE_CONFIG) and $FERRITE_SWIM_TIMING, overrides of the gossip member's timing
        (node/gossip/timing.py). Used by node/run.py and the simulator alike. Raises
        ConfigError."""
        config = load_config(environ)
        if config.consensus == "gossip":
            from node.rediscluster.server import GossipServer

            return GossipServer.configure(environ)
        kwargs: dict = {"config": config}
        timing = from_environ(environ, SWIM_TIMING_ENV, gossip_timing_from_spec)
        if timing is not None:
            kwargs["gossip_timing"] = timing
        return kwargs

    def __new__(cls, *, config: ClusterConfig | None = None, **kwargs: Any) -> Any:
        """`cluster.consensus = "gossip"` is another node altogether: Redis Cluster's protocol
        (node/rediscluster/, docs/gossip_mode.md). Building a Server with that config builds
        it instead, so the process driver and the simulator choose by config alone."""
        if config is not None and config.consensus == "gossip":
            from node.rediscluster.server import GossipServer

            kwargs.pop("disk", None)  # (the gossip model persists nothing)
            return GossipServer(config=config, **kwargs)
        return super().__new__(cls)

    def __init__(self, *, seed: int, log: Callable[[dict], None] | None = None,
                 timing: Timing = DEFAULT, config: ClusterConfig | None = None,
                 disk: Any = None, **gossip_only: Any) -> None:
        # Where the Raft state is made durable (docs/storage.md): a MemDisk (simulator; the
        # same one after a restart) or a FileWAL (node/run.py). None: a fresh MemDisk.
        self.disk = disk if disk is not None else MemDisk()
        self._rng = random.Random(seed)
        self._log = log
        self.timing = timing
        self.config = config if config is not None else ClusterConfig()
        self.node_id: str | None = None
        self.node_ids: list[str] = []
        self.layout: Layout | None = None
        self.raft: MultiRaft | None = None
        self.meta = MetaState()
        self.router = Router(self.meta)
        self.shards: dict[int, ShardState] = {}  # the state machines of our shard groups
        self.requests = Requests(self)
        self.migrations = self.migrations_class(self)
        self.members = Members(self)
        self.gossip_timing: GossipTiming = gossip_only.pop("gossip_timing", GOSSIP_DEFAULT)
        self.health: Health | None = None  # the gossip member, from init on
        self._next_msg_id = 0
        self._nodes: frozenset[str] = frozenset()
        self._leaders: dict[Any, str | None] = {}
        self._init_proposed_term = -1
        self._reply_src: str | None = None
        # Request ids (slot moves, membership requests) are this node's id, a tag of this
        # incarnation of the process and a counter: a node started again after a kill must not
        # reuse the ids of its earlier life, which the meta log has already decided.
        self._id_tag = f"{self._rng.getrandbits(32):08x}"
        self._id_counter = 0
        self.origin_id = ""  # node id and that tag, from init: the origin of client entries

    # ----------------------------------------------------------------------------------------
    # Public interface

    def receive(self, now: float, message: dict) -> list[dict]:
        """Handle one envelope {"src", "dest", "body"}; returns the envelopes to send."""
        out: list[dict] = []
        try:
            self._receive(now, message, out)
            self._pump(now, out)
        except Exception:  # bad input never crashes the node; log it and keep serving
            self._emit({"event": "internal_error", "message": clip(message),
                        "traceback": traceback.format_exc()})
        return out

    def tick(self, now: float) -> list[dict]:
        """Fire every timer due at or before `now`; returns envelopes to send."""
        out: list[dict] = []
        try:
            if self.raft is not None and self.raft.next_deadline() <= now:
                self.raft.tick(now)
            if now >= self.requests.next_sweep:
                self.requests.sweep(now, out)
            if now >= self.migrations.next_check:
                self.migrations.check(now, out)
            if now >= self.members.next_check:
                self.members.check(now)
            if self.health is not None and self.health.next_deadline() <= now:
                self.health.tick(now)
            self._pump(now, out)
        except Exception:
            self._emit({"event": "internal_error", "traceback": traceback.format_exc()})
        return out

    def next_deadline(self) -> float | None:
        """Earliest time at which tick() has work (None: no timer armed)."""
        if self.raft is None:
            return None
        d = min(self.raft.next_deadline(), self.requests.next_sweep,
                self.migrations.next_check, self.members.next_check,
                self.health.next_deadline())
        return None if d == _INF else d

    def sync(self) -> None:
        """Make every record written so far durable (the driver calls it before sending the
        messages of a turn when `hold_sync` is set)."""
        self.disk.sync()

    def raft_cores(self) -> dict:
        """Group id -> this node's Raft core, for test oracles (maelstrom/invariants.py)."""
        return {} if self.raft is None else self.raft.cores

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
                if type(t) is str and (t in MESSAGE_TYPES or t == BATCH):
                    self._receive_raft(now, message["src"], body)
                    return
        parsed = self._envelope(message, out)
        if parsed is None:
            return
        src, body, msg_id, t = parsed
        if t in MESSAGE_TYPES or t == BATCH:
            self._receive_raft(now, src, body)
            return
        if t in GOSSIP_TYPES:
            if self.health is not None and src in self._nodes:
                self.health.step(now, src, body)
            else:
                self._emit({"event": "gossip_message_dropped", "src": src, "type": t})
            return
        if t == EXPORT:
            if self.raft is not None and src in self._nodes:
                self.migrations.receive_export(now, src, body)
            return
        if t in ROUTE_TYPES:
            if self.raft is None or src not in self._nodes or type(body.get("rid")) is not int:
                self._emit({"event": "bad_route", "src": src, "type": t})
            else:
                self.requests.receive_route(now, src, t, body, out)
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
        elif t == "cluster_info":
            self._receive_cluster_info(src, msg_id, out)
        elif t in ADMIN_TYPES or t in MEMBER_ADMIN:
            if msg_id is None or self.raft is None:
                self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST if msg_id is None
                                  else P.TEMPORARILY_UNAVAILABLE, "missing msg_id or no init")
            elif t in ADMIN_TYPES:
                self.migrations.admin(now, src, msg_id, body, out)
            else:
                self.members.admin(now, src, msg_id, body, out)
        else:
            self._reply_error(out, src, msg_id, P.NOT_SUPPORTED, f"unsupported message type {t!r}")

    def _receive_init(self, now: float, src: str, body: dict, msg_id: int | None,
                      out: list[dict]) -> None:
        fields = self._init_fields(src, body, msg_id, out)
        if fields is None:
            return
        node_id, node_ids = fields
        if self.raft is None:
            ids = sorted(set(node_ids) | {node_id})
            # The initial layout: `init`'s node ids, or the first `cluster.bootstrap_nodes` of
            # them; the others are spares that gossip discovers and the meta log admits.
            k = self.config.bootstrap_nodes
            manifest = natural_sorted(ids)[:k] if k else ids
            try:
                layout = initial_layout(manifest, self.config)
            except ConfigError as exc:
                self._reply_error(out, src, msg_id, P.CRASH, f"bad cluster config: {exc}")
                return
            self.node_id = node_id
            self.origin_id = f"{node_id}.{self._id_tag}"
            self.node_ids = sorted(set(node_ids) | {node_id})
            self._nodes = frozenset(self.node_ids) - {node_id}
            self.layout = layout
            self.raft = MultiRaft(node_id=node_id, rng=random.Random(self._rng.getrandbits(64)),
                                  timing=self.timing, log=self._emit_core,
                                  core_class=self.core_class)
            # The meta group never goes quiet (node/raft/core.py, "Quiet groups"): most nodes
            # are its learners, which never campaign, so a dead meta leader must be found by
            # its voters' own timers, not by the first request.
            # A spare (not in the layout) joins it as a learner once the meta log admits it; its
            # core waits for the leader's log (RaftCore `joining`).
            spare = node_id not in layout.nodes
            self.raft.add_group(now, META_GROUP, list(layout.meta_voters),
                                list(layout.meta_learners) + ([node_id] if spare else []),
                                timing=dataclasses.replace(self.timing,
                                                           quiesce_after=float("inf")),
                                joining=spare)
            seeds = (list(self.config.seeds) if self.config.seeds is not None
                     else default_seeds(self.node_ids, self.config.meta_voters))
            self.health = Health(self, seeds, random.Random(self._rng.getrandbits(64)), now,
                                 self.gossip_timing)
            self._emit({"event": "init", "node_id": node_id, "node_ids": self.node_ids,
                        "config": self.config.to_dict(), "meta_voters": list(layout.meta_voters),
                        "spare": spare, "seeds": seeds})
            restore_node(self, now, out)  # (docs/storage.md: recovery after a restart)
        elif node_id != self.node_id:
            self._emit({"event": "reinit_ignored", "node_id": node_id})
        self._send(out, src, {"type": "init_ok", "in_reply_to": msg_id})

    def _receive_raft(self, now: float, src: str, body: dict) -> None:
        raft = self.raft
        if raft is None or src not in self._nodes:
            self._emit({"event": "raft_message_dropped", "src": src, "type": body["type"]})
            return
        if body["type"] == BATCH:
            msgs = body.get("msgs")
            if type(msgs) is not list:
                self._emit({"event": "bad_raft_message", "src": src, "field": "msgs"})
                return
            for m in msgs:
                if type(m) is dict and m.get("type") in MESSAGE_TYPES:
                    self._step_raft(now, src, m)
                else:
                    self._emit({"event": "bad_raft_message", "src": src, "field": "msgs"})
            return
        self._step_raft(now, src, body)

    def _step_raft(self, now: float, src: str, body: dict) -> None:
        get = body.get
        for field, exact in _RAFT_FIELD_TYPES[body["type"]]:
            if type(get(field)) is not exact and not self._raft_field_ok(body, field):
                self._emit({"event": "bad_raft_message", "src": src, "field": field})
                return
        # A group we are not (yet) a member of: we learn of it from the meta log; drop.
        self.raft.step(now, src, body)

    @staticmethod
    def _raft_field_ok(body: dict, field: str) -> bool:
        types = _RAFT_FIELDS[body["type"]][field]
        v = body.get(field)
        return isinstance(v, types) and not (types is _INT and isinstance(v, bool))

    def _receive_client(self, now: float, src: str, body: dict, msg_id: int | None,
                        out: list[dict]) -> None:
        cmd = self._client_command(src, body, msg_id, self.raft is not None, out)
        if cmd is not None:
            self.requests.client(now, src, msg_id, cmd, out)

    def _receive_cluster_info(self, src: str, msg_id: int | None, out: list[dict]) -> None:
        if msg_id is None:
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "missing msg_id")
            return
        if self.raft is None:
            self._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "node not initialized")
            return
        self._send(out, src, {"type": "cluster_info_ok", "in_reply_to": msg_id,
                              **self.cluster_info()})

    def cluster_info(self) -> dict:
        """This node's view of the cluster (the `cluster_info` RPC; docs/cluster.md)."""
        meta = self.meta
        groups = {}
        meta_members = self.raft.cores[META_GROUP].membership
        all_groups = {META_GROUP: (meta_members.voters, meta_members.learners)}
        for g, m in meta.groups.items():
            all_groups[g] = (m.voters, m.learners)
        for g, (voters, learners) in all_groups.items():
            core = self.raft.cores.get(g)
            groups[str(g)] = {"voters": list(voters), "learners": list(learners),
                              "leader": core.lead if core else None,
                              "term": core.term if core else None,
                              "role": core.role if core else None,
                              "commit": core.commit if core else None}
        return {"node": self.node_id, "epoch": meta.epoch, "digest": meta.digest(),
                "config": self.config.to_dict(),
                "slots": meta.slots.ranges() if meta.slots is not None else [],
                "groups": groups,
                "roles": {str(g): c.role for g, c in self.raft.cores.items()},
                "migrations": {i: m for i, m in meta.migrations.items()
                               if m["state"] == "moving"},
                "migrations-done": sum(1 for m in meta.migrations.values()
                                       if m["state"] == "done"),
                "admitted": natural_sorted(meta.admitted),
                "gossip": self.health.view()}

    # ----------------------------------------------------------------------------------------
    # Applying and serving

    def _pump(self, now: float, out: list[dict]) -> None:
        """Drain the cores: send their messages, apply committed entries, serve reads."""
        raft = self.raft
        if raft is None:
            return
        install_snapshots(self)
        for group, core in raft.cores.items():
            if core.lead != self._leaders.get(group):
                self._leaders[group] = core.lead
                if core.lead is not None and group != META_GROUP:
                    self.requests.new_leader(now, group, out)
        meta_core = raft.cores[META_GROUP]
        if (meta_core.role == LEADER and self.meta.epoch == 0
                and self._init_proposed_term != meta_core.term):
            # The first data entry of the meta log: the layout every node computed alike.
            self._init_proposed_term = meta_core.term
            meta_core.propose(now, init_entry(self.layout, self.config))
        requests = self.requests
        for group, core in list(raft.cores.items()):
            if core.applied < core.commit:
                if group == META_GROUP:
                    for _index, data in core.take_committed():
                        if data is not None and self.meta.apply(data):
                            if data.get("op") == "group_members" and data.get("final"):
                                self._emit({"event": "membership_done", "id": data.get("id"),
                                            "group": data.get("group")})
                            self._new_epoch(now, out)
                    self.migrations.answer_admin(out)  # (also refusals: no new epoch)
                    self.members.answer_admin(out)
                    continue
                shard = self.shards[group]
                for _index, data in core.take_committed():
                    if data is None:
                        continue  # a leader's no-op, or a configuration
                    result = shard.apply(data)
                    if "c" in data:
                        requests.applied(data, result, out)
                    else:  # a slot move's step: report it; maybe the next one is ours
                        step = next((k for k in _MOVE_STEPS if k in data), None)
                        if step is not None:
                            self._emit({"event": "slot_" + step, "group": group,
                                        "slot": data[step], "mig": data.get("mig")})
                        self.migrations.wake_now(now)
            for ctx, index in core.take_read_states():
                requests.read_state(ctx, index)
        if requests.indexed_reads:
            requests.serve_reads(out)
        persist_turn(self)  # durable before any message of the turn leaves (docs/storage.md)
        node_id = self.node_id
        messages = raft.take_messages()
        if messages:
            append = out.append
            for dest, body in messages:
                append({"src": node_id, "dest": dest, "body": body})
        for dest, body in self.health.take_messages():
            out.append({"src": node_id, "dest": dest, "body": body})

    def _new_epoch(self, now: float, out: list[dict]) -> None:
        """The meta state changed: log it, start the cores of groups we now belong to, and
        hand over requests that waited for a map."""
        meta = self.meta
        self._emit({"event": "meta_epoch", "epoch": meta.epoch, "digest": meta.digest(),
                    "slots": meta.slots.ranges(),
                    "groups": {str(g): list(m.voters) for g, m in meta.groups.items()},
                    # slot moves in flight, [id, slot, from, to] (the bench's nemesis targets)
                    "moving": [[mid, slot, meta.migrations[mid]["from"],
                                meta.migrations[mid]["to"]]
                               for slot, mid in sorted(meta.moving.items())]})
        mine = meta.member_groups(self.node_id)
        for group in [g for g in self.raft.cores if g != META_GROUP and g not in mine]:
            # Removed from the group (its log committed it, then the meta log): stop.
            self.raft.remove_group(group)
            del self.shards[group]
            self._emit({"event": "left_group", "group": group})
        for group in mine:
            if group not in self.raft.cores:
                m = meta.groups[group]
                # After the initial layout (epoch 1), a core starts in a running group with an
                # empty log, maybe where this node was a member (and voted) before: its votes
                # wait until it has heard from the group's leader (RaftCore `joining`).
                joining = self.meta.epoch > 1
                self.raft.add_group(now, group, list(m.voters), list(m.learners),
                                    joining=joining)
                # What a group serves at its creation is the layout's (the same for every
                # member, however late it learns of the group); moves come through its log.
                self.shards[group] = self.shard_class(
                    s for lo, hi, g in self.layout.slots.ranges() if g == group
                    for s in range(lo, hi + 1))
        self.migrations.wake_now(now)
        self.members.wake_now(now)
        self.requests.new_map(now, out)

    def new_request_id(self, kind: str) -> str:
        """A request id no node, and no earlier life of this node, has used: NODE.TAG:KIND N."""
        self._id_counter += 1
        return f"{self.node_id}.{self._id_tag}:{kind}{self._id_counter}"

    def propose_meta(self, now: float, entry: dict) -> bool:
        """Propose `entry` to the meta log (forwarded to its leader); False if none known."""
        ok = self.raft.cores[META_GROUP].propose(now, entry)
        self.raft.touched()
        return ok

    # ----------------------------------------------------------------------------------------
    # Plumbing

    def _emit_core(self, event: dict) -> None:
        self._emit(event)
