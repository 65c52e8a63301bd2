#!/usr/bin/env python3
"""Sweep `maelstrom test -w lin-kv --bin node/run.py` over node counts and fixed seeds.

Issue 4's acceptance run: 3, 5 and 7 nodes x at least 10 seeds, --nemesis partition,
--latency 10, --rate 100, --time-limit 30. Prints one row per run and a summary per size;
exits 1 if any run was not valid. Long (about 45 s per run): not part of CI.

    scripts/sweep_lin_kv.py                       # the full sweep (30 runs)
    scripts/sweep_lin_kv.py --nodes 3 --seeds 2 --time-limit 10
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_one(nodes: int, seed: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "maelstrom", "test", "-w", "lin-kv", "--bin", "node/run.py",
           "--node-count", str(nodes), "--concurrency", "2n", "--nemesis", "partition",
           "--latency", str(args.latency), "--rate", str(args.rate),
           "--time-limit", str(args.time_limit), "--seed", str(seed), "--quiet",
           "--store", args.store]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    row = {"nodes": nodes, "seed": seed, "exit": proc.returncode,
           "wall": time.monotonic() - t0, "store": None}
    m = re.search(r"Results in (\S+)", proc.stdout + proc.stderr)
    if m:
        row["store"] = m.group(1)
        results = ROOT / m.group(1) / "results.json"
        if results.exists():
            r = json.loads(results.read_text())
            stats = r.get("stats", {})
            lat = r.get("perf", {}).get("latency", {}).get("all", {})
            row.update(valid=r.get("valid?"), ops=stats.get("count"),
                       ok=stats.get("ok-count"), fail=stats.get("fail-count"),
                       info=stats.get("info-count"),
                       avail=r.get("availability", {}).get("ok-fraction"),
                       mpo=r.get("net", {}).get("all", {}).get("msgs-per-op"),
                       p50=lat.get("p50"), p99=lat.get("p99"))
    if "valid" not in row:
        row["valid"] = None
        row["error"] = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
    return row


def fmt(row: dict) -> str:
    def f(x, spec):
        return format(x, spec) if isinstance(x, (int, float)) else "-"
    return (f"{row['nodes']:>5} {row['seed']:>5} {str(row['valid']):>7} {f(row.get('ops'), '>6')}"
            f" {f(row.get('ok'), '>6')} {f(row.get('fail'), '>5')} {f(row.get('info'), '>5')}"
            f" {f(row.get('avail'), '>6.3f')} {f(row.get('mpo'), '>6.2f')}"
            f" {f(row.get('p50'), '>7.1f')} {f(row.get('p99'), '>7.1f')} {row['wall']:>6.1f}  "
            f"{row.get('store') or row.get('error')}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", default="3,5,7", help="comma-separated node counts")
    ap.add_argument("--seeds", type=int, default=10, help="seeds 1..N per node count")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=30)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--latency", type=float, default=10)
    ap.add_argument("--store", default="store")
    args = ap.parse_args()

    sizes = [int(x) for x in args.nodes.split(",")]
    print(f"lin-kv sweep: nodes {sizes}, seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
          f", --nemesis partition --latency {args.latency} --rate {args.rate}"
          f" --time-limit {args.time_limit}", flush=True)
    print(f"{'nodes':>5} {'seed':>5} {'valid':>7} {'ops':>6} {'ok':>6} {'fail':>5} {'info':>5}"
          f" {'avail':>6} {'msg/op':>6} {'p50ms':>7} {'p99ms':>7} {'wall s':>6}  store", flush=True)
    rows = []
    for n in sizes:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            row = run_one(n, seed, args)
            rows.append(row)
            print(fmt(row), flush=True)
    print()
    bad = 0
    for n in sizes:
        mine = [r for r in rows if r["nodes"] == n]
        valid = sum(1 for r in mine if r["valid"] is True)
        bad += len(mine) - valid
        print(f"{n} nodes: {valid}/{len(mine)} valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
