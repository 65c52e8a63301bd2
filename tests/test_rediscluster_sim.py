"""Gossip mode in the bench's deterministic simulator: lin-kv on 9 nodes / 3 shards, the real
workload and linearizability checker. Without faults the history is linearizable; under
partitions Redis Cluster's rules lose acknowledged writes, and on these seeds the checker sees
it: a key's final read returns a value older than writes the old master acknowledged, and the
nodes' logs show those writes thrown away by the old master's full resync after fail-over.

(Seeds found with the sweep in docs/gossip_mode.md; a run is deterministic, so each seed
always gives the same history.)"""

from __future__ import annotations

from maelstrom.runner import Runner, TestOptions
from node.rediscluster.audit import audit, read_events
from workloads import WORKLOADS

NODE = "node.rediscluster.server:GossipServer"


def run(tmp_path, **kw):
    fields = dict(workload="lin-kv", bin="node/run.py", sim=True, sim_node=NODE, node_count=9,
                  time_limit=20.0, rate=100.0, concurrency=18, latency=10.0, nemesis=[],
                  seed=1, quiet=True, store=str(tmp_path / "store"))
    fields.update(kw)
    return Runner(TestOptions(**fields), WORKLOADS["lin-kv"]).run()


def test_without_faults_lin_kv_is_valid(tmp_path) -> None:
    r = run(tmp_path)
    results = r.results
    assert results["valid?"] is True, results.get("workload")
    by_f = results["stats"]["by-f"]
    assert by_f["write"]["ok-count"] > 100 and by_f["read"]["ok-count"] > 300
    assert results["stats"]["info-count"] == 0
    # One primary per shard all along, as the nodes reported it.
    assert results["cluster"]["valid?"] is True
    assert results["cluster"]["leaderships"] == {1: 1, 2: 1, 3: 1}
    summary = audit(read_events(r.store / "node-logs"))
    assert summary["failovers"] == 0 and summary["declared-fail"] == []
    assert summary["writes-discarded"] == 0 and summary["two-primaries"] == []


def test_partitions_lose_acknowledged_writes_and_the_checker_sees_it(tmp_path) -> None:
    # lin-kv, 9 nodes, --nemesis partition --nemesis-interval 3, 60 s, seed 5.
    r = run(tmp_path, time_limit=60.0, nemesis=["partition"], nemesis_interval=3.0, seed=5)
    results = r.results
    assert results["valid?"] is False
    bad = {str(k): v["linearizable"] for k, v in results["workload"]["results"].items()
           if not v["valid?"]}
    assert list(bad) == ["28"]
    culprit, before = bad["28"]["op"], bad["28"]["previous-ok"]
    # A read at the end returns 2 after a read had returned 3 (and nothing can explain 2).
    assert (culprit["f"], culprit["value"], before["value"]) == ("read", 2, 3)
    summary = audit(read_events(r.store / "node-logs"))
    # The old master of key 28's shard (n0) was failed over (by n1, epoch 8) and came back:
    # its full resync, and its replica n2's, threw away the writes to key 28 it had
    # acknowledged after the partition cut it off.
    lost = [d for d in summary["discarded-list"] if any(w[0] == 28 for w in d["writes"])]
    assert {(d["node"], d["master"]) for d in lost} == {("n0", "n1"), ("n2", "n1")}
    assert all(d["discarded"] == 17 for d in lost)
    [fo] = [f for f in summary["failover-list"] if f["node"] == "n1" and f["old_master"] == "n0"
            and f["t"] < lost[0]["t"]][-1:]
    assert fo["config_epoch"] == 8
    assert ["n0", "master"] in summary["declared-fail"]
    assert summary["failovers"] == 7
    # The cluster checker compares leaders per (group, term); Redis' config epochs are
    # unique, so it finds nothing: the loss shows in the history and in the nodes' resyncs.
    assert results["cluster"]["valid?"] is True


def test_more_keys_in_flight_show_it_on_more_seeds(tmp_path) -> None:
    # --concurrency 4n: two keys in flight at a time. Seed 4: one fail-over, 2 writes lost,
    # and the history shows it.
    r = run(tmp_path, time_limit=60.0, nemesis=["partition"], nemesis_interval=3.0, seed=4,
            concurrency=36)
    assert r.results["valid?"] is False
    summary = audit(read_events(r.store / "node-logs"))
    assert summary["failovers"] == 1 and summary["writes-discarded"] == 2
