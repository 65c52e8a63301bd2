"""The runner loop with in-process nodes in virtual time (no processes, no sleeping).

The nodes are plain handler functions run by the simulator's host (maelstrom/sim.py
`SimHost`), which advances a VirtualClock when nothing is pending: enough to test the loop
itself fast and exactly, including garbage output (handlers return raw lines).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from maelstrom.clock import VirtualClock
from maelstrom.runner import Runner, TestOptions
from maelstrom.sim import SimHost
from workloads import WORKLOADS


def handler_node(handler):
    """A sans-IO node class around `handler(node_id, state, msg) -> [raw output lines]`."""

    class HandlerNode:
        def __init__(self, *, seed, log=None):
            self.state = {}

        def receive(self, now, msg):
            return handler(msg["dest"], self.state, msg)

        def tick(self, now):
            return []

        def next_deadline(self):
            return None

    return HandlerNode


def echo_node(node, state, msg):
    body = msg["body"]
    kind = {"init": "init_ok", "echo": "echo_ok"}.get(body["type"])
    if kind is None:  # e.g. a garbage message another node addressed to us
        return []
    reply = {"type": kind, "in_reply_to": body["msg_id"]}
    if kind == "echo_ok":
        reply["echo"] = body["echo"]
    return [json.dumps({"src": node, "dest": msg["src"], "body": reply}).encode()]


def run(tmp_path, handler=echo_node, seed=1, **kw):
    fields = dict(workload="echo", bin="(in-process)", node_count=3, time_limit=5.0,
                  rate=40.0, concurrency=3, seed=seed, quiet=True, store=str(tmp_path / "store"))
    fields.update(kw)
    opts = TestOptions(**fields)
    clock = VirtualClock()
    runner = Runner(opts, WORKLOADS["echo"], clock=clock,
                    host_factory=lambda o, log_dir, log: SimHost(handler_node(handler), o.nodes,
                                                                 clock, log_dir, o.seed))
    return runner.run()


def shape(history):
    return [(op.time, op.type, op.process, op.f, op.value) for op in history]


def test_virtual_time_run_is_exact_and_repeatable(tmp_path):
    a = run(tmp_path, seed=3)
    b = run(tmp_path, seed=3)
    assert a.exit_code == 0 and a.results["valid?"] is True
    assert shape(a.history) == shape(b.history)
    assert shape(a.history) != shape(run(tmp_path, seed=4).history)
    # rate 40/s for 5 s, staggered: about 200 operations
    assert 150 < a.results["stats"]["count"] < 250
    assert a.history[-1].time <= 5.0e9


def test_time_limit_and_request_timeout_in_virtual_time(tmp_path):
    silent = lambda node, state, msg: echo_node(node, state, msg) if msg["body"]["type"] == "init" else []
    r = run(tmp_path, handler=silent, latency=200.0)  # timeout max(10 x 200 ms, 1 s) = 2 s
    done = [op for op in r.history if op.type != "invoke"]
    assert done and all(op.type == "fail" and op.error.name == "net-timeout" for op in done)
    # idempotent echo: a timeout is a fail (no retirement); each op lasts exactly 2 s
    assert len({op.process for op in done}) == 3
    first = r.history[0]
    assert [op for op in done if op.process == first.process][0].time - first.time == 2_000_000_000
    assert r.results["stats"]["valid?"] is False and r.exit_code == 1


lines = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                      max_size=3),
                 max_leaves=8).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"src": st.sampled_from(["n0", "n1", "c3", "x", 5]),
                           "dest": st.sampled_from(["n0", "n2", "c3", "c0", "zz", None]),
                           "body": st.one_of(st.none(), st.fixed_dictionaries(
                               {"type": st.sampled_from(["echo_ok", "error", "x", 3]),
                                "in_reply_to": st.integers(-2, 5),
                                "code": st.integers(-1, 30)}))}).map(
                                    lambda m: json.dumps(m).encode()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(lines, min_size=1, max_size=6))
def test_garbage_from_a_node_never_crashes_the_bench(tmp_path, garbage):
    def node(node_id, state, msg):
        out = echo_node(node_id, state, msg)
        if node_id == "n0" and msg["body"]["type"] == "echo":
            out = list(garbage) + out
        return out

    r = run(tmp_path, handler=node, time_limit=1.0)
    assert r.results["valid?"] in (True, False)
    for fault in r.results["nodes"]["faults"]:
        assert fault["node"] == "n0"
    assert (r.store / "history.edn").is_file()
