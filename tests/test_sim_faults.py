"""The faults beyond partitions: message loss, duplication, reordering (maelstrom/network.py)
and node pauses (maelstrom/nemesis.py PauseNemesis, applied by the simulator)."""

from __future__ import annotations

import io
import json
import random

import pytest

from maelstrom.edn import Keyword
from maelstrom.nemesis import PauseNemesis
from maelstrom.network import Network


def net(seed=0, latency=10.0, **faults) -> Network:
    n = Network(["n0", "n1", "n2"], random.Random(seed), latency_ms=latency,
                fault_rng=random.Random(seed + 1000), journal=io.BytesIO(), **faults)
    n.add_client("c0")
    return n


def send(n: Network, now: float, src: str, dest: str, i: int) -> int:
    body = {"type": "x", "i": i}
    return n.send(now, src, dest, json.dumps({"src": src, "dest": dest, "body": body}).encode(),
                  body)


def delivered(n: Network) -> list[int]:
    return [body["i"] for _, _, _, body in n.due(1e9)]


def test_loss_drops_about_the_given_fraction_of_server_messages():
    n = net(loss=0.3)
    for i in range(4000):
        send(n, 0.0, "n0", "n1", i)
    got = delivered(n)
    assert 0.26 < 1 - len(got) / 4000 < 0.34
    assert n.stats.dropped == 4000 - len(got)
    assert got == sorted(got)  # constant latency, no reordering: send order kept


def test_duplicates_arrive_twice_under_one_id():
    n = net(duplicate=0.5)
    for i in range(2000):
        send(n, 0.0, "n0", "n1", i)
    got = delivered(n)
    extra = len(got) - 2000
    assert 800 < extra < 1200
    assert sorted(set(got)) == list(range(2000))
    recv_ids = [json.loads(line)["id"] for line in n._journal.getvalue().splitlines()
                if line.startswith(b'{"type":"recv"')]
    assert len(recv_ids) == len(got) and len(set(recv_ids)) == 2000


def test_reordering_goes_beyond_latency():
    n = net(reorder=0.2, reorder_delay_ms=500)
    for i in range(1000):
        send(n, i * 0.001, "n0", "n1", i)  # 1 ms apart, 10 ms constant latency
    got = delivered(n)
    assert sorted(got) == list(range(1000))
    overtaken = sum(1 for a, b in zip(got, got[1:]) if a > b)
    assert overtaken > 50  # constant latency alone would never reorder


def test_client_links_are_never_faulty():
    n = net(loss=1.0, duplicate=1.0, reorder=1.0)
    for i in range(100):
        send(n, 0.0, "c0", "n0", i)
        send(n, 0.0, "n0", "c0", 1000 + i)
    got = delivered(n)
    assert got == [j for i in range(100) for j in (i, 1000 + i)]


def test_faults_off_leave_the_latency_draws_untouched():
    plain = Network(["n0", "n1"], random.Random(4), latency_ms=20, dist="exponential")
    faulty = Network(["n0", "n1"], random.Random(4), latency_ms=20, dist="exponential",
                     fault_rng=random.Random(9), loss=0.0, duplicate=0.0, reorder=0.0)
    times = []
    for n in (plain, faulty):
        for i in range(50):
            send(n, 0.0, "n0", "n1", i)
        times.append(sorted(e[0] for e in n._heap))
    assert times[0] == times[1]


def test_same_fault_seed_same_schedule():
    runs = []
    for _ in range(2):
        n = net(seed=7, loss=0.2, duplicate=0.2, reorder=0.2, latency=5.0)
        for i in range(300):
            send(n, i * 0.0005, "n0" if i % 2 else "n2", "n1", i)
        runs.append(delivered(n))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("bad", [dict(loss=-0.1), dict(duplicate=1.5), dict(reorder=2),
                                 dict(reorder_delay_ms=-1)])
def test_bad_fault_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        net(**bad)


def test_pause_nemesis_flip_flops_between_pause_and_resume():
    nodes = ["n0", "n1", "n2", "n3", "n4"]
    nem = PauseNemesis(nodes, 5.0, random.Random(3))
    seen = []
    now = 0.0
    for _ in range(40):
        f, inv, done, affected = nem.step(now)
        seen.append(f)
        if f == "pause":
            assert inv in (Keyword("one"), Keyword("minority"))
            assert done == affected and 1 <= len(affected) <= 2
            assert len(affected) == (1 if inv == Keyword("one") else 2)
            assert affected == [n for n in nodes if n in affected]  # node order
            assert nem.paused == affected
        else:
            assert inv == Keyword("all") and done == affected and nem.paused == []
        assert now <= nem.next_at <= now + 10.0
        now = nem.next_at
    assert seen == ["pause", "resume"] * 20


def test_pauses_in_a_run_are_recorded_and_resumed_before_final_reads(tmp_path):
    from maelstrom.runner import Runner, TestOptions
    from workloads import WORKLOADS

    opts = TestOptions(workload="lin-kv", sim=True, sim_node="node.server:Server",
                       node_count=3, concurrency=6, time_limit=8.0, rate=30.0, latency=5.0,
                       nemesis=["pause"], nemesis_interval=1.0, seed=2, quiet=True,
                       recovery_time=1.0, store=str(tmp_path))
    r = Runner(opts, WORKLOADS["lin-kv"]).run()
    nem = [op for op in r.history if op.process == "nemesis"]
    assert nem[0].f == "pause" and nem[0].value in (Keyword("one"), Keyword("minority"))
    # invocation + completion pairs alternating pause, resume, ...; the last resume comes at
    # the end, before the final reads
    fs = [op.f for op in nem]
    assert fs[::2] == fs[1::2]
    assert fs[::2] == ["pause", "resume"] * (len(fs) // 4) and len(fs) >= 8
    assert nem[-1].f == "resume"
    finals = [op for op in r.history if op.process != "nemesis" and op.time > nem[-1].time]
    assert finals and r.results["valid?"] is True
    assert "nemesis: pause" in (r.store / "bench.log").read_text()
