"""`maelstrom sweep`: one simulated test per seed, in parallel, and a table of verdicts.

Takes the flags of `maelstrom test` except --seed, --sim (always simulated), --quiet (runs
are always quiet) and extra arguments for a binary (none in the simulator), plus `--seeds`
(e.g. `1-200`, `7,9,12-15`) and `--jobs` (worker processes; default: one per core).
Each run is written to a scratch store; runs that are not valid are kept under
`<store>/sweep/<UTC time>/seed-<N>/` (a normal run directory, with its reports: plots,
timelines, cluster view) with the command that replays them, valid runs are deleted. On a
terminal a progress line on stderr says how many seeds are done, how many failed so far and
when the sweep should end. Exit: 0 if every seed is valid, 1 if any is invalid, 2 if any
is unknown (and none invalid), 254 if the sweep itself cannot run or a run errs.

A configuration the bench cannot run (bad flags, a bad --bin, an invalid combination such as
lin-kv with --concurrency 3) is reported once, before any seed runs, as a BenchError (254);
one that shows only while a run starts stops the sweep at the first such run, also once.
"""

from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import datetime as dt
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import click

from maelstrom.errors import EXIT_ERROR, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID, BenchError

__all__ = ["sweep", "parse_seeds", "run_seed", "SeedRow"]

MAX_SEEDS = 100_000


def parse_seeds(text: str) -> list[int]:
    """`1-200`, `5`, `7,9,12-15` -> the seeds, in order, without repeats."""
    seeds: list[int] = []
    seen: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        m = re.fullmatch(r"(-?\d+)(?:\s*(?:-|\.\.)\s*(-?\d+))?", part)
        if not m:
            raise BenchError(f"--seeds: {part!r} is not a seed or a range like 1-200")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise BenchError(f"--seeds: empty range {part!r}")
        if hi - lo + 1 + len(seeds) > MAX_SEEDS:
            raise BenchError(f"--seeds: more than {MAX_SEEDS} seeds")
        for s in range(lo, hi + 1):
            if s not in seen:
                seen.add(s)
                seeds.append(s)
    if not seeds:
        raise BenchError("--seeds: no seeds given")
    return seeds


@dataclasses.dataclass
class SeedRow:
    """One line of the sweep's table."""

    seed: int
    valid: Any            # True, False, "unknown", or "error"
    exit_code: int
    ops: int = 0
    ok_fraction: float = 0.0
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0
    store: str | None = None  # the scratch run directory (kept only if not valid)
    error: str = ""
    bench_error: bool = False  # `error` is a BenchError: the configuration, not this seed


def run_seed(opts: Any, seed: int, scratch: str) -> SeedRow:
    """Run `opts` with `seed` in virtual time under the scratch store; never raises. A
    BenchError (the bench cannot run this configuration) is returned as its message alone;
    anything else (a bug that this seed found) with its traceback."""
    from maelstrom.runner import Runner
    from workloads import WORKLOADS

    opts = dataclasses.replace(opts, seed=seed, sim=True, quiet=True,
                               store=os.path.join(scratch, f"seed-{seed}"))
    start = time.perf_counter()
    try:
        runner = Runner(opts, WORKLOADS[opts.workload])
        result = runner.run()
    except BenchError as exc:
        return SeedRow(seed, "error", EXIT_ERROR, wall_seconds=time.perf_counter() - start,
                       error=exc.format_message(), bench_error=True)
    except Exception as exc:  # one broken run must not end the sweep
        return SeedRow(seed, "error", EXIT_ERROR, wall_seconds=time.perf_counter() - start,
                       error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    wall = time.perf_counter() - start
    r = result.results
    return SeedRow(seed, r["valid?"], result.exit_code, ops=r["stats"]["count"],
                   ok_fraction=r["availability"]["ok-fraction"],
                   sim_seconds=runner.clock.now(), wall_seconds=wall, store=str(result.store))


def _verdict(v: Any) -> str:
    return {True: "valid", False: "INVALID"}.get(v, "unknown") if v != "error" else "ERROR"


def _row_text(row: SeedRow) -> str:
    return (f"{row.seed:>8}  {_verdict(row.valid):<8} {row.ops:>6}  {row.ok_fraction:>6.3f}"
            f"  {row.sim_seconds:>8.1f}  {row.wall_seconds:>7.2f}")


HEADER = f"{'seed':>8}  {'verdict':<8} {'ops':>6}  {'ok':>6}  {'sim s':>8}  {'wall s':>7}"


def _pool(jobs: int) -> futures.Executor:
    # fork: workers inherit the imported bench and node modules, so each starts at once.
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        ctx = multiprocessing.get_context()
    return futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)


def _run_all(opts: Any, seeds: list[int], jobs: int, scratch: str):
    """Yield rows in seed order as they become available."""
    if jobs <= 1:
        for seed in seeds:
            yield run_seed(opts, seed, scratch)
        return
    with _pool(jobs) as pool:
        pending = [pool.submit(run_seed, opts, seed, scratch) for seed in seeds]
        try:
            for fut in pending:
                try:
                    yield fut.result()
                except futures.process.BrokenProcessPool:
                    raise BenchError("a sweep worker process died (killed, or out of "
                                     "memory?)") from None
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _build() -> click.Command:
    from maelstrom.commands.test import _BenchCommand, test_options

    @click.command("sweep", cls=_BenchCommand)
    @click.option("--seeds", "seeds_text", default="1-20", show_default=True,
                  help="Seeds to run: N, A-B, or a comma-separated mix.")
    @click.option("--jobs", type=int, default=None,
                  help="Worker processes (default: one per core).")
    @test_options(exclude=SET_BY_SWEEP)
    def sweep(seeds_text: str, jobs: int | None, **flags: Any) -> None:
        """Run a simulated test once per seed (in parallel) and print a verdict table; keep
        the store of every run that is not valid, with the command that replays it.

        Takes the options of `maelstrom test` except --seed, --sim (always on) and --quiet
        (runs are always quiet)."""
        sweep_main(seeds_text, jobs, flags)

    return sweep


# Flags of `maelstrom test` that a sweep sets itself (so it does not take them).
SET_BY_SWEEP = ("seed", "sim", "quiet", "args")


def sweep_main(seeds_text: str, jobs: int | None, flags: dict) -> None:
    from maelstrom.commands.replay import command_line
    from maelstrom.commands.test import make_options
    from maelstrom.progress import count_progress_for
    from maelstrom.reports import ReportOptions
    from maelstrom.reports.cli import render_run
    from maelstrom.runner import Runner
    from workloads import WORKLOADS

    seeds = parse_seeds(seeds_text)
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise BenchError("--jobs must be at least 1")
    jobs = min(jobs, len(seeds))
    opts = make_options(**flags, sim=True, seed=seeds[0], quiet=True, args=())
    # What a run checks when it starts (the workload against the options) is checked here once,
    # so that a configuration error is one message, not one error row per seed.
    Runner(opts, WORKLOADS[opts.workload])
    root = Path(opts.store)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    keep_dir = root / "sweep" / stamp
    click.echo(f"sweep: {len(seeds)} seeds, {jobs} worker{'s' if jobs != 1 else ''}; "
               f"{command_line(dataclasses.replace(opts, seed='<seed>'))}")
    click.echo(HEADER)
    rows: list[SeedRow] = []
    kept: list[tuple[SeedRow, Path]] = []
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    # seeds done / failing so far / ETA on stderr, on a terminal only
    progress = count_progress_for(False, "sweep", "seeds", len(seeds))
    with tempfile.TemporaryDirectory(prefix=".sweep-", dir=root) as scratch:
        for row in _run_all(opts, seeds, jobs, scratch):
            if row.bench_error:  # the configuration, so every seed: say it once and stop
                raise BenchError(row.error)
            rows.append(row)
            if progress is not None:
                progress.clear()
            click.echo(_row_text(row))
            if row.valid == "error":
                click.echo("          " + row.error.strip().replace("\n", "\n          "))
            if row.valid is not True and row.store is not None:
                dest = keep_dir / f"seed-{row.seed}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(row.store, dest)
                kept.append((row, dest))
                render_run(dest, ReportOptions())  # plots, timelines, cluster view
            elif row.store is not None:
                shutil.rmtree(row.store, ignore_errors=True)
            if progress is not None:
                progress.update(len(rows), sum(1 for r in rows if r.valid is not True),
                                force=True)
    if progress is not None:
        progress.clear()
    wall = time.perf_counter() - started
    counts = {k: sum(1 for r in rows if _verdict(r.valid) == k)
              for k in ("valid", "INVALID", "unknown", "ERROR")}
    sim_total = sum(r.sim_seconds for r in rows)
    click.echo(f"{len(rows)} seeds: {counts['valid']} valid, {counts['INVALID']} invalid, "
               f"{counts['unknown']} unknown, {counts['ERROR']} errors; "
               f"wall {wall:.1f} s for {sim_total:.0f} simulated s "
               f"({sim_total / wall if wall > 0 else 0:.0f}x real time on {jobs} "
               f"worker{'s' if jobs != 1 else ''})")
    for row, dest in kept:
        click.echo(f"seed {row.seed} {_verdict(row.valid)}: kept {dest}")
        click.echo(f"  replay: maelstrom replay {dest}")
        click.echo(f"  or:     {command_line(dataclasses.replace(opts, seed=row.seed))}")
    if counts["ERROR"]:
        sys.exit(EXIT_ERROR)
    if counts["INVALID"]:
        sys.exit(EXIT_INVALID)
    if counts["unknown"]:
        sys.exit(EXIT_UNKNOWN)
    sys.exit(EXIT_VALID)


sweep = _build()
