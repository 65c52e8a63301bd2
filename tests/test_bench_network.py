"""The sans-IO network: latency, zero-latency client links, partitions at delivery, stats."""

from __future__ import annotations

import io
import json
import random
import statistics

import pytest

from maelstrom.network import Network


class Sink(io.BytesIO):
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


def net(latency=0.0, dist="constant", journal=None, seed=0) -> Network:
    n = Network(["n0", "n1", "n2"], random.Random(seed), latency_ms=latency, dist=dist,
                journal=journal)
    n.add_client("c0")
    return n


def send(n: Network, now: float, src: str, dest: str, i: int = 0) -> int:
    body = {"type": "x", "i": i}
    raw = json.dumps({"src": src, "dest": dest, "body": body}).encode()
    return n.send(now, src, dest, raw, body)


def test_constant_latency_between_servers_zero_for_clients():
    n = net(latency=100)
    send(n, 0.0, "n0", "n1")
    send(n, 0.0, "c0", "n0")
    assert [(s, d) for s, d, _, _ in n.due(0.0)] == [("c0", "n0")]
    assert n.next_due() == pytest.approx(0.1)
    assert n.due(0.099) == []
    assert [(s, d) for s, d, _, _ in n.due(0.1)] == [("n0", "n1")]
    assert n.next_due() is None


def test_delivery_is_by_time_then_send_order():
    n = net(latency=10)
    for i in range(5):
        send(n, 0.0, "n0", "n1", i)
    send(n, 0.005, "c0", "n0", 99)
    send(n, 0.005, "n1", "n0", 98)
    got = [b["i"] for _, _, _, b in n.due(1.0)]
    assert got == [99, 0, 1, 2, 3, 4, 98]


@pytest.mark.parametrize("dist", ["uniform", "exponential"])
def test_random_latency_distributions_have_the_requested_mean(dist):
    n = net(latency=50, dist=dist, seed=3)
    draws = [n.latency() for _ in range(4000)]
    assert statistics.mean(draws) == pytest.approx(0.05, rel=0.1)
    assert min(draws) >= 0
    if dist == "uniform":
        assert max(draws) <= 0.1


def test_same_seed_same_latencies():
    a, b = net(latency=5, dist="exponential", seed=9), net(latency=5, dist="exponential", seed=9)
    assert [a.latency() for _ in range(50)] == [b.latency() for _ in range(50)]


def test_partition_drops_at_delivery_not_at_send():
    n = net(latency=10)
    send(n, 0.0, "n0", "n1", 1)          # in flight when the partition starts: lost
    n.partition({"n1": frozenset({"n0"})})
    send(n, 0.0, "n1", "n0", 2)          # other direction: delivered
    send(n, 0.001, "n0", "n1", 3)        # sent during the partition, healed before it lands
    assert [b["i"] for _, _, _, b in n.due(0.0105)] == [2]
    n.heal()
    assert [b["i"] for _, _, _, b in n.due(1.0)] == [3]
    assert n.stats.dropped == 1


def test_stats_and_journal():
    sink = Sink()
    n = net(journal=sink)
    send(n, 0.0, "c0", "n0")
    send(n, 0.0, "n0", "c0")
    send(n, 0.0, "n0", "n1")
    n.partition({"n1": frozenset({"n0"})})
    n.due(0.0)
    r = n.stats.result(op_count=1)
    assert r["all"] == {"send-count": 3, "recv-count": 2, "msg-count": 3, "msgs-per-op": 3.0}
    assert r["clients"] == {"send-count": 2, "recv-count": 2, "msg-count": 2}
    assert r["servers"]["send-count"] == 1 and r["servers"]["recv-count"] == 0
    events = sink.lines()
    assert [e["type"] for e in events] == ["send", "send", "send", "recv", "recv"]
    assert [e["id"] for e in events] == [0, 1, 2, 0, 1]
    assert events[0]["message"]["src"] == "c0"


def test_a_relayed_message_is_routed_from_its_sender_and_journaled_with_via():
    """n1 passes client c0's request on to n0 unchanged (src c0): latency, partitions and the
    stats follow n1, the sender; the journal keeps the message as printed, plus `via`."""
    sink = Sink()
    n = net(latency=10, journal=sink)
    body = {"type": "read", "key": 1, "msg_id": 4}
    raw = json.dumps({"src": "c0", "dest": "n0", "body": body}).encode()
    n.send(0.0, "n1", "n0", raw, body, relayed=True)          # from n1's position
    n.send(0.0, "n2", "n0", raw, body, relayed=True)          # the same, relayed by n2
    assert n.due(0.0) == []                                    # not a zero-latency client link
    n.partition({"n0": frozenset({"n1"})})                     # n0 drops what n1 sends
    assert [(s, d) for s, d, _, _ in n.due(0.01)] == [("n2", "n0")]
    assert n.stats.dropped == 1
    r = n.stats.result(op_count=1)
    assert r["servers"]["send-count"] == 2 and r["servers"]["recv-count"] == 1
    assert r["clients"]["send-count"] == 0
    events = sink.lines()
    assert [(e["type"], e.get("via")) for e in events] == [("send", "n1"), ("send", "n2"),
                                                           ("recv", "n2")]
    assert all(e["message"]["src"] == "c0" for e in events)   # who it says it is from
    send(n, 0.02, "n2", "n0")                                  # not relayed: no via
    n.due(1.0)
    assert all("via" not in e for e in sink.lines()[3:])


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        Network(["n0"], random.Random(0), latency_ms=-1)
    with pytest.raises(ValueError):
        Network(["n0"], random.Random(0), dist="pareto")
