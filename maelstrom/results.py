"""Analysis of a finished test: the results map in the shape of Maelstrom's results.edn.

Pure functions of the history (and the counters the runner kept): `stats`, `availability`,
`perf`, and `compose`, which merges the checkers' verdicts the way Jepsen does (false beats
unknown beats true).
"""

from __future__ import annotations

from typing import Any, Iterable

from maelstrom.history import Op

__all__ = ["merge_valid", "client_completions", "stats", "availability", "perf", "compose",
           "verdict_exit_code"]


def merge_valid(values: Iterable[Any]) -> Any:
    """Jepsen's merge-valid: any false -> false, else any unknown -> "unknown", else true."""
    result: Any = True
    for v in values:
        if v is False:
            return False
        if v is not True:
            result = "unknown"
    return result


def verdict_exit_code(valid: Any) -> int:
    """Jepsen's exit status for a verdict: 0 valid, 1 invalid, 2 unknown."""
    if valid is True:
        return 0
    if valid is False:
        return 1
    return 2


def client_completions(history: list[Op]) -> list[Op]:
    return [op for op in history if op.type != "invoke" and isinstance(op.process, int)]


def _counts(ops: list[Op]) -> dict:
    ok = sum(1 for op in ops if op.type == "ok")
    fail = sum(1 for op in ops if op.type == "fail")
    info = sum(1 for op in ops if op.type == "info")
    return {"valid?": ok > 0, "count": len(ops), "ok-count": ok, "fail-count": fail,
            "info-count": info}


def stats(history: list[Op]) -> dict:
    """Jepsen's stats checker: counts of client completions, overall and by f. Invalid if some
    f never succeeded (as Jepsen: a function that never works is a failed test)."""
    done = client_completions(history)
    by_f: dict[str, list[Op]] = {}
    for op in done:
        by_f.setdefault(op.f, []).append(op)
    result = _counts(done)
    result["by-f"] = {f: _counts(ops) for f, ops in sorted(by_f.items())}
    result["valid?"] = merge_valid(s["valid?"] for s in result["by-f"].values())
    return result


def availability(history: list[Op], required: float | str | None) -> dict:
    """Maelstrom's availability checker: the fraction of client operations that succeeded,
    valid if it reaches `required` (a fraction, or "total" for every one); always valid when
    no availability was asked for."""
    done = client_completions(history)
    ok = sum(1 for op in done if op.type == "ok")
    fraction = ok / len(done) if done else 0.0
    if required is None:
        valid = True
    elif required == "total":
        valid = bool(done) and ok == len(done)
    else:
        valid = fraction >= float(required)
    return {"valid?": valid, "ok-fraction": fraction}


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def perf(history: list[Op]) -> dict:
    """Throughput and latency quantiles (milliseconds), overall and by f, from paired
    invocations and completions."""
    open_: dict[Any, Op] = {}
    lat_by_f: dict[str, list[float]] = {}
    first = last = None
    for op in history:
        if not isinstance(op.process, int):
            continue
        if op.type == "invoke":
            open_[op.process] = op
            if first is None:
                first = op.time
            continue
        inv = open_.pop(op.process, None)
        last = op.time
        if inv is not None:
            lat_by_f.setdefault(op.f, []).append((op.time - inv.time) / 1e6)

    def summary(lats: list[float]) -> dict:
        lats = sorted(lats)
        return {"count": len(lats), "p50": _quantile(lats, 0.5), "p95": _quantile(lats, 0.95),
                "p99": _quantile(lats, 0.99), "max": lats[-1] if lats else 0.0}

    everything = [x for lats in lat_by_f.values() for x in lats]
    span = ((last - first) / 1e9) if first is not None and last is not None else 0.0
    return {"valid?": True,
            "throughput": (len(everything) / span) if span > 0 else 0.0,
            "latency": {"all": summary(everything),
                        "by-f": {f: summary(l) for f, l in sorted(lat_by_f.items())}}}


def compose(parts: dict[str, dict]) -> dict:
    """The results map: each checker's result under its name, plus the merged "valid?"."""
    results = dict(parts)
    results["valid?"] = merge_valid(p.get("valid?", True) for p in parts.values())
    return results
