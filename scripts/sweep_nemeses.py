#!/usr/bin/env python3
"""Simulated runs of our Raft node under the kill / pause / partition nemeses and their
group-aware targets (docs/bench.md, "Nemeses"): one row per seed with the verdict, what broke
(the results parts that are not valid, the first invariant violation), the nodes killed and
restarted, how many nemesis starts hit each target (and were deferred for want of one), and
with slot moves how many were done and aborted.

    scripts/sweep_nemeses.py --seeds 1-20 --nemesis kill,partition [--targets meta-leader,leader]
        [--workload lin-kv] [--node-count 5] [--time-limit 20] [--interval 3] [--lose-unsynced]
        [--jobs 2]

Runs go to a temporary directory, removed at the end. Exit 0 (a measurement, not a check).
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maelstrom.commands.sweep import parse_seeds  # noqa: E402
from maelstrom.runner import Runner, TestOptions  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def run_one(opts: TestOptions) -> dict:
    start = time.perf_counter()
    r = Runner(opts, WORKLOADS[opts.workload]).run().results
    nem = r.get("nemesis", {})
    violations = r.get("invariants", {}).get("violations") or [{}]
    return {"seed": opts.seed, "valid": r["valid?"],
            "broken": [k for k, v in r.items() if isinstance(v, dict)
                       and v.get("valid?") is False],
            "violation": violations[0].get("what", ""),
            "kills": nem.get("kills", 0), "restarts": nem.get("restarts", 0),
            "hits": Counter(h["target"] for h in nem.get("targets-hit", [])),
            "deferred": nem.get("deferred", 0), "ok": r["availability"]["ok-fraction"],
            "moves": r.get("cluster", {}).get("migrations"),
            "wall": time.perf_counter() - start}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--workload", default="lin-kv")
    ap.add_argument("--node-count", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--nemesis", default="kill,partition")
    ap.add_argument("--targets", default="")
    ap.add_argument("--interval", type=float, default=3.0)
    ap.add_argument("--lose-unsynced", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds)
    scratch = tempfile.mkdtemp(prefix="sweep-nemeses-")
    nemesis = sorted(f for f in args.nemesis.split(",") if f)
    targets = [t for t in args.targets.split(",") if t]
    base = dict(workload=args.workload, bin=str(ROOT / "node" / "run.py"), sim=True,
                node_count=args.node_count, concurrency=2 * args.node_count, rate=args.rate,
                time_limit=args.time_limit, latency=10.0, nemesis=nemesis,
                nemesis_targets=targets, nemesis_interval=args.interval,
                lose_unsynced=args.lose_unsynced, recovery_time=10.0, quiet=True)
    print(f"{args.workload}, {args.node_count} nodes, {args.time_limit:g} s, nemesis "
          f"{','.join(nemesis)} every ~{args.interval:g} s"
          + (f", targets {','.join(targets)}" if targets else "")
          + (", lose-unsynced" if args.lose_unsynced else ""))
    rows = []
    try:
        ctx = multiprocessing.get_context("fork")
        with futures.ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
            jobs = [pool.submit(run_one, TestOptions(**base, seed=s,
                                                     store=os.path.join(scratch, f"s{s}")))
                    for s in seeds]
            for job in jobs:
                row = job.result()
                rows.append(row)
                hits = " ".join(f"{t}={n}" for t, n in sorted(row["hits"].items()))
                print(f"seed {row['seed']:>4}  valid {str(row['valid']):<5}  "
                      f"ok {row['ok']:.3f}  kills {row['kills']:>2}  restarts "
                      f"{row['restarts']:>2}  {hits}"
                      + (f"  deferred {row['deferred']}" if targets else "")
                      + (f"  moves done {row['moves']['done']} aborted "
                         f"{row['moves']['aborted']}" if row["moves"] else "")
                      + (f"  broken: {','.join(row['broken'])}" if row["broken"] else "")
                      + (f"  ({row['violation'][:70]})" if row["violation"] else ""),
                      flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    valid = sum(1 for r in rows if r["valid"] is True)
    by_part = Counter(p for r in rows for p in r["broken"])
    hits = sum((r["hits"] for r in rows), Counter())
    print(f"{len(rows)} runs: {valid} valid; not valid by part: "
          + (", ".join(f"{p} {n}" for p, n in sorted(by_part.items())) or "none")
          + f"; kills {sum(r['kills'] for r in rows)}, restarts "
          f"{sum(r['restarts'] for r in rows)}"
          + (f"; hits {dict(sorted(hits.items()))}, deferred "
             f"{sum(r['deferred'] for r in rows)}" if targets else "")
          + (f"; moves done {sum(r['moves']['done'] for r in rows if r['moves'])}, aborted "
             f"{sum(r['moves']['aborted'] for r in rows if r['moves'])}"
             if any(r["moves"] for r in rows) else "")
          + f"; wall {sum(r['wall'] for r in rows):.1f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
