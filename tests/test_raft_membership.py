"""Membership changes in the Raft core (node/raft/membership.py, RaftCore.change_membership,
transfer_leadership): joint consensus under loss, duplication, long delays and partitions, with
the invariant oracle and the randomized tests' own checks after every step; a core that skips
the joint step is caught; learners promoted; a removed leader steps down; TimeoutNow."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from node.raft import quorum
from node.raft.core import LEADER, RaftCore
from node.raft.membership import Membership
from test_raft_random import Cluster, NetConfig, SafetyViolation, _leader
from file_module import import_file

FAULTS = dict(loss=0.05, duplicate=0.05, max_delay=0.03, slow=0.1, slow_delay=1.0)


def _membership_chaos(cluster: Cluster, duration: float, seed: int) -> int:
    """Proposals and reads, and every ~0.3 s a random change of voters (2-4 of the nodes; the
    rest learners) asked of the leader, while partitions come and go."""
    rng = random.Random(seed)
    ids = cluster.ids
    t, changes, k = 0.0, 0, 0
    next_change, next_partition = 0.5, 0.7
    while t < duration:
        t += rng.expovariate(80.0)
        cluster.run_until(t)
        if t >= next_partition:
            next_partition = t + rng.uniform(0.4, 1.2)
            if rng.random() < 0.4:
                cluster.heal()
            else:
                cut = rng.randint(1, len(ids) - 1)
                shuffled = rng.sample(ids, len(ids))
                cluster.partition([shuffled[:cut], shuffled[cut:]])
        if t >= next_change:
            next_change = t + rng.uniform(0.1, 0.5)
            leader = _leader(cluster)
            if leader is not None:
                voters = rng.sample(ids, rng.randint(2, 4))
                learners = [i for i in ids if i not in voters]
                if cluster.cores[leader].change_membership(cluster.now, voters, learners):
                    changes += 1
                cluster._after(leader)
        k += 1
        node = rng.choice(ids)
        if rng.random() < 0.2:  # reads too: some ride to the leader on acks of its appends
            cluster.read_index(node, ("r", k))
        else:
            cluster.propose(node, f"v{k}")
    return changes


@pytest.mark.parametrize("seed", range(8))
def test_joint_consensus_keeps_every_invariant_under_faults(seed: int) -> None:
    cluster = Cluster(5, seed, NetConfig(**FAULTS), learners=2)
    changes = _membership_chaos(cluster, 6.0, seed)
    assert changes >= 2  # the test really changed the membership, more than once
    cluster.heal()
    cluster.net.loss = cluster.net.duplicate = cluster.net.slow = 0.0
    cluster.run_until(cluster.now + 4.0)
    leader = _leader(cluster)
    assert leader is not None
    # Everyone ends in the same, non-joint configuration, and the leader is one of its voters.
    final = cluster.cores[leader].membership
    assert not final.joint and leader in final.voters
    assert all(c.membership == final for c in cluster.cores.values())


def _no_joint_core() -> type:
    path = Path(__file__).parent / "nodes" / "no_joint.py"
    return import_file(path, "no_joint_under_test").NoJointCore


def _split_during_a_change(core_class: type) -> Cluster:
    """Leader n0 of C_old = {n0, n1, n2} (learners n3, n4) is cut off with n3 and n4, and asked
    to make {n0, n3, n4} the voters, while n1 and n2 go on with proposals of their own."""
    cluster = Cluster(5, 4, NetConfig(), learners=2, core_class=core_class)
    cluster.run_until(1.5)
    leader = _leader(cluster)
    assert leader in ("n0", "n1", "n2")
    others = [i for i in ("n0", "n1", "n2") if i != leader]
    new_side = [leader, "n3", "n4"]
    cluster.partition([new_side, others])
    assert cluster.cores[leader].change_membership(cluster.now, new_side, others)
    cluster._after(leader)
    for k in range(40):
        cluster.run_until(cluster.now + 0.05)
        cluster.propose(leader, f"new-side-{k}")
        cluster.propose(others[0], f"old-side-{k}")
    return cluster


def test_a_change_during_a_partition_never_decides_on_both_sides() -> None:
    cluster = _split_during_a_change(RaftCore)  # the oracle raises on any violation
    committed = [d for _, d in cluster.committed]
    # Only the side holding a majority of C_old could decide anything (C_old,new needs both).
    assert not any(isinstance(d, str) and d.startswith("new-side") for d in committed)
    assert any(isinstance(d, str) and d.startswith("old-side") for d in committed)


def test_skipping_the_joint_step_is_caught() -> None:
    with pytest.raises(SafetyViolation, match="committed"):
        _split_during_a_change(_no_joint_core())


def test_membership_arithmetic_while_joint() -> None:
    m = Membership(("a", "b", "c"), (), old=("c", "d", "e"))
    assert m.joint and m.all_voters == ("a", "b", "c", "d", "e")
    # A majority of each set is needed: {a, b, c} is a majority of C_new only.
    assert not m.has_quorum(["a", "b", "c"])
    assert not m.has_quorum(["a", "b", "d"])  # d alone is no majority of C_old
    assert m.has_quorum(["a", "c", "d"]) and m.has_quorum(["b", "c", "d"])
    assert m.quorum_value({"a": 9, "b": 9, "c": 5, "d": 5, "e": 1}) == 5
    assert m.vote_result({"a": True, "b": True}) == quorum.VOTE_PENDING
    assert m.vote_result({"a": True, "b": True, "d": True, "e": True}) == quorum.VOTE_WON
    assert m.vote_result({"d": False, "e": False}) == quorum.VOTE_LOST
    assert Membership.from_entry(m.to_entry()) == m


def _stable(seed: int = 1, n: int = 5, learners: int = 2) -> Cluster:
    cluster = Cluster(n, seed, NetConfig(), learners=learners)
    cluster.run_until(1.5)
    assert _leader(cluster) is not None
    return cluster


def test_learner_is_promoted_and_then_counts() -> None:
    cluster = _stable()
    leader = _leader(cluster)
    core = cluster.cores[leader]
    assert core.change_membership(cluster.now, ["n0", "n1", "n2", "n3"], ["n4"])
    cluster._after(leader)
    cluster.run_until(cluster.now + 0.5)
    assert all(c.membership == Membership(("n0", "n1", "n2", "n3"), ("n4",))
               for c in cluster.cores.values())
    assert not cluster.cores["n3"].is_learner and cluster.cores["n4"].is_learner
    # Four voters: two of them are no majority, on either side of a cut...
    cluster.partition([["n0", "n1"], ["n2", "n3", "n4"]])
    cluster.run_until(cluster.now + 1.0)
    top = max(c.commit for c in cluster.cores.values())
    for node in cluster.ids:
        cluster.propose(node, f"split-{node}")
    cluster.run_until(cluster.now + 1.0)
    assert max(c.commit for c in cluster.cores.values()) == top
    # ... and three are, the promoted n3 among them.
    cluster.partition([["n1"], ["n0", "n2", "n3", "n4"]])
    cluster.run_until(cluster.now + 2.0)
    new = _leader(cluster)
    assert new in ("n0", "n2", "n3")
    assert cluster.propose(new, "with-n3")
    cluster.run_until(cluster.now + 0.5)
    assert "with-n3" in [d for _, d in cluster.committed]


def test_removed_leader_steps_down_and_the_rest_elect() -> None:
    cluster = _stable(learners=0)
    leader = _leader(cluster)
    rest = [i for i in cluster.ids if i != leader]
    assert cluster.cores[leader].change_membership(cluster.now, rest, [])
    cluster._after(leader)
    cluster.run_until(cluster.now + 2.0)
    assert cluster.cores[leader].role != LEADER
    new = _leader(cluster)
    assert new in rest
    assert cluster.cores[new].membership == Membership(tuple(rest), ())


def test_transfer_leadership_with_timeout_now() -> None:
    cluster = _stable(learners=0)
    leader = _leader(cluster)
    target = next(i for i in cluster.ids if i != leader)
    term = cluster.cores[leader].term
    assert not cluster.cores[leader].transfer_leadership(cluster.now, leader)
    assert cluster.cores[leader].transfer_leadership(cluster.now, target)
    cluster._after(leader)
    assert not cluster.propose(leader, "during-transfer")  # refused while handing over
    cluster.run_until(cluster.now + 0.3)
    assert _leader(cluster) == target
    assert cluster.cores[target].term == term + 1
