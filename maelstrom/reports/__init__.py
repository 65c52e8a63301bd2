"""Reports people look at, written into a run's store directory (docs/reports.md):

    latency-raw.png  latency-quantiles.png  rate.png    Jepsen's perf plots (plots.py)
    messages.svg                                        Lamport diagram of the journal (lamport.py)
    timeline-KEY.html (per key) or timeline.html        Jepsen's timeline (timeline.py)
    cluster.html                                        leaders, slot map, migrations, membership,
                                                        health, counterexample (cluster_view.py)

`write_reports(run_dir)` renders them from what the directory holds (history, results.json,
messages.jsonl[.gz], node-logs/), or from the history and results a caller already has. Each
artefact is written whatever happens to the others; the answer says what was written, what
could not be and why, and how long each took. It never raises for bad input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from maelstrom.history import Op
from maelstrom.reports.load import (Call, calls, history_of, key_text, keyed, nemesis_periods,
                                    node_events)

__all__ = ["ReportOptions", "ReportResult", "write_reports", "failing_keys", "timeline_names",
           "PLOTS"]

PLOTS = ("latency-raw.png", "latency-quantiles.png", "rate.png")


@dataclass
class ReportOptions:
    messages: int = 1000                       # messages in messages.svg
    window: tuple[float | None, float | None] = (None, None)   # workload seconds
    max_timelines: int = 200                   # per-key timelines (failing keys always)
    plots: bool = True


@dataclass
class ReportResult:
    written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _results_of(run_dir: Path) -> dict:
    try:
        data = orjson.loads((run_dir / "results.json").read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def failing_keys(results: dict) -> list[tuple[Any, dict]]:
    """(key, linearizable result) of each key the workload checker found not linearizable;
    the key as the results hold it (an object in memory, its JSON form from results.json)."""
    workload = results.get("workload") if isinstance(results, dict) else None
    if not isinstance(workload, dict) or not isinstance(workload.get("results"), dict):
        return []
    out = []
    for k in workload.get("failures") or []:
        try:
            r = workload["results"].get(k)
        except TypeError:
            r = None
        if r is None:
            r = workload["results"].get(key_text(k))
        lin = r.get("linearizable") if isinstance(r, dict) else None
        if isinstance(lin, dict):
            out.append((k, lin))
    return out


def timeline_names(failing: list, others: list) -> dict[str, str]:
    """key text -> the KEY of timeline-KEY.html: the failing keys get the names their
    linear-KEY pictures have (same function, same order), the others follow."""
    from maelstrom.commands.check import picture_names

    texts = {key_text(k) for k in failing}
    keys = list(failing) + [k for k in others if key_text(k) not in texts]
    return {key_text(k): name for k, name in picture_names(keys).items()}


def _culprits(lin: dict) -> tuple[int | None, float | None, float | None]:
    """The culprit's invoke index and interval (seconds) from a counterexample's window."""
    for w in lin.get("window") or []:
        if isinstance(w, dict) and w.get("role") == "culprit":
            it, ct = w.get("invoke-time"), w.get("complete-time")
            return (w.get("invoke-index"),
                    it / 1e9 if isinstance(it, (int, float)) else None,
                    ct / 1e9 if isinstance(ct, (int, float)) else None)
    op = lin.get("op")
    if isinstance(op, dict) and isinstance(op.get("time"), (int, float)):
        return None, op["time"] / 1e9, op["time"] / 1e9
    return None, None, None


def write_reports(run_dir: str | Path, history: list[Op] | None = None,
                  results: dict | None = None, options: ReportOptions | None = None,
                  journal_dir: str | Path | None = None) -> ReportResult:
    """Render every report into `run_dir`. `journal_dir`: where messages.jsonl and node-logs/
    are, when not in `run_dir` (`maelstrom check --out` of a store run)."""
    from maelstrom.reports import cluster_view, lamport, plots, timeline

    run_dir = Path(run_dir)
    source = Path(journal_dir) if journal_dir is not None else run_dir
    opts = options or ReportOptions()
    out = ReportResult()

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:  # a bug or a full disk must not cost the other reports
            out.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            value = None
        out.seconds[name] = out.seconds.get(name, 0.0) + time.perf_counter() - t0
        return value

    hist = history if history is not None else step("load history", lambda: history_of(source))
    hist = hist or []
    res = results if results is not None else _results_of(run_dir) or _results_of(source)
    ops: list[Call] = step("load history", lambda: calls(hist)) or []
    periods = step("load history", lambda: nemesis_periods(hist)) or []
    if opts.plots and ops:
        for name, draw in zip(PLOTS, (plots.latency_raw, plots.latency_quantiles, plots.rate)):
            if step(name, lambda draw=draw, name=name: draw(ops, periods, run_dir / name)) \
                    is None and not any(e.startswith(name) for e in out.errors):
                out.written.append(name)

    def diagram() -> bool:
        msgs, _ = lamport.select(source, opts.messages, opts.window)
        if not msgs:
            return False
        (run_dir / "messages.svg").write_text(
            lamport.render(msgs, periods, f"messages: the first {len(msgs)} "
                           + ("" if opts.window == (None, None) else
                              f"in {opts.window[0] or 0:g}-{opts.window[1] or 'end'} s ")),
            encoding="utf-8")
        return True

    if step("messages.svg", diagram):
        out.written.append("messages.svg")

    failing = step("timelines", lambda: failing_keys(res)) or []
    lin_names = {}
    culprit_at: dict[str, tuple] = {}
    for k, lin in failing:
        culprit_at[key_text(k)] = _culprits(lin)
    by_key = step("timelines", lambda: keyed(ops)) if ops else None
    has_cluster_page = (source / "node-logs").is_dir()

    def timelines() -> list[str]:
        written = []
        if by_key is None:
            page = timeline.render(ops, "timeline", [("cluster.html", "cluster view")]
                                   if has_cluster_page else [])
            (run_dir / "timeline.html").write_text(page, encoding="utf-8")
            return ["timeline.html"]
        names = timeline_names([k for k, _ in failing], list(by_key))
        lin_names.update({t: names[t] for t in culprit_at if t in names})
        chosen = [k for k in by_key if key_text(k) in culprit_at]
        chosen += [k for k in by_key if key_text(k) not in culprit_at][:opts.max_timelines]
        for k in chosen:
            text = key_text(k)
            links = []
            if text in culprit_at:
                links.append((f"linear-{names[text]}.html", "counterexample"))
            if has_cluster_page:
                links.append(("cluster.html", "cluster view"))
            idx = culprit_at.get(text, (None,))[0]
            page = timeline.render(by_key[k], f"timeline, key {text}", links,
                                   frozenset([idx]) if idx is not None else frozenset())
            name = f"timeline-{names[text]}.html"
            (run_dir / name).write_text(page, encoding="utf-8")
            written.append(name)
        return written

    if ops:
        out.written += step("timelines", timelines) or []

    def cluster() -> bool:
        if not has_cluster_page:
            return False
        events = node_events(source / "node-logs", _start(source))
        data = cluster_view.build(events)
        markers = []
        for text, (_, t0, t1) in culprit_at.items():
            if t0 is None:
                continue
            name = lin_names.get(text)
            links = ((f"timeline-{name}.html", "timeline"), (f"linear-{name}.html",
                                                             "counterexample")) if name else ()
            markers.append(cluster_view.Marker(f"key {text}", t0, t1, links))
        end = max([c.end or c.start for c in ops] + [0.0])
        page = cluster_view.render(data, periods, markers, end, "cluster view")
        (run_dir / "cluster.html").write_text(page, encoding="utf-8")
        return True

    if step("cluster.html", cluster):
        out.written.append("cluster.html")

    def counterexample_links() -> None:
        """The counterexample pages the checker wrote, again, with links to the key's
        timeline and the cluster view."""
        from maelstrom import edn
        from maelstrom.checker.report import picture, render_html

        for k, lin in failing:
            name = lin_names.get(key_text(k))
            page = run_dir / f"linear-{name}.html"
            if name is None or not page.is_file():
                continue
            links = [(f"timeline-{name}.html", "timeline of this key")]
            if "cluster.html" in out.written:
                links.append(("cluster.html", "cluster view"))
            title = f"linearizability counterexample, key {edn.excerpt(k, 60)}"
            page.write_text(render_html(picture(lin, title=title), links), encoding="utf-8")

    step("counterexample links", counterexample_links)
    return out


def _start(source: Path) -> float:
    from maelstrom.reports.load import workload_start

    return workload_start(source)
