#!/usr/bin/env python3
"""The slot-migration and membership workloads over many simulated seeds (issue 12): 9 nodes,
3 shard groups, partitions, 60 s each by default. Prints per workload: runs, valid runs, the
kinds of failure, and how much each run really exercised (slot moves done / aborted,
membership changes done: min, median and total over the runs). Failing runs are kept under
store/sweep_slots/<time>/ with their replay command. Exit 1 if any run is not valid.

    scripts/sweep_slots.py [--seeds 1-100] [--time-limit 60] [--jobs 2]
                           [-w slot-migration -w membership]
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import datetime as dt
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maelstrom.commands.replay import command_line  # noqa: E402
from maelstrom.commands.sweep import parse_seeds  # noqa: E402
from maelstrom.runner import Runner, TestOptions  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def run_one(workload: str, seed: int, time_limit: float, scratch: str) -> dict:
    os.environ["FERRITE_CLUSTER_SHARDS"] = "3"
    opts = TestOptions(workload=workload, bin="node/run.py", sim=True, node_count=9,
                       concurrency=18, rate=100.0, time_limit=time_limit, latency=10.0,
                       nemesis=["partition"], seed=seed, quiet=True,
                       store=os.path.join(scratch, f"{workload}-{seed}"))
    r = Runner(opts, WORKLOADS[workload]).run().results
    cluster = r.get("cluster") or {}
    moves = cluster.get("migrations") or {}
    return {"workload": workload, "seed": seed, "valid": r["valid?"],
            "failed": sorted(k for k, v in r.items() if isinstance(v, dict)
                             and v.get("valid?") is False),
            "done": moves.get("done", 0), "aborted": moves.get("aborted", 0),
            "changes": cluster.get("membership-changes", 0),
            "store": opts.store, "command": command_line(opts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-100")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("-w", "--workload", action="append",
                    choices=["slot-migration", "membership"])
    args = ap.parse_args()
    workloads = args.workload or ["slot-migration", "membership"]
    seeds = parse_seeds(args.seeds)
    scratch = tempfile.mkdtemp(prefix="sweep-slots-")
    keep = Path("store") / "sweep_slots" / dt.datetime.now(dt.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")
    start = time.perf_counter()
    rows = []
    with futures.ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context(
            "fork")) as pool:
        jobs = [pool.submit(run_one, w, s, args.time_limit, scratch)
                for w in workloads for s in seeds]
        for job in futures.as_completed(jobs):
            row = job.result()
            rows.append(row)
            if row["valid"] is not True:
                keep.mkdir(parents=True, exist_ok=True)
                dest = keep / f"{row['workload']}-{row['seed']}"
                shutil.move(row["store"], dest)
                (dest / "command.txt").write_text(row["command"] + "\n")
                print(f"{row['workload']} seed {row['seed']}: not valid ({row['failed']}), "
                      f"kept in {dest}", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"9 nodes, 3 shard groups, lin-kv traffic at 100 ops/s, --nemesis partition, "
          f"{args.time_limit:g} s simulated, seeds {args.seeds}")
    for w in workloads:
        rs = [r for r in rows if r["workload"] == w]
        key = "done" if w == "slot-migration" else "changes"
        counts = sorted(r[key] for r in rs)
        failures = sorted({k for r in rs for k in r["failed"]})
        print(f"{w}: {sum(r['valid'] is True for r in rs)}/{len(rs)} valid"
              f"{' (failing sections: ' + ', '.join(failures) + ')' if failures else ''}; "
              f"{'moves done' if key == 'done' else 'membership changes done'} per run: "
              f"min {counts[0]}, median {statistics.median(counts):g}, total {sum(counts)}"
              + (f"; moves aborted: {sum(r['aborted'] for r in rs)}" if key == "done" else ""))
    print(f"wall {time.perf_counter() - start:.0f} s on {args.jobs} workers")
    return 0 if all(r["valid"] is True for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
