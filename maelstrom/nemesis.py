"""The nemeses: Jepsen's partition package as Maelstrom composes it, and node pauses.

Schedule: a flip-flop of start-partition / stop-partition, staggered: the first operation
happens when the test starts, each later one a uniformly random 0..2x `interval` after the
previous (so `interval` is the mean). At the end of the test the runner heals the network with
one more stop-partition.

A start-partition picks a shape at random and turns it into a grudge (node -> the set of nodes
it drops messages from), like jepsen.nemesis.combined:

- one:             a single node cut off from all others
- minority-third:  a clean split of up to (not including) a third of the nodes from the rest
- majority:        a clean split into a majority and a minority (random halves)
- majorities-ring: every node sees a majority, but no two the same one (overlapping ring)

Ops are recorded as Jepsen does: an `:info` invocation with the shape (or nil), then an `:info`
completion with `[:isolated grudge]` (or `:network-healed`). Sans-IO: the runner applies the
grudge to the network and records the ops.
"""

from __future__ import annotations

import math
import random
from typing import Any

from maelstrom.edn import Keyword

__all__ = ["PartitionNemesis", "PauseNemesis", "PARTITION_SHAPES", "PAUSE_TARGETS", "grudge_for",
           "majority", "minority_third"]

PARTITION_SHAPES = ("one", "minority-third", "majority", "majorities-ring")


def majority(n: int) -> int:
    """The smallest number of nodes that is more than half of n."""
    return n // 2 + 1


def minority_third(n: int) -> int:
    """The largest number of nodes strictly less than a third of n."""
    return max(0, math.ceil(n / 3) - 1)


def _complete_grudge(components: list[list[str]]) -> dict[str, frozenset[str]]:
    everyone = frozenset(n for comp in components for n in comp)
    grudge: dict[str, frozenset[str]] = {}
    for comp in components:
        others = everyone - frozenset(comp)
        for node in comp:
            grudge[node] = others
    return grudge


def grudge_for(shape: str, nodes: list[str], rng: random.Random) -> dict[str, frozenset[str]]:
    """The grudge for a partition shape over `nodes` (every node appears as a key)."""
    nodes = list(nodes)
    if shape == "one":
        loner = rng.choice(nodes)
        return _complete_grudge([[loner], [n for n in nodes if n != loner]])
    shuffled = nodes[:]
    rng.shuffle(shuffled)
    if shape == "majority":
        half = len(shuffled) // 2
        return _complete_grudge([shuffled[:half], shuffled[half:]])
    if shape == "minority-third":
        k = minority_third(len(shuffled))
        return _complete_grudge([shuffled[:k], shuffled[k:]])
    if shape == "majorities-ring":
        n, m = len(shuffled), majority(len(shuffled))
        everyone = frozenset(shuffled)
        grudge = {}
        for i in range(n):
            window = [shuffled[(i + j) % n] for j in range(m)]
            grudge[window[m // 2]] = everyone - frozenset(window)
        return grudge
    raise ValueError(f"unknown partition shape {shape!r}")


class _FlipFlop:
    """A fault that alternates start and stop: each `step(now)` does the next action and
    schedules the one after it 0..2x `interval` later (`next_at`). Subclasses say whether the
    fault is `active` and implement `start()` and `stop()`, each returning
    (f, invoke value, completion value, what it affects)."""

    def __init__(self, nodes: list[str], interval: float, rng: random.Random) -> None:
        self.nodes = list(nodes)
        self.interval = float(interval)
        self.rng = rng
        self.next_at = 0.0

    @property
    def active(self) -> bool:
        raise NotImplementedError

    def start(self) -> tuple[str, Any, Any, Any]:
        raise NotImplementedError

    def stop(self) -> tuple[str, Any, Any, Any]:
        raise NotImplementedError

    def step(self, now: float) -> tuple[str, Any, Any, Any]:
        base = max(self.next_at, 0.0)
        self.next_at = max(base, now) + self.rng.random() * 2.0 * self.interval
        return self.stop() if self.active else self.start()


class PartitionNemesis(_FlipFlop):
    """Decides when to partition or heal, and how. `step(now)` performs the next action and
    returns (f, invoke value, completion value, grudge); grudge None means heal."""

    def __init__(self, nodes: list[str], interval: float, rng: random.Random,
                 shapes: tuple[str, ...] = PARTITION_SHAPES) -> None:
        super().__init__(nodes, interval, rng)
        self.shapes = shapes
        self.partitioned = False
        self.shape: str | None = None

    @property
    def active(self) -> bool:
        return self.partitioned

    def start(self) -> tuple[str, Any, Any, dict[str, frozenset[str]]]:
        shape = self.rng.choice(self.shapes)
        grudge = grudge_for(shape, self.nodes, self.rng)
        self.partitioned = True
        self.shape = shape
        return "start-partition", Keyword(shape), [Keyword("isolated"), dict(grudge)], grudge

    def stop(self) -> tuple[str, Any, Any, None]:
        self.partitioned = False
        self.shape = None
        return "stop-partition", None, Keyword("network-healed"), None


PAUSE_TARGETS = ("one", "minority")


class PauseNemesis(_FlipFlop):
    """Pauses nodes and resumes them: a flip-flop on the same kind of schedule as the partition
    nemesis. A paused node's timers and inbox are frozen (messages to it wait, undelivered,
    until it resumes), like a process stopped by SIGSTOP or a long GC pause.

    Targets (as jepsen.nemesis.combined's): `one` random node, or a random `minority`
    (at most (n-1)/2 nodes, at least one). Ops: an `:info :pause` invocation with the target,
    completed with the list of paused nodes; an `:info :resume` invocation with `:all`,
    completed with the list of resumed nodes. `step(now)` returns (f, invoke value, completion
    value, nodes affected). Sans-IO: the runner tells the host.
    """

    def __init__(self, nodes: list[str], interval: float, rng: random.Random,
                 targets: tuple[str, ...] = PAUSE_TARGETS) -> None:
        super().__init__(nodes, interval, rng)
        self.targets = targets
        self.paused: list[str] = []

    @property
    def active(self) -> bool:
        return bool(self.paused)

    def start(self) -> tuple[str, Any, Any, list[str]]:
        target = self.rng.choice(self.targets)
        if target == "one":
            count = 1
        else:
            count = max(1, (len(self.nodes) - 1) // 2)
        chosen = self.rng.sample(self.nodes, count)
        self.paused = sorted(chosen, key=self.nodes.index)
        return "pause", Keyword(target), list(self.paused), list(self.paused)

    def stop(self) -> tuple[str, Any, Any, list[str]]:
        resumed, self.paused = self.paused, []
        return "resume", Keyword("all"), list(resumed), resumed
