"""The adversarial fault mix, CI-sized (the full sweep: scripts/sweep_adversarial.py), and proof
that the simulator's invariant oracle bites: the stale-ack variant of issue 8 is caught even
where the linearizability checker sees nothing wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from maelstrom.fault_mix import adversarial_options
from maelstrom.runner import Runner
from workloads import WORKLOADS

STALE_ACKS = str(Path(__file__).parent / "nodes" / "stale_acks.py") + ":StaleAckServer"


def _run(opts, tmp_path):
    opts.store = str(tmp_path / "store")
    return Runner(opts, WORKLOADS["lin-kv"]).run().results


@pytest.mark.parametrize("seed", range(1, 9))
def test_adversarial_mix_is_linearizable_and_keeps_every_invariant(tmp_path, seed: int) -> None:
    r = _run(adversarial_options(seed, time_limit=10.0, sim_node="node.server:Server"), tmp_path)
    assert r["workload"]["valid?"] is True, r["workload"]
    inv = r["invariants"]
    assert inv["valid?"] is True, inv["violations"][:1]
    assert inv["checked-steps"] > 1000
    assert r["nodes"]["valid?"] is True


# A configuration in which the variant confirms reads without a real quorum (found with
# `scripts/sweep_adversarial.py --sim-node tests/nodes/stale_acks.py:StaleAckServer`).
CAUGHT = dict(node_count=3, concurrency=12, rate=200.0, time_limit=60.0, nemesis_interval=1.0,
              loss=0.05, duplicate=0.0, reorder=0.3)


def test_invariant_oracle_catches_the_stale_ack_variant(tmp_path) -> None:
    # About 2 seeds in 5 of this configuration expose the variant (5 of seeds 1-12 at
    # 88d5e60); the first that does ends the search. Any change of the node shifts which
    # seeds do, so the test looks at up to 8 rather than pinning one.
    for seed in range(1, 9):
        r = _run(adversarial_options(seed, sim_node=STALE_ACKS, **CAUGHT), tmp_path / str(seed))
        if r["invariants"]["valid?"] is False:
            break
    inv = r["invariants"]
    assert inv["valid?"] is False
    assert r["valid?"] is False  # the oracle's verdict fails the run
    v = inv["violations"][0]
    assert "must answer AppendEntries sent this term after the read" in v["what"]
    assert v["trail"], "a violation comes with the events that led to it"


def test_the_same_seed_is_clean_with_the_real_node(tmp_path) -> None:
    r = _run(adversarial_options(3, sim_node="node.server:Server", **CAUGHT), tmp_path)
    assert r["invariants"]["valid?"] is True
    assert r["invariants"]["reads-confirmed"] > 100


def test_no_invariants_flag_leaves_the_oracle_out(tmp_path) -> None:
    opts = adversarial_options(1, time_limit=3.0, sim_node="node.server:Server",
                               invariants=False)
    assert "invariants" not in _run(opts, tmp_path)


def test_a_restarted_node_never_serves_a_read_with_its_earlier_life_index(tmp_path) -> None:
    # Seed 186 of the mix with kills (found by `scripts/sweep_adversarial.py --kill
    # --lose-unsynced`): n2 forwarded a read, was killed and started again at once; the leader,
    # paused meanwhile, confirmed the old read later, and its answer (an older index) matched a
    # new read of the new life under the same rid: a stale read. Read contexts now name the
    # node's life.
    opts = adversarial_options(186, time_limit=20.0, sim_node="node.server:Server", kill=True,
                               lose_unsynced=True)
    r = _run(opts, tmp_path)
    assert r["workload"]["valid?"] is True, r["workload"].get("failures")
    assert r["nemesis"]["kills"] >= 10
