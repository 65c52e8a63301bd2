"""Multi-Raft: every Raft core of one node (the meta group and the shard groups it belongs to)
behind one interface with one timer, one outgoing queue, and one envelope per peer per turn.

Rules of this module:
- Sans-IO like the cores: `step(now, src, body)`, `tick(now)`, `next_deadline()`; outputs via
  `take_messages()`. Cores are keyed by group id (`body["group"]`).
- Coalescing: everything the cores of this node send to one peer during one call leaves as one
  message. Two or more bodies travel as `{"type": "raft_batch", "msgs": [body, ...]}` (each
  body a complete Raft message with its own `group` and `term`); a lone body goes as itself.
  A receiver steps the bodies of a batch in order, so the answers they cause coalesce too.
- Idle traffic does not grow with the number of groups: when any core's timer fires, every
  leader core is ticked with `heartbeat_slack` = half a heartbeat interval, so the heartbeats of
  all groups this node leads go out in the same turn and share one envelope per peer (the
  coalesced heartbeats of CockroachDB, without their special encoding). Their answers come back
  coalesced the same way.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from node.raft.core import LEADER, RaftCore
from node.raft.timing import DEFAULT, Timing

__all__ = ["MultiRaft", "BATCH"]

BATCH = "raft_batch"
_INF = float("inf")


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

    # -- groups ------------------------------------------------------------------------------
    def add_group(self, now: float, group: Any, voters: list[str],
                  learners: list[str] = ()) -> RaftCore:
        """Start this node's core of `group` (a voter, or a learner if listed as one).

        The group's first voter is its expected leader (node/cluster/layout.py spreads them
        over the nodes): it campaigns at once instead of after an election timeout, so a new
        group has a leader within a round trip, and leaders land where the layout put them.
        Safety does not care who campaigns when."""
        core = self._core_class(group=group, node_id=self.node_id, voters=list(voters),
                                learners=list(learners),
                                rng=random.Random(self._rng.getrandbits(64)), now=now,
                                timing=self.timing, log=self._log)
        self.cores[group] = core
        self._deadline = None
        if voters and voters[0] == self.node_id:
            core.become_pre_candidate(now)
        return core

    def remove_group(self, group: Any) -> None:
        """Stop this node's core of `group` (it was removed from the group)."""
        self.cores.pop(group, None)
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
        """Fire due timers; leaders also send heartbeats due soon (see the module docstring)."""
        self._deadline = None
        slack = self.timing.heartbeat_interval / 2
        soon = now + slack
        due = [c for c in self.cores.values() if c.next_deadline() <= now]
        if not due:
            return
        for core in self.cores.values():
            d = core.next_deadline()
            if d <= now or (core.role == LEADER and d <= soon):
                core.tick(now, heartbeat_slack=slack)

    def next_deadline(self) -> float:
        d = self._deadline
        if d is None:
            d = _INF
            for core in self.cores.values():
                x = core.next_deadline()
                if x < d:
                    d = x
            self._deadline = d
        return d

    def touched(self) -> None:
        """A core was called directly (propose, read_index): its timers may have changed."""
        self._deadline = None

    # -- outputs -----------------------------------------------------------------------------
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
