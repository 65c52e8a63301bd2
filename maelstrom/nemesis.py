"""The nemeses: Jepsen's partition package as Maelstrom composes it, node pauses, node kills
and restarts, and targets that follow the cluster (a group's leader, a migration's groups).

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

Targets (`--nemesis-targets`, as the `:targets` of jepsen.nemesis.combined): besides Jepsen's
shapes, a nemesis may aim at a node chosen from what the cluster is doing now, as a `view`
(maelstrom/cluster_view.py, built from the nodes' logs) reports it: `meta-leader`, `leader`
(of a random shard group), `leader-G` (of group G), `migration-source` / `migration-target`
(the leader of the source / target group of a slot move in flight); or at a whole shard
group's voters: `group-G`, `migration-source-group`, `migration-target-group`. A partition
isolates those nodes from all others; a pause or kill hits them. When none of a nemesis's
targets can be resolved (no leader known, no move in flight) it does nothing and tries again
`TARGET_RETRY` s later.
"""

from __future__ import annotations

import math
import random
from typing import Any

from maelstrom.edn import Keyword

__all__ = ["PartitionNemesis", "PauseNemesis", "KillNemesis", "PARTITION_SHAPES",
           "PAUSE_TARGETS", "KILL_TARGETS", "GROUP_TARGETS", "TARGET_RETRY", "grudge_for",
           "majority", "minority_third", "is_group_target", "targets_for"]

PARTITION_SHAPES = ("one", "minority-third", "majority", "majorities-ring")
# Targets that follow the cluster (resolved through a view); `leader-G` names group G.
GROUP_TARGETS = ("meta-leader", "leader", "migration-source", "migration-target",
                 "migration-source-group", "migration-target-group")
TARGET_RETRY = 0.1  # seconds until a nemesis whose targets all failed to resolve tries again


def is_group_target(name: str) -> bool:
    """Whether `name` is a target resolved from the cluster's state (`leader-3` and
    `group-2` included)."""
    if name in GROUP_TARGETS:
        return True
    for prefix in ("leader-", "group-"):
        head, _, tail = name.partition(prefix)
        if not head and tail.isdigit():
            return True
    return False


def targets_for(kind: str, targets: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The targets of `targets` that nemesis `kind` ("partition", "pause", "kill") can use, or
    its defaults if `targets` is empty; ValueError if none applies."""
    own = PARTITION_SHAPES if kind == "partition" else PAUSE_TARGETS
    if not targets:
        return own
    usable = tuple(t for t in targets if t in own or is_group_target(t))
    if not usable:
        raise ValueError(f"none of the targets {', '.join(targets)} applies to the {kind} "
                         f"nemesis (it takes {', '.join(own)} or a group target: "
                         f"{', '.join(GROUP_TARGETS)}, leader-G, group-G)")
    return usable


def resolve_target(target: str, view, rng: random.Random) -> tuple[list[str], dict] | None:
    """The nodes a group target names now (one leader, or a shard group's voters), with what
    made them the ones (group; the term of a leader; the migration for the migration targets),
    or None if the view cannot tell."""
    if view is None:
        return None
    mig = None
    if target == "meta-leader":
        group = 0
    elif target == "leader":
        groups = [g for g in view.shard_groups() if view.leader(g) is not None]
        if not groups:
            return None
        group = rng.choice(groups)
    elif target.startswith(("leader-", "group-")):
        group = int(target.split("-", 1)[1])
    else:
        side = 2 if target.startswith("migration-source") else 3
        known = view.voters if target.endswith("-group") else view.leader
        moving = [m for m in view.moving() if known(m[side])]
        if not moving:
            return None
        mig = rng.choice(moving)
        group = mig[side]
    why: dict = {"group": group}
    if mig is not None:
        why["migration"], why["slot"] = mig[0], mig[1]
    if target.startswith("group-") or target.endswith("-group"):
        voters = view.voters(group)
        if not voters:
            return None
        return list(voters), why
    found = view.leader(group)
    if found is None:
        return None
    node, why["term"] = found
    return [node], why


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
    (f, invoke value, completion value, what it affects); `start()` returns None when none of
    its targets resolves now (then `step` returns None and tries again TARGET_RETRY later).

    `targets` (default: the subclass's own) may include group targets, resolved through
    `view`; `last_hit` then says which nodes the last start hit and why."""

    default_targets: tuple[str, ...] = ()

    def __init__(self, nodes: list[str], interval: float, rng: random.Random,
                 targets: tuple[str, ...] | None = None, view: Any = None) -> None:
        self.nodes = list(nodes)
        self.interval = float(interval)
        self.rng = rng
        self.next_at = 0.0
        self.targets = tuple(targets) if targets else self.default_targets
        self.view = view
        self._group_targets = any(is_group_target(t) for t in self.targets)
        self.last_hit: dict | None = None
        self.deferred = 0  # starts put off because no target resolved

    @property
    def active(self) -> bool:
        raise NotImplementedError

    def start(self) -> tuple[str, Any, Any, Any] | None:
        raise NotImplementedError

    def stop(self) -> tuple[str, Any, Any, Any]:
        raise NotImplementedError

    def step(self, now: float) -> tuple[str, Any, Any, Any] | None:
        base = max(self.next_at, 0.0)
        self.next_at = max(base, now) + self.rng.random() * 2.0 * self.interval
        if self.active:
            return self.stop()
        done = self.start()
        if done is None:
            self.deferred += 1
            self.next_at = now + TARGET_RETRY
        return done

    def _pick(self) -> tuple[str, list[str] | None, dict | None] | None:
        """(target, nodes, why) for the next start: nodes and why only for a group target;
        None if no target resolves now. Without group targets this is one rng.choice."""
        self.last_hit = None
        if not self._group_targets:
            return self.rng.choice(self.targets), None, None
        options: list[tuple[str, list[str] | None, dict | None]] = []
        for target in self.targets:
            if is_group_target(target):
                hit = resolve_target(target, self.view, self.rng)
                if hit is not None:
                    options.append((target, hit[0], hit[1]))
            else:
                options.append((target, None, None))
        if not options:
            return None
        target, nodes, why = self.rng.choice(options)
        if nodes is not None:
            self.last_hit = {"target": target, "nodes": list(nodes), **why}
        return target, nodes, why


class PartitionNemesis(_FlipFlop):
    """Decides when to partition or heal, and how. `step(now)` performs the next action and
    returns (f, invoke value, completion value, grudge); grudge None means heal. A group
    target isolates the nodes it resolves to from all others."""

    default_targets = PARTITION_SHAPES

    def __init__(self, nodes: list[str], interval: float, rng: random.Random,
                 shapes: tuple[str, ...] = PARTITION_SHAPES, view: Any = None) -> None:
        super().__init__(nodes, interval, rng, shapes, view)
        self.shapes = self.targets
        self.partitioned = False
        self.shape: str | None = None

    @property
    def active(self) -> bool:
        return self.partitioned

    def start(self) -> tuple[str, Any, Any, dict[str, frozenset[str]]] | None:
        picked = self._pick()
        if picked is None:
            return None
        shape, chosen, _ = picked
        if chosen is not None:
            grudge = _complete_grudge([list(chosen), [n for n in self.nodes if n not in chosen]])
        else:
            grudge = grudge_for(shape, self.nodes, self.rng)
        self.partitioned = True
        self.shape = shape
        return "start-partition", Keyword(shape), [Keyword("isolated"), dict(grudge)], grudge

    def stop(self) -> tuple[str, Any, Any, None]:
        self.partitioned = False
        self.shape = None
        return "stop-partition", None, Keyword("network-healed"), None


PAUSE_TARGETS = ("one", "minority")
KILL_TARGETS = PAUSE_TARGETS


class _NodeFault(_FlipFlop):
    """A fault on whole nodes (pause, kill): `one` random node, a random `minority` (at most
    (n-1)/2 nodes, at least one), or the node a group target resolves to. Ops: an `:info`
    invocation of `start_f` with the target, completed with the list of nodes hit; an `:info`
    invocation of `stop_f` with `:all`, completed with the list of nodes it ends the fault on.
    `step(now)` returns (f, invoke value, completion value, nodes affected)."""

    default_targets = PAUSE_TARGETS
    start_f = stop_f = ""

    def __init__(self, nodes: list[str], interval: float, rng: random.Random,
                 targets: tuple[str, ...] | None = None, view: Any = None) -> None:
        super().__init__(nodes, interval, rng, targets, view)
        self.hit: list[str] = []

    @property
    def active(self) -> bool:
        return bool(self.hit)

    def start(self) -> tuple[str, Any, Any, list[str]] | None:
        picked = self._pick()
        if picked is None:
            return None
        target, chosen, _ = picked
        if chosen is None:
            count = 1 if target == "one" else max(1, (len(self.nodes) - 1) // 2)
            chosen = self.rng.sample(self.nodes, count)
        self.hit = sorted(chosen, key=self.nodes.index)
        return self.start_f, Keyword(target), list(self.hit), list(self.hit)

    def stop(self) -> tuple[str, Any, Any, list[str]]:
        ended, self.hit = self.hit, []
        return self.stop_f, Keyword("all"), list(ended), ended


class PauseNemesis(_NodeFault):
    """Pauses nodes and resumes them: a flip-flop on the same kind of schedule as the partition
    nemesis. A paused node's timers and inbox are frozen (messages to it wait, undelivered,
    until it resumes), like a process stopped by SIGSTOP or a long GC pause (the process
    backend sends its process group SIGSTOP and SIGCONT).

    Ops (as jepsen.nemesis.combined's): `:info :pause :one` completed with `["n3"]`, then
    `:info :resume :all` completed with `["n3"]`. Sans-IO: the runner tells the host.
    """

    start_f, stop_f = "pause", "resume"

    @property
    def paused(self) -> list[str]:
        return self.hit


class KillNemesis(_NodeFault):
    """Kills nodes and starts them again (Jepsen's db nemesis, `:kill` / `:start`): a killed
    node loses everything in memory (the process backend sends SIGKILL; the simulator drops
    the node object with its timers and inbox), messages to it are dropped and its clients
    time out; a start runs a fresh node with the same id and data (directory or simulated
    disk), and the bench sends it `init` again before it gets any other message.

    Ops: `:info :kill :one` completed with `["n3"]`, then `:info :start :all` completed with
    `["n3"]`. Sans-IO: the runner tells the host and the network.
    """

    default_targets = KILL_TARGETS
    start_f, stop_f = "kill", "start"

    @property
    def killed(self) -> list[str]:
        return self.hit
