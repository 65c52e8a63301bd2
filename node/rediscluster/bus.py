"""The cluster bus: heartbeats with gossip sections, failure detection, FAIL and UPDATE
messages, the cluster state, and the election driven from here (Redis Cluster specification:
"Heartbeat and gossip messages", "Failure detection", "Hash slots configuration propagation",
"UPDATE messages"; Redis' cluster_legacy.c). Sans-IO: `receive(now, src, body)` and
`cron(now)` append (dest, body) pairs to `out`, role changes to `changes`, and log events.

Every bus message carries the sender's header: `cur` (current epoch), `cfg` (its config epoch;
a replica sends its master's), `of` (its master if it is a replica, else null), `slots` (the
slot runs it serves, or its master serves, as [[lo, hi]...]), `off` (replication offset), `st`
(cluster state). On any message from a known node: adopt a greater current epoch, raise the
sender's config epoch to `cfg`, note its offset and that data arrived.

Heartbeats (`rc_ping`, answered by `rc_pong` with `ack`; an unsolicited `rc_pong` without
`ack` is a broadcast): every cron (100 ms) a node pings each peer it has no ping out to and
whose last pong is older than NODE_TIMEOUT/2, and every 10th cron the stalest of 5 random
peers. A ping unanswered for NODE_TIMEOUT/2 with no traffic at all from the peer in that time
"reconnects the link" (the ping is sent again, its time kept), at most once per NODE_TIMEOUT.
Each heartbeat carries a gossip section: max(3, N/10) random other nodes (not ourselves, not
PFAIL ones) with our flags for them, then every node we flag PFAIL.

Failure detection:
- PFAIL: a ping pending for more than NODE_TIMEOUT while nothing at all has come from the node
  for NODE_TIMEOUT either. Cleared by a pong that answers our ping.
- Failure reports: a gossip entry flagging a node PFAIL or FAIL, sent by a *master*, records
  (or refreshes) a report from that master; an entry without those flags from that master
  removes its report. Reports older than 2 x NODE_TIMEOUT are void.
- FAIL: a node we flag PFAIL is flagged FAIL when reports from a majority of the masters that
  serve slots (counting ourselves if we are a master) are valid; we then broadcast `rc_fail`,
  which makes every receiver flag it FAIL at once.
- FAIL is cleared by a pong that answers our ping if the node is a replica or a master
  without slots, or if it is a master with slots still flagged after 2 x NODE_TIMEOUT (no
  fail-over happened).

Slot configuration (view.py): a heartbeat whose slot claim differs from our table triggers
Rules 1/2 when the sender is a master, and, when the claim is stale against an owner with a
greater config epoch, an `rc_update` to the sender about that owner. A receiver of an UPDATE
with a newer config epoch for that node applies the same rules. A master that loses its last
slot becomes a replica of the node that took it; a replica whose master did, follows.

Cluster state (clusterUpdateState, with cluster-require-full-coverage yes): `fail` when a slot
is unbound or its owner is FAIL, or when fewer than a majority of the masters serving slots are
reachable (not PFAIL/FAIL) from here; otherwise `ok`. A master going back to `ok` after having
been in the minority waits the rejoin delay; a master stays `fail` for the writable delay
after start. A node in state `fail` serves no keys (CLUSTERDOWN), so a master cut off from the
majority of masters stops accepting writes NODE_TIMEOUT after losing them.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from node.rediscluster.failover import Election, grant_vote
from node.rediscluster.timing import GossipTiming
from node.rediscluster.view import FAIL, PFAIL, ClusterView, NodeInfo, SlotUpdate, parse_ranges

__all__ = ["ClusterBus", "BUS_TYPES"]

PING, PONG, FAIL_MSG, UPDATE, AUTH_REQ, AUTH_ACK = (
    "rc_ping", "rc_pong", "rc_fail", "rc_update", "rc_auth_req", "rc_auth_ack")
BUS_TYPES = frozenset({PING, PONG, FAIL_MSG, UPDATE, AUTH_REQ, AUTH_ACK})

_NEVER = float("-inf")


class ClusterBus:
    """One node's cluster-bus state machine (module docstring)."""

    def __init__(self, view: ClusterView, *, timing: GossipTiming, rng: random.Random,
                 now: float, emit: Callable[[dict], None], offset: Callable[[], int],
                 data_age: Callable[[float], float]) -> None:
        self.view = view
        self.timing = timing
        self.rng = rng
        self._emit = emit
        self._offset = offset        # this node's replication offset
        self._data_age = data_age    # seconds since this replica last heard its master
        self.out: list[tuple[str, dict]] = []
        # ("promoted", old master) | ("replicate", new master) | ("lost_slots", slots)
        self.changes: list[tuple[str, Any]] = []
        self.election = Election()
        self.state = "fail"          # Redis starts in FAIL and updates in its first cron
        self.started = now
        self.among_minority_time = _NEVER
        self.iteration = 0
        self.sent: dict[str, int] = {}
        self._others = sorted(n for n in view.nodes if n != view.me)
        for node in view.nodes.values():
            node.pong_received = node.data_received = node.link_ctime = now

    # -- sending ------------------------------------------------------------------------------

    def header(self, kind: str) -> dict:
        """A bus message body of type `kind` with this node's header (module docstring)."""
        v = self.view
        me = v.myself
        return {"type": kind, "cur": v.current_epoch, "cfg": v.master_config_epoch(),
                "of": None if me.master else me.replica_of,
                "slots": [[lo, hi] for lo, hi in v.ranges_of(v.my_master())],
                "off": self._offset(), "st": self.state}

    def _send(self, dest: str, body: dict) -> None:
        self.sent[body["type"]] = self.sent.get(body["type"], 0) + 1
        self.out.append((dest, body))

    def _gossip(self) -> list[list]:
        nodes = self.view.nodes
        fresh = len(nodes) - 2
        wanted = min(max(3, len(nodes) // 10), fresh)
        pool = [n for n in self._others if not nodes[n].pfail]
        picked = self.rng.sample(pool, min(wanted, len(pool))) if wanted > 0 else []
        section = [[n, nodes[n].flags()] for n in picked]
        section.extend([n, nodes[n].flags()] for n in self._others if nodes[n].pfail)
        return section

    def _heartbeat(self, now: float, dest: str, kind: str, ack: bool = False) -> None:
        body = self.header(kind)
        body["g"] = self._gossip()
        if ack:
            body["ack"] = True
        if kind == PING:
            node = self.view.nodes[dest]
            if node.ping_sent is None:
                node.ping_sent = now
        self._send(dest, body)

    def broadcast_pong(self, now: float, targets: list[str] | None = None) -> None:
        """Unsolicited pongs (no `ack`): to everyone, or to `targets`."""
        for dest in self._others if targets is None else targets:
            self._heartbeat(now, dest, PONG)

    def _broadcast(self, body_fn: Callable[[], dict]) -> None:
        for dest in self._others:
            self._send(dest, body_fn())

    # -- receiving ----------------------------------------------------------------------------

    def receive(self, now: float, src: str, body: dict) -> None:
        """One bus message from `src` (unknown senders and malformed headers are dropped)."""
        v = self.view
        sender = v.nodes.get(src)
        kind = body.get("type")
        cur, cfg, off, of = body.get("cur"), body.get("cfg"), body.get("off"), body.get("of")
        claimed = parse_ranges(body.get("slots"))
        if sender is None or src == v.me or type(cur) is not int or type(cfg) is not int \
                or type(off) is not int or claimed is None \
                or not (of is None or (type(of) is str and of in v.nodes)):
            self._emit({"event": "bad_bus_message", "src": src, "type": kind})
            return
        sender.data_received = now
        if cur > v.current_epoch:
            v.current_epoch = cur
        if cfg > sender.config_epoch:
            sender.config_epoch = cfg
        sender.repl_offset = off
        if kind == PING:
            self._heartbeat(now, src, PONG, ack=True)
        if kind in (PING, PONG):
            self._on_heartbeat(now, sender, body, cfg, of, claimed)
        elif kind == FAIL_MSG:
            failing = v.nodes.get(body.get("node"))
            if failing is not None and failing.id != v.me and not failing.fail:
                self._set_fail(now, failing, via=src, reports=None)
        elif kind == UPDATE:
            self._on_update(now, body)
        elif kind == AUTH_REQ:
            self._on_auth_request(now, sender, cur, cfg, claimed)
        elif kind == AUTH_ACK:
            self.election.ack(v, src, cur)
        self.after_events(now)

    def _on_heartbeat(self, now: float, sender: NodeInfo, body: dict, cfg: int,
                      of: str | None, claimed: tuple) -> None:
        v = self.view
        if body.get("type") == PONG and body.get("ack"):
            sender.pong_received = now
            sender.ping_sent = None
            if sender.pfail:
                sender.pfail = False
                self._emit({"event": "pfail_cleared", "peer": sender.id})
            elif sender.fail:
                self._clear_failure_if_needed(now, sender)
        # Role, as the sender says.
        if of is None:
            if not sender.master:
                sender.master, sender.replica_of = True, None
        else:
            if sender.master:
                freed = v.unbind_all(sender.id)  # a master turned replica serves nothing
                sender.master = False
                if freed:
                    self._emit({"event": "slots_unbound", "peer": sender.id, "count": freed})
            sender.replica_of = of
        # Slots: the sender's claim against our table.
        sender_master = sender.id if sender.master else sender.replica_of
        if sender_master is not None and v.ranges_of(sender_master) != claimed:
            if sender.master:
                self._apply(now, v.update_slots_config(sender.id, cfg, claimed), sender.id, cfg)
            owner = v.stale_claim(sender.id, cfg, claimed)
            if owner is not None:
                self._send_update(sender.id, owner)
        if sender.master and v.myself.master and v.resolve_collision(sender.id):
            self._emit({"event": "config_epoch_collision", "peer": sender.id,
                        "new_config_epoch": v.myself.config_epoch})
        self._process_gossip(now, sender, body.get("g"))

    def _process_gossip(self, now: float, sender: NodeInfo, section: Any) -> None:
        if type(section) is not list:
            return
        v = self.view
        for entry in section:
            if type(entry) is not list or len(entry) != 2 or type(entry[1]) is not int:
                continue
            node = v.nodes.get(entry[0])
            if node is None or node.id == v.me or not sender.master:
                continue
            if entry[1] & (PFAIL | FAIL):
                node.fail_reports[sender.id] = now
                self._mark_failing_if_needed(now, node)
            else:
                node.fail_reports.pop(sender.id, None)

    def _on_update(self, now: float, body: dict) -> None:
        v = self.view
        node = v.nodes.get(body.get("node"))
        epoch = body.get("node_cfg")
        claimed = parse_ranges(body.get("node_slots"))
        if node is None or node.id == v.me or type(epoch) is not int or claimed is None \
                or node.config_epoch >= epoch:
            return
        if not node.master:
            node.master, node.replica_of = True, None
        node.config_epoch = epoch
        self._apply(now, v.update_slots_config(node.id, epoch, claimed), node.id, epoch)

    def _send_update(self, dest: str, owner: str) -> None:
        v = self.view
        body = self.header(UPDATE)
        body.update({"node": owner, "node_cfg": v.nodes[owner].config_epoch,
                     "node_slots": [[lo, hi] for lo, hi in v.ranges_of(owner)]})
        self._send(dest, body)

    def _on_auth_request(self, now: float, sender: NodeInfo, cur: int, cfg: int,
                         claimed: tuple) -> None:
        v = self.view
        reason = grant_vote(v, now, self.timing, sender.id, cur, cfg, claimed)
        if reason is not None:
            if v.myself.master and v.count(v.me):  # replicas and empty masters never vote
                self._emit({"event": "vote_refused", "peer": sender.id, "epoch": cur,
                            "why": reason})
            return
        v.last_vote_epoch = v.current_epoch
        master = v.nodes[sender.replica_of]
        master.voted_time = now
        self._emit({"event": "vote", "peer": sender.id, "epoch": v.current_epoch,
                    "failed_master": master.id})
        self._send(sender.id, self.header(AUTH_ACK))

    # -- failure detection --------------------------------------------------------------------

    def _count_reports(self, now: float, node: NodeInfo) -> int:
        limit = now - self.timing.fail_report_validity
        for reporter in [r for r, t in node.fail_reports.items() if t < limit]:
            del node.fail_reports[reporter]
        return len(node.fail_reports)

    def _mark_failing_if_needed(self, now: float, node: NodeInfo) -> None:
        if not node.pfail or node.fail:
            return
        failures = self._count_reports(now, node) + (1 if self.view.myself.master else 0)
        quorum = self.view.needed_quorum()
        if failures < quorum:
            return
        self._set_fail(now, node, via=None, reports=sorted(node.fail_reports))
        failing = node.id
        self._broadcast(lambda: {**self.header(FAIL_MSG), "node": failing})

    def _set_fail(self, now: float, node: NodeInfo, via: str | None,
                  reports: list[str] | None) -> None:
        node.pfail = False
        node.fail = True
        node.fail_time = now
        event = {"event": "fail", "peer": node.id, "role": "master" if node.master else "replica",
                 "slots": self.view.count(node.id)}
        if via is not None:
            event["via"] = via
        else:
            event["reports"] = reports
        self._emit(event)

    def _clear_failure_if_needed(self, now: float, node: NodeInfo) -> None:
        v = self.view
        if not node.master or v.count(node.id) == 0:
            why = "reachable replica or master without slots"
        elif now - node.fail_time > self.timing.node_timeout * self.timing.fail_undo_time_mult:
            why = "reachable master, no fail-over happened"
        else:
            return
        node.fail = False
        self._emit({"event": "fail_cleared", "peer": node.id, "why": why})

    # -- role changes -------------------------------------------------------------------------

    def _apply(self, now: float, update: SlotUpdate, claimant: str, epoch: int) -> None:
        if update.rebound:
            self._emit({"event": "slots_rebound", "to": claimant, "config_epoch": epoch,
                        "count": update.rebound})
        me = self.view.myself
        if update.new_master is not None:
            was = "master" if me.master else "replica"
            me.master = False
            me.replica_of = update.new_master
            self.election = Election()
            self.changes.append(("replicate", update.new_master))
            self._emit({"event": "reconfigured", "was": was, "master": update.new_master,
                        "config_epoch": epoch})
        elif update.lost_slots:
            self.changes.append(("lost_slots", update.lost_slots))

    def _promote(self, now: float, epoch: int) -> None:
        """clusterFailoverReplaceYourMaster: become a master, take the old master's slots,
        tell everybody."""
        v = self.view
        me = v.myself
        old = me.replica_of
        if me.config_epoch < epoch:
            me.config_epoch = epoch
        me.master, me.replica_of = True, None
        for lo, hi in v.ranges_of(old):
            for slot in range(lo, hi + 1):
                v.assign(slot, v.me)
        self._emit({"event": "failover", "old_master": old, "config_epoch": me.config_epoch,
                    "votes": sorted(self.election.voters), "quorum": v.needed_quorum(),
                    "rank": self.election.auth_rank, "offset": self._offset()})
        self.election = Election()
        self.changes.append(("promoted", old))
        self.update_state(now)
        self.broadcast_pong(now)

    def _handle_failover(self, now: float) -> None:
        v = self.view
        if v.myself.master:
            return
        action = self.election.step(now, v, self.timing, self.rng, self._offset(),
                                    self._data_age(now))
        if action is None:
            return
        if action.kind == "scheduled":
            master = v.myself.replica_of
            self._emit({"event": "failover_scheduled", "failed_master": master,
                        "delay": round(action.delay, 4), "rank": action.rank,
                        "offset": self._offset()})
            siblings = [n.id for n in v.nodes.values() if n.id != v.me and not n.master
                        and n.replica_of == master]
            self.broadcast_pong(now, siblings)
        elif action.kind == "request":
            self._emit({"event": "failover_election", "epoch": action.epoch,
                        "rank": action.rank, "failed_master": v.myself.replica_of})
            self._broadcast(lambda: self.header(AUTH_REQ))
        elif action.kind == "won":
            self._promote(now, action.epoch)

    # -- cluster state ------------------------------------------------------------------------

    def update_state(self, now: float) -> None:
        v = self.view
        me = v.myself
        t = self.timing
        if me.master and self.state == "fail" and now - self.started < t.writable_delay:
            return
        new = "ok"
        size = reachable = 0
        for node in v.nodes.values():
            if node.master and v.count(node.id) > 0:
                size += 1
                if node.fail:
                    new = "fail"
                if not (node.pfail or node.fail):
                    reachable += 1
        if v.unbound() > 0:
            new = "fail"
        if reachable < size // 2 + 1:
            new = "fail"
            self.among_minority_time = now
        if new == self.state:
            return
        if new == "ok" and me.master and now - self.among_minority_time < t.rejoin_delay:
            return
        self.state = new
        self._emit({"event": "cluster_state", "state": new, "reachable_masters": reachable,
                    "size": size})

    # -- timers -------------------------------------------------------------------------------

    def after_events(self, now: float) -> None:
        """What Redis does in beforeSleep after handling packets: elections and the state."""
        self._handle_failover(now)
        self.update_state(now)

    def cron(self, now: float) -> None:
        """clusterCron: pings, link "reconnects", PFAIL, elections, the cluster state."""
        v = self.view
        t = self.timing
        nodes = v.nodes
        half = t.node_timeout / 2
        self.iteration += 1
        for peer in self._others:
            node = nodes[peer]
            if node.ping_sent is not None and now - node.link_ctime > t.node_timeout \
                    and now - node.ping_sent > half and now - node.data_received > half:
                node.link_ctime = now  # the link is freed and made again: ping on the new link
                self._heartbeat(now, peer, PING)
        if self.iteration % t.random_ping_every == 0:
            idle = [p for p in self._others if nodes[p].ping_sent is None]
            if idle:
                sample = self.rng.sample(idle, min(t.random_ping_candidates, len(idle)))
                self._heartbeat(now, min(sample, key=lambda p: nodes[p].pong_received), PING)
        for peer in self._others:
            node = nodes[peer]
            if node.ping_sent is None:
                if now - node.pong_received > half:
                    self._heartbeat(now, peer, PING)
                continue
            delay = min(now - node.ping_sent, now - node.data_received)
            if delay > t.node_timeout and not (node.pfail or node.fail):
                node.pfail = True
                self._emit({"event": "pfail", "peer": peer,
                            "role": "master" if node.master else "replica"})
        self.after_events(now)
