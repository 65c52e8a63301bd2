"""`maelstrom replay`: re-run a simulated store and compare bytes; re-check any other history
exactly as `maelstrom check` does (Jepsen's own Maelstrom histories included)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from maelstrom.cli import main
from maelstrom.commands.replay import command_line, options_from_dict
from maelstrom.runner import TestOptions

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
from corpus import CORPUS as TEST_CORPUS

CORPUS = TEST_CORPUS / "maelstrom-lin-kv"


def sim_run(store: Path, *extra: str) -> Path:
    r = CliRunner().invoke(main, ["test", "--sim", "--bin", RUN_PY, "-w", "lin-kv",
                                  "--node-count", "3", "--concurrency", "2n", "--latency", "5",
                                  "--rate", "50", "--time-limit", "3", "--nemesis",
                                  "partition", "--nemesis-interval", "1", "--loss", "0.1",
                                  "--seed", "21", "--quiet", "--store", str(store), *extra])
    assert r.exit_code == 0, r.output
    return (store / "latest").resolve()


def test_replay_reproduces_a_run_with_extra_logging(tmp_path):
    original = sim_run(tmp_path / "a")
    r = CliRunner().invoke(main, ["replay", str(tmp_path / "a"), "--log-net-recv", "--quiet",
                                  "--store", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert f"replaying {original} (seed 21)" in r.output
    assert "reproduced: history.edn and messages.jsonl are identical" in r.output
    new = (tmp_path / "b" / "latest").resolve()
    assert ":recv " in (new / "bench.log").read_text()
    assert ":recv " not in (original / "bench.log").read_text()


def test_replay_notices_a_history_that_does_not_reproduce(tmp_path):
    original = sim_run(tmp_path / "a")
    path = original / "history.edn"
    lines = path.read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace(":time ", ":time 1")
    path.write_text("".join(lines))
    r = CliRunner().invoke(main, ["replay", str(original), "--quiet",
                                  "--store", str(tmp_path / "b")])
    assert r.exit_code == 254, r.output
    assert "NOT reproduced" in r.output and "history.edn: differs from line 6" in r.output
    assert "messages.jsonl" not in r.output.split("NOT reproduced")[1]


def check_output(path: Path, *extra: str):
    return CliRunner().invoke(main, ["check", str(path), *extra])


def test_replay_rechecks_jepsen_histories_like_check():
    for name, code in (("valid/raft-3n-partition.edn", 0),
                       ("invalid/stale-reads-3n-partition.edn", 1)):
        path = CORPUS / name
        r = CliRunner().invoke(main, ["replay", str(path)])
        assert r.exit_code == code, r.output
        assert r.output == check_output(path).output
        r = CliRunner().invoke(main, ["replay", str(path), "--json"])
        assert r.output == check_output(path, "--json").output


def test_replay_rechecks_a_process_backend_run(tmp_path):
    run = tmp_path / "lin-kv" / "20260101T000000.000Z"
    run.mkdir(parents=True)
    (run / "options.json").write_text(json.dumps({"sim": False, "seed": 3}))
    (run / "history.edn").write_bytes(
        (CORPUS / "invalid" / "stale-reads-3n-partition.edn").read_bytes())
    r = CliRunner().invoke(main, ["replay", str(run)])
    assert r.exit_code == 1 and "overall: INVALID" in r.output


def test_replay_check_flag_rechecks_a_simulated_run(tmp_path):
    original = sim_run(tmp_path / "a")
    r = CliRunner().invoke(main, ["replay", str(original), "--check"])
    assert r.exit_code == 0 and "overall: valid" in r.output
    assert "replaying" not in r.output


def test_replay_of_nothing_usable_exits_254(tmp_path):
    bad = tmp_path / "run"
    bad.mkdir()
    (bad / "options.json").write_text("{not json")
    for path in (tmp_path / "missing.edn", bad):
        r = CliRunner().invoke(main, ["replay", str(path)])
        assert r.exit_code == 254, r.output
    (bad / "options.json").write_text(json.dumps({"sim": True, "node_count": "many"}))
    r = CliRunner().invoke(main, ["replay", str(bad), "--quiet", "--store", str(tmp_path / "s")])
    assert r.exit_code == 254, r.output


def test_options_round_trip_through_json_and_command_line():
    opts = TestOptions(workload="lin-kv", bin="/x/run.py", node_count=3, concurrency=6,
                       time_limit=12.5, rate=7.0, latency=10.0, nemesis=["partition", "pause"],
                       loss=0.1, reorder=0.2, reorder_delay=30.0, seed=99, sim=True,
                       availability="total", recovery_time=0.0)
    back = options_from_dict(json.loads(json.dumps(opts.to_dict())))
    assert back == opts
    cmd = command_line(opts)
    assert cmd.startswith("maelstrom test --sim -w lin-kv --bin /x/run.py --node-count 3 ")
    for part in ("--time-limit 12.5", "--rate 7", "--nemesis partition,pause", "--loss 0.1",
                 "--reorder 0.2", "--reorder-delay 30", "--availability total",
                 "--recovery-time 0", "--seed 99"):
        assert part in cmd
    assert "--duplicate" not in cmd and "--latency-dist" not in cmd
