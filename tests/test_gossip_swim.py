"""Unit tests of the SWIM core (node/gossip/swim.py) and its parts: the state rules, refutation,
piggybacking limits, Lifeguard's suspicion timer, local health and buddy system, indirect
probes with nacks, discovery, soft state, and robustness against malformed messages.

Messages are fed by hand; `gossip_push` (updates only) is the simplest way to hand a member
updates.
"""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.gossip.awareness import Awareness
from node.gossip.broadcasts import Broadcasts
from node.gossip.suspicion import Suspicion, suspicion_bounds, suspicion_timeout
from node.gossip.swim import ALIVE, DEAD, SUSPECT, Swim, supersedes
from node.gossip.timing import DEFAULT, PLAIN_SWIM, from_spec

# No background timers in the way unless a test wants them.
QUIET = dataclasses.replace(DEFAULT, push_pull_interval=0, reconnect_interval=0)


def make(node: str = "a", peers: list[str] = (), timing=QUIET, seeds=(), now: float = 0.0,
         events: list | None = None, incarnation: int = 0) -> Swim:
    s = Swim(node, list(seeds), random.Random(7), now, timing,
             events.append if events is not None else None, incarnation)
    if peers:
        feed(s, [[ALIVE, p, 0, 0] for p in peers])
    s.take_messages()
    return s


def feed(s: Swim, updates: list, src: str = "z", now: float = 0.0) -> None:
    s.step(now, src, {"type": "gossip_push", "updates": updates})


def drain(s: Swim) -> None:
    """Empty the member's broadcast queue by answering pings."""
    while s.pending_updates():
        s.step(0.0, "z", {"type": "gossip_ping", "seq": 1})
    s.take_messages()


def run_until(s: Swim, t: float, now: float = 0.0,
              answer: bool = False) -> list[tuple[float, str, dict]]:
    """Tick `s` at each of its deadlines up to t; return what it sent, with times. With
    `answer`, every ping it sends is acknowledged at once (a healthy cluster)."""
    sent = []
    while True:
        d = s.next_deadline()
        if d > t:
            return sent
        now = max(now, d)
        s.tick(now)
        out = s.take_messages()
        if answer:
            for dest, body in out:
                if body["type"] == "gossip_ping":
                    s.step(now, dest, {"type": "gossip_ack", "seq": body["seq"]})
            out += s.take_messages()
        sent += [(now, dest, body) for dest, body in out]


# ---------------------------------------------------------------------------------------------
# State rules


def test_own_refutation_beats_a_suspicion_of_the_same_incarnation() -> None:
    events: list = []
    a = make("a", ["b", "c"], events=events)
    feed(a, [[SUSPECT, "a", 0, "b"]], src="c")
    assert a.incarnation == 1
    assert a.members()["a"] == (ALIVE, 1)             # never suspect of itself
    assert a.pending_updates()["a"][0][:3] == [ALIVE, "a", 1]
    assert any(e["event"] == "gossip_refute" and e["incarnation"] == 1 and e["by"] == "b"
               for e in events)
    # An observer that suspects a at 0 takes the refutation...
    c = make("c", ["a", "b"])
    feed(c, [[SUSPECT, "a", 0, "b"]])
    assert c.members()["a"] == (SUSPECT, 0)
    feed(c, [a.pending_updates()["a"][0]])
    assert c.members()["a"] == (ALIVE, 1)
    # ... and an observer that got the refutation first ignores the late suspicion.
    d = make("d", ["a", "b"])
    feed(d, [[ALIVE, "a", 1, 0], [SUSPECT, "a", 0, "b"]])
    assert d.members()["a"] == (ALIVE, 1)


def test_refutation_outbids_the_claimed_incarnation_and_ignores_older_claims() -> None:
    a = make("a", ["b"])
    feed(a, [[DEAD, "a", 5, "b"]])
    assert a.incarnation == 6
    feed(a, [[SUSPECT, "a", 3, "b"], [DEAD, "a", 5, "b"]])   # older than 6: nothing to refute
    assert a.incarnation == 6
    feed(a, [[SUSPECT, "a", 6, "b"]])
    assert a.incarnation == 7


def test_suspect_overrides_alive_of_the_same_incarnation_but_not_a_newer_one() -> None:
    a = make("a", ["x"])
    feed(a, [[SUSPECT, "x", 0, "b"]])
    assert a.members()["x"] == (SUSPECT, 0)
    feed(a, [[ALIVE, "x", 0, 5]])                      # same incarnation: suspicion stands
    assert a.members()["x"] == (SUSPECT, 0)
    feed(a, [[ALIVE, "x", 1, 0]])
    assert a.members()["x"] == (ALIVE, 1)
    feed(a, [[SUSPECT, "x", 0, "b"]])                  # a suspicion of the old incarnation
    assert a.members()["x"] == (ALIVE, 1)


def test_dead_is_final_for_its_incarnation_and_a_restart_comes_back_higher() -> None:
    events: list = []
    a = make("a", ["x"], events=events)
    feed(a, [[DEAD, "x", 2, "b"]])
    assert a.members()["x"] == (DEAD, 2) and a.dead() == ["x"]
    feed(a, [[ALIVE, "x", 2, 9], [SUSPECT, "x", 2, "c"], [ALIVE, "x", 1, 0]])
    assert a.members()["x"] == (DEAD, 2)
    feed(a, [[ALIVE, "x", 3, 0]])
    assert a.members()["x"] == (ALIVE, 3)
    assert events[-1] == {"event": "gossip_member", "node": "x", "state": ALIVE,
                          "incarnation": 3, "was": DEAD, "from": "z"}


def test_stale_updates_change_nothing() -> None:
    a = make("a", ["x"])
    feed(a, [[ALIVE, "x", 3, 0]])
    drain(a)
    for stale in ([ALIVE, "x", 2, 7], [SUSPECT, "x", 2, "b"], [DEAD, "x", 1, "b"],
                  [ALIVE, "x", 3, 0]):
        feed(a, [stale])
        assert a.members()["x"] == (ALIVE, 3)
        assert not a.pending_updates(), "a stale update must not be gossiped on"


UPDATE = st.tuples(st.sampled_from([ALIVE, SUSPECT, DEAD]), st.integers(0, 4),
                   st.sampled_from(["b", "c", "d"]))


@given(st.lists(UPDATE, min_size=1, max_size=30))
@settings(max_examples=300, deadline=None)
def test_a_view_is_the_highest_update_under_the_incarnation_then_state_order(ups) -> None:
    a = make("a", ["b", "c", "d"])
    best = None
    for state, inc, who in ups:
        u = [state, "x", inc, 0] if state == ALIVE else [state, "x", inc, who]
        feed(a, [u], src=who)
        if best is None or supersedes(state, inc, *best):
            best = (state, inc)
        assert a.members()["x"] == best


@given(st.lists(UPDATE, min_size=1, max_size=30), st.integers(0, 3))
@settings(max_examples=300, deadline=None)
def test_a_member_never_holds_itself_suspect_or_dead_and_outbids_every_claim(ups, start) -> None:
    a = make("a", ["b"], incarnation=start)
    for state, inc, who in ups:
        before = a.incarnation
        feed(a, [[state, "a", inc, 0] if state == ALIVE else [state, "a", inc, who]])
        assert a.members()["a"] == (ALIVE, a.incarnation)
        assert a.incarnation >= before
        if state != ALIVE and inc >= before or state == ALIVE and inc > before:
            assert a.incarnation == inc + 1
        else:
            assert a.incarnation == before


def test_a_full_state_sync_suspects_rather_than_kills_a_known_member() -> None:
    a = make("a", ["x"])
    a.step(0.0, "b", {"type": "gossip_sync", "entries": [[DEAD, "x", 0, "b"],
                                                          [DEAD, "y", 4, "b"]]})
    assert a.members()["x"] == (SUSPECT, 0)    # known: a chance to refute
    assert a.members()["y"] == (DEAD, 4)       # unknown: recorded as told


# ---------------------------------------------------------------------------------------------
# Dissemination


def test_piggyback_limits_and_retransmit_counts() -> None:
    t = dataclasses.replace(QUIET, max_updates_per_message=5, retransmit_mult=3)
    a = make("a", timing=t)
    drain(a)
    nodes = [f"m{i}" for i in range(30)]
    feed(a, [[ALIVE, m, 0, 0] for m in nodes])
    limit = a.retransmit_limit()
    assert limit == 3 * math.ceil(math.log10(31 + 1)) == 6
    sent: dict[str, int] = {}
    first = None
    for k in range(100):
        a.step(0.0, "m0", {"type": "gossip_ping", "seq": k})
        [(dest, ack)] = a.take_messages()
        assert dest == "m0" and ack["type"] == "gossip_ack" and ack["seq"] == k
        assert len(ack["updates"]) <= 5
        first = first or [u[1] for u in ack["updates"]]
        for u in ack["updates"]:
            sent[u[1]] = sent.get(u[1], 0) + 1
    assert sent == {m: limit for m in nodes}           # every update exactly `limit` times
    assert first == nodes[::-1][:5]                     # newest first among the least sent


def test_membership_news_goes_before_soft_state_refreshes() -> None:
    b = Broadcasts()
    b.put([ALIVE, "x", 0, 1, {"ops": 1}], news=False)
    b.put([SUSPECT, "y", 0, "a"])
    b.put([ALIVE, "z", 0, 2, {"ops": 2}], news=False)
    assert [u[1] for u in b.take(2, 9)] == ["y", "z"]
    assert b.has_news()
    b.take(9, 9)
    b.take(9, 1)
    assert not b.has_news() and len(b) == 0


def test_a_newer_update_replaces_the_pending_one_about_the_same_member() -> None:
    a = make("a", ["x"])
    drain(a)
    feed(a, [[SUSPECT, "x", 0, "b"], [ALIVE, "x", 1, 0]])
    assert list(a.pending_updates()) == ["x"]
    assert a.pending_updates()["x"][0] == [ALIVE, "x", 1, 0]


def test_retransmit_limit_grows_with_log_n() -> None:
    limits = {}
    for n in (2, 9, 10, 99, 100):
        s = make("a", [f"p{i}" for i in range(n - 1)])
        limits[n] = s.retransmit_limit()
    assert limits == {2: 4, 9: 4, 10: 8, 99: 8, 100: 12}


def test_news_is_also_pushed_on_the_gossip_timer_but_a_quiet_member_pushes_nothing() -> None:
    a = make("a", ["b", "c", "d", "e"])
    drain(a)
    assert not [m for m in run_until(a, 3.0, answer=True) if m[2]["type"] == "gossip_push"]
    feed(a, [[SUSPECT, "e", 0, "b"]], now=3.0)
    pushes = [m for m in run_until(a, 3.5, 3.0, answer=True) if m[2]["type"] == "gossip_push"]
    assert pushes and all(m[2]["updates"][0][:2] == [SUSPECT, "e"] for m in pushes[:3])
    assert {m[1] for m in pushes} <= {"b", "c", "d", "e"}   # suspects get it too


# ---------------------------------------------------------------------------------------------
# Lifeguard: suspicion timeout, local health, buddy system


def test_suspicion_bounds_and_timeout_follow_lifeguard() -> None:
    assert suspicion_bounds(4, 6, 5, 0.5) == (2.0, 12.0)           # log10(5) < 1
    lo, hi = suspicion_bounds(4, 6, 100, 0.5)
    assert (lo, hi) == pytest.approx((4.0, 24.0))
    assert suspicion_timeout(0, 2, 2.0, 12.0) == 12.0
    assert suspicion_timeout(1, 2, 2.0, 12.0) == pytest.approx(12 - 10 * math.log(2) / math.log(3))
    assert suspicion_timeout(2, 2, 2.0, 12.0) == 2.0
    assert suspicion_timeout(5, 2, 2.0, 12.0) == 2.0
    assert suspicion_timeout(0, 0, 2.0, 12.0) == 12.0                # none expected: max
    s = Suspicion(10.0, 2.0, 12.0, 2, "b")
    assert s.deadline == 22.0
    assert not s.confirm("b")                                         # the accuser
    assert s.confirm("c") and s.deadline == pytest.approx(10 + suspicion_timeout(1, 2, 2, 12))
    assert not s.confirm("c")                                         # once per member
    assert s.confirm("d") and s.deadline == 12.0
    assert not s.confirm("e")                                         # k reached


def test_a_suspicion_shrinks_with_independent_confirmations_then_declares_dead() -> None:
    events: list = []
    a = make("a", [f"p{i}" for i in range(9)], events=events)          # 10 members: k = 2
    lo, hi = suspicion_bounds(4, 6, 10, QUIET.probe_interval)
    feed(a, [[SUSPECT, "p1", 0, "p2"]], now=1.0)
    assert a.members()["p1"] == (SUSPECT, 0)
    drain(a)
    feed(a, [[SUSPECT, "p1", 0, "p2"]], now=1.5)                        # same accuser
    assert not a.pending_updates()
    feed(a, [[SUSPECT, "p1", 0, "p3"]], now=1.5)                        # independent
    assert a.pending_updates()["p1"][0] == [SUSPECT, "p1", 0, "p3"]   # passed on
    feed(a, [[SUSPECT, "p1", 0, "p4"]], now=1.6)
    a.tick(1.0 + lo - 0.01)
    assert a.members()["p1"] == (SUSPECT, 0)
    a.tick(1.0 + lo)
    assert a.members()["p1"] == (DEAD, 0)
    assert a.pending_updates()["p1"][0] == [DEAD, "p1", 0, "a"]
    assert events[-1]["state"] == DEAD and events[-1]["from"] == "a"
    # Unconfirmed, the same suspicion would have waited for max.
    b = make("b", [f"p{i}" for i in range(9)])
    feed(b, [[SUSPECT, "p1", 0, "p2"]], now=1.0)
    b.tick(1.0 + hi - 0.01)
    assert b.members()["p1"] == (SUSPECT, 0)
    b.tick(1.0 + hi)
    assert b.members()["p1"] == (DEAD, 0)


def _first_probe(a: Swim, now: float = 0.0) -> tuple[float, str, dict]:
    """Tick `a` deadline by deadline until it sends a ping; that ping, with its time."""
    while True:
        now = max(now, a.next_deadline())
        assert now < 100.0, "no probe"
        a.tick(now)
        pings = [(d, b) for d, b in a.take_messages() if b["type"] == "gossip_ping"]
        if pings:
            return (now, *pings[0])


def test_a_failed_probe_goes_through_k_intermediaries_then_suspects() -> None:
    a = make("a", ["b", "c", "d", "e"])
    t0, target, ping = _first_probe(a)
    sent = run_until(a, t0 + QUIET.probe_timeout, t0)
    reqs = [(dest, body) for _, dest, body in sent if body["type"] == "gossip_ping_req"]
    assert len(reqs) == 3 and target not in {d for d, _ in reqs}
    assert all(b["seq"] == ping["seq"] and b["target"] == target for _, b in reqs)
    remaining = QUIET.probe_interval - QUIET.probe_timeout
    assert all(b["wait"] == pytest.approx(remaining * QUIET.nack_ratio) for _, b in reqs)
    run_until(a, t0 + QUIET.probe_interval, t0 + QUIET.probe_timeout)
    assert a.members()[target] == (SUSPECT, 0)
    assert a.awareness == 3          # three nacks missing: perhaps we are the problem


def test_nacks_spare_the_prober_and_an_ack_through_an_intermediary_saves_the_target() -> None:
    a = make("a", ["b", "c", "d", "e"])
    t0, target, ping = _first_probe(a)
    sent = run_until(a, t0 + QUIET.probe_timeout, t0)
    reqs = [(dest, body) for _, dest, body in sent if body["type"] == "gossip_ping_req"]
    for dest, _ in reqs:
        a.step(t0 + 0.3, dest, {"type": "gossip_nack", "seq": ping["seq"]})
    run_until(a, t0 + QUIET.probe_interval, t0 + 0.3)
    assert a.members()[target] == (SUSPECT, 0) and a.awareness == 0
    # Next probe: the ack comes back through an intermediary, late but within the period.
    t1, target2, ping2 = _first_probe(a, t0 + QUIET.probe_interval)
    run_until(a, t1 + QUIET.probe_timeout, t1)
    a.step(t1 + 0.45, "c", {"type": "gossip_ack", "seq": ping2["seq"]})
    run_until(a, t1 + QUIET.probe_interval, t1 + 0.45)
    assert a.members()[target2][0] != SUSPECT or target2 == target


def test_an_intermediary_relays_the_ack_or_nacks_after_the_wait() -> None:
    c = make("c", ["a", "b"])
    c.step(1.0, "a", {"type": "gossip_ping_req", "seq": 41, "target": "b", "wait": 0.1})
    [(dest, ping)] = c.take_messages()
    assert dest == "b" and ping["type"] == "gossip_ping"
    c.step(1.05, "b", {"type": "gossip_ack", "seq": ping["seq"]})
    [(dest, ack)] = c.take_messages()
    assert (dest, ack["type"], ack["seq"]) == ("a", "gossip_ack", 41)
    c.step(2.0, "a", {"type": "gossip_ping_req", "seq": 42, "target": "b", "wait": 0.1})
    c.take_messages()
    run_until(c, 2.099, 2.0)
    assert not [m for m in c.take_messages() if m[1]["type"] == "gossip_nack"]
    sent = run_until(c, 2.1, 2.0)
    assert [(d, b["seq"]) for _, d, b in sent if b["type"] == "gossip_nack"] == [("a", 42)]


def test_local_health_stretches_the_probe_period_and_recovers_on_success() -> None:
    aw = Awareness(8)
    aw.apply(20)
    assert aw.score == 7 and aw.scale(0.5) == 4.0
    aw.apply(-30)
    assert aw.score == 0
    a = make("a", ["b", "c", "d", "e"])
    t0, _, _ = _first_probe(a)
    run_until(a, t0 + QUIET.probe_interval - 1e-9, t0)
    t1, target, ping = _first_probe(a, t0)                             # the first one failed
    assert a.awareness == 3
    assert t1 == pytest.approx(t0 + QUIET.probe_interval)
    sent = run_until(a, t1 + 4 * QUIET.probe_timeout - 1e-9, t1)     # timeout x4 too
    assert not [m for m in sent if m[2]["type"] == "gossip_ping_req"]
    a.step(t1 + 1.5, target, {"type": "gossip_ack", "seq": ping["seq"]})
    assert a.awareness == 2
    t2, _, _ = _first_probe(a, t1 + 1.5)
    assert t2 == pytest.approx(t1 + 4 * QUIET.probe_interval)         # period x4
    # Having to refute counts against us too.
    feed(a, [[SUSPECT, "a", 0, "b"]])
    assert a.awareness == 3
    # Off in PLAIN_SWIM.
    p = make("p", ["b", "c"], timing=dataclasses.replace(PLAIN_SWIM, push_pull_interval=0))
    feed(p, [[SUSPECT, "p", 0, "b"]])
    assert p.awareness == 0


def test_buddy_system_a_ping_to_a_suspect_carries_the_suspicion_and_it_refutes_at_once() -> None:
    for timing, buddy in ((QUIET, True), (dataclasses.replace(PLAIN_SWIM, push_pull_interval=0,
                                                               reconnect_interval=0), False)):
        a = make("a", ["b"], timing=timing)
        feed(a, [[SUSPECT, "b", 0, "c"]])
        drain(a)
        _, dest, ping = _first_probe(a)
        assert dest == "b"
        assert (ping["updates"][:1] == [[SUSPECT, "b", 0, "a"]]) is buddy
        b = make("b", ["a"], timing=timing)
        b.step(1.0, "a", ping)
        [(_, ack)] = [m for m in b.take_messages() if m[1]["type"] == "gossip_ack"]
        if buddy:
            assert b.incarnation == 1 and ack["updates"][0][:3] == [ALIVE, "b", 1]
            a.step(1.01, "b", ack)
            assert a.members()["b"] == (ALIVE, 1)
        else:
            assert b.incarnation == 0


def test_an_ack_tells_a_pinger_we_hold_dead_so_it_can_come_back() -> None:
    a = make("a", ["x"])
    feed(a, [[DEAD, "x", 3, "b"]])
    a.step(1.0, "x", {"type": "gossip_ping", "seq": 9, "updates": []})
    [(_, ack)] = a.take_messages()
    assert ack["updates"][0] == [DEAD, "x", 3, "a"]
    x = make("x", ["a"], incarnation=3)
    x.step(1.1, "a", ack)
    assert x.incarnation == 4


def test_reconnect_pings_a_dead_member_with_the_death_claim() -> None:
    t = dataclasses.replace(QUIET, reconnect_interval=1.0)
    a = make("a", ["b", "x"], timing=t)
    feed(a, [[DEAD, "x", 0, "b"]])
    sent = [(d, b) for _, d, b in run_until(a, 3.0) if d == "x"]
    assert sent and all(b["type"] == "gossip_ping" and b["updates"][0] == [DEAD, "x", 0, "a"]
                        for d, b in sent)


# ---------------------------------------------------------------------------------------------
# Discovery, soft state, the API


def test_nothing_is_sent_before_the_first_tick_then_a_joiner_syncs_with_its_seeds() -> None:
    seed = make("s1", ["m1", "m2"])
    j = Swim("j", ["s1", "s2", "j"], random.Random(1), 0.0, QUIET)
    assert j.take_messages() == [] and j.next_deadline() == 0.0
    j.tick(0.0)
    out = j.take_messages()
    assert sorted(d for d, _ in out) == ["s1", "s2"]
    assert all(b == {"type": "gossip_sync", "entries": [[ALIVE, "j", 0, 0]], "reply": True}
               for _, b in out)
    seed.step(0.01, "j", out[0][1])
    replies = seed.take_messages()
    assert {d for d, _ in replies} == {"j"} and seed.members()["j"] == (ALIVE, 0)
    for _, body in replies:
        j.step(0.02, "s1", body)
    assert j.alive() == ["j", "m1", "m2", "s1"]
    j.tick(QUIET.join_retry)                       # joined: no more join syncs
    assert not [m for m in j.take_messages() if m[1]["type"] == "gossip_sync"]


def test_a_join_is_retried_until_a_seed_answers() -> None:
    j = Swim("j", ["s1"], random.Random(1), 0.0, QUIET)
    syncs = [t for t, d, b in run_until(j, 3.5) if b["type"] == "gossip_sync"]
    assert syncs == [0.0, 1.0, 2.0, 3.0]


def test_a_full_state_leaves_in_bounded_chunks() -> None:
    t = dataclasses.replace(QUIET, sync_chunk=4)
    a = make("a", [f"p{i}" for i in range(9)], timing=t)
    a.step(0.0, "p1", {"type": "gossip_sync", "entries": [], "reply": True})
    chunks = [b for d, b in a.take_messages()]
    assert [len(b["entries"]) for b in chunks] == [4, 4, 2]
    assert not any(b["reply"] for b in chunks)


def test_soft_state_rides_on_alive_updates_with_a_version() -> None:
    a = make("a", ["b"])
    drain(a)
    a.set_local_state({"ops": 10, "leads": [1, 2]})
    assert a.next_deadline() == 0.0
    a.tick(0.0)
    assert a.soft_state("a") == {"ops": 10, "leads": [1, 2]}
    u = a.pending_updates()["a"][0]
    assert u == [ALIVE, "a", 0, 1, {"leads": [1, 2], "ops": 10}]
    a.set_local_state({"ops": 11, "leads": [1, 2]})
    a.tick(0.5)                                              # within soft_state_interval
    assert a.soft_state("a")["ops"] == 10
    a.tick(QUIET.soft_state_interval)
    assert a.soft_state("a")["ops"] == 11 and a.pending_updates()["a"][0][3] == 2
    a.set_local_state({"ops": 11, "leads": [1, 2]})          # unchanged: no new version
    assert a.next_deadline() > QUIET.soft_state_interval
    b = make("b", ["a"])
    feed(b, [[ALIVE, "a", 0, 2, {"ops": 11}], [ALIVE, "a", 0, 1, {"ops": 10}]])
    assert b.soft_state("a") == {"ops": 11}                  # older version ignored
    feed(b, [[SUSPECT, "a", 0, "c"], [ALIVE, "a", 0, 3, {"ops": 12}]])
    assert b.members()["a"] == (SUSPECT, 0) and b.soft_state("a") == {"ops": 12}
    with pytest.raises(ValueError):
        a.set_local_state({"blob": "x" * QUIET.max_soft_state_bytes})
    with pytest.raises(ValueError):
        a.set_local_state({"bad": object()})
    with pytest.raises(ValueError):
        a.set_local_state([1, 2])


def test_a_restarted_member_learns_its_old_incarnation_and_outbids_it() -> None:
    # The cluster holds x dead at 3; x restarts at 0 (nothing is persisted) and joins.
    seed = make("s", ["x"])
    feed(seed, [[DEAD, "x", 3, "b"]])
    x = Swim("x", ["s"], random.Random(2), 10.0, QUIET)
    x.tick(10.0)
    for dest, body in x.take_messages():
        seed.step(10.01, "x", body)
    assert seed.members()["x"] == (DEAD, 3)                 # alive(x, 0) is stale
    for dest, body in seed.take_messages():
        x.step(10.02, "s", body)
    assert x.incarnation == 4                                # refuted death at 3
    feed(seed, [x.pending_updates()["x"][0]], src="x")
    assert seed.members()["x"] == (ALIVE, 4)


SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 1e9, -1.0]) \
    | st.sampled_from(["", "a", "b", "alive", "suspect", "dead"])
JSONISH = SCALARS | st.lists(SCALARS | st.lists(SCALARS, max_size=5), max_size=5) \
    | st.dictionaries(st.sampled_from(["a", "ops"]), SCALARS, max_size=2)
TYPES = st.sampled_from(["gossip_ping", "gossip_ack", "gossip_ping_req", "gossip_nack",
                         "gossip_push", "gossip_sync", "raft_append", 3, ("gossip_ping",)])


@given(st.lists(st.tuples(TYPES, st.dictionaries(st.sampled_from(
    ["seq", "updates", "entries", "target", "wait", "reply"]), JSONISH, max_size=6)),
    max_size=12))
@settings(max_examples=200, deadline=None)
def test_malformed_messages_never_raise_and_leave_the_rules_intact(msgs) -> None:
    events: list = []
    a = make("a", ["b", "c"], events=events)
    for k, (kind, fields) in enumerate(msgs):
        a.step(float(k), "b", {"type": list(kind) if type(kind) is tuple else kind, **fields})
        a.tick(float(k))
        a.take_messages()
    view = a.members()
    assert view["a"] == (ALIVE, a.incarnation)
    assert all(isinstance(s, str) and isinstance(i, int) for s, i in view.values())


def test_bad_messages_are_reported() -> None:
    events: list = []
    a = make("a", ["b"], events=events)
    a.step(0.0, "b", {"type": "gossip_ping", "seq": "x"})
    a.step(0.0, "b", {"type": "gossip_push", "updates": [["alive", "x", -1, 0]]})
    a.step(0.0, "b", {"type": "gossip_ping_req", "seq": 1, "target": "c", "wait": 1e9})
    assert [e["why"] for e in events if e["event"] == "gossip_bad_message"] == \
        ["seq/updates", "update", "target/wait"]
    assert a.take_messages() == []


def test_timing_from_spec() -> None:
    t = from_spec("probe_interval=1.0, indirect_checks=5, buddy=false")
    assert (t.probe_interval, t.indirect_checks, t.buddy) == (1.0, 5, False)
    for bad in ("nope=1", "buddy=maybe", "indirect_checks=x"):
        with pytest.raises(ValueError):
            from_spec(bad)
