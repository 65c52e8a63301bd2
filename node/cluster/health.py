"""Gossip in raft mode: this node's SWIM member (node/gossip/swim.py) and what it is used for.

Gossip *informs*; Raft *decides* (docs/design.md, decision 1; docs/gossip.md). Here gossip
carries, for every node:

- liveness: alive / suspect / dead with incarnations (SWIM with Lifeguard), logged as
  `gossip_member` events and shown in `cluster_info`;
- soft state, refreshed every `soft_state_interval`: client requests per second, for each Raft
  group of the node its log's last index and commit lag (last index - commit), the groups it
  leads, and an estimate of its memory (keys and log entries held).

A member seen alive at a new incarnation (it refuted a suspicion, or it was started again) makes
every group this node leads probe that member's log at once (RaftCore.reprobe): learners get no
idle heartbeats and quiet groups none at all, so a restarted member would otherwise wait for the
next entry to be found out.

The meta group's leader also uses the gossip view to *propose* two things to the meta log, where
Raft decides:

- discovery: a node gossip reports alive that the meta log has not admitted (a spare outside the
  initial layout, `cluster.bootstrap_nodes`) is proposed for admission (`{"op": "admit"}`);
  once admitted, the meta leader adds it to the meta group as a learner, so it applies the meta
  log and can be added to shard groups;
- replacement: a shard group voter held dead for `cluster.replace_dead_after` seconds is replaced
  by an admitted node that gossip holds alive: a `member_request` with action `replace` (the new
  node first a learner, then voter in, dead voter out in one joint configuration change:
  node/cluster/members.py). A proposal is a request like an operator's: the meta log refuses it
  if the group is changing, and the group's own log carries it out.

No slot owner, leader or member is chosen by gossip itself: a wrong view (a false death under
delays) costs at most a membership change that Raft makes safely.

Seeds: `cluster.seeds`, default the first `cluster.meta_voters` ids of `init` in natural order.
The SWIM member starts knowing only them and learns the rest by gossip (docs/cluster.md,
"Discovery").
"""

from __future__ import annotations

import random
from typing import Any

from node.cluster.driver import Driver
from node.cluster.layout import natural_key, natural_sorted
from node.cluster.meta import META_GROUP
from node.gossip.swim import ALIVE, DEAD, Swim
from node.gossip.timing import DEFAULT as GOSSIP_DEFAULT, Timing as GossipTiming
from node.raft.core import LEADER

__all__ = ["Health", "default_seeds"]

_INF = float("inf")
CHECK_EVERY = 0.5        # seconds between the meta leader's looks at the gossip view
PROPOSE_EVERY = 2.0      # seconds before the same admission or replacement is proposed again
# Rough per-item sizes for the memory estimate (a CPython dict entry with a short key and value;
# a log entry's list and dict): an estimate for comparing nodes, not an accounting.
_BYTES_PER_KEY = 200
_BYTES_PER_ENTRY = 300


def default_seeds(node_ids: list[str], meta_voters: int) -> list[str]:
    """`cluster.seeds` when unset: the first `meta_voters` node ids in natural order."""
    return natural_sorted(node_ids)[:max(1, meta_voters)]


class Health(Driver):
    """This node's gossip member and the meta leader's proposals from it; `host` is a Server."""

    def __init__(self, host: Any, seeds: list[str], rng: random.Random, now: float,
                 timing: GossipTiming = GOSSIP_DEFAULT) -> None:
        super().__init__()
        self.host = host
        self.swim = Swim(host.node_id, seeds, rng, now, timing, log=self._event)
        self._now = now                           # the step or tick being handled
        self._soft_at = now
        self._ops_at = now
        self._ops_seen = 0
        self._dead_since: dict[str, float] = {}   # member -> when we last saw it turn dead
        self.next_check = now + CHECK_EVERY

    # -- driving --------------------------------------------------------------------------------

    def step(self, now: float, src: str, body: dict) -> None:
        self._now = now
        self.swim.step(now, src, body)

    def tick(self, now: float) -> None:
        self._now = now
        if now >= self._soft_at:
            self._soft_at = now + self.swim.timing.soft_state_interval
            state = self.soft_state(now)
            self.swim.set_local_state(state)
            self.host._emit({"event": "soft_state", **state})
        if self.swim.next_deadline() <= now:
            self.swim.tick(now)
        if now >= self.next_check:
            self.next_check = now + CHECK_EVERY
            self.check(now)

    def next_deadline(self) -> float:
        return min(self.swim.next_deadline(), self._soft_at, self.next_check)

    def take_messages(self) -> list[tuple[str, dict]]:
        return self.swim.take_messages()

    def _event(self, event: dict) -> None:
        if event.get("event") == "gossip_member":
            node = event.get("node")
            if event.get("state") == DEAD:
                self._dead_since.setdefault(node, self._now)
            else:
                self._dead_since.pop(node, None)
                if event.get("state") == ALIVE and event.get("was") is not None \
                        and self.host.raft is not None:
                    # Alive again at a new incarnation: a refutation, or a restart. Groups
                    # we lead probe its log (cheap if it merely refuted a suspicion).
                    self.host.raft.peer_restarted(self._now, node)
        self.host._emit(event)

    # -- soft state -----------------------------------------------------------------------------

    def soft_state(self, now: float) -> dict:
        """What this node tells the others about itself (small: max_soft_state_bytes)."""
        host = self.host
        seen = host.requests.received
        span = now - self._ops_at
        ops = round((seen - self._ops_seen) / span, 1) if span > 0 else 0.0
        self._ops_at, self._ops_seen = now, seen
        groups: dict[str, list[int]] = {}
        led = []
        entries = 0
        for g, core in sorted(host.raft.cores.items()):
            last = core.log.last_index
            entries += last
            groups[str(g)] = [last, last - core.commit]
            if core.role == LEADER:
                led.append(g)
        keys = sum(len(s.kv.data) for s in host.shards.values())
        state = {"ops": ops, "led": led, "groups": groups,
                 "mem": keys * _BYTES_PER_KEY + entries * _BYTES_PER_ENTRY}
        while len(groups) > 1 and len(str(state)) > self.swim.timing.max_soft_state_bytes - 64:
            groups.popitem()  # a node in very many groups reports the first ones
        return state

    # -- the meta leader's proposals ------------------------------------------------------------

    def check(self, now: float) -> None:
        """On the meta leader: propose admissions and replacements from the gossip view."""
        host = self.host
        meta_core = host.raft.cores.get(META_GROUP)
        if meta_core is None or meta_core.role != LEADER or host.meta.epoch == 0:
            return
        members = self.swim.members()
        alive = {n for n, (state, _inc) in members.items() if state == ALIVE}
        meta = host.meta
        for node in natural_sorted(alive - meta.admitted):
            if node in host.node_ids and self._due(now, node, "admit", PROPOSE_EVERY):
                host.propose_meta(now, {"op": "admit", "node": node})
        m = meta_core.membership
        outside = [n for n in natural_sorted(meta.admitted)
                   if n not in m.voters and n not in m.learners]
        if outside and meta_core.membership_settled and self._due(now, "meta", "learn"):
            meta_core.change_membership(now, list(m.voters), list(m.learners) + outside)
            host.raft.touched()
        after = host.config.replace_dead_after
        if after > 0:
            self._replace(now, after, alive)

    def _replace(self, now: float, after: float, alive: set[str]) -> None:
        host, meta = self.host, self.host.meta
        dead = {n for n, since in self._dead_since.items() if now - since >= after}
        if not dead:
            return
        for group, members in sorted(meta.groups.items()):
            if group in meta.changing:
                continue
            gone = [v for v in members.voters if v in dead]
            candidate = self._candidate(members, alive) if gone else None
            if candidate is None or not self._due(now, str(group), gone[0], PROPOSE_EVERY):
                continue
            entry = {"op": "member_request", "id": host.new_request_id("g"),
                     "group": group, "action": "replace", "node": gone[0], "with": candidate}
            host.propose_meta(now, entry)
            host._emit({"event": "replacement_proposed", "group": group, "dead": gone[0],
                        "node": candidate, "id": entry["id"]})

    def _candidate(self, members: Any, alive: set[str]) -> str | None:
        """An admitted node held alive, not in the group, in the fewest groups (ties: id)."""
        meta = self.host.meta
        pool = [n for n in meta.admitted if n in alive and n not in members.voters]
        if not pool:
            return None
        return min(pool, key=lambda n: (len(meta.member_groups(n)), natural_key(n)))

    # -- views ------------------------------------------------------------------------------

    def view(self) -> dict:
        """The gossip part of `cluster_info`: every member's state, incarnation and soft state."""
        swim = self.swim
        return {"incarnation": swim.incarnation, "health": swim.awareness,
                "members": {n: {"state": state, "incarnation": inc, "soft": swim.soft_state(n)}
                            for n, (state, inc) in sorted(swim.members().items())}}
