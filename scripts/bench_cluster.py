#!/usr/bin/env python3
"""Cluster mode (issue 10): what shard groups buy and what they cost, through the bench.

Every run is a lin-kv `maelstrom test` of node/run.py, configured only through the node's
environment (FERRITE_CLUSTER_SHARDS etc., node/cluster/config.py), which both backends hand to
the node: the simulator's SimHost through Server.configure(os.environ), real node processes by
inheritance. Each table is followed by the exact command of each of its rows.

1. Saturation, 9 nodes, 1 shard group vs 3 (no nemesis; real processes at --latency 0 and the
   simulator at --latency 1): a ladder of offered rates and client concurrency, so that the
   table shows where throughput stops growing. Per row: ok ops/s, all completions/s, p50/p99,
   messages per op (all, server-to-server), client ops per shard group. Target of the issue:
   3 groups give >= 1.8x the throughput of 1 group in real processes on this 2-core machine, or
   the output shows where the ceiling is. So every process run also reads each node process's
   CPU time from /proc/<pid>/stat during the workload (and the bench's own, and the whole
   machine's from /proc/stat: the machine is shared, other jobs show up as "others"); the best
   valid rung of each configuration gets a per-node breakdown; and, unless --no-profile, the
   3-group top rung runs again with every node under cProfile (CPU clock), to print where node
   CPU goes. The simulator gives the protocol's own cost: nodes there take no time, so it
   saturates only on client concurrency, never on CPU.
2. Idle traffic, 9 nodes, 1, 3 and 8 shard groups, simulator, --rate 0.01 for 20 s: server
   messages per second per node (steady state: the journal's server-to-server sends from 5 s
   into the workload to its end; and over the whole run). The issue requires it to stay flat as
   groups are added (coalesced heartbeats); the ratio 8 groups / 1 group is printed, with the
   AppendEntries rate of every (leader, follower, group) stream (nominally 1/heartbeat_interval).
3. Cost vs cluster size, simulator, --rate 100 --nemesis partition --latency 10: messages per op
   (servers and all) for 5 nodes (defaults: 1 group), 25 nodes with 8 groups and 100 nodes with
   30 groups, and the ratios 25/5 and 100/5 (targets <= 2x and <= 3x; one group of all nodes
   cost 13, 53 and 141 messages per op before cluster mode), and how many of those messages
   carry only heartbeats.

Runs that are not valid (beyond the expected "stats" of the idle runs) are reported with their
node faults and copied to store/bench_cluster-kept/.

    scripts/bench_cluster.py                 # everything (~7 minutes on the 2-core machine)
    scripts/bench_cluster.py --quick         # a short smoke version (~1.5 minutes)
    scripts/bench_cluster.py --no-process    # simulator only
    scripts/bench_cluster.py --only 2,3      # some parts

Not part of CI. Stores go to a temporary directory unless --store is given.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maelstrom.runner import Runner, TestOptions  # noqa: E402
from node.cluster.config import CONFIG_ENV, ENV_PREFIX, load_config  # noqa: E402
from node.cluster.layout import initial_layout  # noqa: E402
from node.cluster.multiraft import BATCH  # noqa: E402
from node.raft.timing import DEFAULT as DEFAULT_TIMING  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

NODE_BIN = ROOT / "node" / "run.py"
CORES = os.cpu_count() or 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# One run


@dataclasses.dataclass(frozen=True)
class Config:
    """One row: a lin-kv test and the node's cluster environment."""

    nodes: int
    shards: int | None          # FERRITE_CLUSTER_SHARDS; None: unset (the node's default)
    rate: float
    conc: int                   # concurrency as a multiple of the node count ("Nn")
    latency: float
    time_limit: float
    sim: bool
    nemesis: str | None = None
    seed: int = 1

    @property
    def env(self) -> dict[str, str]:
        return {} if self.shards is None else {"FERRITE_CLUSTER_SHARDS": str(self.shards)}

    def command(self) -> str:
        """The equivalent command line (run from the repository with the venv active)."""
        words = [f"{k}={v}" for k, v in self.env.items()] + ["maelstrom", "test"]
        if self.sim:
            words.append("--sim")
        words += ["-w", "lin-kv", "--bin", "node/run.py", "--node-count", str(self.nodes),
                  "--concurrency", f"{self.conc}n", "--rate", f"{self.rate:g}",
                  "--latency", f"{self.latency:g}", "--time-limit", f"{self.time_limit:g}"]
        if self.nemesis:
            words += ["--nemesis", self.nemesis]
        words += ["--seed", str(self.seed)]
        return " ".join(words)


@contextlib.contextmanager
def cluster_env(env: dict[str, str]) -> Iterator[None]:
    """os.environ with exactly `env` as the cluster configuration (every other FERRITE_CLUSTER_*
    variable and FERRITE_CONFIG removed for the run, restored after)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX) or k == CONFIG_ENV}
    for k in saved:
        del os.environ[k]
    os.environ.update(env)
    try:
        yield
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


def describe_layout(cfg: Config) -> str:
    """The initial layout every node derives from init and the config (node/cluster/layout.py)."""
    nodes = [f"n{i}" for i in range(cfg.nodes)]
    with cluster_env(cfg.env):
        config = load_config(os.environ)
    layout = initial_layout(nodes, config)
    meta = (f"meta group: {len(layout.meta_voters)} voters "
            f"({' '.join(layout.meta_voters)}), {len(layout.meta_learners)} learners")
    groups = layout.groups
    if len(groups) <= 3:
        shards = "; ".join(f"group {g}: voters {' '.join(m.voters)}"
                           + (f" learners {' '.join(m.learners)}" if m.learners else "")
                           for g, m in sorted(groups.items()))
    else:
        in_groups = {n for m in groups.values() for n in m.members}
        sizes = Counter(len(m.voters) for m in groups.values())
        shards = (f"{len(groups)} groups of " + "/".join(f"{s}" for s in sorted(sizes))
                  + f" voters over {len(in_groups)} of {cfg.nodes} nodes; leaders expected on "
                  f"{len({m.voters[0] for m in groups.values()})} distinct nodes")
    return f"{meta}; {shards}"


class CpuSampler(threading.Thread):
    """Samples, every `period` s while the runner is in its main phase (workload + drain), the
    CPU time of every node process (/proc/<pid>/stat utime+stime), of this process (the bench)
    and of the whole machine (/proc/stat). Process backend only."""

    def __init__(self, runner: Runner, period: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.runner, self.period = runner, period
        self.samples: list[tuple[float, dict[str, float], float, float]] = []
        self.pids: dict[str, int] = {}
        self.done = threading.Event()

    @staticmethod
    def _proc_cpu(pid: int | str) -> float | None:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    @staticmethod
    def _machine_busy() -> float:
        with open("/proc/stat", "rb") as f:
            jiffies = [int(x) for x in f.readline().split()[1:]]
        idle = jiffies[3] + jiffies[4]  # idle, iowait
        return (sum(jiffies[:8]) - idle) / CLK_TCK

    def run(self) -> None:
        while not self.done.wait(self.period):
            host = getattr(self.runner, "host", None)
            if getattr(self.runner, "phase", None) != "main" or not hasattr(host, "pid"):
                continue
            if not self.pids:
                self.pids = {n: host.pid(n) for n in self.runner.nodes}
            nodes = {n: self._proc_cpu(pid) for n, pid in self.pids.items()}
            if None in nodes.values():
                continue  # a node is gone: the run is ending
            self.samples.append((time.monotonic(), nodes, self._proc_cpu("self"),
                                 self._machine_busy()))

    def summary(self) -> dict | None:
        """Cores used during the sampled window: per node, nodes, bench, machine, others."""
        if len(self.samples) < 2:
            return None
        (t0, n0, b0, m0), (t1, n1, b1, m1) = self.samples[0], self.samples[-1]
        wall = t1 - t0
        per_node = {n: (n1[n] - n0[n]) / wall for n in n0}
        nodes = sum(per_node.values())
        bench = (b1 - b0) / wall
        machine = (m1 - m0) / wall
        return {"wall": wall, "per_node": per_node, "nodes": nodes, "bench": bench,
                "machine": machine, "others": max(0.0, machine - nodes - bench),
                "node_cpu_s": {n: n1[n] - n0[n] for n in n0}}


def run_test(cfg: Config, store: str, *, bin_path: Path = NODE_BIN,
             sample_cpu: bool = False) -> dict:
    """Run one test in this process and return its figures (see the tables)."""
    opts = TestOptions(workload="lin-kv", bin=str(bin_path), node_count=cfg.nodes,
                       concurrency=cfg.conc * cfg.nodes, rate=cfg.rate, latency=cfg.latency,
                       nemesis=[cfg.nemesis] if cfg.nemesis else [], time_limit=cfg.time_limit,
                       seed=cfg.seed, quiet=True, store=store, sim=cfg.sim)
    with cluster_env(cfg.env):
        runner = Runner(opts, WORKLOADS["lin-kv"])
        sampler = CpuSampler(runner) if sample_cpu else None
        if sampler:
            sampler.start()
        start = time.perf_counter()
        try:
            result = runner.run()
        finally:
            if sampler:
                sampler.done.set()
                sampler.join()
        wall = time.perf_counter() - start
    r = result.results
    window_ns = cfg.time_limit * 1e9
    # ok client operations completed inside the workload window, per second of that window
    ok = sum(1 for op in result.history if op.type == "ok" and isinstance(op.process, int)
             and op.time <= window_ns)
    keys = {repr(op.value[0]) for op in result.history if isinstance(op.process, int)
            and isinstance(op.value, (list, tuple)) and op.value}
    lat = r["perf"]["latency"]["all"]
    cluster = r.get("cluster", {})
    # Which parts of the verdict are not true (e.g. "stats": some f never succeeded).
    failed = [k for k, v in r.items() if isinstance(v, dict) and v.get("valid?", True) is not True]
    valid = f"{r.get('valid?')}:{','.join(failed)}" if failed else r.get("valid?")
    return {
        "cfg": cfg, "valid": valid, "ok_per_s": ok / cfg.time_limit, "ok": ok, "keys": len(keys),
        "done_per_s": r["perf"]["throughput"], "p50": lat["p50"], "p99": lat["p99"],
        "msgs_all": r["net"]["all"]["msgs-per-op"], "msgs_srv": r["net"]["servers"]["msgs-per-op"],
        "srv_count": r["net"]["servers"]["msg-count"],
        "ops_per_group": cluster.get("ops-per-group", {}), "cluster_valid": cluster.get("valid?"),
        "availability": r.get("availability", {}).get("ok-fraction"),
        "store": result.store, "wall": wall, "sim_end": runner.clock.now() if cfg.sim else None,
        "cpu": sampler.summary() if sampler else None,
        "pids": sampler.pids if sampler else {},
    }


def print_commands(rows: list[tuple[str, dict]]) -> None:
    for label, r in rows:
        print(f"  {label}: {r['cfg'].command()}")


def groups_text(ops: dict) -> str:
    return " ".join(f"{g}:{n}" for g, n in sorted(ops.items(), key=lambda kv: int(kv[0])))


# ---------------------------------------------------------------------------------------------
# 1. saturation: 1 vs 3 shard groups, 9 nodes


SAT_HEADER = (f"{'row':<4} {'groups':>6} {'rate':>6} {'conc':>5} {'valid':>5} {'ok/s':>7} "
              f"{'done/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'msg/op':>6} {'srv/op':>6} "
              f"{'cores n/b/o':>14}  ops per group")


def saturation_row(label: str, r: dict) -> str:
    c, cpu = r["cfg"], r["cpu"]
    cores = f"{cpu['nodes']:.2f}/{cpu['bench']:.2f}/{cpu['others']:.2f}" if cpu else "-"
    return (f"{label:<4} {c.shards:>6} {c.rate:>6g} {str(c.conc) + 'n':>5} {str(r['valid']):>5} "
            f"{r['ok_per_s']:>7.0f} {r['done_per_s']:>7.0f} {r['p50']:>7.1f} {r['p99']:>7.1f} "
            f"{r['msgs_all']:>6.2f} {r['msgs_srv']:>6.2f} {cores:>14}  "
            f"{groups_text(r['ops_per_group'])}")


def saturation_table(args: argparse.Namespace, sim: bool) -> dict[int, list[dict]]:
    """One backend's ladder: every rung with 1 and with 3 shard groups."""
    latency = 1.0 if sim else 0.0
    limit = args.sim_time if sim else args.process_time
    kind = "simulator (--sim)" if sim else "real processes"
    prefix = "S" if sim else "P"
    print(f"\n== 1{'b' if sim else 'a'}. saturation, {kind}: 9 nodes, 1 vs 3 shard groups, "
          f"lin-kv, no nemesis, --latency {latency:g}, --time-limit {limit:g}, seed {args.seed}")
    for shards in (1, 3):
        print(f"  {shards} group(s): {describe_layout(Config(9, shards, 0, 2, 0, 1, sim))}")
    print(SAT_HEADER)
    rows: list[tuple[str, dict]] = []
    by_shards: dict[int, list[dict]] = {1: [], 3: []}
    for rate, conc in args.ladder:
        for shards in (1, 3):
            cfg = Config(9, shards, rate, conc, latency, limit, sim, seed=args.seed)
            r = run_test(cfg, args.store, sample_cpu=not sim)
            label = f"{prefix}{len(rows) + 1}"
            rows.append((label, r))
            by_shards[shards].append(r)
            print(saturation_row(label, r), flush=True)
    print("  (ok/s: ok client ops completed in the workload window / its length; done/s: all "
          "completions incl. definite fails (cas mismatch, missing key): the bench's throughput; "
          "p50/p99 over all completions; msg/op all messages, srv/op server-to-server; cores "
          "n/b/o: CPU cores used by the 9 nodes / the bench / everything else on the machine "
          "during the workload, from /proc)")
    print_commands(rows)
    report_problems(rows)
    for shards in (1, 3):
        oks = [r["ok_per_s"] for r in by_shards[shards]]
        steps = ", ".join(f"{b / a:.2f}x" if a else "-" for a, b in zip(oks, oks[1:]))
        loads = ", ".join(f"{b[0] / a[0]:.2f}x" for a, b in zip(args.ladder, args.ladder[1:]))
        print(f"  {shards} group(s): best {max(oks):.0f} ok/s; ok/s from rung to rung {steps} "
              f"(offered load {loads})")
    return by_shards


def best_valid(runs: list[dict]) -> dict:
    """The rung with the most ok ops/s among the valid runs (any run if none is valid)."""
    valid = [r for r in runs if r["valid"] is True] or runs
    return max(valid, key=lambda r: r["ok_per_s"])


def ceiling_report(by_shards: dict[int, list[dict]]) -> None:
    """Where the CPU went in the best rung of each configuration (sampled from /proc)."""
    print(f"\n== 1c. where the CPU goes, best valid rung of each, real processes ({CORES} cores; "
          f"cores = CPU seconds / wall seconds of the workload window, from /proc)")
    print(f"{'groups':>6} {'rate':>6} {'conc':>5} {'window s':>8} {'nodes':>6} {'bench':>6} "
          f"{'others':>6} {'machine':>7} {'node us/op':>10} {'bench us/op':>11}  per node (cores)")
    per_op = {}
    for shards in (1, 3):
        r = best_valid(by_shards[shards])
        cpu, c = r["cpu"], r["cfg"]
        if cpu is None:
            print(f"{shards:>6}  (no CPU samples)")
            continue
        us = 1e6 / max(1.0, r["done_per_s"])
        per_op[shards] = cpu["nodes"] * us
        per_node = " ".join(f"{n}:{v:.2f}" for n, v in cpu["per_node"].items())
        print(f"{shards:>6} {c.rate:>6g} {str(c.conc) + 'n':>5} {cpu['wall']:>8.1f} "
              f"{cpu['nodes']:>6.2f} {cpu['bench']:>6.2f} {cpu['others']:>6.2f} "
              f"{cpu['machine']:>7.2f} {cpu['nodes'] * us:>10.0f} {cpu['bench'] * us:>11.0f}  "
              f"{per_node}")
    print("  (nodes: the 9 node processes together; bench: this process, i.e. the runner, "
          "network and clients; others: the rest of the machine, other users' jobs included; "
          "us/op: CPU microseconds per completed op)")
    if len(per_op) == 2:
        print(f"  node CPU per completed op: 3 groups / 1 group = {per_op[3] / per_op[1]:.2f}x")


def report_problems(rows: list[tuple[str, dict]], expected: tuple[str, ...] = ()) -> None:
    """For runs whose verdict is not valid for a reason other than `expected` parts: the
    faults the bench saw, and a copy of the run's store under store/bench_cluster-kept/."""
    for label, r in rows:
        if r["valid"] is True:
            continue
        failed = set(str(r["valid"]).partition(":")[2].split(",")) - set(expected)
        if not failed:
            continue
        res = orjson.loads((r["store"] / "results.json").read_bytes())
        kept = ROOT / "store" / "bench_cluster-kept" / f"{label}-{r['store'].name}"
        try:
            shutil.copytree(r["store"], kept)
        except OSError as exc:
            kept = f"(not kept: {exc})"
        print(f"  !! {label} not valid ({', '.join(sorted(failed))}); run kept in {kept}")
        nodes = res.get("nodes", {})
        if nodes.get("fault-counts"):
            print(f"     node faults: {nodes['fault-counts']}")
            for fault in nodes.get("faults", [])[:3]:
                print(f"     {str(fault)[:300]}")
        stats = res.get("stats", {})
        print(f"     stats: count {stats.get('count')}, ok {stats.get('ok-count')}, fail "
              f"{stats.get('fail-count')}, info {stats.get('info-count')}")


def saturation(args: argparse.Namespace) -> None:
    """Part 1: the process ladder, the CPU breakdown and profile, then the simulator ladder."""
    if not args.no_process:
        procs = saturation_table(args, sim=False)
        best = {s: best_valid(procs[s]) for s in (1, 3)}
        ratio = best[3]["ok_per_s"] / max(1.0, best[1]["ok_per_s"])
        done = best[3]["done_per_s"] / max(1.0, best[1]["done_per_s"])
        print(f"  3 groups / 1 group in real processes, best valid rungs: ok/s {ratio:.2f}x, "
              f"done/s {done:.2f}x (target >= 1.8x: {'met' if ratio >= 1.8 else 'MISSED'})")
        ceiling_report(procs)
        cpu = best[3]["cpu"]
        if cpu is not None:
            busiest = max(cpu["per_node"].values())
            print(f"  at 3 groups' best rung the machine was {100 * cpu['machine'] / CORES:.0f}% "
                  f"busy ({cpu['machine']:.2f} of {CORES} cores: nodes {cpu['nodes']:.2f}, "
                  f"bench {cpu['bench']:.2f}, others {cpu['others']:.2f}); busiest node "
                  f"{busiest:.2f} cores.")
            if cpu["machine"] >= 0.9 * CORES and busiest < 0.5:
                print("  -> the ceiling is the machine's CPU, not a group leader: no node "
                      "process is near one core, the 2 cores are shared by 9 node processes, "
                      "the bench and other jobs, so spreading leadership over 3 groups moves "
                      "work between processes but adds no cores.")
        if not args.no_profile:
            rate, conc = args.ladder[-1]
            profile_nodes(args, rate, conc, 3)
    saturation_table(args, sim=True)


PROFILED_NODE = """\
import cProfile, os, runpy, sys, time
# node/run.py under cProfile with a CPU clock (process time: waiting in epoll costs nothing),
# its stats dumped to {out}/node.<pid>.prof when the node exits (the bench closes its stdin).
prof = cProfile.Profile(time.process_time)
sys.argv = [{node!r}]
try:
    prof.runcall(runpy.run_path, {node!r}, run_name="__main__")
except SystemExit:
    pass
finally:
    prof.dump_stats(os.path.join({out!r}, "node.%d.prof" % os.getpid()))
"""


def _area(file: str, name: str) -> str:
    """Coarse bucket of one profiled function, for the by-area line."""
    rel = os.path.relpath(file, ROOT) if file.startswith(str(ROOT)) else ""
    if rel.startswith("node/raft/"):
        return "node/raft (Raft cores)"
    if rel.startswith("node/cluster/"):
        return "node/cluster (multiraft, slots, routing, meta)"
    if rel in ("node/server.py", "node/kv.py", "node/protocol.py"):
        return "node/server.py kv.py protocol.py"
    if rel == "node/run.py":
        return "node/run.py (driver loop)"
    if "orjson" in name or name in ("<built-in function dumps>", "<built-in function loads>"):
        return "orjson loads/dumps"
    if "epoll" in name or "select" in name:
        return "epoll/select"
    if name in ("<built-in method posix.read>", "<built-in method posix.write>") \
            or ("write" in name and file == "~"):
        return "pipe reads/writes, stderr log writes"
    if "compile" in name or "importlib" in file or "marshal" in name:
        return "imports at start"
    return "other builtins and stdlib"


def profile_nodes(args: argparse.Namespace, rate: float, conc: int, shards: int) -> None:
    """Run one rung again with every node process under cProfile (CPU clock) and print where
    the nodes' CPU goes: per node, top functions, and by area."""
    with tempfile.TemporaryDirectory(prefix="bench-cluster-prof-") as tmp:
        wrapper = Path(tmp) / "run_profiled.py"
        wrapper.write_text(f"#!{sys.executable}\n"
                           + PROFILED_NODE.format(out=tmp, node=str(NODE_BIN)))
        wrapper.chmod(0o755)
        cfg = Config(9, shards, rate, conc, 0.0, args.process_time, False, seed=args.seed)
        r = run_test(cfg, args.store, bin_path=wrapper, sample_cpu=True)
        files = {n: Path(tmp) / f"node.{pid}.prof" for n, pid in r["pids"].items()}
        files = {n: f for n, f in files.items() if f.exists()}
        print(f"\n== 1d. profile: {shards} groups, rate {rate:g}, {conc}n, every node under "
              f"cProfile with a CPU clock (profiling slows the nodes: read shares, not speeds); "
              f"{len(files)} of 9 profiles")
        print(f"  command: {cfg.command()}, with --bin a wrapper that runs node/run.py under "
              f"cProfile.Profile(time.process_time)")
        print(f"  the run: {r['ok_per_s']:.0f} ok/s, {r['done_per_s']:.0f} done/s, "
              f"p50 {r['p50']:.1f} ms, valid {r['valid']}")
        if not files:
            return
        totals = {n: pstats.Stats(str(f)).total_tt for n, f in files.items()}
        print("  profiled CPU s per node (whole life, start-up included): "
              + " ".join(f"{n}:{t:.1f}" for n, t in totals.items()))
        stats = pstats.Stats(*map(str, files.values()))
        total = stats.total_tt
        areas: Counter = Counter()
        for (file, _line, name), (_cc, _calls, tt, _ct, callers) in stats.stats.items():
            area = _area(file, name)
            if area == "other builtins and stdlib" and callers:
                # a builtin (dict.get, isinstance, ...) counts for the code that called it
                for (cfile, _cline, cname), caller in callers.items():
                    areas[_area(cfile, cname)] += caller[2]
            else:
                areas[area] += tt
        start_up = areas.pop("imports at start", 0.0)
        running = total - start_up
        no_pyc = " with no .pyc: PYTHONDONTWRITEBYTECODE" if sys.flags.dont_write_bytecode else ""
        print(f"  start-up (imports, compiling{no_pyc}): {start_up:.1f} s of {total:.1f} s; the "
              f"rest, {running:.1f} s, by area (builtins counted with their callers):")
        print("    " + "; ".join(f"{a} {100 * t / running:.0f}%" for a, t in areas.most_common()))
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)
        print(f"  top functions, all nodes together, by own CPU (total {total:.1f} s):")
        print(f"  {'own %':>6} {'cum %':>6} {'calls':>9}  function")
        for (file, line, name), (_cc, calls, tt, ct, _callers) in rows[:args.profile_top]:
            where = os.path.relpath(file, ROOT) if file.startswith(str(ROOT)) else file
            print(f"  {100 * tt / total:>6.1f} {100 * ct / total:>6.1f} {calls:>9}  "
                  f"{name} ({where}:{line})")


# ---------------------------------------------------------------------------------------------
# 2. idle traffic


def idle_traffic(store: Path, nodes: int, skip: float, end: float) -> dict:
    """From the journal, server-to-server sends between `skip` and `end` seconds of the
    workload: envelopes per second per node, envelopes by type, Raft bodies (a raft_batch
    envelope carries several), and AppendEntries per second of each (leader, follower, group)
    stream, i.e. the heartbeat rate."""
    t0 = None
    envelopes, bodies, types, streams = 0, 0, Counter(), Counter()
    with open(store / "messages.jsonl", "rb") as f:
        for line in f:
            e = orjson.loads(line)
            if e["type"] == "workload-start":
                t0 = e["time"]
                continue
            if e["type"] != "send" or t0 is None:
                continue
            t = (e["time"] - t0) / 1e9
            m = e["message"]
            if not (skip <= t <= end and m["src"][0] == "n" and m["dest"][0] == "n"):
                continue
            body = m["body"]
            envelopes += 1
            types[body.get("type")] += 1
            inner = body["msgs"] if body.get("type") == BATCH else [body]
            bodies += len(inner)
            for b in inner:
                if b.get("type") == "raft_append":
                    streams[(m["src"], m["dest"], b.get("group"))] += 1
    span = end - skip
    return {"per_node": envelopes / span / nodes, "bodies_per_node": bodies / span / nodes,
            "types": types, "streams": {k: n / span for k, n in streams.items()}}


def idle(args: argparse.Namespace) -> None:
    limit, skip = args.idle_time, min(5.0, args.idle_time / 4)
    nominal = 1 / DEFAULT_TIMING.heartbeat_interval
    print(f"\n== 2. idle traffic, simulator: 9 nodes, --rate 0.01, --latency 10, no nemesis, "
          f"--time-limit {limit:g}; server messages (envelopes) per second per node, steady "
          f"state = {skip:g}..{limit:g} s of the workload; whole run = node start to stop")
    print(f"{'row':<4} {'groups':>6} {'valid':>11} {'steady':>7} {'bodies':>7} {'whole':>7} "
          f"{'streams':>7} {'hb/s per stream':>22}  envelope types")
    rows, steady = [], {}
    for shards in (1, 3, 8):
        cfg = Config(9, shards, 0.01, 2, 10.0, limit, True, seed=args.seed)
        r = run_test(cfg, args.store)
        idle_ = idle_traffic(r["store"], 9, skip, limit)
        whole = r["srv_count"] / r["sim_end"] / 9
        steady[shards] = idle_["per_node"]
        rates = sorted(idle_["streams"].values())
        hb = f"{rates[0]:.1f}..{rates[-1]:.1f} (>{1.5 * nominal:.0f}: " \
             f"{sum(x > 1.5 * nominal for x in rates)})" if rates else "-"
        label = f"I{len(rows) + 1}"
        rows.append((label, r))
        print(f"{label:<4} {shards:>6} {str(r['valid']):>11} {idle_['per_node']:>7.1f} "
              f"{idle_['bodies_per_node']:>7.1f} {whole:>7.1f} {len(rates):>7} {hb:>22}  "
              + " ".join(f"{t}:{n}" for t, n in idle_["types"].most_common()), flush=True)
    print(f"  (bodies: Raft messages inside the envelopes; streams: (leader, follower, group) "
          f"pairs sending AppendEntries; hb/s: their rate, nominally 1 / heartbeat_interval = "
          f"{nominal:.1f}/s; valid False:stats is expected here: at --rate 0.01 the only ops "
          f"are a read or two of a key never written, so Jepsen's stats checker sees no ok op)")
    for shards in (1, 3, 8):
        print(f"  {shards} group(s): {describe_layout(Config(9, shards, 0, 2, 0, 1, True))}")
    print_commands(rows)
    report_problems(rows, expected=("stats",))
    print(f"  steady state: 1 group {steady[1]:.1f}, 3 groups {steady[3]:.1f}, 8 groups "
          f"{steady[8]:.1f} msgs/s/node; 8 groups / 1 group = {steady[8] / steady[1]:.2f}x "
          f"(3 / 1 = {steady[3] / steady[1]:.2f}x)")


# ---------------------------------------------------------------------------------------------
# 3. cost vs cluster size


def heartbeat_messages(store: Path) -> int:
    """Server envelopes in the journal that carry nothing but heartbeats: AppendEntries without
    entries, reads or notice that do not advance the commit index the leader last sent that
    follower, and the acks that answer them (matched by leader, follower, group, term and seq),
    alone or batched together. The rest is the cost of operations (entries, commit updates,
    reads, forwards) and of elections."""
    empty: dict[tuple, bool] = {}
    commits: dict[tuple, object] = {}
    count = 0
    with open(store / "messages.jsonl", "rb") as f:
        for line in f:
            e = orjson.loads(line)
            if e["type"] != "send":
                continue
            m = e["message"]
            src, dest, body = m["src"], m["dest"], m["body"]
            if src[0] != "n" or dest[0] != "n":
                continue
            only_heartbeats = True
            for b in body["msgs"] if body.get("type") == BATCH else [body]:
                t = b.get("type")
                if t == "raft_append":
                    stream = (src, dest, b.get("group"))
                    hb = (not b.get("entries") and not b.get("reads") and not b.get("notice")
                          and stream in commits and b.get("commit") == commits[stream])
                    commits[stream] = b.get("commit")
                    empty[(*stream, b.get("term"), b.get("seq"))] = hb
                elif t == "raft_append_ack":
                    hb = not b.get("props") and not b.get("reads") and empty.get(
                        (dest, src, b.get("group"), b.get("ack_term"), b.get("seq")), False)
                else:
                    hb = False
                only_heartbeats = only_heartbeats and hb
            count += only_heartbeats
    return count


# Messages per op of one Raft group of all nodes, before cluster mode (issue 10's figures).
BEFORE_CLUSTER_MODE = {5: 13, 25: 53, 100: 141}


def scaling(args: argparse.Namespace) -> None:
    """Part 3: messages per op at 5, 25 and 100 nodes."""
    limit = args.scale_time
    print(f"\n== 3. cost vs cluster size, simulator: lin-kv --rate 100 --nemesis partition "
          f"--latency 10 --concurrency 2n --time-limit {limit:g}, seed {args.seed}")
    print(f"{'row':<4} {'nodes':>5} {'groups':>6} {'valid':>5} {'cluster':>7} {'ok':>6} "
          f"{'avail':>5} {'msg/op':>7} {'srv/op':>7} {'hb/op':>6} {'wall s':>6} {'keys':>4}  "
          f"ops per group")
    rows = []
    for nodes, shards in ((5, None), (25, 8), (100, 30)):
        cfg = Config(nodes, shards, 100, 2, 10.0, limit, True, nemesis="partition",
                     seed=args.seed)
        r = run_test(cfg, args.store)
        ops = r["srv_count"] / r["msgs_srv"] if r["msgs_srv"] else 0
        r["hb_per_op"] = heartbeat_messages(r["store"]) / ops if ops else 0.0
        label = f"C{len(rows) + 1}"
        rows.append((label, r))
        per_group = r["ops_per_group"]
        spread = (groups_text(per_group) if len(per_group) <= 8 else
                  f"{len(per_group)} groups, {min(per_group.values())}..{max(per_group.values())}"
                  f" ops each")
        print(f"{label:<4} {nodes:>5} {shards or 1:>6} {str(r['valid']):>5} "
              f"{str(r['cluster_valid']):>7} {r['ok']:>6} {r['availability']:>5.2f} "
              f"{r['msgs_all']:>7.2f} {r['msgs_srv']:>7.2f} {r['hb_per_op']:>6.2f} "
              f"{r['wall']:>6.1f} {r['keys']:>4}  {spread}", flush=True)
    print("  (cluster: the :cluster checker's verdict; hb/op: server messages per op that carry "
          "only heartbeats (empty AppendEntries that move no commit index) or their acks; "
          "keys: lin-kv keys used (~128 ops each), so only the groups owning one of them serve "
          "ops)")
    for label, r in rows:
        print(f"  {label} layout: {describe_layout(r['cfg'])}")
    print_commands(rows)
    report_problems(rows)
    base = rows[0][1]
    for label, r in rows[1:]:
        n = r["cfg"].nodes
        target = {25: 2.0, 100: 3.0}[n]
        srv = r["msgs_srv"] / base["msgs_srv"]
        al = r["msgs_all"] / base["msgs_all"]

        def verdict(x: float) -> str:
            return "met" if x <= target else "MISSED"

        print(f"  {n}/5 nodes (target <= {target:g}x): servers {srv:.2f}x ({verdict(srv)}), all "
              f"{al:.2f}x ({verdict(al)}); without heartbeats, servers "
              f"{(r['msgs_srv'] - r['hb_per_op']) / (base['msgs_srv'] - base['hb_per_op']):.2f}x")
    before = ", ".join(f"{n} nodes {r['msgs_all']:.1f} vs {BEFORE_CLUSTER_MODE[n]}"
                       for n, r in ((r["cfg"].nodes, r) for _, r in rows))
    print(f"  next to one group of all nodes before cluster mode (issue 10: 13, 53, 141 messages "
          f"per op): {before}; i.e. 25 nodes {rows[1][1]['msgs_all'] / 13:.2f}x and 100 nodes "
          f"{rows[2][1]['msgs_all'] / 13:.2f}x the old 5-node figure")


# ---------------------------------------------------------------------------------------------


def source_version() -> str:
    """The commit measured, and any uncommitted change to the code the runs use (node processes
    read node/ from disk at each start; the simulator and bench use what this process imported)."""
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    head = git("rev-parse", "--short", "HEAD").strip()
    if not head:
        return f"code from {ROOT} (not a git checkout)"
    dirty = git("status", "--porcelain", "--", "node", "maelstrom", "workloads").splitlines()
    return f"commit {head}" + (f", uncommitted: {' '.join(line[3:] for line in dirty)}"
                               if dirty else ", node/ maelstrom/ workloads/ clean")


def parse_ladder(text: str) -> list[tuple[float, int]]:
    """'2000:16,5000:16' -> [(2000.0, 16), (5000.0, 16)]: offered rate and concurrency (x n)."""
    out = []
    for part in text.split(","):
        rate, conc = part.split(":")
        if int(conc) % 2:
            raise argparse.ArgumentTypeError("lin-kv needs a concurrency that is a multiple of 2n")
        out.append((float(rate), int(conc)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[1:]))
    ap.add_argument("--quick", action="store_true", help="short smoke version")
    ap.add_argument("--no-process", action="store_true", help="skip real node processes")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    ap.add_argument("--only", default="1,2,3", help="parts to run, e.g. 2,3")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ladder", type=parse_ladder, default=None,
                    help="part 1's rungs, RATE:CONC,... with CONC a multiple of n "
                         "(default 2000:16,5000:16,10000:32,20000:64; --quick 2000:16,20000:64)")
    ap.add_argument("--process-time", type=float, default=None,
                    help="part 1, processes (10; quick 5)")
    ap.add_argument("--sim-time", type=float, default=None, help="part 1, simulator (5; quick 2)")
    ap.add_argument("--idle-time", type=float, default=20.0, help="part 2 (20 simulated s)")
    ap.add_argument("--scale-time", type=float, default=None, help="part 3 (60; quick 20)")
    ap.add_argument("--profile-top", type=int, default=15)
    ap.add_argument("--store", default=None, help="keep the runs here (default: a temp dir)")
    args = ap.parse_args()
    q = args.quick
    if args.ladder is None:
        args.ladder = parse_ladder("2000:16,20000:64" if q else "2000:16,5000:16,10000:32,20000:64")
    args.process_time = args.process_time or (5.0 if q else 10.0)
    args.sim_time = args.sim_time or (2.0 if q else 5.0)
    args.scale_time = args.scale_time or (20.0 if q else 60.0)
    parts = {p.strip() for p in args.only.split(",")}
    timing = os.environ.get("FERRITE_TIMING")
    print(f"bench_cluster: {CORES} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"{source_version()}"
          + (f"; FERRITE_TIMING={timing!r} applies to every run" if timing else ""))
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.store is None:
            args.store = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cluster-"))
        if "1" in parts:
            saturation(args)
        if "2" in parts:
            idle(args)
        if "3" in parts:
            scaling(args)
    print(f"\nbench_cluster: {time.perf_counter() - start:.0f} s wall; load average "
          f"{os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
