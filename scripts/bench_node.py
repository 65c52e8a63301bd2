#!/usr/bin/env python3
"""Benchmark node/run.py through the bench (`maelstrom test -w lin-kv`), and print figures.

1. Throughput/latency/messages: 5 nodes, --latency 0 and 10, --rate 100, 500 and 1000, no
   nemesis. Prints throughput, p50/p99 latency by f, messages per op (all messages, and
   server-to-server only), and at --latency 10 the ratio of p50 to the network floor
   (2 one-way latencies to commit + 2 for a forward = 4 x latency).
2. Failover: 5 nodes, --latency 10, --nemesis partition, several seeds, in the simulator (many
   runs, cheap) and with real processes. For every partition that
   leaves the current leader without a majority while the others keep one, the time from the
   partition to the first write/cas answered after a new leader (higher term) sent its first
   AppendEntries. Read from the bench's message journal and history.

Targets (issue 4): msgs/op <= 3 at rate >= 500; p50 at --latency 10 <= 1.25 x floor;
failover < 1 s at --latency 10. Not part of CI (takes a few minutes).

    scripts/bench_node.py                     # everything
    scripts/bench_node.py --skip-failover --time-limit 10
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODES = 5


def run_bench(args: argparse.Namespace, *, rate: float, latency: float, seed: int,
              time_limit: float, concurrency: str, nemesis: str | None = None,
              sim: bool = False) -> Path | None:
    cmd = [sys.executable, "-m", "maelstrom", "test", "-w", "lin-kv", "--bin", "node/run.py",
           "--node-count", str(NODES), "--concurrency", concurrency, "--latency", str(latency),
           "--rate", str(rate), "--time-limit", str(time_limit), "--seed", str(seed), "--quiet",
           "--store", args.store]
    if nemesis:
        cmd += ["--nemesis", nemesis, "--nemesis-interval", str(args.nemesis_interval)]
    if sim:
        cmd.append("--sim")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"Results in (\S+)", proc.stdout + proc.stderr)
    if not m:
        print(f"  bench failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-500:]}")
        return None
    return ROOT / m.group(1)


# ---------------------------------------------------------------------------------------------
# 1. throughput, latency, messages


def throughput_table(args: argparse.Namespace) -> None:
    mode = "simulator (--sim, virtual time)" if args.sim else "real processes"
    print(f"== throughput/latency, {mode}: {NODES} nodes, no nemesis, "
          f"--time-limit {args.time_limit}")
    print(f"{'lat':>4} {'rate':>5} {'conc':>5} {'valid':>6} {'thr/s':>7} {'msg/op':>7} {'srv/op':>7}"
          f" {'p50 read':>9} {'p50 write':>9} {'p50 cas':>8} {'p99 read':>9} {'p99 write':>9}"
          f" {'p99 cas':>8} {'p50 all':>8} {'p50/floor':>9}")
    for latency in args.latencies:
        for rate in args.rates:
            # Enough workers to sustain the rate at ~60 ms per op (Jepsen: multiple of 2n).
            conc = {100: "2n", 500: "8n"}.get(int(rate), "16n")
            store = run_bench(args, rate=rate, latency=latency, seed=args.seed,
                              time_limit=args.time_limit, concurrency=conc, sim=args.sim)
            if store is None:
                continue
            r = json.loads((store / "results.json").read_text())
            lat = r["perf"]["latency"]
            by_f = lat["by-f"]
            net = r["net"]

            def q(f: str, p: str) -> str:
                v = by_f.get(f, {}).get(p)
                return f"{v:.1f}" if isinstance(v, (int, float)) else "-"

            p50_all = lat["all"]["p50"]
            floor = 4 * latency
            ratio = f"{p50_all / floor:.2f}" if floor else "-"
            print(f"{latency:>4g} {rate:>5g} {conc:>5} {str(r.get('valid?')):>6}"
                  f" {r['perf']['throughput']:>7.1f} {net['all']['msgs-per-op']:>7.2f}"
                  f" {net['servers']['msgs-per-op']:>7.2f} {q('read', 'p50'):>9}"
                  f" {q('write', 'p50'):>9} {q('cas', 'p50'):>8} {q('read', 'p99'):>9}"
                  f" {q('write', 'p99'):>9} {q('cas', 'p99'):>8} {p50_all:>8.1f} {ratio:>9}",
                  flush=True)


# ---------------------------------------------------------------------------------------------
# 2. failover


def _sets(grudge: dict) -> dict[str, set]:
    """{dest: {"#set": [...]}} (history JSON form of a grudge) -> {dest: set of sources}."""
    out = {}
    for dest, v in grudge.items():
        items = v.get("#set", []) if isinstance(v, dict) else v
        out[dest] = set(items)
    return out


def _reachable(node: str, grudge: dict[str, set], nodes: list[str]) -> int:
    """Nodes that `node` can talk to both ways, itself included."""
    return 1 + sum(1 for o in nodes if o != node and o not in grudge.get(node, set())
                   and node not in grudge.get(o, set()))


def failover_events(store: Path) -> list[dict]:
    history = [json.loads(line) for line in (store / "history.jsonl").read_text().splitlines()]
    t0 = None
    sends = []  # (time_ns, src, dest, body)
    with open(store / "messages.jsonl", "rb") as fh:
        for line in fh:
            e = json.loads(line)
            if e["type"] == "workload-start":
                t0 = e["time"]
            elif e["type"] == "send":
                m = e["message"]
                sends.append((e["time"], m["src"], m["dest"], m["body"]))
    if t0 is None:
        return []
    nodes = sorted({s for _, s, _, _ in sends if s.startswith("n")})
    majority = len(nodes) // 2 + 1
    events = []
    parts = [(op["time"] + t0, op["value"]) for op in history
             if op.get("process") == "nemesis" and op["f"] in ("start-partition", "stop-partition")
             and op["type"] == "info"]
    for k, (t, value) in enumerate(parts):
        if not (isinstance(value, list) and value and value[0] == ":isolated"):
            continue
        end = next((tt for tt, v in parts[k + 1:]), float("inf"))
        grudge = _sets(value[1])
        # Leader at t: the sender of the latest AppendEntries with the highest term.
        leader, term = None, -1
        for ts, src, _, body in sends:
            if ts > t:
                break
            if body.get("type") == "raft_append" and body["term"] >= term:
                leader, term = src, body["term"]
        if leader is None or _reachable(leader, grudge, nodes) >= majority:
            continue  # the leader kept a majority: no failover needed
        if not any(_reachable(n, grudge, nodes) >= majority for n in nodes if n != leader):
            continue  # nobody can lead during this partition
        new_at = next((ts for ts, src, _, body in sends if ts > t and src != leader
                       and body.get("type") == "raft_append" and body["term"] > term), None)
        if new_at is None or new_at > end:
            events.append({"t": t, "leader": leader, "failover_s": None})
            continue
        acked = next((ts for ts, src, dest, body in sends if ts >= new_at and src in nodes
                      and not dest.startswith("n") and (
                          body.get("type") in ("write_ok", "cas_ok")
                          or (body.get("type") == "error" and body.get("code") in (20, 22)))),
                     None)
        events.append({"t": t, "leader": leader, "new_leader_s": (new_at - t) / 1e9,
                       "failover_s": None if acked is None or acked > end else (acked - t) / 1e9})
    return events


def failover_table(args: argparse.Namespace, seeds: list[int], sim: bool) -> None:
    mode = "simulator (--sim, virtual time)" if sim else "real processes"
    print(f"== failover, {mode}: {NODES} nodes, --latency 10, --rate 100, --nemesis partition "
          f"--nemesis-interval {args.nemesis_interval}, --time-limit {args.failover_time}, "
          f"seeds {seeds[0]}..{seeds[-1]}")
    all_times = []
    for seed in seeds:
        store = run_bench(args, rate=100, latency=10, seed=seed, time_limit=args.failover_time,
                          concurrency="2n", nemesis="partition", sim=sim)
        if store is None:
            continue
        r = json.loads((store / "results.json").read_text())
        for e in failover_events(store):
            fo = e["failover_s"]
            if fo is not None:
                all_times.append(fo)
            print(f"  seed {seed}: leader {e['leader']} isolated; new leader after "
                  f"{e.get('new_leader_s', float('nan')):.3f} s; first write acked after "
                  + (f"{fo:.3f} s" if fo is not None else "- (none before heal)"), flush=True)
        print(f"  seed {seed}: valid {r.get('valid?')}  ({store.relative_to(ROOT) if store.is_relative_to(ROOT) else store})")
    if all_times:
        all_times.sort()
        print(f"failover: {len(all_times)} events, median {all_times[len(all_times) // 2]:.3f} s,"
              f" max {all_times[-1]:.3f} s")
    else:
        print("failover: no leader-isolating partition in these runs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                    default=[100.0, 500.0, 1000.0])
    ap.add_argument("--latencies", type=lambda s: [float(x) for x in s.split(",")],
                    default=[0.0, 10.0])
    ap.add_argument("--failover-seeds", type=lambda s: [int(x) for x in s.split(",") if x],
                    default=[1, 2, 3], help="seeds of the real-process failover runs")
    ap.add_argument("--failover-sim-seeds", type=int, default=20,
                    help="simulated failover runs (seeds 1..N; 0: none)")
    ap.add_argument("--failover-time", type=float, default=60)
    ap.add_argument("--nemesis-interval", type=float, default=4)
    ap.add_argument("--sim", action="store_true",
                    help="throughput/latency in the simulator: protocol cost without process "
                         "and scheduling overheads")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-failover", action="store_true")
    ap.add_argument("--store", default="store")
    args = ap.parse_args()
    if not args.skip_throughput:
        throughput_table(args)
    if not args.skip_failover:
        if args.failover_sim_seeds:
            failover_table(args, list(range(1, args.failover_sim_seeds + 1)), sim=True)
        if args.failover_seeds:
            failover_table(args, args.failover_seeds, sim=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
