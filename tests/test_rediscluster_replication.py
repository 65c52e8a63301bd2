"""Gossip mode's replication (node/rediscluster/replication.py): the primary answers before it
replicates, PSYNC continues a shared history (also across a promotion, through replid2) and
falls back to a full resync that throws away what the replica had beyond the shared history,
and a stream lost in a partition is resent."""

from __future__ import annotations

import json

from node.rediscluster.replication import Replication, execute
from node.rediscluster.timing import GossipTiming

T = GossipTiming()


class Shard:
    """Replication objects wired by hand: `pump` delivers queued messages (through JSON) unless
    the pair is cut."""

    def __init__(self, master: str, replicas: list[str]) -> None:
        self.events: list[dict] = []
        self.nodes = {master: Replication(master, master=None, replid=f"{master}/0", now=0.0,
                                          timing=T, emit=self.events.append)}
        for r in replicas:
            self.nodes[r] = Replication(r, master=master, replid=f"{master}/0", now=0.0,
                                        timing=T, emit=self.events.append)
        self.nodes[master].attach(replicas, 0.0)
        self.queue: list[tuple[str, str, dict]] = []
        self.cut: set[str] = set()

    def send(self, src: str, out: list) -> None:
        self.queue.extend((src, dest, json.loads(json.dumps(body))) for dest, body in out)

    def write(self, node: str, now: float, key, value) -> tuple:
        out: list = []
        result = self.nodes[node].write(now, ["write", key, value], out)
        self.send(node, out)
        return result

    def pump(self, now: float) -> None:
        while self.queue:
            src, dest, body = self.queue.pop(0)
            if src in self.cut or dest in self.cut:
                continue
            out: list = []
            self.nodes[dest].receive(now, src, body, out)
            self.send(dest, out)

    def cron(self, now: float) -> None:
        for name, node in self.nodes.items():
            out: list = []
            node.cron(now, out)
            self.send(name, out)


def test_the_primary_answers_before_its_replicas_have_the_write() -> None:
    shard = Shard("a", ["b", "c"])
    assert shard.write("a", 0.1, "k", 1) == (0, None)
    a, b = shard.nodes["a"], shard.nodes["b"]
    assert a.data == {"k": 1} and a.offset == 1
    assert b.data == {} and b.offset == 0  # the stream is in flight, not awaited
    shard.pump(0.2)
    assert b.data == {"k": 1} and b.offset == 1 and a.links["b"].acked == 1


def test_a_stream_lost_in_a_partition_is_resent_after_it_heals() -> None:
    shard = Shard("a", ["b"])
    shard.cut = {"b"}
    for v in range(3):
        shard.write("a", 0.1, "k", v)
    shard.pump(0.2)
    assert shard.nodes["b"].offset == 0
    shard.cut = set()
    shard.cron(0.2 + T.repl_resend_after)
    shard.pump(0.5)
    assert shard.nodes["b"].data == {"k": 2} and shard.nodes["b"].offset == 3


def test_a_gap_asks_for_a_resend_from_the_replicas_offset() -> None:
    shard = Shard("a", ["b"])
    shard.write("a", 0.1, "k", 1)
    shard.queue.clear()  # the first batch is lost
    shard.write("a", 0.2, "k", 2)
    shard.pump(0.3)      # the second batch reveals the gap; the replica asks from offset 0
    assert shard.nodes["b"].data == {"k": 2} and shard.nodes["b"].offset == 2


def test_promotion_keeps_the_shared_history_continuable() -> None:
    shard = Shard("a", ["b", "c"])
    for v in range(3):
        shard.write("a", 0.1, "k", v)
    shard.pump(0.2)
    b = shard.nodes["b"]
    b.become_primary(1.0)
    assert (b.replid, b.replid2, b.off2) == ("b/1", "a/0", 3)
    # A sibling with the same history continues (no data thrown away).
    out: list = []
    shard.nodes["c"].become_replica(1.1, "b", out)
    shard.send("c", out)
    shard.pump(1.2)
    assert [e for e in shard.events if e["event"] == "full_resync"] == []
    assert shard.nodes["c"].replid == "b/1" and shard.nodes["c"].data == {"k": 2}
    assert "c" in b.links


def test_a_returning_primary_gets_a_full_resync_and_loses_its_unreplicated_writes() -> None:
    shard = Shard("a", ["b"])
    shard.write("a", 0.1, "k", 1)
    shard.pump(0.2)
    shard.cut = {"a"}                            # a is partitioned away
    assert shard.write("a", 0.3, "k", 2) == (0, None)   # acknowledged to the client
    assert shard.write("a", 0.4, "j", 7) == (0, None)
    shard.pump(0.5)
    shard.nodes["b"].become_primary(2.0)         # b is failed over to
    shard.cut = set()
    out: list = []
    shard.nodes["a"].become_replica(5.0, "b", out)   # a rejoins as b's replica
    shard.send("a", out)
    shard.pump(5.1)
    a = shard.nodes["a"]
    assert a.data == {"k": 1} and a.offset == 1 and a.replid == "b/1"
    [resync] = [e for e in shard.events if e["event"] == "full_resync"]
    assert resync["discarded"] == 2 and resync["writes"] == [["k", 2], ["j", 7]]
    assert a.discarded == 2


def test_a_diverged_history_is_never_continued_even_below_the_primarys_offset() -> None:
    shard = Shard("a", ["b"])
    shard.write("a", 0.1, "k", 1)
    shard.pump(0.2)
    shard.cut = {"a"}
    shard.write("a", 0.3, "k", 2)            # a: offset 2, never replicated
    shard.nodes["b"].become_primary(1.0)
    shard.cut = set()
    for v in range(2):
        shard.write("b", 1.1, "x", v)        # b: offset 3 on its own history
    shard.pump(1.2)
    out: list = []
    shard.nodes["a"].become_replica(2.0, "b", out)
    shard.send("a", out)
    shard.pump(2.1)
    a, b = shard.nodes["a"], shard.nodes["b"]
    assert a.data == b.data == {"k": 1, "x": 1} and a.offset == b.offset == 3
    [resync] = [e for e in shard.events if e["event"] == "full_resync"]
    assert resync["discarded"] == 1 and resync["writes"] == [["k", 2]]


def test_a_replica_that_was_behind_continues_without_loss() -> None:
    shard = Shard("a", ["b", "c"])
    shard.cut = {"c"}
    shard.write("a", 0.1, "k", 1)
    shard.pump(0.2)
    shard.nodes["b"].become_primary(1.0)  # b has offset 1, c has 0
    shard.cut = set()
    out: list = []
    shard.nodes["c"].become_replica(1.1, "b", out)
    shard.send("c", out)
    shard.pump(1.2)
    assert shard.nodes["c"].data == {"k": 1}
    assert [e for e in shard.events if e["event"] == "full_resync"] == []


def test_cas_runs_on_the_primary_and_only_its_effect_is_replicated() -> None:
    data: dict = {}
    assert execute(data, ["cas", 1, 0, 2])[:2] == (20, "key does not exist")
    assert execute(data, ["write", 1, 0]) == (0, None, [1, 0])
    assert execute(data, ["cas", 1, 5, 2])[0] == 22
    assert execute(data, ["cas", 1, 0, 2]) == (0, None, [1, 2])
    assert execute(data, ["read", 1]) == (0, 2, None)
    # 1 and 1.0 are the same JSON number; true is not 1.
    assert execute({"k": 1}, ["cas", "k", 1.0, 3])[0] == 0
    assert execute({"k": 1}, ["cas", "k", True, 3])[0] == 22
