"""`maelstrom replay PATH`: reproduce a simulated run from its store, or re-check any history.

(a) PATH is a simulated run (a store run directory, or a store root / workload directory with a
    `latest` link, whose options.json says `"sim": true`): run the same test again from its
    options and seed, in a new store run, and compare history.edn and messages.jsonl byte for
    byte with the original. `--log-net-send`, `--log-net-recv` and `--log-stderr` add logging
    to the new run (bench.log, node logs) without changing what it does.
    Exit: the new run's verdict (0 valid, 1 invalid, 2 unknown) if it reproduced the original
    exactly, 254 if it did not (a determinism bug) or could not run.
(b) Anything else (a history.edn from Jepsen's Maelstrom, a history.jsonl, a process-backend
    run), or any PATH with `--check`: check the stored history exactly as `maelstrom check`
    does (the same command runs; its flags --model, --json, --out, --time-limit apply).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from maelstrom.errors import EXIT_ERROR, BenchError

__all__ = ["replay", "options_from_dict", "command_line", "run_dir", "compare_runs",
           "COMPARED_FILES"]

# The files a replay must reproduce byte for byte.
COMPARED_FILES = ("history.edn", "messages.jsonl")


def run_dir(path: Path) -> Path | None:
    """The store run directory PATH names (itself, or where its `latest` link points), or None
    if PATH is not a run directory with options.json."""
    path = Path(path)
    if not path.is_dir():
        return None
    if (path / "options.json").is_file():
        return path
    latest = path / "latest"
    if latest.is_dir() and (latest / "options.json").is_file():
        return latest.resolve()
    return None


def options_from_dict(data: dict) -> Any:
    """TestOptions from an options.json (unknown keys, e.g. `nodes`, are ignored; missing ones
    take their defaults, so older stores load)."""
    from maelstrom.runner import TestOptions

    fields = {f.name: f for f in dataclasses.fields(TestOptions)}
    defaults = TestOptions()
    kwargs = {}
    for name, value in data.items():
        if name not in fields:
            continue
        default = getattr(defaults, name)
        ok = _TYPES.get(name, (type(default),))
        if type(value) is int and float in ok:
            value = float(value)
        if not isinstance(value, ok) or (isinstance(value, bool) and bool not in ok):
            raise ValueError(f"option {name}: {value!r} is not a {'/'.join(t.__name__ for t in ok)}")
        kwargs[name] = value
    if not all(isinstance(n, str) for n in kwargs.get("nemesis", []))  \
            or not all(isinstance(n, str) for n in kwargs.get("nemesis_targets", [])) or \
            not all(isinstance(a, str) for a in kwargs.get("args", [])):
        raise ValueError("options nemesis and args must be lists of strings")
    return TestOptions(**kwargs)


# Options whose type is not their default's.
_TYPES: dict[str, tuple[type, ...]] = {
    "availability": (float, str, type(None)),
    "recovery_time": (float, type(None)),
    "sim_node": (str, type(None)),
    "journal_max_mb": (float, type(None)),
}


def command_line(opts: Any) -> str:
    """The `maelstrom test` command that runs `opts` again (store and quiet aside)."""
    from maelstrom.runner import TestOptions

    d = TestOptions()
    parts = ["maelstrom", "test"]
    if opts.sim:
        parts.append("--sim")
        if not getattr(opts, "invariants", True):
            parts.append("--no-invariants")
        if getattr(opts, "lose_unsynced", False):
            parts.append("--lose-unsynced")
    flags = [("-w", opts.workload, None), ("--bin", opts.bin, ""),
             ("--sim-node", opts.sim_node, None), ("--node-count", opts.node_count, None),
             ("--time-limit", opts.time_limit, None), ("--rate", opts.rate, None),
             ("--concurrency", opts.concurrency, None), ("--latency", opts.latency, d.latency),
             ("--latency-dist", opts.latency_dist, d.latency_dist),
             ("--nemesis", ",".join(opts.nemesis), ""),
             ("--nemesis-interval", opts.nemesis_interval, d.nemesis_interval),
             ("--nemesis-targets", ",".join(getattr(opts, "nemesis_targets", [])), ""),
             ("--availability", opts.availability, None),
             ("--init-timeout", opts.init_timeout, d.init_timeout),
             ("--recovery-time", opts.recovery_time, None),
             ("--loss", opts.loss, d.loss), ("--duplicate", opts.duplicate, d.duplicate),
             ("--reorder", opts.reorder, d.reorder),
             ("--reorder-delay", opts.reorder_delay, d.reorder_delay),
             ("--seed", opts.seed, None),
             ("--journal-max-mb", getattr(opts, "journal_max_mb", None), None)]
    for flag, value, default in flags:
        if value is None or value == default:
            continue
        parts += [flag, _text(value)]
    if getattr(opts, "journal_gzip", False):
        parts.append("--journal-gzip")
    if opts.args:
        parts.append("--")
        parts += [str(a) for a in opts.args]
    return " ".join(shlex.quote(p) for p in parts)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def compare_runs(original: Path, new: Path) -> list[str]:
    """Differences between two runs' COMPARED_FILES, as lines of text ([] if identical)."""
    problems = []
    for name in COMPARED_FILES:
        if not (original / name).exists() and (original / f"{name}.gz").exists():
            name += ".gz"  # a journal written with --journal-gzip (deterministic bytes)
        a, b = _digest(original / name), _digest(new / name)
        if a is None:
            problems.append(f"{name}: missing in {original}")
        elif a != b:
            problems.append(f"{name}: differs{_first_difference(original / name, new / name)}")
    return problems


def _first_difference(a: Path, b: Path) -> str:
    import gzip

    opener = gzip.open if a.suffix == ".gz" else open
    try:
        with opener(a, "rb") as fa, opener(b, "rb") as fb:
            for n, (la, lb) in enumerate(zip(fa, fb), 1):
                if la != lb:
                    return (f" from line {n}:\n    original: {la[:200]!r}\n"
                            f"    replay:   {lb[:200]!r}")
    except (OSError, EOFError):
        return ""
    return " (one is a prefix of the other)"


@click.command("replay")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--check", "force_check", is_flag=True,
              help="Only re-check the stored history (as `maelstrom check`), do not re-run.")
@click.option("--store", "store_root", default="store", show_default=True,
              help="(re-run) Directory for the new run.")
@click.option("--log-stderr", is_flag=True, help="(re-run) Echo node logs to the console.")
@click.option("--log-net-send", is_flag=True, help="(re-run) Log messages as they are sent.")
@click.option("--log-net-recv", is_flag=True, help="(re-run) Log messages as they are received.")
@click.option("--quiet", is_flag=True, help="(re-run) No log output on stderr.")
@click.option("--model", type=click.Choice(["cas-register", "lin-kv"]),
              help="(check) Model to check against.")
@click.option("--json", "as_json", is_flag=True, help="(check) Print the result as JSON.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="(check) Write results.edn and counterexample pictures here.")
@click.option("--time-limit", type=float, help="(check) Seconds; a longer search is unknown.")
@click.pass_context
def replay(ctx: click.Context, path: Path, force_check: bool, store_root: str, log_stderr: bool,
           log_net_send: bool, log_net_recv: bool, quiet: bool, model: str | None,
           as_json: bool, out: Path | None, time_limit: float | None) -> None:
    """Re-run a simulated test from its store and confirm the same history; or re-check any
    stored history (a run, history.edn, history.jsonl) like `maelstrom check`."""
    run = run_dir(path)
    options = None
    if run is not None and not force_check:
        try:
            options = json.loads((run / "options.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BenchError(f"{run / 'options.json'}: cannot read: {exc}") from None
        if not isinstance(options, dict) or not options.get("sim"):
            click.echo(f"{run} is not a simulated run: re-checking its history", err=True)
            options = None
    if options is None:
        from maelstrom.commands.check import check

        ctx.invoke(check, path=run if run is not None else path, model=model,
                   as_json=as_json, out=out, time_limit=time_limit)
        return
    _rerun(run, options, store_root, log_stderr, log_net_send, log_net_recv, quiet)


def _rerun(run: Path, options: dict, store_root: str, log_stderr: bool, log_net_send: bool,
           log_net_recv: bool, quiet: bool) -> None:
    from maelstrom.commands.test import run_test, summary

    try:
        opts = options_from_dict(options)
    except (TypeError, ValueError) as exc:
        raise BenchError(f"{run / 'options.json'}: not a test's options: {exc}") from None
    opts = dataclasses.replace(opts, store=store_root, quiet=quiet,
                               log_stderr=log_stderr or opts.log_stderr,
                               log_net_send=log_net_send or opts.log_net_send,
                               log_net_recv=log_net_recv or opts.log_net_recv)
    click.echo(f"replaying {run} (seed {opts.seed})")
    click.echo(f"  same as: {command_line(opts)}")
    result = run_test(opts, quiet)
    from maelstrom.reports import ReportOptions
    from maelstrom.reports.cli import render_run

    render_run(result.store, ReportOptions(), result.history, result.results)
    click.echo(summary(result.results, result.store, opts.seed))
    problems = compare_runs(run, result.store)
    if problems:
        click.echo("NOT reproduced: the replay differs from the original")
        for line in problems:
            click.echo(f"  {line}")
        sys.exit(EXIT_ERROR)
    click.echo(f"reproduced: {' and '.join(COMPARED_FILES)} are identical to the original's")
    sys.exit(result.exit_code)
