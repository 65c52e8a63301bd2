"""One exit-status rule for every `maelstrom` command, as Jepsen's: 0 valid, 1 invalid,
2 unknown, 254 any usage or bench error.

Each row runs the installed `maelstrom` script as a real process (click's standalone handling,
real pipes), so what is asserted is what a shell or CI job sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import CORPUS

MAELSTROM = str(Path(sys.executable).parent / "maelstrom")
VALID = CORPUS / "maelstrom-lin-kv" / "valid" / "raft-3n-partition.edn"
INVALID = CORPUS / "maelstrom-lin-kv" / "invalid" / "stale-reads-3n-partition.edn"


def maelstrom(*args, cwd=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([MAELSTROM, *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, **kw)


def assert_exit(r: subprocess.CompletedProcess, code: int, message: str = "") -> None:
    assert r.returncode == code, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    assert message in r.stderr, r.stderr


# -- check: an empty history, or one without a single invocation, tested nothing --------------

@pytest.mark.parametrize("name, text, message", [
    ("empty.edn", "", "the history is empty; nothing to check"),
    ("empty.jsonl", "", "the history is empty; nothing to check"),
    ("blank.edn", "\n\n", "the history is empty; nothing to check"),
    ("nemesis-only.edn",
     "{:process :nemesis, :type :info, :f :start-partition, :value :majority}\n"
     "{:process :nemesis, :type :info, :f :stop-partition, :value nil}\n",
     "has 2 ops but no :invoke"),
    ("completions-only.edn", "{:process 0, :type :ok, :f :read, :value 1}\n",
     "has 1 ops but no :invoke"),
])
def test_check_of_a_history_without_invocations_is_an_error(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    r = maelstrom("check", path)
    assert_exit(r, 254, message)
    assert r.stdout == ""  # no verdict printed
    assert_exit(maelstrom("replay", path), 254, message)  # replay re-checks it the same way


def test_check_of_a_single_invocation_still_checks(tmp_path):
    path = tmp_path / "h.edn"
    path.write_text("{:process 0, :type :invoke, :f :read, :value nil}\n")
    r = maelstrom("check", path)
    assert_exit(r, 0)
    assert "overall: valid" in r.stdout


# -- every command and misuse: the table of the closing note of issue 9 ------------------------

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = ROOT / "node" / "run.py"
STALE = f"{ROOT / 'tests' / 'nodes' / 'stale_reads.py'}:StaleReadServer"
SIM = ["-w", "lin-kv", "--node-count", "3", "--concurrency", "2n", "--latency", "5", "--rate",
       "50", "--time-limit", "3", "--nemesis", "partition", "--nemesis-interval", "1"]

# (argv, exit status, a fragment of stderr); STORE is replaced by a fresh directory.
USAGE = [
    ([], 254, "Usage: maelstrom"),                                   # no subcommand: help, 254
    (["nosuch"], 254, "No such command 'nosuch'"),
    (["--bogus"], 254, "No such option '--bogus'"),
    (["test", "--bogus"], 254, "No such option '--bogus'"),
    (["test", "--node-count", "x"], 254, "'x' is not a valid integer"),
    (["test"], 254, "Expected a --bin BINARY"),
    (["test", "--bin", "/nonexistent/node"], 254, "no such file"),
    (["test", "--sim", "--bin", RUN_PY, "--concurrency", "3", "--store", "STORE"], 254,
     "--concurrency must be a multiple of 10"),
    (["check"], 254, "Missing argument 'PATH'"),
    (["check", "--bogus", VALID], 254, "No such option '--bogus'"),
    (["check", "--model", "x", VALID], 254, "Invalid value for '--model'"),
    (["check", "/nonexistent/history.edn"], 254, "no such file or directory"),
    (["replay"], 254, "Missing argument 'PATH'"),
    (["replay", "--bogus", VALID], 254, "No such option '--bogus'"),
    (["replay", "/nonexistent/store"], 254, "no such file or directory"),
    (["sweep", "--bogus"], 254, "No such option '--bogus'"),
    (["sweep", "--bin", RUN_PY, "--seed", "3"], 254, "No such option '--seed'"),
    (["sweep", "--seeds", "1-2", "--store", "STORE"], 254, "--sim needs --bin"),
    (["sweep", "--bin", "/nonexistent/node.py", "--store", "STORE"], 254,
     "not readable Python source"),
    (["sweep", "--bin", RUN_PY, "--concurrency", "3", "--store", "STORE"], 254,
     "--concurrency must be a multiple of 10"),
]
VERDICTS = [
    (["--help"], 0, ""),
    (["--version"], 0, ""),
    (["check", VALID], 0, ""),
    (["check", INVALID], 1, ""),
    (["replay", VALID], 0, ""),
    (["replay", INVALID], 1, ""),
    (["test", "--sim", "--bin", RUN_PY, *SIM, "--seed", "1", "--quiet", "--store", "STORE"], 0,
     ""),
    (["test", "--sim", "--sim-node", STALE, *SIM, "--seed", "1", "--quiet", "--store", "STORE"],
     1, ""),
    (["sweep", "--bin", RUN_PY, *SIM, "--seeds", "1-2", "--jobs", "2", "--store", "STORE"], 0,
     ""),
    (["sweep", "--sim-node", STALE, *SIM, "--seeds", "1-2", "--jobs", "2", "--store", "STORE"],
     1, ""),
]


def _argv(args, tmp_path):
    return [str(tmp_path / "store") if a == "STORE" else a for a in args]


def _id(row) -> str:
    args, code, _ = row
    return f"{code}: maelstrom " + " ".join(Path(str(a)).name if "/" in str(a) else str(a)
                                           for a in args)


@pytest.mark.parametrize("args, code, message", USAGE + VERDICTS,
                         ids=[_id(row) for row in USAGE + VERDICTS])
def test_exit_status(tmp_path, args, code, message):
    r = maelstrom(*_argv(args, tmp_path), cwd=ROOT)
    assert_exit(r, code, message)
    if code == 254:
        assert r.stdout == ""  # the error alone, on stderr
        assert not (tmp_path / "store").exists()  # reported before anything started


def test_unknown_verdict_exits_2(tmp_path):
    from test_checker import hard_rows
    rows = ["{:process %d, :type :%s, :f :%s, :value %s}" % (p, t, f, "nil" if v is None else v)
            for p, t, f, v in hard_rows()]
    (tmp_path / "h.edn").write_text("\n".join(rows))
    r = maelstrom("check", "--time-limit", "0.2", tmp_path / "h.edn")
    assert_exit(r, 2)
    assert "overall: UNKNOWN" in r.stdout


# -- a closed stdout is not a verdict --------------------------------------------------------

def closed_stdout(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    """Run maelstrom with stdout a pipe whose reader has already gone (as `| head -0` would):
    its first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([MAELSTROM, *map(str, args)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=300, cwd=cwd)
    finally:
        os.close(write_end)


def assert_quiet_exit(r: subprocess.CompletedProcess, code: int) -> None:
    assert r.returncode == code, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert "Broken pipe" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr


@pytest.mark.parametrize("path, code", [(VALID, 0), (INVALID, 1)])
def test_check_and_replay_with_a_closed_stdout_exit_with_the_verdict(path, code):
    assert_quiet_exit(closed_stdout("check", path), code)
    assert_quiet_exit(closed_stdout("replay", path), code)
    assert_quiet_exit(closed_stdout("check", "--json", path), code)


def test_test_with_a_closed_stdout_exits_with_the_verdict(tmp_path):
    r = closed_stdout("test", "--sim", "--bin", RUN_PY, *SIM, "--seed", "1", "--quiet",
                      "--store", tmp_path)
    assert_quiet_exit(r, 0)
    assert (tmp_path / "latest" / "results.edn").is_file()  # the run went on to the end


def test_sweep_runs_on_after_its_reader_has_gone(tmp_path):
    """`maelstrom sweep ... | head -1`: the reader leaves after the first line, while seeds are
    still running. The sweep still runs every seed, keeps the failing ones, and exits with
    the verdict."""
    p = subprocess.Popen([MAELSTROM, "sweep", "--sim-node", STALE, *SIM, "--seeds", "1-4",
                          "--jobs", "1", "--store", str(tmp_path)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    p.stdout.close()
    stderr = p.stderr.read()
    assert p.wait(timeout=300) == 1, stderr
    assert first.startswith("sweep: 4 seeds, 1 worker")
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert len(list((tmp_path / "sweep").glob("*/seed-*"))) >= 1


def test_a_valid_sweep_with_a_closed_stdout_exits_0(tmp_path):
    r = closed_stdout("sweep", "--bin", RUN_PY, *SIM, "--seeds", "1-2", "--jobs", "2",
                      "--store", tmp_path)
    assert_quiet_exit(r, 0)


def test_ctrl_c_exits_130(tmp_path):
    """Ctrl-C (SIGINT) during a test: 130, as a shell reports it, never 1 ("invalid")."""
    import signal
    import time

    p = subprocess.Popen([MAELSTROM, "test", "-w", "echo", "--bin", ROOT / "tests" / "nodes" /
                          "echo.py", "--node-count", "1", "--time-limit", "60", "--quiet",
                          "--store", tmp_path], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(2)
    started = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    assert time.monotonic() - started < 30  # it stopped, not ran to the time limit
    assert "Traceback" not in stderr, stderr
