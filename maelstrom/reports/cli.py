"""The reports' flags (`maelstrom test`), the call that renders a store run's reports after the
run (printing only what went wrong, on stderr), and the journal's size flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from maelstrom.errors import BenchError
from maelstrom.reports import ReportOptions, ReportResult, write_reports

__all__ = ["report_flags", "report_options", "render_run", "parse_window", "journal_flags",
           "journal_options"]

_FLAGS = ("no_reports", "diagram_messages", "diagram_window")


def parse_window(text: str | None) -> tuple[float | None, float | None]:
    """`--diagram-window FROM:TO` (workload seconds, either side may be empty)."""
    if not text:
        return (None, None)
    parts = text.split(":")
    if len(parts) != 2:
        raise BenchError(f"--diagram-window {text!r}: expected FROM:TO in seconds, e.g. 10:12")
    try:
        lo = float(parts[0]) if parts[0].strip() else None
        hi = float(parts[1]) if parts[1].strip() else None
    except ValueError:
        raise BenchError(f"--diagram-window {text!r}: FROM and TO must be numbers") from None
    if lo is not None and hi is not None and hi < lo:
        raise BenchError(f"--diagram-window {text!r}: TO is before FROM")
    return (lo, hi)


def report_flags(f: Callable) -> Callable:
    """Click options: --no-reports, --diagram-messages N, --diagram-window FROM:TO."""
    for opt in reversed([
        click.option("--no-reports", is_flag=True,
                     help="Do not write the plots, messages.svg, timelines and cluster.html."),
        click.option("--diagram-messages", type=click.IntRange(min=1), default=1000,
                     show_default=True, help="Messages drawn in messages.svg."),
        click.option("--diagram-window", default=None, metavar="FROM:TO",
                     help="messages.svg: only messages sent in this window (workload seconds; "
                          "either side may be empty). Default: from the start."),
    ]):
        f = opt(f)
    return f


def report_options(flags: dict) -> ReportOptions | None:
    """Take the report flags out of `flags` (so the rest can go to make_options); None when
    reports are off. BenchError for a bad window."""
    values = {k: flags.pop(k, None) for k in _FLAGS}
    if values["no_reports"]:
        return None
    return ReportOptions(messages=values["diagram_messages"] or 1000,
                         window=parse_window(values["diagram_window"]))


def render_run(run_dir: str | Path, options: ReportOptions | None, history: Any = None,
               results: Any = None, journal_dir: Any = None) -> ReportResult | None:
    """Render the reports of a finished run; problems go to stderr, never an exception."""
    if options is None:
        return None
    try:
        out = write_reports(run_dir, history, results, options, journal_dir=journal_dir)
    except Exception as exc:  # never lose the verdict to a picture
        click.echo(f"reports: could not be written: {type(exc).__name__}: {exc}", err=True)
        return None
    for problem in out.errors:
        click.echo(f"reports: could not write {problem}", err=True)
    return out


def journal_flags(f: Callable) -> Callable:
    """Click options for the journal's size: --journal-gzip, --journal-max-mb MB."""
    for opt in reversed([
        click.option("--journal-gzip", is_flag=True,
                     help="Write the network journal compressed (messages.jsonl.gz)."),
        click.option("--journal-max-mb", type=float, default=None, metavar="MB",
                     help="Stop journaling messages after this many MB (a last line says how "
                          "many were left out). Default: no cap."),
    ]):
        f = opt(f)
    return f


def journal_options(flags: dict) -> dict:
    """Take the journal flags out of `flags`: TestOptions fields (BenchError if bad)."""
    gz = bool(flags.pop("journal_gzip", False))
    cap = flags.pop("journal_max_mb", None)
    if cap is not None and not cap > 0:
        raise BenchError(f"--journal-max-mb must be a positive number of MB, got {cap:g}")
    return {"journal_gzip": gz, "journal_max_mb": cap}
