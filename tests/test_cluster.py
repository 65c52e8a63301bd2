"""Cluster mode end to end: shard groups under faults in the simulator, the `cluster` checker
(and a broken Raft it must catch), routing with a stale slot map, cluster_info, coalesced
envelopes, and the configuration's errors in both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from maelstrom.cluster_check import check_cluster
from maelstrom.errors import BenchError
from maelstrom.runner import Runner, TestOptions
from node.cluster.slots import SlotMap, key_slot
from node.server import Server
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
DOUBLE_VOTE = str(ROOT / "tests" / "nodes" / "double_vote.py") + ":DoubleVoteServer"


def run(tmp_path, **kw):
    fields = dict(workload="lin-kv", bin="node/run.py", sim=True, sim_node="node.server:Server",
                  node_count=9, time_limit=20.0, rate=100.0, concurrency=18, latency=10.0,
                  nemesis=["partition"], nemesis_interval=3.0, recovery_time=3.0, seed=1,
                  quiet=True, store=str(tmp_path / "store"))
    fields.update(kw)
    return Runner(TestOptions(**fields), WORKLOADS["lin-kv"]).run().results


# -- end to end --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_nine_nodes_three_shard_groups_valid_under_partitions(tmp_path, seed: int) -> None:
    r = run(tmp_path, seed=seed)
    assert r["valid?"] is True, (r["workload"], r.get("cluster"))
    cluster = r["cluster"]
    assert cluster["valid?"] is True and cluster["epochs"] == [1]
    # The meta group and three shard groups each had a leader; keys spread over all three.
    assert set(cluster["leaderships"]) == {0, 1, 2, 3}
    per_group = cluster["ops-per-group"]
    assert set(per_group) == {"1", "2", "3"}
    total = sum(per_group.values())
    assert all(n > 0.15 * total for n in per_group.values()), per_group
    assert r["invariants"]["valid?"] is True


def test_cluster_checker_catches_two_leaders_in_one_term(tmp_path, monkeypatch) -> None:
    # A Raft that counts each granted vote twice: elected without a majority (which takes a
    # group of 5 voters: with 3, one grant is a majority anyway).
    monkeypatch.setenv("FERRITE_CLUSTER_REPLICAS", "5")
    r = run(tmp_path, sim_node=DOUBLE_VOTE, node_count=5, concurrency=10, time_limit=30.0,
            latency=30.0, latency_dist="exponential", loss=0.1, nemesis_interval=0.5,
            invariants=False)
    cluster = r["cluster"]
    assert cluster["valid?"] is False and r["valid?"] is False
    assert any(e["kind"] == "two-leaders" for e in cluster["errors"]), cluster["errors"]


# -- the checker on its own ---------------------------------------------------------------------

def _leader(node, group, term):
    return {"event": "role", "role": "leader", "node": node, "group": group, "term": term}


def _epoch(node, epoch, digest):
    return {"event": "meta_epoch", "node": node, "epoch": epoch, "digest": digest,
            "slots": [[0, 16383, 1]]}


def test_checker_verdicts() -> None:
    assert check_cluster([]) is None
    ok = check_cluster([_leader("n1", 1, 3), _leader("n2", 1, 4), _leader("n1", 2, 3),
                        _epoch("n1", 1, "a"), _epoch("n2", 1, "a")])
    assert ok["valid?"] is True and ok["leaderships"] == {1: 2, 2: 1}
    # The same node reporting twice is one leader; two nodes are two.
    twice = check_cluster([_leader("n1", 1, 3), _leader("n1", 1, 3), _leader("n2", 1, 3)])
    assert twice["errors"] == [{"kind": "two-leaders", "group": 1, "term": 3,
                                "nodes": ["n1", "n2"]}]
    maps = check_cluster([_epoch("n1", 2, "a"), _epoch("n2", 2, "b")])
    assert maps["valid?"] is False and maps["errors"][0]["kind"] == "maps-differ"


# -- routing, in-process ------------------------------------------------------------------------

class Cluster:
    """Servers in-process on a 5 ms network; clients are 'c*' ids."""

    def __init__(self, n: int, **config) -> None:
        from node.cluster.config import ClusterConfig

        self.ids = [f"n{i}" for i in range(n)]
        cfg = ClusterConfig(**config)
        self.errors: list[dict] = []  # internal errors (bugs): run() fails on any
        self.servers = {i: Server(seed=k + 1, config=cfg, log=self._log)
                        for k, i in enumerate(self.ids)}
        self.now = 0.0
        self.queue: list = []
        self.inbox: list[dict] = []
        self.sent: list[dict] = []
        self.drop = lambda envelope: False  # a cut: matching server messages are lost
        for i in self.ids:
            self.deliver({"src": "c0", "dest": i, "body": {"type": "init", "msg_id": 1,
                                                            "node_id": i, "node_ids": self.ids}})
        self.inbox.clear()  # the init_oks

    def _log(self, event: dict) -> None:
        if event.get("event") == "internal_error":
            self.errors.append(event)

    def deliver(self, env: dict) -> None:
        for e in self.servers[env["dest"]].receive(self.now, env):
            (self.inbox if e["dest"].startswith("c") else self.queue).append(
                (self.now + 0.005, e))
            if not e["dest"].startswith("c"):
                self.sent.append(e)

    def run(self, duration: float) -> None:
        end = self.now + duration
        while True:
            self.queue.sort(key=lambda x: x[0])
            t_msg = self.queue[0][0] if self.queue else float("inf")
            ticks = [(s.next_deadline(), i) for i, s in self.servers.items()
                     if s.next_deadline() is not None]
            t_tick, who = min(ticks) if ticks else (float("inf"), None)
            t = min(t_msg, t_tick)
            assert not self.errors, self.errors[0].get("traceback")
            if t > end:
                self.now = end
                return
            self.now = max(self.now, t)
            if t_msg <= t_tick:
                envelope = self.queue.pop(0)[1]
                if not self.drop(envelope):
                    self.deliver(envelope)
            else:
                for e in self.servers[who].tick(self.now):
                    if e["dest"].startswith("c"):
                        self.inbox.append((self.now, e))
                    else:
                        self.queue.append((self.now + 0.005, e))
                        self.sent.append(e)

    def request(self, node: str, body: dict) -> None:
        self.deliver({"src": "c1", "dest": node, "body": body})

    def replies(self, msg_id: int) -> list[dict]:
        return [e["body"] for _, e in self.inbox if e["body"].get("in_reply_to") == msg_id]


def _key_in_group(server: Server, group: int) -> int:
    return next(k for k in range(10_000) if server.router.group_of(k) == group)


def test_cluster_info_describes_the_layout() -> None:
    c = Cluster(9)
    c.run(2.0)
    c.request("n4", {"type": "cluster_info", "msg_id": 5})
    info = c.replies(5)[0]
    assert info["type"] == "cluster_info_ok" and info["epoch"] == 1
    assert [r[2] for r in info["slots"]] == [1, 2, 3]
    assert info["slots"][0][0] == 0 and info["slots"][-1][1] == 16383
    groups = info["groups"]
    assert set(groups) == {"0", "1", "2", "3"}
    assert len(groups["0"]["voters"]) == 5 and len(groups["0"]["learners"]) == 4
    for g in ("1", "2", "3"):
        assert len(groups[g]["voters"]) == 3
    # n4 is a member of exactly one shard group, and it knows that group's leader.
    mine = [g for g in ("1", "2", "3") if "n4" in groups[g]["voters"]]
    assert len(mine) == 1 and groups[mine[0]]["leader"] in groups[mine[0]]["voters"]
    assert info["roles"]["0"] in ("leader", "follower")


def test_requests_route_to_the_owning_group_from_any_node() -> None:
    c = Cluster(9)
    c.run(2.0)
    n0 = c.servers["n0"]
    msg = 10
    for group in (1, 2, 3):
        key = _key_in_group(n0, group)
        for node in c.ids:  # members and non-members alike
            msg += 1
            c.request(node, {"type": "write", "msg_id": msg, "key": key, "value": msg})
            c.run(0.2)
            assert [b["type"] for b in c.replies(msg)] == ["write_ok"], (group, node)
            msg += 1
            c.request(node, {"type": "read", "msg_id": msg, "key": key})
            c.run(0.2)
            assert c.replies(msg)[0].get("value") == msg - 1, (group, node)
    # Data lives only in the owning group's state machines.
    key1 = _key_in_group(n0, 1)
    holders = {i for i, s in c.servers.items() if 1 in s.shards and s.shards[1].read(key1)[0] == 0}
    assert holders == set(n0.meta.groups[1].voters)
    assert any(e["body"]["type"] == "kv_route" for e in c.sent)


def test_multiraft_coalesces_heartbeats_of_all_groups_into_one_envelope_per_peer() -> None:
    import random

    from node.cluster.multiraft import BATCH, MultiRaft

    hosts = {n: MultiRaft(node_id=n, rng=random.Random(i)) for i, n in enumerate("abc")}
    now = 0.0
    for host in hosts.values():
        for group in (1, 2, 3):  # "a" is every group's first voter: it campaigns at once
            host.add_group(now, group, ["a", "b", "c"])

    def exchange(until: float) -> list[tuple[str, str, dict]]:
        nonlocal now
        seen = []
        while now < until:
            now += 0.001
            for name, host in hosts.items():
                if host.next_deadline() <= now:
                    host.tick(now)
            moved = True
            while moved:
                moved = False
                for name, host in hosts.items():
                    for dest, body in host.take_messages():
                        moved = True
                        seen.append((name, dest, body))
                        for m in body["msgs"] if body["type"] == BATCH else [body]:
                            hosts[dest].step(now, name, m)
        return seen

    exchange(0.5)
    assert all(c.role == "leader" for c in hosts["a"].cores.values())
    idle = exchange(now + 1.0)
    from_a = [(d, b) for s, d, b in idle if s == "a"]
    # Every envelope from the leader of all three groups carries all three groups at once.
    assert from_a and all(b["type"] == BATCH and len(b["msgs"]) == 3 for _, b in from_a)
    assert {m["group"] for _, b in from_a for m in b["msgs"]} == {1, 2, 3}
    # ... and so do the answers.
    answers = [b for s, d, b in idle if d == "a"]
    assert answers and all(b["type"] == BATCH and len(b["msgs"]) == 3 for b in answers)


def test_a_node_with_a_stale_map_is_told_and_the_request_applies_once() -> None:
    c = Cluster(9)
    c.run(2.0)
    origin = next(i for i in c.ids if c.servers[i].meta.member_groups(i) == [3])
    s = c.servers[origin]
    key = _key_in_group(s, 1)
    slot = key_slot(key)
    true_map = s.meta.slots
    s.meta.slots = true_map.with_owner(slot, 2)  # origin now believes group 2 owns the key
    c.request(origin, {"type": "write", "msg_id": 50, "key": key, "value": "x"})
    c.run(0.3)
    moved = [e for e in c.sent if e["body"]["type"] == "kv_route_moved" and e["dest"] == origin]
    assert moved and moved[0]["body"]["owner"] == 1  # group 2's member refused, naming the owner
    assert c.replies(50) == []  # nothing proposed anywhere: still waiting, no definite error
    s.meta.slots = true_map  # the origin catches up
    c.run(0.5)
    assert [b["type"] for b in c.replies(50)] == ["write_ok"]
    leader = c.servers[next(i for i in c.ids if 1 in c.servers[i].raft.cores
                            and c.servers[i].raft.cores[1].role == "leader")]
    core = leader.raft.cores[1]
    copies = [d for i in range(1, core.commit + 1)
              if isinstance(d := core.log.data(i), dict) and d.get("c") == ["write", key, "x"]]
    assert len({(d["o"], d["r"]) for d in copies}) == 1
    assert leader.shards[1].read(key) == (0, "x")


# -- configuration --------------------------------------------------------------------------------

def test_bad_config_stops_the_node_process_at_start(tmp_path) -> None:
    env = dict(os.environ, FERRITE_CLUSTER_SHARDS="zero")
    p = subprocess.run([sys.executable, str(ROOT / "node" / "run.py")], input=b"", env=env,
                       capture_output=True, timeout=30, cwd=tmp_path)
    assert p.returncode == 2
    assert b"FERRITE_CLUSTER_SHARDS" in p.stderr and b"Traceback" not in p.stderr


def test_gossip_mode_is_chosen_by_config_in_both_backends(tmp_path, monkeypatch) -> None:
    from node.rediscluster.server import GossipServer

    assert isinstance(Server(seed=1, **Server.configure({"FERRITE_CLUSTER_CONSENSUS": "gossip"})),
                      GossipServer)
    assert type(Server(seed=1, **Server.configure({}))) is Server
    monkeypatch.setenv("FERRITE_CLUSTER_CONSENSUS", "gossip")
    r = run(tmp_path, node_count=6, concurrency=12, time_limit=5.0, nemesis=[])
    assert r["valid?"] is True and "invariants" not in r  # no Raft cores to watch
    env = dict(os.environ, FERRITE_CLUSTER_CONSENSUS="gossip")
    p = subprocess.Popen([sys.executable, str(ROOT / "node" / "run.py")], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    out, err = p.communicate(b'{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,'
                             b'"node_id":"n1","node_ids":["n1"]}}\n', timeout=30)
    assert b'"init_ok"' in out and p.returncode == 0, err[-500:]


def test_the_simulator_reads_the_same_config(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FERRITE_CLUSTER_SHARDS", "2")
    r = run(tmp_path, node_count=6, concurrency=12, time_limit=5.0, nemesis=[])
    assert set(r["cluster"]["leaderships"]) == {0, 1, 2}
    monkeypatch.setenv("FERRITE_CLUSTER_REPLICAS", "-1")
    with pytest.raises(BenchError, match="FERRITE_CLUSTER_REPLICAS"):
        run(tmp_path, node_count=6, concurrency=12, time_limit=5.0, nemesis=[])


def test_slot_map_json_round_trip_used_by_the_meta_log() -> None:
    m = SlotMap.even([1, 2, 3])
    assert SlotMap.from_json(m.to_json()) == m


def test_checker_counts_moves_resumed_by_a_new_leader() -> None:
    def step(kind, group, t, mig="m1"):
        return {"event": "slot_" + kind, "group": group, "slot": 7, "mig": mig, "t": t}

    def leader(node, group, term, t):
        return {**_leader(node, group, term), "t": t}

    calm = [leader("n1", 1, 1, 0.0), leader("n4", 2, 1, 0.0), step("fence", 1, 1.0),
            step("activate", 2, 2.0), step("drop", 1, 2.5)]
    assert check_cluster(calm)["migrations"]["resumed"] == 0
    # The source's leader changes between the fence and the drop: the new one finished it.
    cut = calm + [leader("n2", 1, 2, 2.2)]
    assert check_cluster(cut)["migrations"]["resumed"] == 1
    # A leader change in an unrelated group, or after the move, is not a resumption.
    other = calm + [leader("n7", 3, 2, 1.5), leader("n2", 1, 2, 3.0)]
    assert check_cluster(other)["migrations"]["resumed"] == 0


def test_a_node_started_again_does_not_collide_with_its_earlier_life() -> None:
    # Request ids count from 1 in each life of a node process. The groups' at-most-once tables
    # still hold the rids of the earlier life (and its watermark): keyed by the node id alone,
    # the new life's first writes were taken for copies of old ones and never applied.
    from test_cluster_migration import _ask

    c = Cluster(9)
    c.run(2.0)
    n0 = c.servers["n0"]
    origin = next(i for i in c.ids if 1 not in c.servers[i].meta.member_groups(i))
    key = _key_in_group(n0, 1)
    for v in range(5):
        assert _ask(c, origin, {"type": "write", "msg_id": 10 + v, "key": key,
                                "value": v})["type"] == "write_ok"
    old_origin = c.servers[origin].origin_id
    # Kill and start again: a new process (another seed) on the same disk, init again.
    c.servers[origin] = Server(seed=99, config=n0.config, log=c._log,
                               disk=c.servers[origin].disk)
    c.deliver({"src": "c0", "dest": origin, "body": {"type": "init", "msg_id": 1,
                                                     "node_id": origin, "node_ids": c.ids}})
    c.run(1.0)
    assert c.servers[origin].origin_id != old_origin
    assert _ask(c, origin, {"type": "write", "msg_id": 30, "key": key,
                            "value": 100})["type"] == "write_ok"
    assert _ask(c, origin, {"type": "cas", "msg_id": 31, "key": key, "from": 100,
                            "to": 101})["type"] == "cas_ok"
    assert _ask(c, "n0", {"type": "read", "msg_id": 32, "key": key})["value"] == 101
