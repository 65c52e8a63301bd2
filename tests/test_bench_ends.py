"""How a test ends and what it says: Ctrl-C (an incomplete store, `store/current` and
`store/latest`), nodes that cannot start (stop at once, show why), and the summary of an invalid
run (failing keys, the op that cannot be linearized, its concurrent ops, the counterexample
picture the store holds, verdicts written as Jepsen writes them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from maelstrom.cli import main
from maelstrom.clock import VirtualClock
from maelstrom.history import read_history
from maelstrom.runner import Interrupted, Runner, TestOptions
from maelstrom.hosts.sim import SimHost
from test_bench_runner import echo_node, handler_node
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
NODES = ROOT / "tests" / "nodes"
MAELSTROM = str(Path(sys.executable).parent / "maelstrom")
STALE = f"{NODES / 'stale_reads.py'}:StaleReadServer"
LIN_KV_SIM = ["--sim", "-w", "lin-kv", "--node-count", "3", "--concurrency", "2n", "--latency",
              "5", "--rate", "50", "--time-limit", "10", "--nemesis", "partition",
              "--nemesis-interval", "1"]


def sim_run(store: Path, handler=echo_node, node_cls=None, **kw):
    fields = dict(workload="echo", bin="(in-process)", node_count=3, time_limit=5.0,
                  rate=40.0, concurrency=3, seed=1, quiet=True, store=str(store))
    fields.update(kw)
    opts = TestOptions(**fields)
    clock = VirtualClock()
    cls = node_cls or handler_node(handler)
    runner = Runner(opts, WORKLOADS[opts.workload], clock=clock,
                    host_factory=lambda o, d, log: SimHost(cls, o.nodes, clock, d, o.seed))
    return runner.run()


def link(path: Path) -> str | None:
    return os.readlink(path) if path.is_symlink() else None


# -- Ctrl-C ---------------------------------------------------------------------------------

def interrupt_at(echoes: int):
    """A handler that answers echoes and raises KeyboardInterrupt (as Ctrl-C does in the
    bench's loop) when n1 gets its `echoes`-th."""
    def node(node_id, state, msg):
        if node_id == "n1" and msg["body"].get("type") == "echo":
            state["n"] = state.get("n", 0) + 1
            if state["n"] == echoes:
                raise KeyboardInterrupt
        return echo_node(node_id, state, msg)
    return node


def test_ctrl_c_writes_the_history_and_results_marked_incomplete(tmp_path):
    store = tmp_path / "store"
    with pytest.raises(Interrupted) as caught:
        sim_run(store, interrupt_at(15))
    run = caught.value.result
    r = run.results
    assert r["incomplete"] is True and r["interrupted-during"] == "main"
    assert run.history and read_history(run.store / "history.edn") == run.history
    on_disk = json.loads((run.store / "results.json").read_text())
    assert on_disk["incomplete"] is True and on_disk["stats"]["count"] == r["stats"]["count"] > 0
    assert r["workload"]["valid?"] is True  # what ran was checked
    assert "interrupted (Ctrl-C) during main" in (run.store / "bench.log").read_text()
    # store/current is the interrupted run; store/latest only ever names finished runs
    assert link(store / "current") == f"echo/{run.store.name}"
    assert not (store / "latest").exists() and not (store / "echo" / "latest").exists()


def test_latest_names_the_last_finished_run_and_current_the_last_started(tmp_path):
    store = tmp_path / "store"
    done = sim_run(store)
    assert link(store / "latest") == link(store / "current") == f"echo/{done.store.name}"
    assert link(store / "echo" / "latest") == done.store.name
    with pytest.raises(Interrupted) as caught:
        sim_run(store, interrupt_at(5))
    stopped = caught.value.result.store
    assert link(store / "current") == f"echo/{stopped.name}"
    assert link(store / "latest") == f"echo/{done.store.name}"  # unchanged
    assert link(store / "echo" / "latest") == done.store.name


def test_ctrl_c_while_checking_keeps_the_history_and_the_rest_of_the_analysis(tmp_path,
                                                                              monkeypatch):
    def interrupted_check(history):
        raise KeyboardInterrupt

    monkeypatch.setattr(WORKLOADS["echo"], "check", staticmethod(interrupted_check))
    with pytest.raises(Interrupted) as caught:
        sim_run(tmp_path / "store")
    run = caught.value.result
    assert run.results["interrupted-during"] == "analysis" and run.results["incomplete"]
    assert run.results["workload"]["valid?"] == "unknown"
    assert run.results["stats"]["count"] > 0 and (run.store / "history.edn").stat().st_size


def test_ctrl_c_on_a_real_process_run_exits_130_with_its_store(tmp_path):
    store = tmp_path / "store"
    p = subprocess.Popen([MAELSTROM, "test", "-w", "lin-kv", "--bin", NODES / "relay_kv.py",
                          "--node-count", "3", "--concurrency", "2n", "--time-limit", "60",
                          "--rate", "50", "--seed", "2", "--store", store],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert out.startswith("INCOMPLETE: interrupted (Ctrl-C) during main"), out
    assert "(of an incomplete test)" in out
    run = store / link(store / "current")
    assert f"Results in {run} " in out
    results = json.loads((run / "results.json").read_text())
    assert results["incomplete"] is True and results["stats"]["count"] > 0
    ops = read_history(run / "history.edn")
    assert len([op for op in ops if op.type == "invoke"]) >= results["stats"]["count"]
    assert not (store / "latest").exists()


# -- nodes that cannot start ----------------------------------------------------------------

@pytest.mark.parametrize("attempt", range(3))  # its exit status can lag its stdout's end
def test_when_every_node_dies_in_init_the_test_stops_at_once_and_says_why(tmp_path, attempt):
    node = tmp_path / "node.py"
    node.write_text("#!/usr/bin/env ferrite-no-such-interpreter\nprint('never')\n")
    node.chmod(0o755)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["test", "-w", "lin-kv", "--bin", str(node),
                                       "--node-count", "3", "--concurrency", "2n",
                                       "--time-limit", "30", "--init-timeout", "30",
                                       "--quiet", "--store", str(tmp_path / "store")])
    assert time.monotonic() - started < 10  # neither the init timeout nor the time limit
    out = result.output
    assert result.exit_code == 1, out
    assert "no node could start: every node exited during init" in out
    for n in ("n0", "n1", "n2"):
        assert f"node fault: {n} exited (exit code 127)" in out, out
        assert f"  {n} stderr: /usr/bin/env: " in out and "ferrite-no-such-interpreter" in out
    run = tmp_path / "store" / "latest"
    results = json.loads((run / "results.json").read_text())
    assert results["nodes"]["all-exited-during-init"] is True
    assert results["stats"]["count"] == 0 and read_history(run / "history.jsonl") == []


class Unstartable:
    def __init__(self, *, seed, log=None):
        raise RuntimeError("cannot start: no such config")


def test_every_node_failing_to_start_in_the_simulator_stops_at_once(tmp_path):
    run = sim_run(tmp_path / "store", node_cls=Unstartable, time_limit=30.0)
    assert run.history == [] and run.exit_code == 1
    nodes = run.results["nodes"]
    assert nodes["all-exited-during-init"] is True
    assert {f["kind"] for f in nodes["faults"]} == {"exited"}
    assert all("cannot start: no such config" in f["stderr-tail"] for f in nodes["faults"])


def test_one_node_dying_in_init_does_not_stop_the_test(tmp_path):
    class OneDies:
        def __init__(self, *, seed, log=None):
            self.inner = handler_node(echo_node)(seed=seed)

        def receive(self, now, msg):
            if msg["dest"] == "n2":
                raise RuntimeError("n2 dies")
            return self.inner.receive(now, msg)

        def tick(self, now):
            return []

        def next_deadline(self):
            return None

    run = sim_run(tmp_path / "store", node_cls=OneDies, time_limit=2.0)
    assert "all-exited-during-init" not in run.results["nodes"]
    assert run.results["stats"]["ok-count"] > 0


# -- what an invalid run prints -------------------------------------------------------------

def test_an_invalid_run_names_keys_op_concurrent_ops_and_its_counterexample(tmp_path):
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["test", *LIN_KV_SIM, "--sim-node", STALE, "--seed", "1",
                                       "--quiet", "--store", str(store)])
    out = result.output
    assert result.exit_code == 1, out
    run = (store / "latest").resolve()
    workload = json.loads((run / "results.json").read_text())["workload"]
    assert workload["valid?"] is False and workload["failures"]
    assert "workload: valid? false" in out
    assert "False" not in out and "True" not in out  # EDN's false/true, never Python's
    lines = out.splitlines()
    keys = lines[[i for i, line in enumerate(lines) if line.startswith("workload:")][0] + 1]
    assert keys.startswith(f"not linearizable: {len(workload['failures'])} key")
    first = workload["failures"][0]
    lin = workload["results"][str(first)]["linearizable"]
    assert f"  key {first}: cannot linearize op {lin['op']['index']}: process " \
           f"{lin['op']['process']} :{lin['op']['type']} :{lin['op']['f']}" in out
    if lin.get("concurrent"):
        assert "    concurrent ops (" in out
        assert f"      op {lin['concurrent'][0]['index']}: " in out
    # the picture, in the store, named as `maelstrom check --out` names it
    svg = run / f"linear-{first}.svg"
    assert f"  counterexample: {svg}" in out
    assert svg.read_text().startswith("<svg") and (run / f"linear-{first}.html").is_file()
    checked = CliRunner().invoke(main, ["check", str(run / "history.edn"), "--out",
                                        str(tmp_path / "out")])
    assert checked.exit_code == 1
    assert sorted(p.name for p in run.glob("linear-*")) == \
        sorted(p.name for p in (tmp_path / "out").glob("linear-*"))


def test_a_valid_run_writes_no_counterexample(tmp_path):
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["test", *LIN_KV_SIM, "--bin", str(NODES / "relay_kv.py"),
                                       "--seed", "1", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert not list((store / "latest").resolve().glob("linear-*"))
    assert "valid? " not in result.output  # nothing failed, nothing listed
