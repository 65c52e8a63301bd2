"""Randomized tests of the SWIM core (node/gossip/swim.py): members in-process on a seeded,
virtual-time network with delays, loss, partitions, pauses and crashes. After every single step
the invariants below are checked on the member that stepped; the outcomes (detection time,
false positives, convergence from seeds, bytes per member) are measured over seeds.

Run with -s to see the measured distributions (docs/gossip.md quotes them).
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from dataclasses import dataclass, field

import orjson
import pytest

from node.gossip.swim import ALIVE, DEAD, SUSPECT, Swim
from node.gossip.timing import DEFAULT, PLAIN_SWIM, Timing


class InvariantViolation(AssertionError):
    pass


# The oracle's own statement of SWIM's order (not the module's, which it checks).
_RANK = {ALIVE: 0, SUSPECT: 1, DEAD: 2}


def _supersedes(state: str, inc: int, old_state: str, old_inc: int) -> bool:
    return inc > old_inc or (inc == old_inc and _RANK[state] > _RANK[old_state])


@dataclass
class Net:
    min_delay: float = 0.001
    max_delay: float = 0.010
    loss: float = 0.0
    # Degraded members: node -> (extra delay up to, loss) on every message to or from it.
    slow: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Slow message processing (Lifeguard's case): node -> extra delay up to, on every message
    # it receives; its timers still fire on time, so its own probes time out.
    lag: dict[str, float] = field(default_factory=dict)


def message_bound(timing: Timing) -> int:
    """Bytes a gossip message may take: a header plus its updates (or sync entries), each at
    most a member id, a few numbers and the largest soft state allowed."""
    per_update = 80 + timing.max_soft_state_bytes
    return 120 + max(timing.max_updates_per_message, timing.sync_chunk) * per_update


@dataclass
class Cluster:
    """n SWIM members on one virtual-time network. Members n0.. start at random times in
    [0, start_spread) knowing only `seeds` (default: the first three)."""

    n: int
    seed: int
    net: Net = field(default_factory=Net)
    timing: Timing = DEFAULT
    seeds: list[str] | None = None
    start_spread: float = 0.5
    check: bool = True
    member_class: type = Swim

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.ids = [f"n{i}" for i in range(self.n)]
        if self.seeds is None:
            self.seeds = self.ids[:3]
        self.now = 0.0
        self.members: dict[str, Swim] = {}
        self.started: dict[str, float] = {}
        self._events: list = []      # (time, seq, kind, a, b, c): messages, starts, resumes
        self._timers: list = []      # (deadline, seq, node), lazily re-checked
        self._seq = 0
        self.side = {i: 0 for i in self.ids}
        self.crashed: set[str] = set()
        self.paused: dict[str, list] = {}    # node -> held deliveries
        self.sent_bytes = {i: 0 for i in self.ids}
        self.sent_msgs = {i: 0 for i in self.ids}
        self.max_bytes = 0
        self.steps = 0
        # Per observer: member -> (state, incarnation) last seen, and dead (member, inc) pairs.
        self.view: dict[str, dict[str, tuple[str, int]]] = {i: {} for i in self.ids}
        self.deaths: dict[str, set] = {i: set() for i in self.ids}
        # (time, observer, member, state, incarnation) of every state change.
        self.changes: list[tuple] = []
        self.refutations: list[tuple] = []
        self.bound = message_bound(self.timing)
        for i in self.ids:
            self._push(self.rng.uniform(0.0, self.start_spread), "start", i)

    # --- driving -------------------------------------------------------------------------

    def partition(self, groups: list[list[str]]) -> None:
        for k, g in enumerate(groups):
            for i in g:
                self.side[i] = k

    def heal(self) -> None:
        self.side = {i: 0 for i in self.ids}

    def crash(self, node: str) -> None:
        self.crashed.add(node)

    def pause(self, node: str, duration: float) -> None:
        if node not in self.paused and node not in self.crashed:
            self.paused[node] = []
            self._push(self.now + duration, "resume", node)

    def run_until(self, t_end: float) -> None:
        while True:
            t_ev = self._events[0][0] if self._events else float("inf")
            t_tm = self._timers[0][0] if self._timers else float("inf")
            t = min(t_ev, t_tm)
            if t > t_end:
                self.now = t_end
                return
            self.now = max(self.now, t)
            if t_ev <= t_tm:
                _, _, kind, a, b, c = heapq.heappop(self._events)
                if kind == "msg":
                    self._deliver(a, b, c)
                elif kind == "start":
                    self._start(a)
                else:
                    self._resume(a)
            else:
                _, _, node = heapq.heappop(self._timers)
                if node in self.crashed or node in self.paused:
                    continue
                member = self.members[node]
                if member.next_deadline() <= self.now:
                    member.tick(self.now)
                    self._after(node)

    # --- internals -----------------------------------------------------------------------

    def _push(self, t: float, kind: str, a, b=None, c=None) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, kind, a, b, c))

    def _start(self, node: str) -> None:
        def log(event: dict, node=node) -> None:
            if event["event"] == "gossip_member":
                self.changes.append((self.now, node, event["node"], event["state"],
                                     event["incarnation"]))
            elif event["event"] == "gossip_refute":
                self.refutations.append((self.now, node, event["claim"]))
            elif event["event"] == "gossip_bad_message":
                raise InvariantViolation(f"{node}: bad message {event}")
        self.members[node] = self.member_class(
            node, list(self.seeds), random.Random(self.rng.getrandbits(32)), self.now,
            self.timing, log)
        self.started[node] = self.now
        self._after(node)

    def _resume(self, node: str) -> None:
        held = self.paused.pop(node, [])
        if node in self.crashed:
            return
        for src, body in held:
            self._deliver(src, node, body)
        self._after(node)

    def _deliver(self, src: str, dest: str, body: dict) -> None:
        if dest in self.crashed or dest not in self.members:
            return
        if self.side[src] != self.side[dest]:
            return  # partitions drop at delivery
        if dest in self.paused:
            self.paused[dest].append((src, body))
            return
        self.members[dest].step(self.now, src, body)
        self._after(dest)

    def _after(self, node: str) -> None:
        member = self.members[node]
        net = self.net
        for dest, body in member.take_messages():
            size = len(orjson.dumps(body))
            self.sent_bytes[node] += size
            self.sent_msgs[node] += 1
            self.max_bytes = max(self.max_bytes, size)
            if self.check:
                self._check_message(node, body, size)
            if node in self.crashed:
                continue
            loss, delay = net.loss, self.rng.uniform(net.min_delay, net.max_delay)
            for end in (node, dest):
                if end in net.slow:
                    extra, lost = net.slow[end]
                    delay += self.rng.uniform(0.0, extra)
                    loss = 1 - (1 - loss) * (1 - lost)
            if dest in net.lag:
                delay += self.rng.uniform(0.0, net.lag[dest])
            if self.rng.random() < loss:
                continue
            self._push(self.now + delay, "msg", node, dest, body)
        self._seq += 1
        heapq.heappush(self._timers, (member.next_deadline(), self._seq, node))
        self.steps += 1
        if self.check:
            self._check(node)

    def _check_message(self, node: str, body: dict, size: int) -> None:
        if size > self.bound:
            raise InvariantViolation(f"{node} sent {size} bytes > {self.bound}: {body['type']}")
        updates = body.get("updates", body.get("entries"))
        cap = self.timing.sync_chunk if body["type"] == "gossip_sync" else \
            self.timing.max_updates_per_message
        if len(updates) > cap:
            raise InvariantViolation(f"{node} sent {len(updates)} updates in one {body['type']}")

    def _check(self, node: str) -> None:
        """After `node` stepped: it holds itself alive; no incarnation in its view went back;
        a member it saw dead at incarnation i is dead at i or known at a higher incarnation;
        and every change of its view is a supersession (higher incarnation, or the same one
        and a stronger state: alive < suspect < dead)."""
        members = self.members[node].members()
        if members[node][0] != ALIVE:
            raise InvariantViolation(f"{node} holds itself {members[node]}")
        seen = self.view[node]
        deaths = self.deaths[node]
        for other, (state, inc) in members.items():
            old = seen.get(other)
            if old is not None and (state, inc) != old:
                if inc < old[1]:
                    raise InvariantViolation(f"{node}: {other} went back from {old} to "
                                             f"{(state, inc)}")
                if (other, inc) in deaths:
                    raise InvariantViolation(f"{node}: {other} came back from dead at "
                                             f"incarnation {inc} as {state}")
                if not _supersedes(state, inc, *old):
                    raise InvariantViolation(f"{node}: {other} went from {old} to "
                                             f"{(state, inc)}, which does not supersede it")
            if state == DEAD:
                deaths.add((other, inc))
            seen[other] = (state, inc)

    # --- measures ------------------------------------------------------------------------

    def live(self) -> list[str]:
        return [i for i in self.ids if i not in self.crashed and i in self.members]

    def declared_dead(self, member: str, since: float = 0.0) -> dict[str, float]:
        """Observer -> first time after `since` it declared `member` dead."""
        out: dict[str, float] = {}
        for t, observer, node, state, _ in self.changes:
            if node == member and state == DEAD and t >= since and observer not in out:
                out[observer] = t
        return out

    def false_deaths(self, healthy: set[str], since: float = 0.0) -> list[tuple]:
        return [c for c in self.changes
                if c[3] == DEAD and c[2] in healthy and c[0] >= since]


def _period(timing: Timing = DEFAULT) -> float:
    return timing.probe_interval


def _print(title: str, values: list[float]) -> None:
    values = sorted(values)
    q = statistics.quantiles(values, n=20, method="inclusive") if len(values) > 1 else values * 19
    print(f"\n{title}: n={len(values)} min={values[0]:.1f} median={statistics.median(values):.1f}"
          f" p95={q[18]:.1f} max={values[-1]:.1f}")


# ---------------------------------------------------------------------------------------------
# Invariants under chaos


def _chaos(cluster: Cluster, duration: float, rng: random.Random) -> None:
    """Partitions, heals, pauses and crashes at random while the cluster runs."""
    ids = cluster.ids
    t = cluster.now
    while t < duration:
        t += rng.uniform(0.3, 2.0)
        cluster.run_until(t)
        shape = rng.random()
        shuffled = rng.sample(ids, len(ids))
        if shape < 0.3:
            cluster.heal()
        elif shape < 0.45:
            cluster.partition([[shuffled[0]], shuffled[1:]])
        elif shape < 0.6:
            cut = rng.randint(1, len(ids) - 1)
            cluster.partition([shuffled[:cut], shuffled[cut:]])
        elif shape < 0.9:
            cluster.pause(shuffled[0], rng.uniform(0.1, 4.0))
        elif len(cluster.crashed) < len(ids) // 3:
            cluster.crash(shuffled[0])
        for node in rng.sample(cluster.live(), min(3, len(cluster.live()))):
            cluster.members[node].set_local_state({"ops": rng.randint(0, 5000),
                                                   "lag": rng.random()})


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n", [4, 9])
def test_invariants_hold_under_loss_delays_partitions_pauses_and_crashes(n: int, seed: int) -> None:
    cluster = Cluster(n, seed, Net(max_delay=0.08, loss=0.1))
    _chaos(cluster, 40.0, random.Random(seed + 1000))
    assert cluster.steps > 50 * n  # the checks ran on a busy run
    # Something happened: members were suspected, declared dead, refuted.
    states = {c[3] for c in cluster.changes}
    assert {SUSPECT, DEAD} <= states
    assert cluster.refutations
    # Heal everything: every live member comes back alive in every live member's view.
    cluster.heal()
    cluster.net.loss = 0.0
    cluster.run_until(cluster.now + 30.0)
    live = cluster.live()
    for node in live:
        view = cluster.members[node].members()
        assert all(view[other][0] == ALIVE for other in live), (node, view)


class ResurrectingSwim(Swim):
    """Broken on purpose: takes alive(i) over dead(i), which SWIM forbids."""

    def _apply(self, now, u, src, sync=False):
        m = self._members.get(u[1]) if type(u) is list and len(u) > 2 else None
        if m is not None and m.state == DEAD and u[0] == ALIVE and u[2] == m.incarnation:
            return self._change(m, u[1], ALIVE, u[2], src)
        return super()._apply(now, u, src, sync)


def test_invariant_checks_catch_a_member_that_resurrects_the_dead() -> None:
    caught = []
    for seed in range(6):
        cluster = Cluster(9, seed, Net(max_delay=0.08, loss=0.1), member_class=ResurrectingSwim)
        try:
            _chaos(cluster, 40.0, random.Random(seed + 1000))
        except InvariantViolation as exc:
            caught.append(str(exc))
            break
    assert caught and "came back from dead at incarnation" in caught[0], caught


# ---------------------------------------------------------------------------------------------
# Outcomes


def _bound(n: int) -> tuple[float, float]:
    """(min suspicion timeout, a generous bound) in protocol periods, for n members: the bound
    is the longest suspicion timeout (max, no confirmations) plus a full round of probes (the
    last member to probe it) and a few periods for the news to spread."""
    lo = DEFAULT.suspicion_mult * max(1.0, math.log10(n))
    return lo, DEFAULT.suspicion_max_mult * lo + n + 5


def _crash_detection_periods(n: int, seed: int) -> float:
    cluster = Cluster(n, seed, Net(max_delay=0.01))
    cluster.run_until(10.0)
    victim = cluster.rng.choice(cluster.ids)
    t0 = cluster.now
    cluster.crash(victim)
    cluster.run_until(t0 + (_bound(n)[1] + 1) * _period())
    seen = cluster.declared_dead(victim, since=t0)
    missing = [o for o in cluster.live() if o != victim and o not in seen]
    assert not missing, f"{missing} never declared {victim} dead"
    return (max(seen.values()) - t0) / _period()


def test_a_crashed_member_is_declared_dead_everywhere_within_a_bound() -> None:
    periods = {n: [_crash_detection_periods(n, seed) for seed in range(12)] for n in (5, 25)}
    for n, values in periods.items():
        _print(f"crash: {n} members, periods until every live member declares it dead", values)
        lo, bound = _bound(n)
        assert max(values) <= bound, (n, values, bound)
        # Confirmations bring the timeout down to min: far below the bound, typically.
        assert statistics.median(values) <= lo + 8, (n, values)


def _partition_periods(n: int, seed: int) -> tuple[float, float, float]:
    """One member cut off for 40 s, then healed. Returns (periods until every other member
    declared it dead, the share of the others it declared dead itself meanwhile, periods after
    the heal until everyone sees everyone alive)."""
    cluster = Cluster(n, seed, Net(max_delay=0.01))
    cluster.run_until(15.0)
    victim = cluster.rng.choice(cluster.ids)
    others = [i for i in cluster.ids if i != victim]
    t0 = cluster.now
    cluster.partition([[victim], others])
    cluster.run_until(t0 + 40.0)
    seen = cluster.declared_dead(victim, since=t0)
    assert set(seen) == set(others), seen
    theirs = {node for t, observer, node, state, _ in cluster.changes
              if observer == victim and state == DEAD and t >= t0}
    cluster.heal()
    t1 = cluster.now
    while not all(len(m.alive()) == n for m in cluster.members.values()):
        cluster.run_until(cluster.now + 0.1)
        assert cluster.now < t1 + 60.0, "no rejoin after the partition healed"
    return ((max(seen.values()) - t0) / _period(), len(theirs) / len(others),
            (cluster.now - t1) / _period())


def test_a_partitioned_member_is_declared_dead_on_both_sides_then_rejoins() -> None:
    for n in (5, 25):
        runs = [_partition_periods(n, seed) for seed in range(8)]
        _print(f"partition: {n} members, periods until every other member declares the cut-off "
               f"one dead", [r[0] for r in runs])
        # The cut-off member's probes all fail and no intermediary can nack: its local health
        # score climbs and stretches its period (Lifeguard), so in 40 s it buries only part of
        # the cluster instead of all of it.
        _print(f"partition: {n} members, share of the others the cut-off member declared dead "
               f"within 40 s (%)", [100 * r[1] for r in runs])
        _print(f"partition: {n} members, periods after the heal until all see all alive",
               [r[2] for r in runs])
        lo, bound = _bound(n)
        assert max(r[0] for r in runs) <= bound
        # Reconnect pings tell the dead they are dead; they refute and come back.
        assert max(r[2] for r in runs) <= 2 * n * DEFAULT.reconnect_interval / _period()


SLOW_NET = {"n1": (DEFAULT.probe_timeout / 2, 0.05)}   # delays up to half the probe timeout


def _slow_member(kind: str, timing: Timing, seed: int, duration: float = 120.0) -> tuple:
    """9 members, 5% loss on every message; n1 is degraded:
    - "net":   its messages are delayed up to half the probe timeout more and lost 5% more;
    - "lag":   the same, and it processes what it receives up to 0.5 s late (two probe
               timeouts; Lifeguard's slow message processing) while its timers run on time;
    - "stall": the same as "net", and it stalls (nothing processed, no timer) for 0.2-1.0 s
               about every 2 s, like a starved or paused process.
    Returns (times n1 was suspected, its refutations, false death episodes: distinct
    (member, incarnation) some member declared dead, every member staying up; and times n1
    took a healthy member for suspect)."""
    net = Net(max_delay=0.01, loss=0.05, slow=dict(SLOW_NET),
              lag={"n1": 2 * DEFAULT.probe_timeout} if kind == "lag" else {})
    cluster = Cluster(9, seed, net, timing)
    cluster.run_until(5.0)
    if kind == "stall":
        rng = random.Random(seed)
        t = cluster.now
        while t < 5.0 + duration:
            t += rng.expovariate(0.5)
            cluster.run_until(t)
            cluster.pause("n1", rng.uniform(0.2, 1.0))
    cluster.run_until(5.0 + duration)
    suspected = sum(1 for c in cluster.changes if c[2] == "n1" and c[3] == SUSPECT and c[0] > 5)
    refuted = sum(1 for r in cluster.refutations if r[1] == "n1")
    deaths = {(c[2], c[4]) for c in cluster.false_deaths(set(cluster.ids), since=5.0)}
    accused = sum(1 for c in cluster.changes
                  if c[1] == "n1" and c[2] != "n1" and c[3] == SUSPECT and c[0] > 5)
    return suspected, refuted, len(deaths), accused


def test_a_slow_member_that_refutes_is_never_declared_dead() -> None:
    runs = [_slow_member("net", DEFAULT, seed) for seed in range(16)]
    print(f"\nslow member (delays up to probe_timeout/2, 5% loss), Lifeguard, 16 x 120 s: "
          f"suspected {sum(r[0] for r in runs)} times (observer views), refuted "
          f"{sum(r[1] for r in runs)} times, false death episodes {sum(r[2] for r in runs)}")
    assert sum(r[1] for r in runs) >= 5          # it was suspected and had to refute...
    assert all(r[2] == 0 for r in runs), runs    # ... and nobody was ever declared dead


@pytest.mark.parametrize("kind", ["net", "lag", "stall"])
def test_lifeguard_false_positives_are_rare_and_fewer_than_plain_swims(kind: str) -> None:
    seeds, minutes = range(8), 2.0
    runs = {name: [_slow_member(kind, timing, seed) for seed in seeds]
            for name, timing in (("lifeguard", DEFAULT), ("plain", PLAIN_SWIM))}
    deaths = {name: sum(r[2] for r in rs) for name, rs in runs.items()}
    accused = {name: sum(r[3] for r in rs) for name, rs in runs.items()}
    hours = len(seeds) * minutes / 60
    print(f"\nslow member '{kind}', {len(seeds)} x {minutes:.0f} min, Lifeguard / plain SWIM: "
          f"false death episodes {deaths['lifeguard']} / {deaths['plain']} "
          f"({deaths['lifeguard'] / hours:.1f} / {deaths['plain'] / hours:.1f} per hour), "
          f"healthy members it suspected {accused['lifeguard']} / {accused['plain']}")
    assert deaths["plain"] > 0, "the scenario is too mild to compare anything"
    assert deaths["lifeguard"] * 4 <= deaths["plain"]
    if kind == "lag":
        # Local health: a member that processes its messages late finds its own probes failing
        # without nacks, distrusts itself, and stops accusing healthy members.
        assert accused["lifeguard"] * 4 <= accused["plain"]


def _converge(n: int, seed: int, timing: Timing = DEFAULT) -> float:
    """Seconds after the last start until every member knows every other member alive."""
    cluster = Cluster(n, seed, Net(max_delay=0.02, loss=0.02), timing, start_spread=1.0,
                      check=n <= 25)
    last_start = 1.0
    t = last_start
    while t < 120.0:
        t += 0.25
        cluster.run_until(t)
        if all(len(m.alive()) == n for m in cluster.members.values()) and \
                len(cluster.members) == n:
            return t - last_start
    raise AssertionError(f"{n} members did not converge in 120 s")


def test_membership_converges_from_seeds_only() -> None:
    times = {n: [_converge(n, seed) for seed in range(5 if n < 100 else 3)] for n in (5, 25, 100)}
    for n, values in times.items():
        _print(f"{n} members from 3 seeds, seconds until every view is complete", values)
        assert max(values) < 10 + n / 10


def _bytes_and_soft_age(n: int, seed: int, soft_every: float | None) -> tuple[float, float]:
    """Bytes each member sends per second from 30 s to 90 s (all messages, JSON as sent), and
    the median age of the soft state members hold of each other, with every member setting a
    new soft state every `soft_every` seconds (None: never; a quiet cluster)."""
    cluster = Cluster(n, seed, Net(max_delay=0.01), check=False)
    rng = random.Random(seed)
    set_at: dict = {}
    ages: list[float] = []
    before = None
    t = 0.0
    while t < 90.0:
        t += soft_every or 1.0
        cluster.run_until(t)
        if soft_every:
            for node in cluster.live():
                value = rng.randrange(10**9)
                cluster.members[node].set_local_state({"ops": value, "lag": 0.25})
                set_at[node, value] = t
        if before is None and t >= 30.0:
            before = sum(cluster.sent_bytes.values())
        if soft_every and t >= 30.0 and int(t) % 10 == 0:
            for observer in cluster.members.values():
                for node in cluster.ids:
                    soft = observer.soft_state(node) if node != observer.id else None
                    if soft is not None:
                        ages.append(t - set_at[node, soft["ops"]])
    rate = (sum(cluster.sent_bytes.values()) - before) / n / (t - 30.0)
    return rate, statistics.median(ages) if ages else 0.0


def test_bytes_per_member_per_second_stay_flat_as_the_cluster_grows() -> None:
    sizes = (5, 25, 100)
    quiet = {n: _bytes_and_soft_age(n, 1, None)[0] for n in sizes}
    busy = {n: _bytes_and_soft_age(n, 1, 1.0) for n in sizes}
    print("\nbytes sent per member per second, quiet cluster: "
          + ", ".join(f"{n}: {r:.0f}" for n, r in quiet.items())
          + "\n  every member's soft state changing every second: "
          + ", ".join(f"{n}: {r:.0f} (soft state median age {a:.1f} s)"
                      for n, (r, a) in busy.items()))
    assert max(quiet.values()) / min(quiet.values()) < 1.5, quiet
    rates = {n: r for n, (r, _) in busy.items()}
    # Messages fill up to max_updates_per_message, then stay there: bounded, not growing.
    assert max(rates.values()) / min(rates.values()) < 2.0, rates
    assert rates[100] / rates[25] < 1.2, rates


def _spread_seconds(n: int, seed: int) -> float:
    """Seconds until a membership change (one member refutes a suspicion: a new incarnation)
    has reached every member."""
    cluster = Cluster(n, seed, Net(max_delay=0.01), check=False)
    cluster.run_until(10.0)
    victim = cluster.members["n1"]
    victim.step(cluster.now, "n2", {"type": "gossip_push", "updates": [[SUSPECT, "n1", 0, "n2"]]})
    cluster._after("n1")
    assert victim.incarnation == 1
    t0 = cluster.now
    while any(m.members().get("n1", (ALIVE, -1))[1] < 1 for m in cluster.members.values()):
        cluster.run_until(cluster.now + 0.01)
        assert cluster.now < t0 + 30.0
    return cluster.now - t0


def test_a_membership_change_reaches_every_member_in_about_log_n_time() -> None:
    times = {n: [_spread_seconds(n, seed) for seed in range(5 if n < 100 else 3)]
             for n in (5, 25, 100)}
    for n, values in times.items():
        _print(f"{n} members, seconds until a new incarnation is known everywhere", values)
    med = {n: statistics.median(v) for n, v in times.items()}
    # Epidemic spread: about log n. Four times the members (25 -> 100) would take four times
    # as long if it grew linearly; it takes well under twice as long.
    assert med[100] < 2 * med[25] and med[100] < 2.0, med
