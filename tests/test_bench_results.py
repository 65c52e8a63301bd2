"""Analysis: stats, availability, perf, verdict merging and exit codes."""

from __future__ import annotations

from maelstrom.history import Op
from maelstrom.results import availability, compose, merge_valid, perf, stats, verdict_exit_code


def hist(*completions):
    ops, t = [], 0
    for process, type_, f in completions:
        ops.append(Op(len(ops), t, "invoke", process, f, None))
        t += 1_000_000
        ops.append(Op(len(ops), t, type_, process, f, None))
        t += 1_000_000
    ops.append(Op(len(ops), t, "info", "nemesis", "start-partition", None))
    return ops


H = hist((0, "ok", "read"), (1, "fail", "read"), (2, "info", "write"), (0, "ok", "write"))


def test_stats_count_client_completions_by_f():
    s = stats(H)
    assert (s["count"], s["ok-count"], s["fail-count"], s["info-count"]) == (4, 2, 1, 1)
    assert s["by-f"]["read"] == {"valid?": True, "count": 2, "ok-count": 1, "fail-count": 1,
                                 "info-count": 0}
    assert s["valid?"] is True


def test_stats_invalid_when_some_f_never_succeeds():
    assert stats(hist((0, "ok", "read"), (1, "fail", "cas")))["valid?"] is False


def test_availability():
    assert availability(H, None) == {"valid?": True, "ok-fraction": 0.5}
    assert availability(H, 0.5)["valid?"] is True
    assert availability(H, 0.6)["valid?"] is False
    assert availability(H, "total")["valid?"] is False
    assert availability(hist((0, "ok", "read")), "total")["valid?"] is True


def test_perf_latencies_in_ms():
    p = perf(H)
    assert p["latency"]["all"]["count"] == 4
    assert p["latency"]["all"]["p50"] == 1.0 and p["latency"]["by-f"]["write"]["max"] == 1.0
    assert p["throughput"] > 0


def test_merge_and_exit_codes():
    assert merge_valid([True, True]) is True
    assert merge_valid([True, "unknown"]) == "unknown"
    assert merge_valid(["unknown", False, True]) is False
    assert [verdict_exit_code(v) for v in (True, False, "unknown")] == [0, 1, 2]
    r = compose({"a": {"valid?": True}, "b": {"valid?": "unknown"}})
    assert r["valid?"] == "unknown" and r["a"] == {"valid?": True}
