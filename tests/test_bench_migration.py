"""scripts/bench_migration.py measures correctly moved slots: on both backends, at a tiny size,
a slot of 100 keys moves to another group with every key readable with its value afterwards and
every node's map giving the slot to the target; and its read-back catches a target that serves
a slot without its data (tests/nodes/broken_moves.py). Correctness only: the timings are the
script's to print."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from maelstrom.hosts.sim import load_node_class
from file_module import import_file

ROOT = Path(__file__).resolve().parents[1]
BROKEN = str(ROOT / "tests" / "nodes" / "broken_moves.py")


def _bench():
    return import_file(ROOT / "scripts" / "bench_migration.py", "bench_migration_under_test")


bench = _bench()


@pytest.mark.parametrize("backend,nodes", [("process", 3), ("sim", 9)])
def test_a_moved_slot_keeps_every_key_and_belongs_to_the_target(tmp_path, backend, nodes):
    r = bench.run(backend, 100, nodes=nodes, log_dir=tmp_path / "logs")
    assert r["admin_ok"]
    assert r["filled"] == 100
    assert not math.isnan(r["move_s"])  # the target applied `activate`
    assert r["from"] != r["to"]
    assert r["readable"] == 100
    assert set(r["owners"].values()) == {r["to"]}
    assert r["lat_moving"] and r["lat_other"]  # writes were answered during the move


def test_the_read_back_catches_a_target_that_serves_without_the_data():
    net = bench.SimNet(9, 0.005, server_class=load_node_class(None, BROKEN + ":EarlyTargetServer"))
    r = bench.measure(net, 100)
    assert r["filled"] == 100 and r["admin_ok"]
    assert r["readable"] < 100
