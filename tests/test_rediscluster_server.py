"""GossipServer end to end, in-process: 9 nodes on a 10 ms network that can be partitioned,
clients at any node. The Redis Cluster behaviours a client sees: routing to the slot's
master, CLUSTERDOWN in the minority after NODE_TIMEOUT, a fail-over in the majority, and the
returning old master turned replica of the new one, with the writes it acknowledged alone
lost. Also the Maelstrom protocol details and the configuration."""

from __future__ import annotations

import heapq
import itertools
import json

import pytest

from node.cluster.config import ClusterConfig, ConfigError
from node.cluster.slots import key_slot
from node.rediscluster.server import GossipServer
from node.rediscluster.timing import GossipTiming

IDS = [f"n{i}" for i in range(9)]
KEY = 7           # slot 7 -> group 1: master n0, replicas n1 and n2
assert key_slot(KEY) <= 5461


class Net:
    """Servers on a network with constant latency; `cut` drops messages between two sides."""

    def __init__(self, n: int = 9, latency: float = 0.01, seed: int = 0, **config) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        self.events: list[dict] = []
        cfg = ClusterConfig(consensus="gossip", **config)
        self.servers = {
            node: GossipServer(seed=seed * 100 + k, config=cfg,
                               log=lambda e: self.events.append(dict(e, t=round(self.now, 4))))
            for k, node in enumerate(self.ids)}
        self.now = 0.0
        self.latency = latency
        self.queue: list = []
        self.seq = itertools.count()
        self.cut: set[tuple[str, str]] = set()
        self.inbox: list[dict] = []
        self.msg_id = 100
        for node in self.ids:
            self.deliver({"src": "c0", "dest": node,
                          "body": {"type": "init", "msg_id": 1, "node_id": node,
                                   "node_ids": self.ids}})

    def push(self, envelopes: list[dict]) -> None:
        for e in envelopes:
            e = json.loads(json.dumps(e))
            if e["dest"].startswith("c"):
                self.inbox.append(e)
            elif (e["src"], e["dest"]) not in self.cut:
                heapq.heappush(self.queue, (self.now + self.latency, next(self.seq), e))

    def deliver(self, e: dict) -> None:
        self.push(self.servers[e["dest"]].receive(self.now, e))

    def run(self, duration: float) -> None:
        end = self.now + duration
        while True:
            t_msg = self.queue[0][0] if self.queue else float("inf")
            due = [(s.next_deadline(), n) for n, s in self.servers.items()
                   if s.next_deadline() is not None]
            t_tick, who = min(due) if due else (float("inf"), None)
            t = min(t_msg, t_tick)
            if t > end:
                self.now = end
                return
            self.now = max(self.now, t)
            if t_msg <= t_tick:
                e = heapq.heappop(self.queue)[2]
                if (e["src"], e["dest"]) not in self.cut:
                    self.deliver(e)
            else:
                self.push(self.servers[who].tick(self.now))

    def partition(self, side: list[str]) -> None:
        other = set(self.ids) - set(side)
        self.cut = {(a, b) for a in side for b in other} | {(b, a) for a in side for b in other}

    def heal(self) -> None:
        self.cut = set()

    def request(self, node: str, body: dict, wait: float = 0.2) -> dict | None:
        self.msg_id += 1
        mid = self.msg_id
        self.deliver({"src": "c1", "dest": node, "body": dict(body, msg_id=mid)})
        self.run(wait)
        replies = [b["body"] for b in self.inbox if b["body"].get("in_reply_to") == mid]
        assert len(replies) <= 1
        return replies[0] if replies else None

    def named(self, event: str, **match) -> list[dict]:
        return [e for e in self.events if e["event"] == event
                and all(e.get(k) == v for k, v in match.items())]


def started(**kw) -> Net:
    net = Net(**kw)
    net.run(2.5)  # past the 2 s writable delay
    return net


# -- without faults ---------------------------------------------------------------------------

def test_any_node_serves_any_key_through_the_slots_master() -> None:
    net = started()
    assert [(e["node"], e["group"], e["term"]) for e in net.named("role", role="leader")] == \
        [("n0", 1, 1), ("n3", 2, 2), ("n6", 3, 3)]
    assert net.request("n5", {"type": "read", "key": KEY})["code"] == 20
    assert net.request("n8", {"type": "write", "key": KEY, "value": 3})["type"] == "write_ok"
    assert net.request("n4", {"type": "cas", "key": KEY, "from": 4, "to": 1})["code"] == 22
    assert net.request("n1", {"type": "cas", "key": KEY, "from": 3, "to": 1})["type"] == "cas_ok"
    for node in IDS:
        assert net.request(node, {"type": "read", "key": KEY}) == \
            {"type": "read_ok", "in_reply_to": net.msg_id, "value": 1,
             "msg_id": pytest.approx(0, abs=10**9)}
    net.run(0.1)
    # The replicas have it (asynchronously), the others do not.
    assert [net.servers[n].repl.data.get(KEY) for n in IDS] == [1, 1, 1] + [None] * 6
    for k in range(30):  # keys of all three shards
        assert net.request(IDS[k % 9], {"type": "write", "key": k, "value": k})["type"] \
            == "write_ok"
    assert net.named("pfail") == [] and net.named("failover") == []


def test_masters_serve_nothing_during_the_writable_delay() -> None:
    net = Net()
    net.run(0.5)
    reply = net.request("n0", {"type": "write", "key": KEY, "value": 1})
    assert reply["code"] == 11 and reply["text"].startswith("CLUSTERDOWN")
    net.run(2.0)
    assert net.request("n0", {"type": "write", "key": KEY, "value": 1})["type"] == "write_ok"


def test_protocol_errors() -> None:
    net = Net()
    s = net.servers["n0"]
    fresh = GossipServer(seed=1)
    [r] = fresh.receive(0.0, {"src": "c1", "dest": "n9", "body": {"type": "read", "key": 1,
                                                                   "msg_id": 5}})
    assert r["body"]["code"] == 11 and r["src"] == "n9"
    [r] = s.receive(0.0, {"src": "c1", "dest": "n0", "body": {"type": "nope", "msg_id": 5}})
    assert r["body"]["code"] == 10
    [r] = s.receive(0.0, {"src": "c1", "dest": "n0", "body": {"type": "write", "key": 1,
                                                               "msg_id": 6}})
    assert r["body"]["code"] == 12
    # Bus messages from strangers or without a header are dropped, never answered.
    assert s.receive(0.0, {"src": "c1", "dest": "n0", "body": {"type": "rc_ping"}}) == []
    assert s.receive(0.0, {"src": "n1", "dest": "n0", "body": {"type": "rc_ping"}}) == []
    assert net.events[-1]["event"] == "bad_bus_message"


def test_cluster_info() -> None:
    net = started()
    info = net.request("n4", {"type": "cluster_info"})
    assert info["type"] == "cluster_info_ok" and info["node"] == "n4" and info["state"] == "ok"
    assert info["slots"] == [[0, 5461, 1], [5462, 10922, 2], [10923, 16383, 3]]
    assert info["owners"] == [[0, 5461, "n0"], [5462, 10922, "n3"], [10923, 16383, "n6"]]
    assert info["groups"]["2"] == {"voters": ["n3", "n4", "n5"], "learners": [],
                                   "leader": "n3", "term": 2, "role": "replica", "commit": 0}
    assert info["groups"]["1"]["role"] is None and info["roles"] == {"2": "replica"}
    assert info["current_epoch"] == 3 and info["config"]["consensus"] == "gossip"
    assert info["nodes"]["n0"]["flags"] == ["master"] and info["nodes"]["n0"]["slots"] == 5462


# -- partitions -------------------------------------------------------------------------------

def test_a_failed_over_master_returns_as_a_replica_and_its_acknowledged_writes_are_lost():
    net = started()
    assert net.request("n0", {"type": "write", "key": KEY, "value": 1})["type"] == "write_ok"
    net.run(0.1)
    cut_at = net.now
    net.partition(["n0"])
    # Cut off, n0 still accepts writes for NODE_TIMEOUT: acknowledged, never replicated.
    assert net.request("n0", {"type": "write", "key": KEY, "value": 2})["type"] == "write_ok"
    assert net.request("n0", {"type": "read", "key": KEY})["value"] == 2
    net.run(1.5)
    # ... and then stops: it cannot reach a majority of masters (state fail: CLUSTERDOWN).
    reply = net.request("n0", {"type": "write", "key": KEY, "value": 3})
    assert reply["code"] == 11 and "CLUSTERDOWN" in reply["text"]
    stopped = net.named("cluster_state", node="n0", state="fail")[0]["t"]
    assert T.node_timeout < stopped - cut_at <= T.node_timeout + 0.6
    net.run(4.0)
    # The majority declared n0 FAIL and one of its replicas won an election of the masters.
    [fo] = net.named("failover")
    new = fo["node"]
    assert new in ("n1", "n2") and fo["old_master"] == "n0" and fo["votes"] == ["n3", "n6"]
    assert fo["config_epoch"] == 4
    assert net.named("role", node=new, role="leader") == \
        [{"event": "role", "role": "leader", "group": 1, "term": 4, "node": new,
          "t": fo["t"]}]
    fails = net.named("fail", peer="n0")
    assert fails and all(e["t"] < fo["t"] for e in fails)
    assert net.request("n4", {"type": "read", "key": KEY})["value"] == 1
    # Heal: n0 learns of the newer configuration, becomes a replica of the new master, and
    # a full resync throws away the write it alone had.
    net.heal()
    net.run(3.0)
    role = net.named("role", node="n0")[-1]
    assert role["role"] == "replica" and role["master"] == new and role["term"] == 4
    [resync] = net.named("full_resync", node="n0")
    assert resync["master"] == new and resync["discarded"] == 1
    assert resync["writes"] == [[KEY, 2]]
    for node in IDS:
        assert net.request(node, {"type": "read", "key": KEY})["value"] == 1
    assert net.servers["n0"].repl.data[KEY] == 1
    assert net.request("n0", {"type": "write", "key": KEY, "value": 5})["type"] == "write_ok"
    net.run(0.1)
    assert net.servers[new].repl.data[KEY] == 5 == net.servers["n0"].repl.data[KEY]


T = GossipTiming()


def test_a_partition_shorter_than_node_timeout_loses_nothing() -> None:
    # Some nodes may flag n0 PFAIL (a ping sent into the partition is answered only after
    # it heals, and suspicion counts from the ping), but no majority of masters reports it
    # within the window, so no FAIL, no fail-over, no loss.
    net = started()
    net.partition(["n0"])
    assert net.request("n0", {"type": "write", "key": KEY, "value": 2})["type"] == "write_ok"
    net.run(0.6)
    net.heal()
    net.run(4.0)
    for event in ("fail", "failover", "full_resync"):
        assert [e for e in net.named(event) if e.get("peer", "n0") == "n0"] == [], event
    suspected = {e["node"] for e in net.named("pfail", peer="n0")}
    assert suspected == {e["node"] for e in net.named("pfail_cleared", peer="n0")}
    for node in IDS:
        assert net.request(node, {"type": "read", "key": KEY})["value"] == 2


def test_fail_is_one_way_a_master_back_in_time_is_failed_over_anyway() -> None:
    # Redis: once a majority of masters declared FAIL, the election goes on even if the
    # master comes back (FAIL is only undone after 2 x NODE_TIMEOUT). Here the partition
    # heals before the election: the write n0 acknowledged meanwhile is streamed to its
    # replicas before one is promoted, so n0 continues as a replica without losing it.
    net = started()
    cut = net.now
    net.partition(["n0"])
    assert net.request("n0", {"type": "write", "key": KEY, "value": 2})["type"] == "write_ok"
    net.run(1.5)
    assert net.named("fail", peer="n0")
    net.heal()
    healed = net.now
    net.run(4.0)
    [fo] = net.named("failover")
    assert fo["old_master"] == "n0" and fo["t"] > healed and fo["t"] - cut < 3.0
    role = net.named("role", node="n0")[-1]
    assert role["role"] == "replica" and role["master"] == fo["node"]
    assert net.named("full_resync") == []
    for node in IDS:
        assert net.request(node, {"type": "read", "key": KEY})["value"] == 2


def test_no_failover_when_the_master_still_reaches_a_majority_of_masters() -> None:
    # n0 keeps n3 (2 of 3 masters) and n3's replicas; n0's replicas are with n6, which alone
    # is no majority: nobody declares n0 FAIL. n6 is declared FAIL on n0's side, but its
    # replicas are cut off from the voters there: no fail-over of n6 either, and with full
    # coverage required, a FAIL master without a successor takes its slots down, so both
    # sides answer CLUSTERDOWN (the spec's "Availability").
    net = started()
    net.partition(["n0", "n3", "n4", "n5"])
    net.run(6.0)
    assert net.named("failover") == [] and net.named("fail", peer="n0") == []
    assert net.named("fail", peer="n6", node="n0")
    assert net.named("failover_scheduled") == []
    for node in ("n0", "n6"):
        reply = net.request(node, {"type": "write", "key": KEY, "value": 9})
        assert reply["code"] == 11 and "CLUSTERDOWN" in reply["text"]
    net.heal()
    net.run(4.0)  # n6's FAIL is undone once it answers again (no fail-over happened)
    assert net.named("fail_cleared", peer="n6", node="n0")
    assert net.request("n0", {"type": "write", "key": KEY, "value": 9})["type"] == "write_ok"


def test_same_seed_same_run() -> None:
    runs = []
    for _ in range(2):
        net = started(seed=3)
        net.partition(["n0", "n1"])
        net.run(5.0)
        runs.append([(e["t"], e["node"], e["event"]) for e in net.events])
    assert runs[0] == runs[1] and any(e[2] == "failover" for e in runs[0])


# -- configuration ----------------------------------------------------------------------------

def test_configure_selects_gossip_and_reads_timing_overrides() -> None:
    assert GossipServer.configure({}) == {"config": ClusterConfig(consensus="gossip")}
    got = GossipServer.configure({"FERRITE_CLUSTER_CONSENSUS": "raft",
                                  "FERRITE_CLUSTER_SHARDS": "3",
                                  "FERRITE_GOSSIP_TIMING": "node_timeout=0.5, max_redirects=3"})
    assert got["config"] == ClusterConfig(consensus="gossip", shards=3)
    assert got["gossip_timing"].node_timeout == 0.5 and got["gossip_timing"].max_redirects == 3
    for bad in ("nope=1", "node_timeout=x", "node_timeout=-1"):
        with pytest.raises(ConfigError, match="FERRITE_GOSSIP_TIMING"):
            GossipServer.configure({"FERRITE_GOSSIP_TIMING": bad})
    # Raft's timing argument is accepted (a driver builds either class the same way).
    GossipServer(seed=1, timing=object(), **GossipServer.configure({}))


def test_overlapping_shard_groups_are_refused_at_init() -> None:
    s = GossipServer(seed=1, config=ClusterConfig(consensus="gossip", shards=3))
    [r] = s.receive(0.0, {"src": "c0", "dest": "n0",
                          "body": {"type": "init", "msg_id": 1, "node_id": "n0",
                                   "node_ids": ["n0", "n1", "n2", "n3", "n4"]}})
    assert r["body"]["code"] == 13 and "at most one shard group" in r["body"]["text"]


def test_five_nodes_default_layout_has_slotless_masters() -> None:
    # 5 nodes, 3 replicas: one group {n0, n1, n2}; n3 and n4 are masters without slots,
    # which neither vote nor count in the quorum (size 1).
    net = started(n=5)
    info = net.request("n3", {"type": "cluster_info"})
    assert info["nodes"]["n3"]["slots"] == 0 and info["nodes"]["n0"]["slots"] == 16384
    assert net.request("n4", {"type": "write", "key": 1, "value": 1})["type"] == "write_ok"
    net.partition(["n0"])
    net.run(6.0)
    # The only master with slots is the only voter: no majority without it, no fail-over.
    assert net.named("failover") == []
