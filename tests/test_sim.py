"""The deterministic simulator (maelstrom/hosts/sim.py): byte-identical runs per seed, virtual time,
node loading, and a node object that misbehaves never crashes the bench."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maelstrom.clock import VirtualClock
from maelstrom.errors import BenchError
from maelstrom.runner import Runner, TestOptions
from maelstrom.hosts.sim import SimHost, load_node_class, node_seeds
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
STALE = f"{ROOT / 'tests' / 'nodes' / 'stale_reads.py'}:StaleReadServer"
FAULTS = dict(nemesis=["partition", "pause"], nemesis_interval=3.0, loss=0.05, duplicate=0.05,
              reorder=0.05)


def lin_kv(tmp_path, seed=1, **kw) -> TestOptions:
    fields = dict(workload="lin-kv", bin=RUN_PY, node_count=5, concurrency=10, time_limit=10.0,
                  rate=100.0, latency=10.0, seed=seed, quiet=True, sim=True,
                  store=str(tmp_path / "store"), recovery_time=2.0)
    fields.update(kw)
    return TestOptions(**fields)


def run(opts: TestOptions):
    return Runner(opts, WORKLOADS[opts.workload]).run()


def digest(run_dir: Path) -> dict[str, str]:
    return {name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
            for name in ("history.edn", "messages.jsonl")}


# -- determinism ---------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_history_and_journal(tmp_path):
    a = run(lin_kv(tmp_path, seed=5, **FAULTS))
    b = run(lin_kv(tmp_path, seed=5, **FAULTS))
    assert a.store != b.store
    assert digest(a.store) == digest(b.store)
    assert a.results["valid?"] is True
    # the faults really happened: pauses and partitions recorded, messages lost
    fs = [op.f for op in a.history if op.process == "nemesis"]
    assert "pause" in fs and "resume" in fs and "start-partition" in fs
    journal = (a.store / "messages.jsonl").read_bytes().splitlines()
    sends = sum(1 for line in journal if line.startswith(b'{"type":"send"'))
    recvs = sum(1 for line in journal if line.startswith(b'{"type":"recv"'))
    assert sends > 1000 and recvs != sends


def test_different_seeds_differ(tmp_path):
    a = digest(run(lin_kv(tmp_path, seed=1, time_limit=3.0)).store)
    b = digest(run(lin_kv(tmp_path, seed=2, time_limit=3.0)).store)
    assert a["history.edn"] != b["history.edn"]
    assert a["messages.jsonl"] != b["messages.jsonl"]


def test_identical_across_processes_and_hash_seeds(tmp_path):
    """String hashing differs per process (PYTHONHASHSEED); nothing that decides may depend
    on it, in the bench or in the node."""
    digests = []
    for hash_seed in ("1", "2"):
        store = tmp_path / f"store{hash_seed}"
        cmd = [sys.executable, "-m", "maelstrom", "test", "--sim", "-w", "lin-kv", "--bin",
               RUN_PY, "--node-count", "5", "--concurrency", "2n", "--latency", "10",
               "--rate", "100", "--time-limit", "4", "--nemesis", "partition,pause",
               "--nemesis-interval", "1", "--loss", "0.1", "--duplicate", "0.1", "--reorder",
               "0.1", "--seed", "11", "--quiet", "--store", str(store)]
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        digests.append(digest((store / "latest").resolve()))
    assert digests[0] == digests[1]


def test_virtual_time_runs_the_full_test_length(tmp_path):
    r = run(lin_kv(tmp_path, time_limit=20.0, rate=50.0))
    client_ops = [op for op in r.history if op.process != "nemesis"]
    # history time 0 is the workload start; operations span the 20 simulated seconds, then
    # the final reads come after the 2 s recovery wait
    invokes = [op.time for op in client_ops if op.type == "invoke"]
    assert 19.0e9 < max(t for t in invokes if t < 20.0e9)
    assert min(t for t in invokes if t >= 20.0e9) >= 22.0e9
    assert 800 < r.results["stats"]["count"] < 1200
    assert r.results["valid?"] is True
    # node logs carry virtual time, as run.py's carry the monotonic clock
    events = [json.loads(line) for line in (r.store / "node-logs" / "n0.log").read_text()
              .splitlines()]
    assert events and all(0.0 <= e["t"] <= 40.0 for e in events)


def test_broken_node_is_caught(tmp_path):
    r = run(lin_kv(tmp_path, sim_node=STALE, seed=1, **FAULTS))
    assert r.results["workload"]["valid?"] is False and r.exit_code == 1


# -- node loading --------------------------------------------------------------------------

def test_load_node_class_from_bin_and_spec(tmp_path):
    from node.server import Server

    assert load_node_class(RUN_PY, None) is Server  # run.py imported, not run
    assert load_node_class(None, "node.server:Server") is Server
    assert load_node_class(None, STALE).__name__ == "StaleReadServer"
    bad = tmp_path / "bad.py"
    bad.write_text("class Server:\n    pass\nraise SystemExit(3)\n")
    plain = tmp_path / "plain.py"
    plain.write_text("class Server:\n    def receive(self, now, m):\n        return []\n")
    script = tmp_path / "node-script"  # no .py: imported all the same
    script.write_text("from node.server import Server as Server\n")
    assert load_node_class(str(script), None) is Server
    # an ordinary node script is never imported (it would serve stdin): no Server, no import
    serving = tmp_path / "serving.py"
    serving.write_text("import sys\nsys.stdin.read()\n")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\x7fELF\x00\x01")
    for bin_, spec in [(str(tmp_path / "missing.py"), None), (str(bad), None), (str(plain), None),
                       (str(serving), None), (str(binary), None),
                       (str(ROOT / "tests" / "nodes" / "echo.py"), None),
                       (None, "node.server:Nope"), (None, "no_such_module_xyz:Server"),
                       (None, "node.server"), (None, None)]:
        with pytest.raises(BenchError):
            load_node_class(bin_, spec)


def test_cli_rejects_bad_sim_flags(tmp_path):
    from click.testing import CliRunner

    from maelstrom.cli import main

    base = ["test", "--sim", "-w", "echo", "--time-limit", "1", "--quiet", "--store",
            str(tmp_path)]
    for extra in (["--sim-node", "node.server:Nope"], ["--bin", RUN_PY, "--loss", "1.5"],
                  ["--bin", RUN_PY, "--duplicate", "-0.1"], []):
        r = CliRunner().invoke(main, base + extra)
        assert r.exit_code == 254, (extra, r.output)
    # losing unsynced writes is a power cut: only the simulator's disks can do that
    r = CliRunner().invoke(main, ["test", "-w", "echo", "--bin", RUN_PY, "--nemesis", "kill",
                                  "--lose-unsynced", "--store", str(tmp_path)])
    assert r.exit_code == 254 and "--sim" in r.output


def test_node_seeds_are_fixed_per_seed():
    assert node_seeds(3, 5) == node_seeds(3, 5)
    assert node_seeds(3, 5) != node_seeds(4, 5)
    assert len(set(node_seeds(3, 5))) == 5


# -- the host in isolation -----------------------------------------------------------------

class Timer:
    """Answers init; then ticks every `period` and logs each tick."""

    period = 0.25

    def __init__(self, *, seed, log=None):
        self.log = log
        self.deadline = None
        self.ticks: list[float] = []
        self.got: list[tuple[float, str]] = []

    def receive(self, now, msg):
        self.got.append((now, msg["body"]["type"]))
        if self.deadline is None:
            self.deadline = now + self.period
        return [{"src": msg["dest"], "dest": msg["src"],
                 "body": {"type": msg["body"]["type"] + "_ok",
                          "in_reply_to": msg["body"].get("msg_id")}}]

    def tick(self, now):
        self.ticks.append(now)
        self.deadline = now + self.period
        if self.log:
            self.log({"event": "tick"})
        return []

    def next_deadline(self):
        return self.deadline


def host_for(tmp_path, cls, nodes=("n0", "n1")):
    clock = VirtualClock()
    host = SimHost(cls, list(nodes), clock, tmp_path / "logs", seed=1)
    host.start()
    return clock, host


def test_poll_moves_time_to_timers_and_to_the_timeout(tmp_path):
    clock, host = host_for(tmp_path, Timer)
    host.send("n0", b'{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1}}\n')
    lines, exits = host.poll(10.0)
    assert [n for n, _ in lines] == ["n0"] and clock.now() == 0.0 and not exits
    assert json.loads(lines[0][1])["body"]["type"] == "init_ok"
    host.poll(10.0)  # nothing pending: time jumps to n0's timer, not to the timeout
    assert clock.now() == 0.25
    assert host._by_id["n0"].obj.ticks == [0.25]
    host.poll(0.1)  # the timeout comes first
    assert clock.now() == pytest.approx(0.35)
    assert host.stop() == {"n0": 0, "n1": 0}
    assert (tmp_path / "logs" / "n0.log").read_text().count('"tick"') == 1


def test_pause_freezes_timers_and_inbox(tmp_path):
    clock, host = host_for(tmp_path, Timer)
    host.send("n0", b'{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1}}\n')
    host.poll(0)
    node = host._by_id["n0"].obj
    host.pause("n0")
    host.send("n0", b'{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":2}}\n')
    assert host.poll(5.0) == ([], []) and clock.now() == 5.0
    assert node.ticks == [] and node.got == [(0.0, "init")]
    host.resume("n0")
    assert node.got == [(0.0, "init"), (5.0, "echo")]  # held message delivered on resume
    lines, _ = host.poll(1.0)
    assert [json.loads(line)["body"]["type"] for _, line in lines] == ["echo_ok"]
    host.poll(1.0)
    assert node.ticks == [5.0]  # the overdue timer fires at once, at resume time


class Raising(Timer):
    def tick(self, now):
        raise RuntimeError("boom")


class Exiting(Timer):
    def receive(self, now, msg):
        if msg["body"]["type"] != "init":
            raise SystemExit(2)  # as a node script might
        return super().receive(now, msg)


class StuckTimer(Timer):
    def tick(self, now):
        self.ticks.append(now)
        return []  # never moves its deadline


class Garbage(Timer):
    def receive(self, now, msg):
        if msg["body"]["type"] == "init":
            return super().receive(now, msg)
        return [{"src": "n0", "dest": "c9", "body": {"x": {1, 2}}}, 42, "text"]


def sim_echo(tmp_path, cls, **kw):
    opts = TestOptions(workload="echo", bin="", node_count=2, concurrency=2, time_limit=2.0,
                       rate=10.0, seed=1, quiet=True, store=str(tmp_path / "store"), sim=True,
                       **kw)
    clock = VirtualClock()
    runner = Runner(opts, WORKLOADS["echo"], clock=clock,
                    host_factory=lambda o, d, log: SimHost(cls, o.nodes, clock, d, o.seed))
    return runner.run()


def test_a_raising_node_is_reported_as_exited(tmp_path):
    r = sim_echo(tmp_path, Raising)
    kinds = {(f["node"], f["kind"]) for f in r.results["nodes"]["faults"]}
    assert ("n0", "exited") in kinds and ("n1", "exited") in kinds
    assert "RuntimeError: boom" in (r.store / "node-logs" / "n0.log").read_text()
    assert r.results["valid?"] is False


def test_a_node_that_exits_is_reported_and_the_run_goes_on(tmp_path):
    r = sim_echo(tmp_path, Exiting)
    assert {f["kind"] for f in r.results["nodes"]["faults"]} == {"exited"}
    assert "SystemExit: 2" in (r.store / "node-logs" / "n1.log").read_text()
    assert r.history[-1].time >= 1.5e9


def test_a_timer_that_stays_due_does_not_stop_time(tmp_path):
    r = sim_echo(tmp_path, StuckTimer)
    assert r.history and r.history[-1].time >= 1.5e9  # the test ran to its end


def test_unserialisable_node_output_is_a_fault_not_a_crash(tmp_path):
    r = sim_echo(tmp_path, Garbage)
    faults = r.results["nodes"]["faults"]
    assert faults and {f["kind"] for f in faults} == {"invalid-output"}
    assert r.exit_code == 1
