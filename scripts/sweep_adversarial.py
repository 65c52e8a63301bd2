#!/usr/bin/env python3
"""The standard adversarial fault mix (issue 8): many simulated lin-kv runs of our Raft node, each
seed drawing its own configuration from the mix (maelstrom/fault_mix.py: delays up to 10x the
election timeout, exponential latency, pauses and partitions every 0.5-1 s, loss 0.05-0.2,
duplication, 3/5/7 nodes, 200-2000 ops/s), with the Raft invariant oracle on. Prints one line per configuration cell
(nodes x rate) and the totals: runs, linearizability verdicts, invariant violations, ok
fraction; keeps every run that is not valid under store/adversarial/<time>/seed-N with its
replay command. Exit 0 unless a run is not linearizable, breaks an invariant, has node faults
or errs (a run can be "invalid" only because some f never succeeded under extreme faults:
counted, not a failure of the sweep).

    scripts/sweep_adversarial.py --seeds 1-1000 --time-limit 20 [--jobs 2] [--sim-node X]
        [--kill [--lose-unsynced]]
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import datetime as dt
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maelstrom.commands.replay import command_line  # noqa: E402
from maelstrom.commands.sweep import parse_seeds  # noqa: E402
from maelstrom.fault_mix import adversarial_options  # noqa: E402
from maelstrom.runner import Runner, TestOptions  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def run_one(opts: TestOptions, scratch: str) -> dict:
    opts = TestOptions(**{**opts.__dict__, "store": os.path.join(scratch, f"seed-{opts.seed}")})
    start = time.perf_counter()
    try:
        result = Runner(opts, WORKLOADS[opts.workload]).run()
    except Exception as exc:  # a bench error: reported, never a verdict
        return {"seed": opts.seed, "error": f"{type(exc).__name__}: {exc}"}
    r = result.results
    inv = r.get("invariants", {})
    return {"seed": opts.seed, "nodes": opts.node_count, "rate": opts.rate,
            "valid": r["valid?"], "linearizable": r["workload"]["valid?"],
            "invariants": inv.get("valid?"), "node_faults": r["nodes"]["valid?"] is not True,
            "violation": (inv.get("violations") or [{}])[0]
            .get("what"), "ok": r["availability"]["ok-fraction"],
            "reads": inv.get("reads-confirmed", 0), "store": str(result.store),
            "wall": time.perf_counter() - start, "command": command_line(opts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-100")
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sim-node", default=None, help="a broken variant, to see the mix bite")
    ap.add_argument("--store", default="store")
    ap.add_argument("--kill", action="store_true",
                    help="add the kill nemesis (kills and restarts) to the mix")
    ap.add_argument("--lose-unsynced", action="store_true",
                    help="with --kill: a killed node loses what it had not synced")
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds)
    keep = Path(args.store) / "adversarial" / dt.datetime.now(dt.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")
    scratch = tempfile.mkdtemp(prefix="adversarial-")
    start = time.perf_counter()
    rows = []
    ctx = multiprocessing.get_context("fork")
    try:
        with futures.ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
            jobs = [pool.submit(run_one,
                                adversarial_options(s, args.time_limit, args.sim_node,
                                                    kill=args.kill,
                                                    lose_unsynced=args.lose_unsynced),
                                scratch)
                    for s in seeds]
            for n, job in enumerate(futures.as_completed(jobs), 1):
                row = job.result()
                rows.append(row)
                if row.get("valid") is not True or _unsafe(row):
                    if "store" in row:
                        keep.mkdir(parents=True, exist_ok=True)
                        dest = keep / f"seed-{row['seed']}"
                        shutil.move(row["store"], dest)
                        (dest / "command.txt").write_text(row["command"] + "\n")
                    if _unsafe(row) or "error" in row:
                        print(f"seed {row['seed']}: {row.get('error') or row}", flush=True)
                if n % 50 == 0:
                    print(f"... {n}/{len(seeds)} runs, {time.perf_counter() - start:.0f} s",
                          file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    cells: dict = defaultdict(list)
    for row in rows:
        cells[(row.get("nodes"), row.get("rate"))].append(row)
    print(f"{'nodes':>5} {'rate':>6} {'runs':>5} {'valid':>6} {'nonlin':>6} {'inv-viol':>8} "
          f"{'faults':>6} {'errors':>6} {'ok':>6} {'reads':>9}")

    def line(label_nodes, label_rate, rs) -> str:
        ok = [r["ok"] for r in rs if "ok" in r]
        return (f"{label_nodes:>5} {label_rate:>6} {len(rs):>5} "
                f"{sum(r.get('valid') is True for r in rs):>6} "
                f"{sum(r.get('linearizable') is False for r in rs):>6} "
                f"{sum(r.get('invariants') is False for r in rs):>8} "
                f"{sum(bool(r.get('node_faults')) for r in rs):>6} "
                f"{sum('error' in r for r in rs):>6} "
                f"{(sum(ok) / len(ok) if ok else 0):>6.3f} {sum(r.get('reads', 0) for r in rs):>9}")

    for (nodes, rate), rs in sorted(cells.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or 0)):
        print(line(nodes, int(rate or 0), rs))
    print(line("all", "", rows))
    print(f"wall {time.perf_counter() - start:.1f} s on {args.jobs} workers; "
          f"time limit {args.time_limit:g} s per run; failing runs kept under {keep}")
    print("valid: Jepsen's whole verdict (also false when some f never succeeded, which "
          "extreme faults can cause); nonlin: not linearizable; inv-viol: Raft invariant "
          "violated; faults: node faults; reads: ReadIndex reads the oracle checked")
    return 1 if any(_unsafe(r) or "error" in r for r in rows) else 0


def _unsafe(row: dict) -> bool:
    """What this sweep exists to rule out: a non-linearizable history, a broken invariant, a
    node fault (crash, bad output)."""
    return (row.get("linearizable") is False or row.get("invariants") is False
            or bool(row.get("node_faults")))


if __name__ == "__main__":
    sys.exit(main())
