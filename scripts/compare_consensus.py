#!/usr/bin/env python3
"""Raft mode vs gossip mode on the same seeds (issue 11): the ADR's argument, shown.

Runs the same simulated lin-kv test once per seed with `cluster.consensus = "raft"` and once
with `"gossip"` (Redis Cluster's protocol: asynchronous replication, failover by gossip and
config epochs; node/rediscluster/), and prints one row per seed and the totals:

- valid: the run's whole verdict;
- nonlin: keys the linearizability checker rejects (a stale read or a lost write seen by it);
- lost: acknowledged writes that a later read shows lost (workload's lost-writes, client view);
- discarded: writes a primary acknowledged and a full resync then threw away (what the nodes
  logged: the failover section), and fail-overs;
- split: intervals in which two primaries of one shard both accepted writes.

    scripts/compare_consensus.py [--seeds 1-20] [--time-limit 60] [--concurrency 2n]
                                 [--nemesis-interval 10] [--jobs 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maelstrom.commands.sweep import parse_seeds  # noqa: E402
from maelstrom.commands.test import parse_concurrency  # noqa: E402
from maelstrom.runner import Runner, TestOptions  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def run_one(mode: str, seed: int, args: argparse.Namespace, scratch: str) -> dict:
    os.environ["FERRITE_CLUSTER_CONSENSUS"] = mode
    os.environ["FERRITE_CLUSTER_SHARDS"] = "3"
    opts = TestOptions(workload="lin-kv", bin="node/run.py", sim=True, node_count=9,
                       concurrency=parse_concurrency(args.concurrency, 9), rate=100.0,
                       time_limit=args.time_limit, latency=10.0, nemesis=["partition"],
                       nemesis_interval=args.nemesis_interval, seed=seed, quiet=True,
                       store=os.path.join(scratch, f"{mode}-{seed}"))
    r = Runner(opts, WORKLOADS["lin-kv"]).run()
    res = r.results
    fo = res.get("failover") or {}
    return {"mode": mode, "seed": seed, "valid": res["valid?"],
            "nonlin": len(res["workload"].get("failures") or []),
            "lost": res["workload"].get("lost-writes", {}).get("count", 0),
            "discarded": fo.get("writes-discarded", 0), "failovers": fo.get("failovers", 0),
            "split": fo.get("two-primaries", 0), "store": str(r.store),
            "failing-keys": res["workload"].get("failures") or []}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--concurrency", default="2n")
    ap.add_argument("--nemesis-interval", type=float, default=10.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds)
    scratch = tempfile.mkdtemp(prefix="compare-consensus-")
    start = time.perf_counter()
    with futures.ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context(
            "fork")) as pool:
        jobs = {(m, s): pool.submit(run_one, m, s, args, scratch)
                for s in seeds for m in ("raft", "gossip")}
        rows = {k: j.result() for k, j in jobs.items()}
    print(f"lin-kv, 9 nodes, 3 shards, --nemesis partition --nemesis-interval "
          f"{args.nemesis_interval:g}, --concurrency {args.concurrency}, --rate 100, "
          f"--latency 10, {args.time_limit:g} s simulated; stores under {scratch}")
    print(f"{'seed':>5} | {'raft':>7} {'nonlin':>6} {'lost':>4} | {'gossip':>7} {'nonlin':>6} "
          f"{'lost':>4} {'discarded':>9} {'failovers':>9} {'split':>5}  failing keys (gossip)")
    for s in seeds:
        r, g = rows[("raft", s)], rows[("gossip", s)]
        print(f"{s:>5} | {_v(r['valid']):>7} {r['nonlin']:>6} {r['lost']:>4} | "
              f"{_v(g['valid']):>7} {g['nonlin']:>6} {g['lost']:>4} {g['discarded']:>9} "
              f"{g['failovers']:>9} {g['split']:>5}  {g['failing-keys'][:6]}")
    for mode in ("raft", "gossip"):
        rs = [rows[(mode, s)] for s in seeds]
        print(f"{mode}: {sum(r['valid'] is True for r in rs)}/{len(rs)} valid; "
              f"not linearizable {sum(r['nonlin'] > 0 for r in rs)}; "
              f"with lost acknowledged writes (history) {sum(r['lost'] > 0 for r in rs)}; "
              f"with writes discarded by nodes {sum(r['discarded'] > 0 for r in rs)} "
              f"({sum(r['discarded'] for r in rs)} writes); "
              f"with two primaries at once {sum(r['split'] > 0 for r in rs)}; "
              f"fail-overs {sum(r['failovers'] for r in rs)}")
    print(f"wall {time.perf_counter() - start:.0f} s on {args.jobs} workers")
    return 0


def _v(valid) -> str:
    return {True: "valid", False: "INVALID"}.get(valid, "unknown")


if __name__ == "__main__":
    sys.exit(main())
