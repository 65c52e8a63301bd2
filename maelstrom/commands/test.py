"""`maelstrom test`: run a workload against a node binary, with Maelstrom's flags.

Exit status as Jepsen: 0 valid, 1 invalid, 2 unknown, 254 when the bench itself cannot run
the test (bad flags, missing binary). Extra arguments after the options are passed to the
binary (use `--` before any that start with a dash).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path

import click

from maelstrom.errors import BenchError, JepsenExit
from maelstrom.network import LATENCY_DISTS
from maelstrom.reports.cli import (journal_flags, journal_options, render_run, report_flags,
                                   report_options)

NEMESES = ("partition", "pause", "kill")


class _BenchCommand(JepsenExit, click.Command):
    """A click command with Jepsen's exit statuses also when run on its own, outside the
    `maelstrom` group (whose main() applies them to every subcommand)."""


def parse_concurrency(text: str, node_count: int) -> int:
    """`--concurrency`: an integer, or `Nn` meaning N times the node count."""
    m = re.fullmatch(r"\s*(\d+)\s*(n?)\s*", text or "")
    if not m:
        raise BenchError(f"--concurrency must be an integer or Nn (e.g. 2n), got {text!r}")
    value = int(m.group(1)) * (node_count if m.group(2) else 1)
    if value < 1:
        raise BenchError("--concurrency must be at least 1")
    return value


def parse_availability(text: str | None) -> float | str | None:
    if text is None:
        return None
    if text.strip() == "total":
        return "total"
    try:
        value = float(text)
    except ValueError:
        raise BenchError(f"--availability must be 'total' or a fraction 0..1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise BenchError(f"--availability must be between 0 and 1, got {text}")
    return value


def parse_nemesis(text: str | None) -> list[str]:
    if not text:
        return []
    faults = [f.strip() for f in text.split(",") if f.strip()]
    for f in faults:
        if f not in NEMESES:
            raise BenchError(f"--nemesis {f}: unknown fault; must be one of {', '.join(NEMESES)}")
    return sorted(set(faults))


def parse_nemesis_targets(text: str | None, faults: list[str]) -> list[str]:
    """`--nemesis-targets`: Jepsen's shapes (one, minority-third, majority, majorities-ring,
    minority) and group targets (meta-leader, leader, leader-G, migration-source,
    migration-target; group-G, migration-source-group, migration-target-group), each nemesis
    taking those it can use."""
    from maelstrom.nemesis import (GROUP_TARGETS, PARTITION_SHAPES, PAUSE_TARGETS,
                                   is_group_target, targets_for)

    if not text:
        return []
    targets = [t.strip() for t in text.split(",") if t.strip()]
    known = set(PARTITION_SHAPES) | set(PAUSE_TARGETS)
    for t in targets:
        if t not in known and not is_group_target(t):
            raise BenchError(f"--nemesis-targets {t}: unknown target; must be one of "
                             f"{', '.join(sorted(known))}, {', '.join(GROUP_TARGETS)}, "
                             f"leader-G (G a group id, 0 the meta group) or group-G (a shard "
                             f"group's voters)")
    if not faults:
        raise BenchError("--nemesis-targets needs --nemesis")
    for f in faults:
        try:
            targets_for(f, targets)
        except ValueError as exc:
            raise BenchError(f"--nemesis-targets: {exc}") from None
    return list(dict.fromkeys(targets))


def _probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise BenchError(f"{name} must be a probability between 0 and 1, got {value:g}")


def _positive(name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise BenchError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, "
                         f"got {value:g}")


def test_options(f=None, *, exclude: tuple[str, ...] = ()):
    """The flags of `maelstrom test`, shared by `maelstrom sweep`, less those named in
    `exclude` (parameter names: "seed", "sim", "quiet", "args", ...), which the command then
    neither shows in --help nor accepts. `@test_options` or `@test_options(exclude=...)`."""
    if f is None:
        return lambda g: test_options(g, exclude=exclude)
    decorators = [
        click.option("-w", "--workload", default="lin-kv", show_default=True,
                     help="What workload to run."),
        click.option("--bin", "bin_", metavar="FILE", help="Path to the binary which runs a node."),
        click.option("--node-count", type=int, default=5, show_default=True,
                     help="How many nodes to run."),
        click.option("--time-limit", type=float, default=60.0, show_default=True,
                     help="How long to run the workload, in seconds."),
        click.option("--rate", type=float, default=5.0, show_default=True,
                     help="Approximate number of requests per second (all clients together)."),
        click.option("--concurrency", default="1n", show_default=True,
                     help="Number of worker threads: an integer, or Nn for N x node count."),
        click.option("--latency", type=float, default=0.0, show_default=True,
                     help="Mean network latency between servers, in ms."),
        click.option("--latency-dist", type=click.Choice(LATENCY_DISTS), default="constant",
                     show_default=True, help="Latency distribution."),
        click.option("--nemesis", "nemesis", default=None, metavar="FAULTS",
                     help="Comma-separated faults to inject: partition, pause, kill."),
        click.option("--nemesis-targets", default=None, metavar="TARGETS",
                     help="Comma-separated targets of the nemeses: Jepsen's (one, "
                          "minority-third, majority, majorities-ring, minority) and the "
                          "cluster's (meta-leader, leader, leader-G, migration-source, "
                          "migration-target: a leader; group-G, migration-source-group, "
                          "migration-target-group: a shard group's voters). Default: each "
                          "nemesis's Jepsen targets."),
        click.option("--lose-unsynced", is_flag=True,
                     help="With --sim and --nemesis kill: a killed node loses the writes it "
                          "had not synced (a power cut, not just a process crash)."),
        click.option("--nemesis-interval", type=float, default=10.0, show_default=True,
                     help="Mean seconds between nemesis operations."),
        click.option("--availability", default=None,
                     help="Required fraction of successful operations (0..1), or 'total'."),
        click.option("--log-stderr", is_flag=True, help="Echo node stderr to the console."),
        click.option("--log-net-send", is_flag=True, help="Log messages as they are sent."),
        click.option("--log-net-recv", is_flag=True, help="Log messages as they are received."),
        click.option("--seed", type=int, default=None,
                     help="Seed for every random choice (generator, latencies, nemesis). "
                          "Default: random."),
        click.option("--quiet", is_flag=True, help="No progress line and no log output on stderr."),
        click.option("--init-timeout", type=float, default=10.0, show_default=True,
                     help="Seconds a node has to answer init."),
        click.option("--recovery-time", type=float, default=None,
                     help="Seconds to wait after healing before final reads "
                          "(default 10 with a nemesis, else 0)."),
        click.option("--store", "store_root", default="store", show_default=True,
                     help="Directory for test results."),
        click.option("--sim", is_flag=True,
                     help="Deterministic simulation: run the node's sans-IO class in virtual "
                          "time (the --bin file's Server, or --sim-node).") ,
        click.option("--sim-node", default=None, metavar="MODULE:CLASS",
                     help="With --sim: the node class (module:Class or file.py:Class)."),
        click.option("--loss", type=float, default=0.0, show_default=True,
                     help="Probability that a server-to-server message is lost."),
        click.option("--duplicate", type=float, default=0.0, show_default=True,
                     help="Probability that a server-to-server message is delivered twice."),
        click.option("--reorder", type=float, default=0.0, show_default=True,
                     help="Probability that a server-to-server message is held back by an "
                          "extra 0..--reorder-delay."),
        click.option("--reorder-delay", type=float, default=100.0, show_default=True,
                     help="Maximum extra delay of a reordered message, in ms."),
        click.option("--no-invariants", is_flag=True,
                     help="With --sim: do not check the Raft invariants of the nodes' cores "
                          "after every step (faster; see docs/sim.md)."),
        click.argument("args", nargs=-1, type=click.UNPROCESSED),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    unknown = set(exclude) - {p.name for p in f.__click_params__}
    if unknown:
        raise ValueError(f"test_options: no such option {sorted(unknown)}")
    f.__click_params__ = [p for p in f.__click_params__ if p.name not in exclude]
    return f


def make_options(workload, bin_, node_count, time_limit, rate, concurrency, latency,
                 latency_dist, nemesis, nemesis_interval, availability, log_stderr,
                 log_net_send, log_net_recv, seed, quiet, init_timeout, recovery_time,
                 store_root, sim, sim_node, loss, duplicate, reorder, reorder_delay, args,
                 no_invariants=False, nemesis_targets=None, lose_unsynced=False):
    """Validate the flags of `test_options` and build TestOptions (BenchError if bad).
    A missing seed is drawn at random here, so it can be printed and replayed."""
    from maelstrom.hosts.process import resolve_bin
    from maelstrom.runner import TestOptions
    from workloads import WORKLOADS

    if workload not in WORKLOADS:
        raise BenchError(f"-w {workload}: unknown workload; must be one of "
                         f"{', '.join(sorted(WORKLOADS))}")
    if node_count is None or node_count < 1:
        raise BenchError("--node-count must be positive")
    _positive("--time-limit", time_limit)
    _positive("--rate", rate, allow_zero=True)
    _positive("--latency", latency, allow_zero=True)
    _positive("--nemesis-interval", nemesis_interval)
    _positive("--init-timeout", init_timeout)
    _positive("--recovery-time", recovery_time, allow_zero=True)
    _positive("--reorder-delay", reorder_delay, allow_zero=True)
    _probability("--loss", loss)
    _probability("--duplicate", duplicate)
    _probability("--reorder", reorder)
    faults = parse_nemesis(nemesis)
    targets = parse_nemesis_targets(nemesis_targets, faults)
    if lose_unsynced and not sim:
        raise BenchError("--lose-unsynced needs --sim: SIGKILL ends a process, not the OS, "
                         "so what it wrote survives in the page cache whether synced or not "
                         "(docs/bench.md)")
    if lose_unsynced and "kill" not in faults:
        raise BenchError("--lose-unsynced needs --nemesis kill (it is what a kill loses)")
    if sim_node and not sim:
        raise BenchError("--sim-node needs --sim")
    if sim:
        from maelstrom.hosts.sim import load_node_class

        bin_path = str(Path(bin_).resolve()) if bin_ else ""
        if sim_node:
            target, sep, attr = sim_node.rpartition(":")
            if sep and (target.endswith(".py") or "/" in target):
                # a file: absolute, so that options.json replays from any directory
                sim_node = f"{Path(target).resolve()}:{attr}"
        load_node_class(bin_path or None, sim_node)  # fail now, before a store is made
        if args:
            raise BenchError("--sim: extra arguments for the binary make no sense here")
    else:
        bin_path = resolve_bin(bin_)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    return TestOptions(
        workload=workload, bin=bin_path, args=list(args), node_count=node_count,
        time_limit=time_limit, rate=rate,
        concurrency=parse_concurrency(concurrency, node_count), latency=latency,
        latency_dist=latency_dist, nemesis=faults, nemesis_targets=targets,
        lose_unsynced=lose_unsynced, nemesis_interval=nemesis_interval, availability=parse_availability(availability),
        log_stderr=log_stderr, log_net_send=log_net_send, log_net_recv=log_net_recv, seed=seed,
        quiet=quiet, init_timeout=init_timeout, recovery_time=recovery_time, store=store_root,
        sim=sim, sim_node=sim_node, loss=loss, duplicate=duplicate, reorder=reorder,
        reorder_delay=reorder_delay, invariants=not no_invariants)


def run_test(opts, quiet: bool):
    """Run one test; a bench bug becomes a BenchError (exit 254), never a verdict."""
    from maelstrom.progress import progress_for
    from maelstrom.runner import Runner
    from workloads import WORKLOADS

    try:
        runner = Runner(opts, WORKLOADS[opts.workload], progress=progress_for(quiet))
        return runner.run()
    except (BenchError, KeyboardInterrupt):
        raise
    except Exception:  # a bench bug must not exit 1, which would read as "invalid"
        traceback.print_exc()
        raise BenchError("the bench failed while running the test (traceback above)") from None


@click.command("test", cls=_BenchCommand)
@test_options
@report_flags
@journal_flags
def test(**flags):
    """Run a Maelstrom test: start the nodes, run the workload, check the history."""
    import dataclasses

    from maelstrom.errors import EXIT_INTERRUPTED
    from maelstrom.runner import Interrupted

    reports = report_options(flags)  # plots, messages.svg, timelines, cluster.html
    journal = journal_options(flags)  # messages.jsonl compressed or capped
    opts = dataclasses.replace(make_options(**flags), **journal)
    try:
        result = run_test(opts, flags["quiet"])
    except Interrupted as stop:  # Ctrl-C: the store holds what ran; say so, exit 130
        click.echo(summary(stop.result.results, stop.result.store, opts.seed))
        sys.exit(EXIT_INTERRUPTED)
    render_run(result.store, reports, result.history, result.results)
    click.echo(summary(result.results, result.store, opts.seed))
    sys.exit(result.exit_code)


MAX_FAULTS_SHOWN = 5
MAX_CONCURRENT_SHOWN = 6
STDERR_LINES_SHOWN = 3


def _edn(value) -> str:
    """A verdict as Jepsen prints it: true, false, :unknown (never Python's True/False)."""
    if value is True or value is False or value is None:
        return {True: "true", False: "false", None: "nil"}[value]
    if isinstance(value, str):
        return f":{value}"
    from maelstrom import edn

    return edn.excerpt(value, 40)


def _op_text(op: dict | None) -> str:
    from maelstrom import edn

    if not op:
        return "(the start of the history)"
    text = (f"op {op['index']}: process {op['process']} :{op['type']} :{op['f']} "
            f"{edn.dumps(op['value'], keyword_keys=False)}")
    if op.get("error") is not None:
        text += f" {edn.excerpt(op['error'], 60)}"
    return text


def _counterexample(workload: dict, store) -> list[str]:
    """The failing keys, and for the first one the op that cannot be linearized, the ops
    concurrent with it, and the picture the store holds."""
    from maelstrom import edn
    from maelstrom.commands.check import picture_names

    failures = list(workload.get("failures") or [])
    results = workload.get("results")
    if not failures or not isinstance(results, dict):
        return []
    names = picture_names(failures)
    keys = ", ".join(edn.excerpt(k, 40) for k in failures[:20])
    more = f" and {len(failures) - 20} more" if len(failures) > 20 else ""
    lines = [f"not linearizable: {len(failures)} key{'s' if len(failures) > 1 else ''} "
             f"({keys}{more})"]
    key = failures[0]
    lin = results[key].get("linearizable", {})
    if lin.get("op"):
        lines.append(f"  key {edn.excerpt(key, 40)}: cannot linearize {_op_text(lin['op'])}")
        if lin.get("cause"):
            lines.append(f"    why: {lin['cause']}")
        concurrent = [op for op in lin.get("concurrent", []) if op != lin["op"]]
        total = len(concurrent) + lin.get("concurrent-omitted", 0)
        if total:
            lines.append(f"    concurrent ops ({total}):")
            lines += [f"      {_op_text(op)}" for op in concurrent[:MAX_CONCURRENT_SHOWN]]
            if total > MAX_CONCURRENT_SHOWN:
                lines.append(f"      ... {total - MAX_CONCURRENT_SHOWN} more")
    svg = Path(store) / f"linear-{names[key]}.svg"
    if svg.is_file():
        lines.append(f"  counterexample: {svg}" + (
            f" (and {len(failures) - 1} more linear-*.svg)" if len(failures) > 1 else ""))
    return lines


def _stderr_lines(tail: str) -> list[str]:
    return [line for line in tail.splitlines() if line.strip()][-STDERR_LINES_SHOWN:]


def summary(results: dict, store, seed: int) -> str:
    """The end-of-test report: key figures, what failed, the verdict line (Maelstrom's words),
    the store. Verdicts are written as Jepsen writes them (true, false, :unknown)."""
    s, net = results["stats"], results["net"]
    lines = []
    if results.get("incomplete"):
        lines.append(f"INCOMPLETE: interrupted (Ctrl-C) during "
                     f"{results.get('interrupted-during', 'the test')}; the history and results "
                     f"hold what ran until then")
    lines += [
        f"ops: {s['count']} (ok {s['ok-count']}, fail {s['fail-count']}, info {s['info-count']})"
        f"  availability: {results['availability']['ok-fraction']:.3f}",
        f"net: {net['all']['msg-count']} messages, "
        f"{net['all'].get('msgs-per-op', 0):.2f} per op "
        f"({net['servers'].get('msgs-per-op', 0):.2f} between servers)",
    ]
    for name, part in results.items():
        # (A section without a verdict, e.g. `gossip`, is a report: nothing to flag.)
        if isinstance(part, dict) and "valid?" in part and part["valid?"] is not True:
            lines.append(f"{name}: valid? {_edn(part.get('valid?'))}"
                         + (f" ({part['error']})" if isinstance(part.get("error"), str) else ""))
            if name == "workload":
                lines += _counterexample(part, store)
    nodes = results["nodes"]
    faults = nodes["faults"]
    exited = [f for f in faults if f["kind"] in ("exited", "closed-stdout")]
    if nodes.get("all-exited-during-init"):
        lines.append("no node could start: every node exited during init, so the test stopped "
                     "there")
    shown = faults[:MAX_FAULTS_SHOWN]
    shown += [f for f in exited if not any(f is g for g in shown)]  # every exit, with why
    for fault in shown:
        lines.append(f"node fault: {fault['node']} {fault['kind']}"
                     + (f" (exit code {fault['exit-code']})" if "exit-code" in fault else "")
                     + (f": {fault['reason']}" if "reason" in fault else ""))
        if fault["kind"] in ("exited", "closed-stdout"):  # the end of its stderr
            lines += [f"  {fault['node']} stderr: {text}"
                      for text in _stderr_lines(fault.get("stderr-tail", ""))]
    counts = nodes.get("fault-counts", {})
    total = sum(counts.values())
    if total > len(shown):
        lines.append(f"node faults: {total} in all ("
                     + ", ".join(f"{n} {c}" for n, c in counts.items())
                     + f"); every one recorded in {Path(store) / 'results.edn'}")
    valid = results["valid?"]
    if valid is True:
        verdict = "Everything looks good! ヽ(‘ー`)ノ"
    elif valid is False:
        verdict = "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻"
    else:
        verdict = "Errors occurred during analysis, but no anomalies found. ಠ~ಠ"
    lines.append(verdict + ("  (of an incomplete test)" if results.get("incomplete") else ""))
    lines.append(f"Results in {store} (seed {seed})")
    return "\n".join(lines)
