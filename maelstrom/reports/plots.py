"""latency-raw.png, latency-quantiles.png and rate.png, drawn as Jepsen's perf checker draws them
(maelstrom's store holds the same three): time since the workload started on x; one series per
f and outcome (ok / info / fail); nemesis periods shaded, one colour per kind.

Matplotlib with the Agg backend (no display needed). Each figure is WIDTH x HEIGHT pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maelstrom.reports.load import Call, Period

__all__ = ["latency_raw", "latency_quantiles", "rate", "WIDTH", "HEIGHT", "OUTCOME_COLOURS"]

WIDTH, HEIGHT, DPI = 900, 400, 100
OUTCOME_COLOURS = {"ok": "#5b9bd5", "info": "#ffa400", "fail": "#ff1e90"}
NEMESIS_COLOURS = {"partition": "#888888", "pause": "#c59bd8", "kill": "#e07b7b"}
MARKERS = ["o", "^", "s", "D", "v", "P", "X", "*"]
QUANTILES = (0.5, 0.95, 0.99, 1.0)
QUANTILE_COLOURS = {0.5: "#2b8cbe", 0.95: "#e6a100", 0.99: "#d7301f", 1.0: "#555555"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _figure(title: str) -> tuple[Any, Any, Any]:
    plt = _pyplot()
    fig = plt.figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    ax = fig.add_axes((0.08, 0.13, 0.72, 0.78))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("time (s)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(True, which="major", color="#e4e4e4", linewidth=0.6)
    ax.set_axisbelow(True)
    return plt, fig, ax


def _shade(ax: Any, periods: list[Period], end: float) -> list[Any]:
    """Nemesis periods as shaded spans; one legend entry per kind."""
    handles, seen = [], set()
    for p in periods:
        colour = NEMESIS_COLOURS.get(p.kind, "#9fb8ad")
        label = None if p.kind in seen else p.kind
        seen.add(p.kind)
        span = ax.axvspan(p.start, p.end if p.end is not None else end, color=colour,
                          alpha=0.18, linewidth=0, label=label)
        if label:
            handles.append(span)
    return handles


def _save(plt: Any, fig: Any, ax: Any, path: Path) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.81, 0.91), fontsize=7,
                   frameon=False)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _end(calls: list[Call], periods: list[Period]) -> float:
    ends = [c.end if c.end is not None else c.start for c in calls]
    ends += [p.end for p in periods if p.end is not None] + [p.start for p in periods]
    return max(ends, default=1.0) or 1.0


def _fs(calls: list[Call]) -> list[str]:
    return sorted({c.f for c in calls})


def latency_raw(calls: list[Call], periods: list[Period], path: Path) -> None:
    """Every completed op: invoke time vs latency (ms, log scale), by f (marker) and outcome."""
    plt, fig, ax = _figure("latency (raw)")
    end = _end(calls, periods)
    _shade(ax, periods, end)
    markers = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(_fs(calls))}
    groups: dict[tuple[str, str], tuple[list, list]] = {}
    for c in calls:
        if c.end is None:
            continue
        xs, ys = groups.setdefault((c.f, c.type), ([], []))
        xs.append(c.start)
        ys.append(max((c.end - c.start) * 1000.0, 0.01))
    for (f, type_), (xs, ys) in sorted(groups.items()):
        ax.scatter(xs, ys, s=6, marker=markers[f], color=OUTCOME_COLOURS.get(type_, "#999"),
                   alpha=0.6, linewidths=0, label=f"{f} {type_}", rasterized=True)
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms)", fontsize=9)
    ax.set_xlim(0, end)
    _save(plt, fig, ax, path)


def _buckets(end: float) -> float:
    """Bucket width: about 40 buckets over the run, at least 0.1 s."""
    return max(end / 40.0, 0.1)


def _quantile(sorted_values: list[float], q: float) -> float:
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def latency_quantiles(calls: list[Call], periods: list[Period], path: Path) -> None:
    """Per f, latency quantiles (0.5, 0.95, 0.99, max) of the ops invoked in each time bucket."""
    plt, fig, ax = _figure("latency quantiles")
    end = _end(calls, periods)
    _shade(ax, periods, end)
    dt = _buckets(end)
    styles = ["-", "--", ":", "-."]
    for i, f in enumerate(_fs(calls)):
        buckets: dict[int, list[float]] = {}
        for c in calls:
            if c.f == f and c.end is not None:
                buckets.setdefault(int(c.start / dt), []).append((c.end - c.start) * 1000.0)
        xs = sorted(buckets)
        for q in QUANTILES:
            ys = [max(_quantile(sorted(buckets[b]), q), 0.01) for b in xs]
            ax.plot([(b + 0.5) * dt for b in xs], ys, styles[i % len(styles)],
                    color=QUANTILE_COLOURS[q], linewidth=1, marker=".", markersize=3,
                    label=f"{f} {q}")
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms)", fontsize=9)
    ax.set_xlim(0, end)
    _save(plt, fig, ax, path)


def rate(calls: list[Call], periods: list[Period], path: Path) -> None:
    """Completions per second in each time bucket, by f and outcome."""
    plt, fig, ax = _figure("rate")
    end = _end(calls, periods)
    _shade(ax, periods, end)
    dt = _buckets(end)
    n = int(end / dt) + 1
    styles = ["-", "--", ":", "-."]
    groups: dict[tuple[str, str], list[int]] = {}
    for c in calls:
        t = c.end if c.end is not None else None
        if t is None:
            continue
        counts = groups.setdefault((c.f, c.type), [0] * n)
        counts[min(n - 1, int(t / dt))] += 1
    fs = _fs(calls)
    for (f, type_), counts in sorted(groups.items()):
        ax.plot([(b + 0.5) * dt for b in range(n)], [k / dt for k in counts],
                styles[fs.index(f) % len(styles)], color=OUTCOME_COLOURS.get(type_, "#999"),
                linewidth=1, label=f"{f} {type_}")
    ax.set_ylabel("throughput (ops/s)", fontsize=9)
    ax.set_xlim(0, end)
    ax.set_ylim(bottom=0)
    _save(plt, fig, ax, path)
