"""Gossip mode's Redis Cluster rules, one at a time, on single nodes' state machines
(node/rediscluster/view.py, failover.py, bus.py): failure detection (PFAIL, failure reports
from masters within the validity window, FAIL), votes (one per epoch, the 2 x NODE_TIMEOUT
rule, only for a replica whose master is FAIL, not for stale configurations), elections
(rank delay, majority of masters), and slot ownership (the greater config epoch wins, UPDATE,
the role switch of a master that lost its last slot).

The cluster is the 9-node one the simulator runs: groups {n0,n1,n2} {n3,n4,n5} {n6,n7,n8},
masters n0, n3, n6 with config epochs 1, 2, 3; so a majority of masters is 2."""

from __future__ import annotations

import json
import random

import pytest

from node.cluster.config import ClusterConfig
from node.rediscluster.bus import ClusterBus
from node.rediscluster.failover import Election, grant_vote, replica_rank
from node.rediscluster.server import initial_view
from node.rediscluster.timing import GossipTiming
from node.rediscluster.view import FAIL, MASTER, PFAIL, REPLICA

IDS = [f"n{i}" for i in range(9)]
T = GossipTiming()
GROUP1 = ((0, 5461),)  # the slots of n0's group


class Node:
    """One node's bus, with its emitted events and a settable offset / data age."""

    def __init__(self, me: str, now: float = 0.0, seed: int = 1) -> None:
        self.offset = 0
        self.data_age = 0.0
        self.events: list[dict] = []
        self.view = initial_view(me, IDS, ClusterConfig(consensus="gossip"))
        self.bus = ClusterBus(self.view, timing=T, rng=random.Random(seed), now=now,
                              emit=self.events.append, offset=lambda: self.offset,
                              data_age=lambda now: self.data_age)

    def body(self, kind: str, gossip=(), **extra) -> dict:
        """A message from this node, through JSON as on the wire."""
        body = self.bus.header(kind)
        if kind in ("rc_ping", "rc_pong"):
            body["g"] = [list(g) for g in gossip]
        body.update(extra)
        return json.loads(json.dumps(body))

    def sent(self, kind: str) -> list[tuple[str, dict]]:
        return [(d, b) for d, b in self.bus.out if b["type"] == kind]

    def named(self, event: str) -> list[dict]:
        return [e for e in self.events if e["event"] == event]


def peers() -> dict[str, Node]:
    return {n: Node(n) for n in IDS}


def pfail_n0(obs: Node, nodes: dict[str, Node]) -> float:
    """Make `obs` flag n0 PFAIL the honest way: its pings to n0 go unanswered for longer than
    NODE_TIMEOUT while everyone else answers. Returns the time it happened."""
    t = 0.0
    while not obs.view.nodes["n0"].pfail:
        t = round(t + T.cron_interval, 3)
        obs.bus.out.clear()
        obs.bus.cron(t)
        for dest, body in list(obs.bus.out):
            if body["type"] == "rc_ping" and dest != "n0":
                obs.bus.receive(t + 0.02, dest, nodes[dest].body("rc_pong", ack=True))
        assert t < 3.0
    return t


# -- PFAIL ------------------------------------------------------------------------------------

def test_pfail_after_an_unanswered_ping_older_than_node_timeout() -> None:
    nodes = peers()
    obs = nodes["n4"]
    t = pfail_n0(obs, nodes)
    ping_sent = 0.6  # the first cron after NODE_TIMEOUT/2 without a pong pings everyone
    assert t - ping_sent > T.node_timeout and t - ping_sent <= T.node_timeout + T.cron_interval
    assert [e["peer"] for e in obs.named("pfail")] == ["n0"]  # the others answered
    # A pong that answers our ping clears it.
    obs.bus.receive(t + 0.1, "n0", nodes["n0"].body("rc_pong", ack=True))
    assert not obs.view.nodes["n0"].pfail and obs.named("pfail_cleared")


def test_traffic_from_a_node_keeps_it_from_pfail_even_without_pongs() -> None:
    # Redis' node_delay = min(ping delay, data delay): a node we hear from is not failing,
    # even if our pings to it are lost (a one-way partition).
    nodes = peers()
    obs = nodes["n4"]
    t = 0.0
    while t < 3.0:
        t = round(t + T.cron_interval, 3)
        obs.bus.cron(t)
        obs.bus.receive(t + 0.01, "n0", nodes["n0"].body("rc_ping"))  # n0 pings us
    assert not obs.view.nodes["n0"].pfail
    assert "n0" not in [e["peer"] for e in obs.named("pfail")]
    assert obs.view.nodes["n0"].ping_sent is not None  # our pings were never answered
    assert obs.view.nodes["n3"].pfail  # a peer that was silent too is suspected


# -- PFAIL -> FAIL ----------------------------------------------------------------------------

def flag(node: str, flags: int) -> list:
    return [node, flags]


def test_fail_needs_reports_from_a_majority_of_masters_within_the_validity_window() -> None:
    nodes = peers()
    obs = nodes["n4"]  # a replica: it does not count itself
    t = pfail_n0(obs, nodes)
    suspect = [flag("n0", MASTER | PFAIL)]
    # One master's report: 1 < 2.
    obs.bus.receive(t, "n3", nodes["n3"].body("rc_ping", suspect))
    assert obs.view.nodes["n0"].pfail and not obs.view.nodes["n0"].fail
    # Replicas' reports do not count, however many.
    for replica in ("n5", "n7", "n8", "n1", "n2"):
        obs.bus.receive(t, replica, nodes[replica].body("rc_ping", suspect))
    assert not obs.view.nodes["n0"].fail
    # The second master's report comes after the first one expired (2 x NODE_TIMEOUT).
    late = t + T.fail_report_validity + 0.1
    obs.bus.receive(late, "n6", nodes["n6"].body("rc_ping", suspect))
    assert not obs.view.nodes["n0"].fail
    assert sorted(obs.view.nodes["n0"].fail_reports) == ["n6"]
    # A master that now says n0 is fine withdraws its report.
    obs.bus.receive(late, "n6", nodes["n6"].body("rc_ping", [flag("n0", MASTER)]))
    assert obs.view.nodes["n0"].fail_reports == {}
    # Two valid reports: FAIL, and a FAIL message to everybody.
    obs.bus.out.clear()
    obs.bus.receive(late + 0.1, "n6", nodes["n6"].body("rc_ping", suspect))
    assert not obs.view.nodes["n0"].fail
    obs.bus.receive(late + 0.2, "n3", nodes["n3"].body("rc_pong", [flag("n0", MASTER | FAIL)]))
    assert obs.view.nodes["n0"].fail and not obs.view.nodes["n0"].pfail
    assert sorted(d for d, b in obs.sent("rc_fail") if b["node"] == "n0") == \
        sorted(set(IDS) - {"n4"})
    assert obs.named("fail")[0]["reports"] == ["n3", "n6"]


def test_a_master_counts_its_own_suspicion() -> None:
    nodes = peers()
    obs = nodes["n6"]
    t = pfail_n0(obs, nodes)
    obs.bus.receive(t, "n3", nodes["n3"].body("rc_ping", [flag("n0", MASTER | PFAIL)]))
    assert obs.view.nodes["n0"].fail  # n3's report + n6 itself = 2


def test_no_fail_without_our_own_pfail() -> None:
    nodes = peers()
    obs = nodes["n4"]
    for master in ("n3", "n6"):
        obs.bus.receive(0.5, master, nodes[master].body("rc_ping", [flag("n0", MASTER | PFAIL)]))
    assert len(obs.view.nodes["n0"].fail_reports) == 2 and not obs.view.nodes["n0"].fail


def test_a_fail_message_forces_fail() -> None:
    nodes = peers()
    obs = nodes["n4"]
    obs.bus.receive(0.5, "n7", nodes["n7"].body("rc_fail", node="n0"))
    assert obs.view.nodes["n0"].fail and obs.named("fail")[0]["via"] == "n7"


def test_fail_of_a_master_with_slots_is_cleared_only_after_the_undo_time() -> None:
    nodes = peers()
    obs = nodes["n4"]
    obs.bus.receive(1.0, "n7", nodes["n7"].body("rc_fail", node="n0"))
    obs.bus.cron(1.1)  # pings n0
    obs.bus.receive(1.2, "n0", nodes["n0"].body("rc_pong", ack=True))
    assert obs.view.nodes["n0"].fail  # reachable again, but it still serves slots
    obs.bus.cron(3.2)
    obs.bus.receive(3.3, "n0", nodes["n0"].body("rc_pong", ack=True))
    assert not obs.view.nodes["n0"].fail  # 2 x NODE_TIMEOUT and no fail-over: cleared
    # A replica's FAIL is cleared as soon as it answers.
    obs.bus.receive(3.4, "n7", nodes["n7"].body("rc_fail", node="n1"))
    obs.bus.cron(4.0)
    obs.bus.receive(4.1, "n1", nodes["n1"].body("rc_pong", ack=True))
    assert not obs.view.nodes["n1"].fail


# -- votes ------------------------------------------------------------------------------------

def auth_request(replica: Node, epoch: int) -> dict:
    replica.view.current_epoch = epoch
    return replica.body("rc_auth_req")


def acks(voter: Node, to: str) -> int:
    return sum(1 for d, _ in voter.sent("rc_auth_ack") if d == to)


def test_a_master_votes_once_per_epoch_and_not_twice_for_one_master_within_2x_node_timeout():
    nodes = peers()
    voter = nodes["n3"]
    # No FAIL yet (PFAIL is not enough): no vote.
    voter.view.nodes["n0"].pfail = True
    voter.bus.receive(1.0, "n1", auth_request(nodes["n1"], 4))
    assert acks(voter, "n1") == 0
    voter.bus.receive(1.0, "n7", nodes["n7"].body("rc_fail", node="n0"))
    voter.bus.receive(1.1, "n1", auth_request(nodes["n1"], 5))
    assert acks(voter, "n1") == 1 and voter.view.last_vote_epoch == 5
    # Another replica of n0 in the same epoch: silence.
    voter.bus.receive(1.2, "n2", auth_request(nodes["n2"], 5))
    assert acks(voter, "n2") == 0
    # A later epoch, but within 2 x NODE_TIMEOUT of the vote for a replica of n0: silence.
    voter.bus.receive(2.0, "n2", auth_request(nodes["n2"], 6))
    assert acks(voter, "n2") == 0
    # After 2 x NODE_TIMEOUT, in a new epoch: granted.
    voter.bus.receive(1.1 + 2 * T.node_timeout + 0.1, "n2", auth_request(nodes["n2"], 7))
    assert acks(voter, "n2") == 1
    # An old epoch is never answered.
    voter.bus.receive(9.0, "n1", auth_request(nodes["n1"], 6))
    assert acks(voter, "n1") == 1


def test_one_vote_per_epoch_even_for_replicas_of_different_masters() -> None:
    nodes = peers()
    voter = nodes["n3"]
    for failed in ("n0", "n6"):
        voter.bus.receive(1.0, "n4", nodes["n4"].body("rc_fail", node=failed))
    voter.bus.receive(1.1, "n1", auth_request(nodes["n1"], 5))   # a replica of n0
    voter.bus.receive(1.2, "n7", auth_request(nodes["n7"], 5))   # a replica of n6, same epoch
    assert (acks(voter, "n1"), acks(voter, "n7")) == (1, 0)
    voter.bus.receive(1.3, "n7", auth_request(nodes["n7"], 6))   # its next epoch
    assert acks(voter, "n7") == 1


def test_replicas_and_stale_configurations_get_no_vote() -> None:
    view = initial_view("n3", IDS, ClusterConfig(consensus="gossip"))
    view.nodes["n0"].fail = True
    view.current_epoch = 4
    assert grant_vote(view, 1.0, T, "n1", 4, 1, GROUP1) is None
    # The slots now belong to n2 with config epoch 5: a request carrying epoch 1 is stale.
    for slot in range(0, 5462):
        view.assign(slot, "n2")
    view.nodes["n2"].master, view.nodes["n2"].config_epoch = True, 5
    assert grant_vote(view, 1.0, T, "n1", 4, 1, GROUP1).startswith("slot 0 has a newer")
    # A replica never votes.
    replica = initial_view("n4", IDS, ClusterConfig(consensus="gossip"))
    replica.nodes["n0"].fail = True
    assert grant_vote(replica, 1.0, T, "n1", 4, 1, GROUP1) == "not a master with slots"


# -- elections --------------------------------------------------------------------------------

def test_replica_rank_delays_the_election_by_a_second_per_better_sibling() -> None:
    for my_offset, sibling_offset, rank in [(9, 5, 0), (5, 5, 0), (5, 9, 1)]:
        delays = []
        for seed in range(30):
            node = Node("n1", seed=seed)
            node.offset = my_offset
            node.view.nodes["n2"].repl_offset = sibling_offset
            node.view.nodes["n0"].fail = True
            action = node.bus.election.step(10.0, node.view, T, random.Random(seed),
                                            my_offset, 0.0)
            assert action.kind == "scheduled" and action.rank == rank
            delays.append(action.delay)
        low = T.failover_fixed_delay + rank * T.failover_rank_delay
        assert all(low <= d < low + T.failover_random_delay for d in delays), delays
        assert max(delays) - min(delays) > 0.3  # the random part desynchronises replicas


def test_a_better_sibling_learned_later_pushes_the_election_back() -> None:
    view = initial_view("n1", IDS, ClusterConfig(consensus="gossip"))
    view.nodes["n0"].fail = True
    e = Election()
    first = e.step(0.0, view, T, random.Random(1), 5, 0.0)
    assert first.rank == 0
    view.nodes["n2"].repl_offset = 8
    assert e.step(0.1, view, T, random.Random(1), 5, 0.0) is None
    assert e.auth_time == pytest.approx(first.delay + T.failover_rank_delay)
    assert replica_rank(view, 5) == 1


def test_election_needs_fail_and_a_majority_of_masters() -> None:
    view = initial_view("n1", IDS, ClusterConfig(consensus="gossip"))
    e = Election()
    rng = random.Random(1)
    view.nodes["n0"].pfail = True
    assert e.step(0.0, view, T, rng, 0, 0.0) is None  # PFAIL alone: nothing
    view.nodes["n0"].fail = True
    scheduled = e.step(0.0, view, T, rng, 0, 0.0)
    assert e.step(scheduled.delay - 0.01, view, T, rng, 0, 0.0) is None  # not yet
    request = e.step(scheduled.delay, view, T, rng, 0, 0.0)
    assert request.kind == "request" and request.epoch == 4 == view.current_epoch
    # Acks: only masters with slots, only of this epoch, each voter once.
    assert not e.ack(view, "n4", 4)          # a replica
    assert not e.ack(view, "n3", 3)          # an older epoch
    assert e.ack(view, "n3", 4) and e.ack(view, "n3", 4)
    assert e.step(scheduled.delay + 0.1, view, T, rng, 0, 0.0) is None  # 1 voter of 3 masters
    assert e.ack(view, "n6", 4)
    won = e.step(scheduled.delay + 0.2, view, T, rng, 0, 0.0)
    assert won.kind == "won" and won.epoch == 4


def test_an_election_without_a_majority_expires_and_is_retried_later() -> None:
    view = initial_view("n1", IDS, ClusterConfig(consensus="gossip"))
    view.nodes["n0"].fail = True
    e = Election()
    rng = random.Random(2)
    start = e.step(0.0, view, T, rng, 0, 0.0).delay
    assert e.step(start, view, T, rng, 0, 0.0).kind == "request"
    assert e.ack(view, "n3", 4)
    assert e.step(start + T.auth_timeout + 0.1, view, T, rng, 0, 0.0) is None  # expired
    assert e.blocked == "expired"
    retry = e.step(start + T.auth_retry_time + 0.1, view, T, rng, 0, 0.0)
    assert retry.kind == "scheduled" and e.voters == set()


def test_a_replica_with_too_old_data_does_not_fail_over() -> None:
    view = initial_view("n1", IDS, ClusterConfig(consensus="gossip"))
    view.nodes["n0"].fail = True
    limit = T.node_timeout + T.repl_ping_period + T.node_timeout * T.replica_validity_factor
    assert Election().step(0.0, view, T, random.Random(1), 0, limit - 0.1) is not None
    e = Election()
    assert e.step(0.0, view, T, random.Random(1), 0, limit + 0.1) is None
    assert e.blocked == "data-age"


# -- slots and config epochs -----------------------------------------------------------------

def test_the_greater_config_epoch_wins_a_slot_claim() -> None:
    view = initial_view("n4", IDS, ClusterConfig(consensus="gossip"))
    n1 = view.nodes["n1"]
    n1.master, n1.replica_of, n1.config_epoch = True, None, 1  # (the bus sets what headers say)
    # Equal or smaller epochs change nothing.
    assert view.update_slots_config("n1", 1, GROUP1).rebound == 0
    assert view.owner(0) == "n0"
    n1.config_epoch = 4
    upd = view.update_slots_config("n1", 4, GROUP1)
    assert upd.rebound == 5462 and view.owner(0) == view.owner(5461) == "n1"
    assert view.count("n0") == 0 and view.ranges_of("n1") == GROUP1
    # The old master's claim (epoch 1) loses, and it gets an UPDATE about the winner.
    assert view.update_slots_config("n0", 1, GROUP1).rebound == 0
    assert view.stale_claim("n0", 1, GROUP1) == "n1"
    assert view.stale_claim("n1", 4, GROUP1) is None


def test_a_master_that_lost_its_last_slot_replicates_the_winner() -> None:
    for me in ("n0", "n2"):  # the old master, and a replica of it
        view = initial_view(me, IDS, ClusterConfig(consensus="gossip"))
        view.nodes["n1"].master, view.nodes["n1"].replica_of = True, None
        assert view.update_slots_config("n1", 4, GROUP1).new_master == "n1"
    # A replica of another master only rebinds.
    view = initial_view("n4", IDS, ClusterConfig(consensus="gossip"))
    view.nodes["n1"].master = True
    assert view.update_slots_config("n1", 4, GROUP1).new_master is None


def test_a_stale_master_is_sent_an_update_and_becomes_a_replica() -> None:
    nodes = peers()
    new, obs, old = nodes["n1"], nodes["n4"], nodes["n0"]
    # n1 won epoch 4 and says so.
    new.view.myself.master, new.view.myself.replica_of = True, None
    new.view.myself.config_epoch = new.view.current_epoch = 4
    for slot in range(0, 5462):
        new.view.assign(slot, "n1")
    obs.bus.receive(1.0, "n1", new.body("rc_pong"))
    assert obs.view.owner(0) == "n1" and obs.view.nodes["n1"].config_epoch == 4
    # The old master still claims the slots with epoch 1: n4 sends it an UPDATE about n1.
    obs.bus.out.clear()
    obs.bus.receive(2.0, "n0", old.body("rc_ping"))
    updates = obs.sent("rc_update")
    assert [(d, b["node"], b["node_cfg"], b["node_slots"]) for d, b in updates] == \
        [("n0", "n1", 4, [[0, 5461]])]
    assert obs.view.owner(0) == "n1"
    old.bus.receive(2.1, "n4", json.loads(json.dumps(updates[0][1])))
    assert old.bus.changes == [("replicate", "n1")]
    assert not old.view.myself.master and old.view.myself.replica_of == "n1"
    assert old.view.owner(0) == "n1"
    # Its next heartbeat says it is a replica of n1: n4 frees nothing more and sends nothing.
    obs.bus.out.clear()
    obs.bus.receive(2.2, "n0", old.body("rc_ping"))
    assert not obs.view.nodes["n0"].master and obs.view.nodes["n0"].replica_of == "n1"
    assert obs.sent("rc_update") == []


def test_config_epoch_collision_moves_the_smaller_node_id() -> None:
    nodes = peers()
    a, b = nodes["n3"], nodes["n6"]
    # Two masters with one config epoch (a manual TAKEOVER or resharding can cause it).
    b.view.myself.config_epoch = a.view.nodes["n6"].config_epoch = 2
    a.bus.receive(1.0, "n6", b.body("rc_ping"))
    assert a.view.myself.config_epoch == 4 and a.view.current_epoch == 4
    assert a.named("config_epoch_collision")
    b2 = Node("n6")
    b2.view.myself.config_epoch = 2
    b2.view.nodes["n6"].config_epoch = 2
    b2.bus.receive(1.0, "n3", Node("n3").body("rc_ping"))
    assert b2.view.myself.config_epoch == 2  # the greater id keeps its epoch


def test_gossip_sections_carry_a_few_random_nodes_and_every_pfail_node() -> None:
    nodes = peers()
    obs = nodes["n4"]
    pfail_n0(obs, nodes)
    obs.bus.out.clear()
    obs.bus.cron(5.0)
    pings = obs.sent("rc_ping")
    assert pings
    for _, body in pings:
        g = body["g"]
        names = [n for n, _ in g]
        assert names[-1] == "n0" and g[-1][1] == MASTER | PFAIL
        assert len(names) == 3 + 1 and "n4" not in names and len(set(names)) == len(names)
        assert all(f & (MASTER | REPLICA) for _, f in g)
