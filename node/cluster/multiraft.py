"""Multi-Raft: every Raft core of one node (the meta group and the shard groups it belongs to)
behind one interface with one timer, one outgoing queue, and one envelope per peer per turn.

Rules of this module:
- Sans-IO like the cores: `step(now, src, body)`, `tick(now)`, `next_deadline()`; outputs via
  `take_messages()`. Cores are keyed by group id (`body["group"]`).
- Coalescing: everything the cores of this node send to one peer during one call leaves as one
  message. Two or more bodies travel as `{"type": "raft_batch", "msgs": [body, ...]}` (each
  body a complete Raft message with its own `group` and `term`); a lone body goes as itself.
  A receiver steps the bodies of a batch in order, so the answers they cause coalesce too.
- Heartbeats coalesce: once per heartbeat interval, on a node-wide *beat*, every core this node
  leads is ticked with `heartbeat_slack` = half an interval, so the heartbeats of all its groups
  that are due within that half interval go out in the same turn and share one envelope per
  peer (the coalesced heartbeats of CockroachDB, without their special encoding); answers come
  back coalesced the same way. Streams drift onto the beat and stay there. (The beat must not
  be every timer: ticking leaders early on each flush or ack timer would send heartbeats up to
  twice as often.) Groups led by different nodes still heartbeat separately: idle traffic
  grows with the distinct leader-follower pairs, not with the groups per pair.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from node.raft.core import LEADER, RaftCore
from node.raft.timing import DEFAULT, Timing

__all__ = ["MultiRaft", "BATCH"]

BATCH = "raft_batch"
_INF = float("inf")
# A new group's expected leader campaigns this soon (see add_group).
FIRST_CAMPAIGN_DELAY = 0.05


class MultiRaft:
    """The Raft cores of one node."""

    def __init__(self, *, node_id: str, rng: random.Random, timing: Timing = DEFAULT,
                 log: Callable[[dict], None] | None = None, core_class: type = RaftCore) -> None:
        self.node_id = node_id
        self.timing = timing
        self.cores: dict[Any, RaftCore] = {}
        self._rng = rng
        self._log = log
        self._core_class = core_class
        self._deadline: float | None = None
        self._next_beat = _INF
        # Records of groups created and stopped, for take_persist (docs/storage.md).
        self._records: list[list] = []

    # -- groups ------------------------------------------------------------------------------
    def add_group(self, now: float, group: Any, voters: list[str],
                  learners: list[str] = (), timing: Timing | None = None,
                  joining: bool = False) -> RaftCore:
        """Start this node's core of `group` (a voter, or a learner if listed as one).

        The group's first voter is its expected leader (node/cluster/layout.py spreads them
        over the nodes): it campaigns after `FIRST_CAMPAIGN_DELAY` instead of an election
        timeout, so a new group has a leader within a few round trips, and leaders land where
        the layout put them. (Not at once: the other members start their cores when they apply
        the same meta entry, a little later, and would drop an early pre-vote.) Safety does
        not care who campaigns when."""
        core = self._core_class(group=group, node_id=self.node_id, voters=list(voters),
                                learners=list(learners),
                                rng=random.Random(self._rng.getrandbits(64)), now=now,
                                timing=timing or self.timing, log=self._log,
                                joining=joining)
        self.cores[group] = core
        self._deadline = None
        self._records.append(["g+", group, list(voters), list(learners), bool(joining)])
        if voters and voters[0] == self.node_id:
            core.campaign_by(now + FIRST_CAMPAIGN_DELAY)
        return core

    def restore_group(self, now: float, group: Any, image: Any,
                      timing: Timing | None = None) -> RaftCore:
        """After a restart: this node's core of `group` as persisted (`image`: a
        node/storage/records.py GroupImage), with no record written."""
        core = self._core_class(group=group, node_id=self.node_id, voters=list(image.voters),
                                learners=list(image.learners),
                                rng=random.Random(self._rng.getrandbits(64)), now=now,
                                timing=timing or self.timing, log=self._log,
                                joining=image.joining)
        hs = image.hard_state or [0, None, 0, image.joining, None]
        core.restore(now, hs, image.entries, image.lo, image.snapshot)
        self.cores[group] = core
        self._deadline = None
        return core

    def remove_group(self, group: Any) -> None:
        """Stop this node's core of `group` (it was removed from the group)."""
        if self.cores.pop(group, None) is not None:
            self._records.append(["g-", group])
        self._deadline = None

    # -- inputs ------------------------------------------------------------------------------
    def step(self, now: float, src: str, body: dict) -> bool:
        """Hand one Raft message to its group's core; False if we have no such group."""
        core = self.cores.get(body.get("group"))
        if core is None:
            return False
        self._deadline = None
        core.step(now, src, body)
        return True

    def tick(self, now: float) -> None:
        """Fire due timers; on the beat, leaders also send the heartbeats due soon (see the
        module docstring)."""
        self._deadline = None
        interval = self.timing.heartbeat_interval
        beat = now >= self._next_beat
        if beat:
            self._next_beat = now + interval
        slack = interval / 2
        for core in self.cores.values():
            if core.next_deadline() <= now:
                core.tick(now, heartbeat_slack=slack if beat and core.role == LEADER else 0.0)
            elif beat and core.role == LEADER:
                core.tick(now, heartbeat_slack=slack)

    def next_deadline(self) -> float:
        d = self._deadline
        if d is None:
            d = _INF
            leading = False
            for core in self.cores.values():
                x = core.next_deadline()
                if x < d:
                    d = x
                leading = leading or core.role == LEADER
            if leading:
                if self._next_beat == _INF:
                    self._next_beat = d  # the first beat: whenever a timer fires
                if self._next_beat < d:
                    d = self._next_beat
            else:
                self._next_beat = _INF
            self._deadline = d
        return d

    def peer_restarted(self, now: float, peer: str) -> None:
        """`peer` runs again after a restart: every group we lead probes its log (RaftCore
        reprobe)."""
        for core in self.cores.values():
            core.reprobe(now, peer)
        self._deadline = None

    def touched(self) -> None:
        """A core was called directly (propose, read_index): its timers may have changed."""
        self._deadline = None

    # -- outputs -----------------------------------------------------------------------------
    def take_persist(self) -> list[list]:
        """Every core's records to make durable (RaftCore.take_persist), before the messages
        taken in the same turn are sent."""
        out, self._records = self._records, []
        for core in self.cores.values():
            recs = core.take_persist()
            if recs:
                out.extend(recs)
        return out

    def take_messages(self) -> list[tuple[str, dict]]:
        """(dest, body) to send: one per peer, coalesced, in first-send order."""
        by_dest: dict[str, list[dict]] = {}
        for core in self.cores.values():
            for dest, body in core.take_messages():
                bodies = by_dest.get(dest)
                if bodies is None:
                    by_dest[dest] = [body]
                else:
                    bodies.append(body)
        out = []
        for dest, bodies in by_dest.items():
            if len(bodies) == 1:
                out.append((dest, bodies[0]))
            else:
                out.append((dest, {"type": BATCH, "msgs": bodies}))
        if out:
            self._deadline = None
        return out
