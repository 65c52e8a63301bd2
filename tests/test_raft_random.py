"""Randomized tests of the Raft core: several cores in-process on a virtual-time network with
delays (so reordering), delays far beyond the election timeout, loss, duplication and
partitions. After every single step the invariant oracle (maelstrom/invariants.py: election
safety, terms and commits never go back, state-machine safety, ReadIndex confirmed by a quorum
of answers to this term's messages sent after the read) and this file's own checks (log
matching, leader completeness, ReadIndex freshness) must hold. Liveness is checked after the
faults heal.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from maelstrom.invariants import RaftInvariants
from node.raft.core import LEADER, RaftCore
from node.raft.membership import config_of
from node.raft.timing import DEFAULT, Timing
from file_module import import_file


class SafetyViolation(AssertionError):
    pass


@dataclass
class NetConfig:
    min_delay: float = 0.001
    max_delay: float = 0.015
    loss: float = 0.0
    duplicate: float = 0.0
    slow: float = 0.0        # share of messages held back an extra 0..slow_delay seconds
    slow_delay: float = 3.0  # 10 x the election timeout


@dataclass
class Cluster:
    """N cores joined by a seeded, faulty, virtual-time network."""

    n: int
    seed: int
    net: NetConfig = field(default_factory=NetConfig)
    timing: Timing = DEFAULT
    core_class: type = RaftCore
    learners: int = 0  # the last `learners` of the n nodes are learners

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ids = [f"n{i}" for i in range(self.n)]
        self.now = 0.0
        self.invariants = RaftInvariants()
        voters = self.ids[:self.n - self.learners]
        learners = self.ids[self.n - self.learners:]
        self.cores = {i: self.core_class(group=0, node_id=i, voters=voters, learners=learners,
                                         rng=random.Random(self.rng.getrandbits(32)), now=0.0,
                                         timing=self.timing) for i in self.ids}
        for core in self.cores.values():
            self.invariants.attach(core)
        self._heap: list = []
        self._seq = 0
        self.side: dict[str, int] = {i: 0 for i in self.ids}  # partition: equal side talks
        self.committed: list[tuple[int, Any]] = [(0, None)]  # index -> (term, data)
        self.commit_term: list[int] = [0]
        self.applied: dict[str, list] = {i: [] for i in self.ids}
        self.read_floor: dict[Any, int] = {}
        self.read_results: dict[Any, int] = {}
        self.steps = 0
        self._same_time = 0
        self.messages = 0

    # --- driving -------------------------------------------------------------------------

    def partition(self, groups: list[list[str]]) -> None:
        for k, g in enumerate(groups):
            for i in g:
                self.side[i] = k

    def heal(self) -> None:
        self.partition([self.ids])

    def propose(self, node: str, data: Any) -> bool:
        ok = self.cores[node].propose(self.now, data)
        self._after(node)
        return ok

    def read_index(self, node: str, ctx: Any) -> bool:
        # The read must see everything committed anywhere before it was asked.
        self.read_floor[ctx] = max(c.commit for c in self.cores.values())
        ok = self.cores[node].read_index(self.now, ctx)
        self._after(node)
        return ok

    def run_until(self, t_end: float) -> None:
        """Deliver messages and fire timers in time order until virtual time t_end."""
        while True:
            t_msg = self._heap[0][0] if self._heap else float("inf")
            node, t_tick = min(((i, c.next_deadline()) for i, c in self.cores.items()),
                               key=lambda x: x[1])
            t = min(t_msg, t_tick)
            if t > t_end:
                self.now = t_end
                return
            if t <= self.now:
                self._same_time += 1
                if self._same_time > 10_000:
                    raise SafetyViolation(f"livelock: timers keep firing at t={self.now}")
            else:
                self._same_time = 0
            self.now = max(self.now, t)
            if t_msg <= t_tick:
                _, _, src, dest, body = heapq.heappop(self._heap)
                if self.side[src] != self.side[dest]:
                    continue  # partitions drop at delivery
                self.cores[dest].step(self.now, src, body)
                self._after(dest)
            else:
                self.cores[node].tick(self.now)
                self._after(node)

    # --- internals -----------------------------------------------------------------------

    def _after(self, node: str) -> None:
        core = self.cores[node]
        net = self.net
        for dest, body in core.take_messages():
            self.messages += 1
            copies = 0 if self.rng.random() < net.loss else 1
            if copies and self.rng.random() < net.duplicate:
                copies = 2
            for _ in range(copies):
                delay = self.rng.uniform(net.min_delay, net.max_delay)
                if net.slow and self.rng.random() < net.slow:
                    delay += self.rng.uniform(0.0, net.slow_delay)
                self._seq += 1
                heapq.heappush(self._heap, (self.now + delay, self._seq, node, dest, body))
        for index, data in core.take_committed():
            self.applied[node].append((index, data))
        for ctx, index in core.take_read_states():
            self.read_results[ctx] = index
            if index < self.read_floor[ctx]:
                raise SafetyViolation(f"stale read index {index} < {self.read_floor[ctx]} ({ctx})")
        self.steps += 1
        self.check(node)

    def check(self, node: str) -> None:
        """Raft's safety properties (Figure 3), after `node` took a step: the oracle's
        (election and state-machine safety, monotonic terms and commits, ReadIndex quorum),
        then log matching and leader completeness, which only this test checks."""
        if self.invariants.violations:
            v = self.invariants.violations[0]
            trail = "\n".join(map(str, v["trail"][-15:]))
            raise SafetyViolation(f"{v['node']}: {v['what']}\nlast events:\n{trail}")
        core = self.cores[node]
        log = core.log
        for i in range(len(self.committed), core.commit + 1):
            self.committed.append((log.term(i), log.data(i)))
            # An upper bound of the term in which it was committed (our term now).
            self.commit_term.append(core.term)
        for index, data in self.applied[node][-3:]:
            entry = self.committed[index][1]
            if config_of(entry) is not None:
                entry = None  # configurations are the core's own: applied as None
            if entry != data:
                raise SafetyViolation(f"{node} applied {data} at {index}")
        # Leader completeness: a leader holds every entry committed in an earlier term.
        for other in self.cores.values():
            if other.role != LEADER:
                continue
            olog = other.log
            for i in range(1, len(self.committed)):
                if self.commit_term[i] >= other.term:
                    continue
                if (olog.term(i), olog.data(i) if i <= olog.last_index else None) \
                        != self.committed[i]:
                    raise SafetyViolation(f"leader {other.id} (term {other.term}) lacks "
                                          f"committed entry {i}")
        # Log matching: same index and term => identical prefixes.
        terms = [log.term(i) for i in range(log.last_index + 1)]
        for other in self.cores.values():
            if other is core:
                continue
            olog = other.log
            top = min(log.last_index, olog.last_index)
            i = top
            while i > 0 and olog.term(i) != terms[i]:
                i -= 1
            for j in range(1, i + 1):
                if olog.term(j) != terms[j] or olog.data(j) != log.data(j):
                    raise SafetyViolation(f"logs of {node} and {other.id} match at {i} but "
                                          f"differ at {j}")


# ---------------------------------------------------------------------------------------------
# The tests


def _chaos(cluster: Cluster, duration: float, *, partitions: bool,
           every: tuple[float, float] = (0.2, 1.0), rate: float = 60.0) -> tuple[int, int]:
    """Random proposals and reads at random nodes (`rate` a second) while the network
    misbehaves; with `partitions`, a new partition (or a heal) every `every` seconds."""
    rng = random.Random(cluster.seed * 7919 + 1)
    ids = cluster.ids
    t = 0.0
    next_partition = 0.3
    proposed = reads = 0
    while t < duration:
        t += rng.expovariate(rate)
        cluster.run_until(t)
        if partitions and t >= next_partition:
            next_partition = t + rng.uniform(*every)
            shape = rng.random()
            shuffled = rng.sample(ids, len(ids))
            if shape < 0.25:
                cluster.heal()
            elif shape < 0.5:  # isolate one node (often the leader)
                leader = next((i for i, c in cluster.cores.items() if c.role == LEADER), None)
                one = leader if leader and rng.random() < 0.7 else shuffled[0]
                cluster.partition([[one], [i for i in ids if i != one]])
            elif shape < 0.8:  # random halves
                cut = rng.randint(1, len(ids) - 1)
                cluster.partition([shuffled[:cut], shuffled[cut:]])
            else:  # everyone alone
                cluster.partition([[i] for i in ids])
        node = rng.choice(ids)
        if rng.random() < 0.6:
            proposed += 1
            cluster.propose(node, f"v{proposed}")
        else:
            reads += 1
            cluster.read_index(node, ("r", reads))
    return proposed, reads


def _leader(cluster: Cluster) -> str | None:
    leaders = [i for i, c in cluster.cores.items() if c.role == LEADER]
    return leaders[0] if len(leaders) == 1 else None


SEEDS = list(range(12))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 5])
def test_safety_under_loss_reordering_and_partitions(n: int, seed: int) -> None:
    cluster = Cluster(n, seed, NetConfig(loss=0.1, duplicate=0.05, max_delay=0.03))
    _chaos(cluster, 4.0, partitions=True)
    # Heal: a leader emerges, and what is proposed now commits everywhere.
    cluster.heal()
    cluster.net.loss = cluster.net.duplicate = 0.0
    cluster.run_until(cluster.now + 2.0)
    leader = _leader(cluster)
    assert leader is not None
    assert cluster.propose(leader, "after-heal")
    cluster.run_until(cluster.now + 1.0)
    for core in cluster.cores.values():
        committed = [core.log.data(i) for i in range(1, core.commit + 1)]
        assert "after-heal" in committed
    assert len(cluster.committed) > 5  # the chaos phase committed real work


# Delays far beyond the election timeout (a tenth of the messages held back up to 3 s, ten
# election timeouts), loss, duplication and a new partition every 0.5-1 s: where a stale-read
# bug once hid from sweeps whose delays stayed under the timeout.
LONG_DELAYS = dict(loss=0.05, duplicate=0.05, max_delay=0.03, slow=0.1, slow_delay=3.0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n", [3, 5, 7])
def test_safety_with_delays_far_beyond_the_election_timeout(n: int, seed: int) -> None:
    cluster = Cluster(n, seed, NetConfig(**LONG_DELAYS))
    _chaos(cluster, 8.0, partitions=True, every=(0.5, 1.0), rate=100.0)
    assert cluster.invariants.steps > 300  # the oracle really checked a busy run


def _stale_ack_core() -> type:
    path = Path(__file__).parent / "nodes" / "stale_acks.py"
    return import_file(path, "stale_acks_under_test").StaleAckCore


def test_oracle_catches_a_leader_that_takes_acks_of_an_older_term() -> None:
    # The bug of issue 8, restored: the oracle must flag a ReadIndex confirmation without a
    # quorum of answers to this term's messages, under the same faults the real core survives.
    core_class = _stale_ack_core()
    caught = []
    for seed in range(10):
        cluster = Cluster(5, seed, NetConfig(**LONG_DELAYS), core_class=core_class)
        try:
            _chaos(cluster, 8.0, partitions=True, every=(0.5, 1.0), rate=100.0)
        except SafetyViolation as exc:
            caught.append((seed, str(exc)))
            break
    assert caught, "the broken variant was never caught in 10 seeds"
    assert all("must answer AppendEntries sent this term after the read" in text
               for _, text in caught), caught


@pytest.mark.parametrize("seed", range(6))
def test_reads_and_proposals_complete_without_faults(seed: int) -> None:
    cluster = Cluster(5, seed)
    proposed, reads = _chaos(cluster, 3.0, partitions=False)
    cluster.run_until(cluster.now + 1.0)
    data = {d for _, d in cluster.committed}
    # After the first election (< 0.7 s) no proposal or read is lost on a healthy network.
    late = [f"v{k}" for k in range(proposed // 2, proposed + 1)]
    assert all(v in data for v in late)
    answered = {ctx for ctx in cluster.read_results}
    assert all(("r", k) in answered for k in range(reads // 2, reads + 1))


def test_isolated_leader_steps_down_and_majority_elects_a_new_one() -> None:
    # Heartbeats never stop here (no quiescence): CheckQuorum and PreVote on their own.
    cluster = Cluster(5, 3, timing=replace(DEFAULT, quiesce_after=float("inf")))
    cluster.run_until(1.5)
    old = _leader(cluster)
    assert old is not None
    old_term = cluster.cores[old].term
    cluster.partition([[old], [i for i in cluster.ids if i != old]])
    t0 = cluster.now
    cluster.run_until(t0 + 1.0)
    # CheckQuorum deposed the isolated leader; the majority elected another one, in one term.
    assert cluster.cores[old].role != LEADER
    new = _leader(cluster)
    assert new is not None and new != old
    assert cluster.cores[new].term == old_term + 1
    # PreVote: the isolated node never bumped its term while alone.
    assert cluster.cores[old].term == old_term
    cluster.heal()
    cluster.run_until(cluster.now + 1.0)
    assert _leader(cluster) == new  # rejoining did not disrupt the leader


@pytest.mark.parametrize("seed", range(6))
def test_learners_follow_the_log_but_never_vote_or_count(seed: int) -> None:
    cluster = Cluster(5, seed, NetConfig(loss=0.05, duplicate=0.05, max_delay=0.03),
                      learners=2)
    _chaos(cluster, 3.0, partitions=True)
    cluster.heal()
    cluster.run_until(cluster.now + 2.0)
    leader = _leader(cluster)
    assert leader in ("n0", "n1", "n2")
    learners = [cluster.cores["n3"], cluster.cores["n4"]]
    assert all(c.is_learner and c.role != LEADER and c.voted_for is None for c in learners)
    # Commit needs 2 of the 3 voters only: cut both learners off and it still advances...
    cluster.partition([["n0", "n1", "n2"], ["n3", "n4"]])
    assert cluster.propose(leader, "without-learners")
    cluster.run_until(cluster.now + 0.5)
    assert cluster.cores[leader].log.data(cluster.cores[leader].commit) == "without-learners"
    # ... and one voter with both learners is no majority: nothing commits there.
    lone = next(v for v in ("n0", "n1", "n2") if v != leader)
    cluster.partition([[lone, "n3", "n4"], [v for v in ("n0", "n1", "n2") if v != lone]])
    before = cluster.cores[lone].commit
    cluster.run_until(cluster.now + 2.0)
    assert cluster.cores[lone].commit == before
    assert all(c.role != LEADER for c in (cluster.cores[lone], *learners))
    cluster.heal()
    cluster.run_until(cluster.now + 2.0)
    # Learners caught up with everything committed.
    top = max(c.commit for c in cluster.cores.values())
    assert all(c.commit == top for c in learners)


def test_an_idle_group_goes_quiet_and_a_request_finds_a_dead_leader() -> None:
    cluster = Cluster(5, 3)
    cluster.run_until(1.0)
    old = _leader(cluster)
    assert old is not None and cluster.propose(old, "before")
    cluster.run_until(cluster.now + 2.0)  # idle for longer than quiesce_after
    quiet_from = cluster.messages
    cluster.run_until(cluster.now + 5.0)
    assert cluster.messages == quiet_from  # a quiet group sends nothing at all
    assert all(c.next_deadline() == float("inf") for c in cluster.cores.values())
    # Its leader dies (cut off). Nobody notices until a request needs it: then the follower
    # that got it runs its timer again, a new leader is elected, and the request commits.
    cluster.partition([[old], [i for i in cluster.ids if i != old]])
    cluster.run_until(cluster.now + 3.0)
    assert cluster.cores[old].role == LEADER  # (still believes it: nothing told it otherwise)
    asker = next(i for i in cluster.ids if i != old)
    assert cluster.propose(asker, "after")
    cluster.run_until(cluster.now + 2.0)
    new = next(i for i, c in cluster.cores.items() if c.role == LEADER and i != old)
    assert cluster.cores[new].term > cluster.cores[old].term
    if cluster.cores[asker].lead == new:
        cluster.propose(asker, "after")  # (the first forward went to the old leader)
    cluster.run_until(cluster.now + 1.0)
    assert "after" in [d for _, d in cluster.committed]
    # The old leader learns of the new term when it hears from the others again.
    cluster.heal()
    cluster.propose(old, "wake-old")
    cluster.run_until(cluster.now + 2.0)
    assert cluster.cores[old].role != LEADER


def test_leader_batches_many_proposals_into_few_messages() -> None:
    cluster = Cluster(3, 1)
    cluster.run_until(1.5)
    leader = _leader(cluster)
    assert leader is not None
    base = cluster.messages
    for k in range(200):
        cluster.propose(leader, f"b{k}")
    cluster.run_until(cluster.now + 0.2)
    assert all(cluster.cores[i].commit >= cluster.cores[leader].log.last_index
               for i in cluster.ids)
    # 200 entries replicated to 2 followers in a handful of AppendEntries rounds.
    assert cluster.messages - base < 40
