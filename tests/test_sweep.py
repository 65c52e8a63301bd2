"""`maelstrom sweep`: seeds in parallel, a verdict table, failing runs kept with a replay command.

The Raft node under every fault passes a short CI sweep (scripts/sweep_sim runs the full
200 seeds x 60 s); the deliberately broken variant (tests/nodes/stale_reads.py) is caught at once,
and its replay reproduces the identical invalid history.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from maelstrom.cli import main
from maelstrom.commands.sweep import parse_seeds, run_seed
from maelstrom.errors import BenchError
from maelstrom.runner import TestOptions

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
STALE = f"{ROOT / 'tests' / 'nodes' / 'stale_reads.py'}:StaleReadServer"
LIN_KV = ["-w", "lin-kv", "--node-count", "5", "--concurrency", "2n", "--latency", "10",
          "--rate", "100"]
ALL_FAULTS = ["--nemesis", "partition,pause", "--nemesis-interval", "5", "--loss", "0.05",
              "--duplicate", "0.05", "--reorder", "0.05"]


def digest(run_dir: Path) -> dict[str, str]:
    return {name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
            for name in ("history.edn", "messages.jsonl")}


def test_parse_seeds():
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds("7, 9,12-14,9") == [7, 9, 12, 13, 14]
    assert parse_seeds("3..4") == [3, 4]
    for bad in ("", "x", "5-1", "1-2-3", "1,,2", "0-100000000"):
        with pytest.raises(BenchError):
            parse_seeds(bad)


def test_raft_node_survives_every_fault(tmp_path):
    """CI-sized: 6 seeds x 60 simulated seconds, partitions + pauses + loss + duplication +
    reordering, on two workers."""
    r = CliRunner().invoke(main, ["sweep", "--seeds", "1-6", "--jobs", "2", "--bin", RUN_PY,
                                  *LIN_KV, "--time-limit", "60", *ALL_FAULTS,
                                  "--store", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = [line.split() for line in r.output.splitlines() if re.match(r"\s+\d+\s", line)]
    assert [int(row[0]) for row in rows] == [1, 2, 3, 4, 5, 6]
    assert all(row[1] == "valid" for row in rows)
    assert all(float(row[4]) >= 60.0 for row in rows)  # simulated seconds
    assert "6 seeds: 6 valid, 0 invalid" in r.output
    assert not (tmp_path / "sweep").exists()  # nothing kept
    assert [p.name for p in tmp_path.iterdir()] == []  # scratch removed


def test_broken_node_is_caught_and_its_replay_reproduces_it(tmp_path):
    store = tmp_path / "store"
    r = CliRunner().invoke(main, ["sweep", "--seeds", "1-3", "--jobs", "2", "--sim-node", STALE,
                                  *LIN_KV, "--time-limit", "10", *ALL_FAULTS,
                                  "--store", str(store)])
    assert r.exit_code == 1, r.output
    assert re.search(r"^\s+1\s+INVALID\s", r.output, re.M)  # caught at the first seed
    kept = sorted((store / "sweep").glob("*/seed-*"))
    assert kept and len(kept) == r.output.count(" INVALID: kept ")
    first = kept[0]
    assert (first / "results.edn").read_text().count(":valid? false") >= 1

    # `maelstrom replay DIR` re-runs it: the identical invalid history and journal
    again = CliRunner().invoke(main, ["replay", str(first), "--quiet", "--store",
                                      str(tmp_path / "replays")])
    assert again.exit_code == 1, again.output
    assert "reproduced: history.edn and messages.jsonl are identical" in again.output
    replayed = next((tmp_path / "replays" / "lin-kv").glob("2*"))
    assert digest(replayed) == digest(first)

    # ... and so does the printed `maelstrom test` command
    seed = first.name.split("-")[1]
    line = next(ln for ln in r.output.splitlines()
                if ln.strip().startswith("or:") and ln.rstrip().endswith(f"--seed {seed}"))
    argv = shlex.split(line.split("or:", 1)[1])
    assert argv[:3] == ["maelstrom", "test", "--sim"]
    by_cmd = CliRunner().invoke(main, argv[1:] + ["--quiet", "--store", str(tmp_path / "cmd")])
    assert by_cmd.exit_code == 1, by_cmd.output
    assert digest((tmp_path / "cmd" / "latest").resolve()) == digest(first)


def test_a_run_that_cannot_start_is_an_error_row_not_a_crash(tmp_path):
    opts = TestOptions(workload="lin-kv", sim=True, sim_node="no_such_module_xyz:Server",
                       concurrency=10, store=str(tmp_path))
    row = run_seed(opts, 4, str(tmp_path))
    assert row.valid == "error" and row.exit_code == 254 and "no_such_module_xyz" in row.error


def test_sweep_flag_errors_exit_254(tmp_path):
    for args in (["--seeds", "x"], ["--seed", "3"], ["--jobs", "0"], ["--loss", "2"],
                 ["--sim"], ["--quiet"], ["extra-arg"]):
        r = CliRunner().invoke(main, ["sweep", "--bin", RUN_PY, "-w", "echo", *args,
                                      "--store", str(tmp_path)])
        assert r.exit_code == 254, (args, r.output)


@pytest.mark.parametrize("args, message", [
    (["--bin", RUN_PY, "--concurrency", "3"], "--concurrency must be a multiple of 10"),
    (["--bin", RUN_PY, "--nemesis", "crash"], "--nemesis crash: unknown fault"),
    (["--bin", str(ROOT / "README.md")], "--bin"),
    (["--sim-node", "no_such_module_xyz:Server"], "cannot import no_such_module_xyz"),
])
def test_a_configuration_error_is_reported_once_before_any_seed_runs(tmp_path, args, message):
    r = CliRunner().invoke(main, ["sweep", "--seeds", "1-5", "--jobs", "1", *args,
                                  "--store", str(tmp_path / "store")])
    assert r.exit_code == 254, r.output
    assert r.stdout == ""  # no table, no error rows
    assert r.stderr.startswith("Error: ") and len(r.stderr.splitlines()) == 1, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "store").exists()


def test_a_bench_error_that_shows_only_in_a_run_stops_the_sweep_once(tmp_path, monkeypatch):
    """If a configuration passes the up-front check but a run still finds the bench cannot run
    it (a BenchError), every seed would: the sweep says so once and stops."""
    import maelstrom.commands.sweep as sweep_module

    started = []

    def cannot_run(opts, seed, scratch):
        started.append(seed)
        try:
            raise BenchError("the bench cannot run this")
        except BenchError as exc:
            return sweep_module.SeedRow(seed, "error", 254, error=exc.format_message(),
                                        bench_error=True)

    monkeypatch.setattr(sweep_module, "run_seed", cannot_run)
    r = CliRunner().invoke(main, ["sweep", "--seeds", "1-5", "--jobs", "1", "--bin", RUN_PY,
                                  "-w", "echo", "--store", str(tmp_path)])
    assert r.exit_code == 254, r.output
    assert started == [1]
    assert r.stderr.count("the bench cannot run this") == 1
    assert "ERROR" not in r.stdout and "Traceback" not in r.output
    assert [p.name for p in tmp_path.iterdir()] == []  # scratch removed


def test_a_seed_that_crashes_the_bench_is_an_error_row_with_its_traceback(tmp_path, monkeypatch):
    """A non-BenchError belongs to one seed (a bug it found): a row, and the sweep goes on."""
    import maelstrom.commands.sweep as sweep_module

    real = sweep_module.run_seed

    def crash_on_2(opts, seed, scratch):
        if seed == 2:
            opts = dataclasses.replace(opts, workload="no-such-workload")  # KeyError inside
        return real(opts, seed, scratch)

    monkeypatch.setattr(sweep_module, "run_seed", crash_on_2)
    r = CliRunner().invoke(main, ["sweep", "--seeds", "1-3", "--jobs", "1", "--bin", RUN_PY,
                                  *LIN_KV, "--time-limit", "2", "--store", str(tmp_path)])
    assert r.exit_code == 254, r.output
    assert re.search(r"^\s+2\s+ERROR\s", r.stdout, re.M)
    assert "KeyError: 'no-such-workload'" in r.stdout and "Traceback" in r.stdout
    assert "3 seeds: 2 valid, 0 invalid, 0 unknown, 1 errors" in r.stdout


def test_help_lists_only_the_options_sweep_takes():
    text = CliRunner().invoke(main, ["sweep", "--help"]).output
    options = set(re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", text.split("\nOptions:\n")[1], re.M))
    assert {"--seeds", "--jobs", "--bin", "--sim-node", "--node-count", "--nemesis",
            "--loss", "--store", "--log-net-recv", "--help"} <= options
    assert not options & {"--seed", "--sim", "--quiet"}, options
    assert text.splitlines()[0].endswith(" sweep [OPTIONS]")  # no [ARGS]...
    test_text = CliRunner().invoke(main, ["test", "--help"]).output
    assert {"--seed", "--sim", "--quiet"} <= set(re.findall(r"^\s+(--[\w-]+)", test_text, re.M))
