"""Our Server end to end, in virtual time: the bench's runner drives in-process `Server`s
through its network (latency, partitions) with the real lin-kv workload and checker.

Deterministic (one seed -> one history) and fast: no processes, no sleeping. The same
interface (receive/tick/next_deadline) is what the issue-5 simulator drives.
"""

from __future__ import annotations

import json

import pytest

from maelstrom.clock import VirtualClock
from maelstrom.runner import Runner, TestOptions
from node.server import Server
from workloads import WORKLOADS


class ServerHost:
    """The runner's host interface (start/send/flush/poll/stop) over in-process Servers."""

    def __init__(self, clock: VirtualClock, node_ids: list[str], seed: int) -> None:
        self.clock = clock
        self.servers = {n: Server(seed=seed * 100 + i) for i, n in enumerate(node_ids)}
        self.pending: list[tuple[str, bytes]] = []
        self.overlong: list = []

    def start(self) -> None:
        pass

    def _out(self, node: str, envelopes: list[dict]) -> None:
        self.pending.extend((node, json.dumps(e).encode()) for e in envelopes)

    def send(self, node: str, data: bytes) -> None:
        server = self.servers[node]
        for line in data.splitlines():
            self._out(node, server.receive(self.clock.now(), json.loads(line)))

    def flush(self) -> None:
        pass

    def poll(self, timeout: float):
        if not self.pending:
            now = self.clock.now()
            deadlines = [d for d in (s.next_deadline() for s in self.servers.values())
                         if d is not None]
            target = now + max(timeout, 0.0)
            if deadlines and min(deadlines) <= target:
                self.clock.advance_to(max(now, min(deadlines)))
                now = self.clock.now()
                for node, server in self.servers.items():
                    d = server.next_deadline()
                    if d is not None and d <= now:
                        self._out(node, server.tick(now))
            else:
                self.clock.advance_to(target)
        lines, self.pending = self.pending, []
        return lines, []

    def stop(self) -> dict:
        return {}


def run(tmp_path, *, seed: int, nodes: int, **kw):
    fields = dict(workload="lin-kv", bin="(in-process)", node_count=nodes, time_limit=15.0,
                  rate=100.0, concurrency=2 * nodes, latency=10.0, nemesis=["partition"],
                  nemesis_interval=3.0, recovery_time=3.0, seed=seed, quiet=True,
                  store=str(tmp_path / "store"))
    fields.update(kw)
    opts = TestOptions(**fields)
    clock = VirtualClock()
    runner = Runner(opts, WORKLOADS["lin-kv"], clock=clock,
                    host_factory=lambda o, log_dir, log: ServerHost(clock, o.nodes, seed))
    return runner.run()


@pytest.mark.parametrize("nodes, seed", [(3, 1), (3, 2), (5, 1), (5, 3)])
def test_lin_kv_valid_under_partitions(tmp_path, nodes: int, seed: int) -> None:
    result = run(tmp_path, seed=seed, nodes=nodes)
    r = result.results
    assert r["valid?"] is True, r.get("workload")
    stats = r["stats"]
    by_f = stats["by-f"]
    # Real work was done despite the partitions: writes and reads succeeded.
    assert by_f["write"]["ok-count"] > 10 and by_f["read"]["ok-count"] > 10
    # Indefinite outcomes stay rare: the node only leaves a write unanswered when it may commit.
    assert stats["info-count"] <= 0.05 * stats["count"]


def test_virtual_time_run_is_repeatable(tmp_path) -> None:
    a = run(tmp_path, seed=4, nodes=3, time_limit=5.0)
    b = run(tmp_path, seed=4, nodes=3, time_limit=5.0)
    shape = lambda h: [(op.time, op.type, op.process, op.f, op.value) for op in h]  # noqa: E731
    assert shape(a.history) == shape(b.history)


def test_latency_without_faults_is_near_the_network_floor(tmp_path) -> None:
    r = run(tmp_path, seed=2, nodes=5, nemesis=[], time_limit=8.0, recovery_time=0.0).results
    assert r["valid?"] is True
    p50 = r["perf"]["latency"]["all"]["p50"]
    # Floor at 10 ms: 40 ms for a forwarded op (4 one-way trips), 20 ms at the leader.
    # One AppendEntries round in flight per follower costs up to a round trip of waiting.
    assert 20.0 <= p50 <= 62.0, p50
