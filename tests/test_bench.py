"""End-to-end tests of `maelstrom test` with the small nodes in tests/nodes/.

Each run is a few seconds of real time. Seeds are fixed; the nodes are chosen so the verdict
does not depend on timing: the owner-forwarding KV is linearizable whatever happens, and the
lagging KV serves reads from a copy refreshed only once a second, so with ~50 ops/s its stale
reads are caught in every run.
"""

from __future__ import annotations

import json
import os
import select
from pathlib import Path

import pytest
from click.testing import CliRunner

from maelstrom.cli import main
from maelstrom.edn import loads_all
from maelstrom.history import read_history

NODES = Path(__file__).parent / "nodes"


def run(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    result = CliRunner().invoke(main, ["test", "--store", str(tmp_path / "store"), "--quiet",
                                       *args], catch_exceptions=False)
    return result.exit_code, result.output, tmp_path / "store" / "latest"


def results(store: Path) -> dict:
    return json.loads((store / "results.json").read_text())


def test_echo_valid_and_store_layout(tmp_path):
    code, out, store = run(tmp_path, "-w", "echo", "--bin", str(NODES / "echo.py"),
                           "--node-count", "2", "--time-limit", "1.5", "--rate", "40",
                           "--seed", "7")
    assert code == 0, out
    assert "Everything looks good!" in out
    for name in ("history.edn", "history.jsonl", "history.txt", "results.edn", "results.json",
                 "options.json", "messages.jsonl", "node-logs/n0.log", "node-logs/n1.log"):
        assert (store / name).is_file(), name
    r = results(store)
    assert r["valid?"] is True
    assert r["stats"]["ok-count"] == r["stats"]["count"] > 20
    # every op: one request, one reply; plus one init and init_ok per node
    assert r["net"]["all"]["msg-count"] == 2 * r["stats"]["count"] + 4
    assert r["net"]["servers"]["msg-count"] == 0
    assert json.loads((store / "options.json").read_text())["seed"] == 7
    ops = read_history(store / "history.edn")
    assert [op.index for op in ops] == list(range(len(ops)))
    assert read_history(store / "history.jsonl") == ops
    # results.edn is EDN that a Jepsen tool can read
    (edn,) = loads_all((store / "results.edn").read_text())
    assert edn[next(k for k in edn if getattr(k, "name", None) == "valid?")] is True
    # the journal has a send for every message and parses as JSON lines
    lines = [json.loads(line) for line in (store / "messages.jsonl").read_text().splitlines()]
    assert sum(1 for e in lines if e["type"] == "send") == r["net"]["all"]["send-count"]
    assert (tmp_path / "store" / "echo" / "latest").resolve() == store.resolve()


LIN_KV = ["-w", "lin-kv", "--node-count", "3", "--concurrency", "2n", "--time-limit", "4",
          "--rate", "60", "--nemesis", "partition", "--nemesis-interval", "0.8",
          "--recovery-time", "0.5"]


@pytest.mark.parametrize("seed", [1, 2])
def test_owner_kv_is_valid_under_partitions(tmp_path, seed):
    code, out, store = run(tmp_path, *LIN_KV, "--bin", str(NODES / "kv_owner.py"),
                           "--seed", str(seed))
    r = results(store)
    assert code == 0, out
    assert r["workload"]["valid?"] is True
    ops = read_history(store / "history.edn")
    fs = [op.f for op in ops if op.process == "nemesis"]
    assert "start-partition" in fs and fs[-1] == "stop-partition"  # healed at the end
    assert r["stats"]["by-f"]["read"]["ok-count"] > 0
    # messages between servers were forwarded (and some lost to partitions)
    assert r["net"]["servers"]["msg-count"] > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_lagging_kv_is_invalid_under_partitions(tmp_path, seed):
    code, out, store = run(tmp_path, *LIN_KV, "--bin", str(NODES / "kv_lagging.py"),
                           "--seed", str(seed))
    assert code == 1, out
    assert "Analysis invalid!" in out
    r = results(store)
    assert r["workload"]["valid?"] is False
    assert r["workload"]["failures"]


def test_history_times_never_go_back_against_index_with_real_processes(tmp_path):
    """Ops are appended in :index order with non-decreasing :time. A nemesis op completes a
    moment after it starts (its effect is applied in between); an op issued in the same turn
    used to be stamped with the turn's earlier time, after the completion."""
    code, out, store = run(tmp_path, "-w", "lin-kv", "--bin", str(NODES / "kv_owner.py"),
                           "--node-count", "3", "--concurrency", "2n", "--time-limit", "3",
                           "--rate", "300", "--nemesis", "partition", "--nemesis-interval",
                           "0.02", "--recovery-time", "0", "--seed", "5")
    assert code == 0, out
    for name in ("history.edn", "history.jsonl"):
        ops = read_history(store / name)
        assert [op.index for op in ops] == list(range(len(ops)))
        assert sum(op.process == "nemesis" for op in ops) > 40  # many nemesis turns
        back = [(a.index, a.time, b.index, b.time) for a, b in zip(ops, ops[1:])
                if b.time < a.time]
        assert back == [], back[:5]


def test_missing_or_unusable_bin_is_a_bench_error(tmp_path):
    for bin_ in (str(tmp_path / "nope"), str(NODES / "_node.py"), str(tmp_path)):
        code, out, _ = run(tmp_path, "-w", "echo", "--bin", bin_)
        assert code == 254, out
        assert "--bin" in out
    code, out, _ = run(tmp_path, "-w", "echo")
    assert code == 254 and "Expected a --bin" in out
    assert not (tmp_path / "store").exists()  # nothing started


def test_bad_flags_are_bench_errors(tmp_path):
    echo = ["--bin", str(NODES / "echo.py")]
    for args in (["-w", "lin-kv", "--node-count", "3", "--concurrency", "4"],
                 ["-w", "nope"], ["--concurrency", "x"], ["--nemesis", "flood"],
                 ["--availability", "2"], ["--bogus-flag"]):
        code, out, _ = run(tmp_path, *echo, *args)
        assert code == 254, (args, out)
    code, out, _ = run(tmp_path, *echo, "-w", "lin-kv", "--node-count", "3", "--concurrency", "4")
    assert "multiple of 6" in out


FAULTY = ["-w", "echo", "--bin", str(NODES / "faulty.py"), "--node-count", "2",
          "--time-limit", "1", "--rate", "30", "--init-timeout", "1", "--seed", "3"]


def faults(store: Path) -> list[dict]:
    return results(store)["nodes"]["faults"]


def test_crashing_node_is_reported_and_test_completes(tmp_path):
    code, out, store = run(tmp_path, *FAULTY, "crash")
    assert code == 1, out
    (fault,) = faults(store)
    assert fault["node"] == "n0" and fault["kind"] == "exited" and fault["exit-code"] == 3
    assert "crashing on purpose" in fault["stderr-tail"]
    r = results(store)
    assert r["nodes"]["fault-counts"] == {"n0": 1}  # the exit counts
    assert "  n0 stderr: faulty node: crashing on purpose" in out  # and the report says why
    assert r["stats"]["ok-count"] > 0  # n1 kept serving
    assert (store / "history.edn").is_file()


@pytest.mark.parametrize("mode,reason", [("garbage", "not JSON"), ("badsrc", 'src is "n99"')])
def test_invalid_output_is_reported(tmp_path, mode, reason):
    code, out, store = run(tmp_path, *FAULTY, mode)
    assert code == 1, out
    found = faults(store)
    assert found and all(f["node"] == "n0" and f["kind"] == "invalid-output" for f in found)
    assert reason in found[0]["reason"] and found[0]["line"]
    assert len(found) <= 10  # the first few are kept, all are counted
    assert results(store)["nodes"]["fault-counts"]["n0"] >= len(found)


def test_node_hanging_on_init_is_reported(tmp_path):
    code, out, store = run(tmp_path, *FAULTY, "hang")
    assert code == 1, out
    assert {(f["node"], f["kind"]) for f in faults(store)} == {("n0", "init-timeout"),
                                                               ("n1", "init-timeout")}


def test_net_logging_goes_to_the_bench_log(tmp_path):
    code, out, store = run(tmp_path, "-w", "echo", "--bin", str(NODES / "echo.py"),
                           "--node-count", "1", "--time-limit", "0.5", "--rate", "10",
                           "--log-net-send", "--log-net-recv", "--seed", "1")
    assert code == 0, out
    log = (store / "bench.log").read_text()
    assert ':send {"src":"c0","dest":"n0","body":{"type":"init"' in log
    assert ":recv " in log and '"type": "echo_ok"' in log  # node lines are logged as printed


def test_progress_line_only_on_a_terminal_and_not_quiet():
    import io

    from maelstrom.progress import progress_for

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert progress_for(False, io.StringIO()) is None
    assert progress_for(True, Tty()) is None
    assert progress_for(False, Tty()) is not None


# -- nothing hidden, nothing lost: process groups, node exits, unread output, replies ----------

def _dead(pid: int, within: float = 10.0) -> bool:
    """True once the process has exited (waited for through a pidfd, at most `within` s)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], within)[0])
    finally:
        os.close(fd)


def test_node_exit_is_reported_though_a_child_keeps_its_stdout_open(tmp_path):
    pid_file = tmp_path / "child.pid"
    code, out, store = run(tmp_path, *FAULTY, "orphan", str(pid_file))
    assert code == 1, out
    (fault,) = faults(store)
    assert fault["node"] == "n0" and fault["kind"] == "exited" and fault["exit-code"] == 5
    assert "leaving a child behind" in fault["stderr-tail"]
    assert "node n0 exited with status 5 during main" in (store / "bench.log").read_text()
    assert _dead(int(pid_file.read_text()))  # the child did not outlive the test


def test_every_node_process_group_is_stopped_even_after_a_clean_exit(tmp_path):
    prefix = tmp_path / "child-"
    code, out, store = run(tmp_path, *FAULTY, "linger", str(prefix))
    assert code == 0, out
    pids = [int((tmp_path / f"child-n{i}").read_text()) for i in range(2)]
    assert all(_dead(pid) for pid in pids)


def test_output_unread_when_the_test_stops_is_checked_not_dropped(tmp_path):
    code, out, store = run(tmp_path, *FAULTY, "goodbye")
    assert code == 1, out
    found = faults(store)
    assert [(f["node"], f["kind"]) for f in found] == [("n0", "invalid-output")] * 2
    assert all("read after the test stopped" in f["reason"] for f in found)
    assert found[0]["line"] == "goodbye, not json" and found[1]["line"].endswith('"bo')
    assert results(store)["nodes"]["unread-at-stop"] == {"n0": 1}  # the message to n1


@pytest.mark.parametrize("mode, kinds", [("contradict", {("n0", "contradictory-reply")}),
                                         ("duplicate", set())])
def test_a_contradictory_second_reply_is_a_fault_and_a_duplicate_is_not(tmp_path, mode, kinds):
    code, out, store = run(tmp_path, *FAULTY, mode)
    assert {(f["node"], f["kind"]) for f in faults(store)} == kinds
    assert code == (1 if kinds else 0), out
    if kinds:
        assert "(changed)" in faults(store)[0]["reason"]


def test_a_reply_nested_300_deep_loses_nothing(tmp_path):
    code, out, store = run(tmp_path, *FAULTY, "deep")
    for name in ("history.edn", "history.jsonl", "history.txt", "results.edn", "results.json"):
        assert (store / name).stat().st_size > 0, name
    ops = read_history(store / "history.edn")
    deep = [op for op in ops if op.type == "ok" and isinstance(op.value, list)]
    assert deep and len(ops) == len(read_history(store / "history.jsonl"))
    assert results(store)["workload"]["valid?"] is False and code == 1  # echoes came back changed
