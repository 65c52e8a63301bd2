#!/usr/bin/env python3
"""Simulator speed: simulated seconds per wall-clock second for the main lin-kv test (5 nodes,
rate 100, latency 10 ms, partitions; scripts/main's flags), next to the wall time of the same
test with real node processes.

    scripts/bench_sim.py [--time-limit 30] [--seed 1] [--repeat 3] [--no-process] [--bin FILE]

Prints, per backend: the test's simulated/real length, wall time (whole run, and without the
final analysis), ops, messages, and the speed-up over real time.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maelstrom.runner import Runner, TestOptions  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def run(opts: TestOptions) -> dict:
    runner = Runner(opts, WORKLOADS[opts.workload])
    checked = {}
    analyse = runner.analyse

    def timed_analyse():  # the checker's share, to report the loop's own speed too
        t = time.perf_counter()
        result = analyse()
        checked["seconds"] = time.perf_counter() - t
        return result

    runner.analyse = timed_analyse
    start = time.perf_counter()
    result = runner.run()
    wall = time.perf_counter() - start
    host = runner.host
    return {"wall": wall, "loop": wall - checked["seconds"], "clock": runner.clock.now(),
            "ops": result.results["stats"]["count"], "valid": result.results["valid?"],
            "msgs": result.results["net"]["all"]["msg-count"],
            "steps": getattr(host, "steps", None)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="simulated runs (best is reported)")
    ap.add_argument("--no-process", action="store_true", help="skip the process backend")
    ap.add_argument("--bin", default=str(ROOT / "node" / "run.py"),
                    help="node binary (--sim imports its Server)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = TestOptions(workload="lin-kv", bin=str(Path(args.bin).resolve()), node_count=5,
                           concurrency=10, latency=10.0, rate=100.0, nemesis=["partition"],
                           time_limit=args.time_limit, seed=args.seed, quiet=True, store=tmp)
        print(f"lin-kv, 5 nodes, rate 100, latency 10 ms, partitions, time limit "
              f"{args.time_limit:g} s, seed {args.seed}")
        print(f"{'backend':<10} {'test s':>7} {'wall s':>7} {'loop s':>7} {'x real':>7} "
              f"{'x (loop)':>8} {'ops':>6} {'msgs':>7} {'valid':>6}")
        sims = [run(dataclasses.replace(base, sim=True)) for _ in range(max(1, args.repeat))]
        sim = min(sims, key=lambda r: r["wall"])
        rows = [("sim", sim)]
        if not args.no_process:
            rows.append(("process", run(base)))
        for name, r in rows:
            print(f"{name:<10} {r['clock']:>7.1f} {r['wall']:>7.2f} {r['loop']:>7.2f} "
                  f"{r['clock'] / r['wall']:>7.1f} {r['clock'] / r['loop']:>8.1f} {r['ops']:>6} "
                  f"{r['msgs']:>7} {str(r['valid']):>6}")
        print(f"sim: {sim['steps']} node steps (receive/tick), "
              f"{sim['steps'] / sim['loop']:.0f} per wall second; "
              f"{sim['msgs'] / sim['loop']:.0f} messages per wall second; "
              f"wall times of the {len(sims)} simulated runs: "
              + ", ".join(f"{r['wall']:.2f}" for r in sims))


if __name__ == "__main__":
    main()
