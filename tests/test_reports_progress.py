"""Progress of long work (issue 14): a sweep's seeds done / failing so far / ETA, a check's keys;
and a sweep keeps the reports of the runs it keeps."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

import maelstrom.progress as progress_mod
from maelstrom.checker import check
from maelstrom.history import Op
from maelstrom.progress import CountProgress, count_progress_for

ROOT = Path(__file__).resolve().parent.parent
STALE = f"{ROOT / 'tests' / 'nodes' / 'stale_reads.py'}:StaleReadServer"


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_count_progress_line_and_eta():
    clock, out = FakeClock(), io.StringIO()
    p = CountProgress(out, "sweep", "seeds", 200, clock=clock)
    assert p.line(0, 0) == "sweep: 0/200 seeds, 0 failing, 0:00 elapsed, ETA ?"
    clock.t += 41
    assert p.line(12, 1) == "sweep: 12/200 seeds, 1 failing, 0:41 elapsed, ETA 10:42"
    clock.t += 3600
    assert p.line(199, 3).endswith("1:00:41 elapsed, ETA 0:18")
    assert p.line(200, 3).endswith("done")
    p.update(5, 0)
    p.update(6, 0)  # within the period: not redrawn
    assert out.getvalue().count("\r") == 1 and "5/200" in out.getvalue()
    p.update(6, 0, force=True)
    p.clear()
    assert out.getvalue().endswith("\r\x1b[2K") and "6/200" in out.getvalue()


def test_progress_only_on_a_terminal():
    assert count_progress_for(False, "check", "keys", 3, io.StringIO()) is None

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(count_progress_for(False, "check", "keys", 3, Tty()), CountProgress)
    assert count_progress_for(True, "check", "keys", 3, Tty()) is None


def history(keys: int, bad: set[int]) -> list[Op]:
    """Per key: write 1, then a read of 1 (or of 2, which nothing wrote, for a bad key)."""
    ops: list[Op] = []
    for k in range(keys):
        for f, v in (("write", 1), ("read", 2 if k in bad else 1)):
            ops.append(Op(len(ops), len(ops), "invoke", 0, f, [k, v if f == "write" else None]))
            ops.append(Op(len(ops), len(ops), "ok", 0, f, [k, v]))
    return ops


def test_check_reports_each_key_as_it_finishes():
    calls = []
    for workers in (1, 2):
        calls.clear()
        result = check(history(30, {3, 17}), "lin-kv", workers=workers,
                       progress=lambda *a: calls.append(a))
        assert sorted(result["failures"]) == [3, 17]
        assert calls[-1] == (30, 30, 2)
        assert [c[0] for c in calls[:30]] == list(range(1, 31))
        assert all(a[2] <= b[2] for a, b in zip(calls, calls[1:]))  # failing never drops


def test_sweep_shows_progress_and_keeps_reports(tmp_path, monkeypatch):
    from maelstrom.cli import main

    streams = []

    def fake(quiet, what, unit, total, stream=None):
        streams.append(io.StringIO())
        return CountProgress(streams[-1], what, unit, total)

    monkeypatch.setattr(progress_mod, "count_progress_for", fake)
    r = CliRunner().invoke(main, [
        "sweep", "--seeds", "1-2", "--jobs", "1", "--bin", str(ROOT / "node" / "run.py"),
        "--sim-node", STALE, "-w", "lin-kv", "--node-count", "3", "--concurrency", "2n",
        "--latency", "5", "--rate", "50", "--time-limit", "3", "--nemesis", "partition",
        "--nemesis-interval", "1", "--store", str(tmp_path)])
    assert r.exit_code == 1, r.output
    text = streams[0].getvalue()
    assert "sweep: 1/2 seeds, 1 failing" in text and "sweep: 2/2 seeds" in text
    assert text.endswith("\r\x1b[2K")  # cleared before the summary
    kept = sorted((tmp_path / "sweep").glob("*/seed-1"))
    assert kept and {"latency-raw.png", "cluster.html", "timeline-0.html"} <= \
        {p.name for p in kept[0].iterdir()}
