"""The runner loop with in-process nodes in virtual time (no processes, no sleeping).

The nodes are plain handler functions run by the simulator's host (maelstrom/hosts/sim.py
`SimHost`), which advances a VirtualClock when nothing is pending: enough to test the loop
itself fast and exactly, including garbage output (handlers return raw lines).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from maelstrom.clock import VirtualClock
from maelstrom.runner import Runner, TestOptions
from maelstrom.hosts.sim import SimHost
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
    kind = {"init": "init_ok", "echo": "echo_ok"}.get(body.get("type"))
    if kind is None:  # e.g. a garbage message another node addressed to us
        return []
    reply = {"type": kind, "in_reply_to": body["msg_id"]}
    if kind == "echo_ok":
        reply["echo"] = body["echo"]
    return [json.dumps({"src": node, "dest": msg["src"], "body": reply}).encode()]


def run(tmp_path, handler=echo_node, seed=1, node_cls=None, **kw):
    fields = dict(workload="echo", bin="(in-process)", node_count=3, time_limit=5.0,
                  rate=40.0, concurrency=3, seed=seed, quiet=True, store=str(tmp_path / "store"))
    fields.update(kw)
    opts = TestOptions(**fields)
    clock = VirtualClock()
    runner = Runner(opts, WORKLOADS["echo"], clock=clock,
                    host_factory=lambda o, log_dir, log: SimHost(node_cls or handler_node(handler),
                                                                 o.nodes, clock, log_dir, o.seed))
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


# -- which lines are messages: Maelstrom's rules (process.clj parse-msg, net.clj Message) --------

ENVELOPES = [  # (what n0 prints on its first echo, the fault's reason or None)
    ({"src": "n0", "dest": "n1", "body": {"note": 1}}, None),            # no type: a message
    ({"src": "n0", "dest": "n1", "body": {"type": "x"}, "id": 7}, None),  # an integer id
    ({"src": "n2", "dest": "n1", "body": {"type": "x"}}, None),           # another node's
    ({"src": "c3", "dest": "n1", "body": {"type": "x"}}, None),           # a client's (relay)
    ({"src": "c0", "dest": "n2", "body": {"type": "x"}}, None),           # an init client's
    ({"src": "zz", "dest": "n1", "body": {"type": "x"}},
     'src is "zz", which is not a node or client of this test'),
    ({"src": "n0", "dest": "c99", "body": {"type": "x"}},
     'dest "c99" is not a node or client of this test'),
    ({"src": "n0", "dest": "n1", "body": {"type": "x"}, "id": "7"},
     'id must be an integer, got "7"'),
    ({"src": "n0", "dest": "n1", "body": {"type": "x"}, "foo": 1},
     'unexpected key "foo": a message has only src, dest, body and an integer id'),
    ({"src": "n0", "dest": "n1"}, "body must be a JSON object"),
    ({"src": "n0", "dest": "n1", "body": [1]}, "body must be a JSON object"),
]


@pytest.mark.parametrize("envelope, reason", ENVELOPES,
                         ids=[json.dumps(e) for e, _ in ENVELOPES])
def test_which_lines_are_messages(tmp_path, envelope, reason):
    got = []

    def node(node_id, state, msg):
        out = echo_node(node_id, state, msg)
        if node_id == "n0" and msg["body"].get("type") == "echo" and not state.get("done"):
            state["done"] = True
            out.append(json.dumps(envelope).encode())
        if node_id != "n0" and msg["src"] == envelope["src"] \
                and msg.get("body") == envelope.get("body"):
            got.append(msg)  # delivered, as printed
        return out

    r = run(tmp_path, handler=node, time_limit=1.0)
    faults = r.results["nodes"]["faults"]
    if reason is None:
        assert faults == [] and r.exit_code == 0
        assert got == [envelope]
    else:
        assert [(f["node"], f["kind"], f["reason"]) for f in faults] == [
            ("n0", "invalid-output", reason)]
        assert got == [] and r.exit_code == 1


# -- what the console says ---------------------------------------------------------------------

def test_each_heal_is_said_once_and_the_final_heal_is_always_recorded(tmp_path, capsys):
    """The final phase always heals the network (a recorded stop-partition); when the last
    nemesis op had healed it already, the console must not say "healed" a second time."""
    relay_kv = str(Path(__file__).parent / "nodes" / "relay_kv.py")
    already_healed = 0
    for seed in range(1, 5):
        opts = TestOptions(workload="lin-kv", bin=relay_kv, node_count=3, time_limit=5.0,
                           rate=20.0, concurrency=6, nemesis=["partition"],
                           nemesis_interval=1.0, recovery_time=0.2, seed=seed, sim=True,
                           store=str(tmp_path / "store"))
        r = Runner(opts, WORKLOADS["lin-kv"]).run()
        said = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("nemesis: ")]
        nemesis = [op for op in r.history if op.process == "nemesis" and op.type == "info"]
        starts = [op for op in nemesis[1::2] if op.f == "start-partition"]
        assert nemesis[-1].f == "stop-partition"                      # always healed at the end
        assert said.count("nemesis: stop-partition healed") == len(starts)  # once per cut
        assert all(a != b for a, b in zip(said, said[1:]))
        log = (r.store / "bench.log").read_text()
        if "nemesis: stop-partition (final; the network was already healed)" in log:
            already_healed += 1
            assert nemesis[-3].f == "stop-partition"
    assert already_healed  # the case that used to print twice was among the seeds


# -- nothing hidden, nothing lost (the simulator's side; tests/test_bench.py has processes) -----

def _faults(r):
    return [(f["node"], f["kind"]) for f in r.results["nodes"]["faults"]]


def test_fault_counts_count_every_fault_exits_included(tmp_path):
    """`faults` keeps the first 10 of a node's faults and always its exit; `fault-counts`
    counts all of them, the exit too (docs/bench.md, Results)."""
    def node(node_id, state, msg):
        if node_id == "n1" and msg["body"].get("type") == "echo":
            state["echoes"] = state.get("echoes", 0) + 1
            if state["echoes"] == 1:
                return [b"not json %d" % i for i in range(12)]
            raise RuntimeError("boom")
        return echo_node(node_id, state, msg)

    r = run(tmp_path, handler=node, time_limit=2.0)
    nodes = r.results["nodes"]
    assert nodes["fault-counts"] == {"n1": 13}
    kinds = [f["kind"] for f in nodes["faults"] if f["node"] == "n1"]
    assert kinds == ["invalid-output"] * 10 + ["exited"]


def test_second_replies_in_virtual_time(tmp_path):
    def twice(changed):
        def node(node_id, state, msg):
            out = echo_node(node_id, state, msg)
            if msg["body"]["type"] == "echo" and node_id == "n1":
                again = json.loads(out[0])
                if changed:
                    again["body"]["echo"] = [again["body"]["echo"]]  # another answer
                out.append(json.dumps(again).encode())
            return out
        return node

    r = run(tmp_path, handler=twice(changed=True), time_limit=1.0)
    assert set(_faults(r)) == {("n1", "contradictory-reply")} and r.exit_code == 1
    r = run(tmp_path, handler=twice(changed=False), time_limit=1.0)  # a copy: not a fault
    assert _faults(r) == [] and r.exit_code == 0


def _deep_text(depth):
    return "[" * depth + '"x"' + "]" * depth


@pytest.mark.parametrize("depth", [300, 1000, 10_000])
def test_replies_and_lines_nested_any_depth_never_lose_the_results(tmp_path, depth):
    def node(node_id, state, msg):
        out = echo_node(node_id, state, msg)
        if msg["body"]["type"] == "echo" and node_id == "n0":
            reply = json.loads(out[0])
            text = json.dumps(reply).replace('"echo": ' + json.dumps(reply["body"]["echo"]),
                                             '"echo": ' + _deep_text(depth))
            deep = _deep_text(depth)
            out = [text.encode(),
                   ('{"src": %s, "dest": "n1", "body": {"type": "x"}}' % deep).encode(),
                   ('{"src": "n0", "dest": %s, "body": {"type": "x"}}' % deep).encode(),
                   ('{"src": "n0", "dest": "%s", "body": {"type": "x", "in_reply_to": %s}}'
                    % (msg["src"], deep)).encode()]
        return out

    r = run(tmp_path, handler=node, time_limit=1.0)
    for name in ("history.edn", "history.jsonl", "history.txt", "results.edn", "results.json"):
        assert (r.store / name).stat().st_size > 0, name
    assert "store" not in r.results  # every file written in full
    reasons = [f.get("reason", "") for f in r.results["nodes"]["faults"]]
    if depth <= 1000:
        assert any(reason.startswith("src is [[[[") for reason in reasons)
        assert any(reason.startswith("dest [[[[") for reason in reasons)
        assert any("in_reply_to [[[[" in reason for reason in reasons)
        # orjson reads it (1,024 levels): the deep echo is in the history
        deep_ops = [op for op in r.history if op.type == "ok" and isinstance(op.value, list)]
        assert deep_ops and r.results["workload"]["valid?"] is False
    else:             # deeper than JSON readers go (orjson: 1,024): the line is the fault
        assert any("not JSON" in reason and "depth" in reason for reason in reasons)


class LateEcho:
    """Answers each echo 50 ms late (a timer) and tells the next node as it does; a node told
    after 1 s (the time limit) answers with a message and a line that is not JSON. The last
    answer's note is delivered in the runner's last turn, so what it causes is still unread
    when the run stops."""

    def __init__(self, *, seed, log=None):
        self.due = []  # (time, node id, request)

    def receive(self, now, msg):
        me, body = msg["dest"], msg["body"]
        nxt = "n%d" % ((int(me[1:]) + 1) % 3)
        if body["type"] == "init":
            return echo_node(me, {}, msg)
        if body["type"] == "echo":
            self.due.append((now + 0.05, me, msg))
        if body["type"] == "note":
            out = [json.dumps({"src": me, "dest": nxt, "body": {"type": "ack"}}).encode()]
            return out + [b"not json"] if now > 1.0 else out
        return []

    def tick(self, now):
        out = []
        while self.due and self.due[0][0] <= now:
            _, me, msg = self.due.pop(0)
            nxt = "n%d" % ((int(me[1:]) + 1) % 3)
            out += echo_node(me, {}, msg)
            out.append(json.dumps({"src": me, "dest": nxt, "body": {"type": "note"}}).encode())
        return out

    def next_deadline(self):
        return self.due[0][0] if self.due else None


def test_output_still_unread_when_the_run_stops_is_checked(tmp_path):
    r = run(tmp_path, node_cls=LateEcho, time_limit=1.0)
    faults = r.results["nodes"]["faults"]
    late = [f for f in faults if "read after the test stopped" in f.get("reason", "")]
    assert len(late) == 1 and late[0]["line"] == "not json"
    assert 1 < len(faults) < 10  # a few more while the last operations drained
    assert r.results["nodes"]["unread-at-stop"] == {late[0]["node"]: 1}  # the ack, undelivered


def test_simhost_unread_gives_what_no_poll_returned(tmp_path):
    from maelstrom.clock import VirtualClock

    def node(node_id, state, msg):
        if msg["body"].get("boom"):
            raise RuntimeError("boom")
        return [b"hello"]

    host = SimHost(handler_node(node), ["n0", "n1"], VirtualClock(), tmp_path, seed=1)
    host.start()
    host.send("n0", b'{"src": "c0", "dest": "n0", "body": {"type": "x"}}\n')
    host.send("n1", b'{"src": "c1", "dest": "n1", "body": {"type": "x", "boom": true}}\n')
    host.stop()
    assert host.unread() == ([("n0", b"hello")], ["n1"])
