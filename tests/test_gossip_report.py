"""The `gossip` section of the results (maelstrom/gossip_report.py): declarations counted once
however many nodes heard them, refuted deaths, and a real run in which a partition long enough
for the suspicion timeout makes the cut-off nodes dead until the heal brings them back."""

from __future__ import annotations

from maelstrom.gossip_report import summarize
from maelstrom.runner import Runner, TestOptions
from workloads import WORKLOADS


def _member(observer, node, state, inc, t):
    return {"event": "gossip_member", "observer": observer, "node": node, "state": state,
            "incarnation": inc, "t": t}


def test_declarations_are_counted_once_and_refutations_recognized() -> None:
    assert summarize([]) is None
    events = [_member("n1", "n3", "alive", 0, 0.0), _member("n2", "n3", "alive", 0, 0.0),
              _member("n1", "n3", "suspect", 0, 5.0), _member("n2", "n3", "suspect", 0, 5.2),
              _member("n1", "n3", "dead", 0, 9.0), _member("n2", "n3", "dead", 0, 8.5),
              _member("n1", "n3", "alive", 1, 20.0),
              _member("n1", "n4", "dead", 2, 30.0),
              {"event": "gossip_refute", "observer": "n3", "incarnation": 1},
              {"event": "replacement_proposed", "observer": "n1", "group": 1,
               "node": "n5", "dead": "n4", "t": 41.0}]
    r = summarize(events)
    assert r["suspect-declarations"] == 1 and r["dead-declarations"] == 2
    assert r["dead-refuted"] == 1 and r["refutations"] == 1
    assert r["declared-dead"] == {"n3": {"first-t": 8.5, "times": 1},
                                  "n4": {"first-t": 30.0, "times": 1}}
    assert r["replacements-proposed"] == 1 and r["replacement-examples"][0]["node"] == "n5"
    assert r["members"] == 4  # n3 and n4 seen, by n1 and n2


def test_a_long_partition_shows_as_deaths_refuted_after_the_heal(tmp_path) -> None:
    opts = TestOptions(workload="lin-kv", bin="node/run.py", sim=True,
                       sim_node="node.server:Server", node_count=5, time_limit=30.0, rate=20.0,
                       concurrency=10, latency=5.0, nemesis=["partition"],
                       nemesis_interval=12.0, recovery_time=5.0, seed=5, quiet=True,
                       store=str(tmp_path / "store"))
    r = Runner(opts, WORKLOADS["lin-kv"]).run().results
    g = r["gossip"]
    assert r["valid?"] is True
    assert g["members"] == 5 and g["dead-declarations"] >= 1, g
    assert g["dead-refuted"] >= 1 and g["refutations"] >= 1, g


def test_killed_nodes_are_declared_dead_within_a_bounded_time(tmp_path) -> None:
    opts = TestOptions(workload="lin-kv", bin="node/run.py", sim=True,
                       sim_node="node.server:Server", node_count=9, time_limit=60.0, rate=50.0,
                       concurrency=18, latency=5.0, nemesis=["kill"], nemesis_interval=10.0,
                       recovery_time=5.0, seed=3, quiet=True, store=str(tmp_path / "store"))
    r = Runner(opts, WORKLOADS["lin-kv"]).run().results
    d = r["gossip"]["detection"]
    assert d["kills"] >= 4 and d["first-node"]["count"] >= 3, d
    # A node started again within a suspicion timeout may go unnoticed; no other may.
    assert all(down < 12.0 for down in d["undetected-down-s"]), d
    # Bound: a probe round plus the longest suspicion timeout (no confirmations: 6 x 2 s at
    # 9 members, docs/gossip.md) plus a few periods of dissemination.
    assert d["first-node"]["max"] <= 12.0 + 9 * 0.5 + 2.0, d
    assert d["every-node"]["count"] >= 1 and d["every-node"]["max"] <= 12.0 + 9 * 0.5 + 4.0, d
