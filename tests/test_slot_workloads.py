"""The slot-migration and membership workloads end to end in the simulator: valid with our node
under partitions (moves and changes really done), and each broken variant caught by the
workloads' checkers: a source that writes after its fence, a target that serves before it, and
membership changes without joint consensus (caught through the membership workload's swaps of
two voters, whose new pair is a majority of C_new alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maelstrom.runner import Runner, TestOptions
from workloads import WORKLOADS

BROKEN = str(Path(__file__).parent / "nodes" / "broken_moves.py")
NO_JOINT = str(Path(__file__).parent / "nodes" / "no_joint.py") + ":NoJointServer"


def run(tmp_path, seed: int, sim_node: str = "node.server:Server", **kw) -> dict:
    fields = dict(workload="slot-migration", bin="node/run.py", sim=True, sim_node=sim_node,
                  node_count=9, concurrency=18, rate=100.0, time_limit=20.0, latency=10.0,
                  nemesis=["partition"], nemesis_interval=3.0, recovery_time=5.0, seed=seed,
                  quiet=True, store=str(tmp_path / "store"))
    fields.update(kw)
    return Runner(TestOptions(**fields), WORKLOADS["slot-migration"]).run().results


@pytest.mark.parametrize("seed", [1, 2])
def test_slots_move_under_partitions_and_nothing_is_lost(tmp_path, seed: int) -> None:
    r = run(tmp_path, seed)
    assert r["valid?"] is True, (r["workload"].get("failures"), r["cluster"]["errors"])
    assert r["workload"]["lost-writes"]["count"] == 0
    moves = r["cluster"]["migrations"]
    assert moves["done"] >= 10 and moves["fenced"] >= moves["done"]
    assert r["invariants"]["valid?"] is True


def test_a_source_that_writes_after_its_fence_is_caught(tmp_path) -> None:
    r = run(tmp_path, 1, sim_node=BROKEN + ":LeakyFenceServer")
    assert r["workload"]["valid?"] is False  # writes after the fence never reach the target
    assert r["valid?"] is False


def test_a_target_that_serves_before_the_fence_is_caught(tmp_path) -> None:
    r = run(tmp_path, 1, sim_node=BROKEN + ":EarlyTargetServer")
    # Served before the source fenced it, or served by the target although the source took
    # the slot back: either way two groups served the slot.
    kinds = {e["kind"] for e in r["cluster"]["errors"]}
    assert kinds & {"served-before-fence", "two-outcomes"}, kinds
    assert r["valid?"] is False


def test_a_run_without_moves_is_invalid(tmp_path) -> None:
    from workloads.slot_migration import SlotMigrationWorkload

    r = SlotMigrationWorkload.check([])
    assert r["valid?"] is False and "no slot move" in r["error"]


def test_membership_changes_under_partitions_keep_lin_kv_valid(tmp_path) -> None:
    fields = dict(workload="membership", bin="node/run.py", sim=True,
                  sim_node="node.server:Server", node_count=9, concurrency=18, rate=100.0,
                  time_limit=20.0, latency=10.0, nemesis=["partition"], nemesis_interval=2.0,
                  recovery_time=5.0, seed=1, quiet=True, store=str(tmp_path / "store"))
    r = Runner(TestOptions(**fields), WORKLOADS["membership"]).run().results
    assert r["valid?"] is True, (r["workload"].get("failures"), r["cluster"]["errors"])
    assert r["cluster"]["membership-changes"] >= 10
    assert r["invariants"]["valid?"] is True


def _membership(tmp_path, seed: int, sim_node: str, **kw) -> dict:
    fields = dict(workload="membership", bin="node/run.py", sim=True, sim_node=sim_node,
                  node_count=9, concurrency=18, rate=100.0, time_limit=30.0, latency=10.0,
                  latency_dist="exponential", nemesis=["partition"], nemesis_interval=1.0,
                  nemesis_targets=["leader"], recovery_time=5.0, seed=seed, quiet=True,
                  store=str(tmp_path / str(seed)))
    fields.update(kw)
    return Runner(TestOptions(**fields), WORKLOADS["membership"]).run().results


def test_membership_changes_without_joint_consensus_are_caught(tmp_path) -> None:
    # The invariant oracle is off: the workload's own checkers must see it. The nemesis cuts
    # off a shard group's leader every second, as a swap of two voters is what splits: the
    # old pair and the new pair each elect a leader. About 1 seed in 2 of this configuration
    # splits a group (seeds 1, 5, 6, 7 of 1-8 at c88723a; with random partitions instead,
    # none of 1-8 did); the first that does ends the search.
    for seed in range(1, 9):
        r = _membership(tmp_path, seed, NO_JOINT, invariants=False)
        if r["valid?"] is False:
            break
    assert r["valid?"] is False
    kinds = {e["kind"] for e in r["cluster"]["errors"]}
    assert "two-leaders" in kinds or r["workload"]["valid?"] is False, kinds
    assert r["cluster"]["membership-changes"] > 0


def test_the_same_configuration_is_valid_with_joint_consensus(tmp_path) -> None:
    r = _membership(tmp_path, 1, "node.server:Server")
    assert r["valid?"] is True, (r["workload"].get("failures"), r["cluster"]["errors"])
    assert r["cluster"]["membership-changes"] >= 10
    assert r["invariants"]["valid?"] is True


def test_membership_with_kills_and_lost_unsynced_writes(tmp_path, monkeypatch) -> None:
    # Seed 23 (found by a 30-seed sweep of this configuration): n1, removed from group 1 and
    # added again as a learner, was killed before its new core heard anything and restored it
    # at term 0. That is right (a new member's terms start afresh, and it votes only once caught
    # up); the oracle had compared it with the terms its *removed* core had sent.
    monkeypatch.setenv("FERRITE_CLUSTER_SHARDS", "3")
    r = _membership(tmp_path, 23, "node.server:Server", nemesis=["kill", "partition"],
                    nemesis_targets=[],
                    nemesis_interval=10.0, latency_dist="constant", lose_unsynced=True,
                    time_limit=60.0)
    assert r["valid?"] is True, (r["invariants"]["violations"][:1], r["workload"].get("failures"))
    assert r["nemesis"]["kills"] >= 5 and r["cluster"]["membership-changes"] >= 10
