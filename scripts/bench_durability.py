#!/usr/bin/env python3
"""Durability figures (issue 13; docs/storage.md). Not part of CI.

1. Real processes (`maelstrom test -w lin-kv`, 3 nodes, --latency 0, no nemesis): write
   throughput and p50/p99 latency with the WAL fsynced (one fsync per driver turn: group
   commit), written without fsync (FERRITE_FSYNC=0), and no persistence (FERRITE_WAL=off).
2. In-process, 3 Servers on a 1-10 ms virtual network with real FileWALs (fsync on) in a
   temporary directory: WAL bytes, records and syncs per acknowledged write; wall time per sync.
3. Restart time of a one-node cluster whose shard log holds N entries (default 100,000):
   opening the WAL and answering `init` (recovery and replay), with the log compacted into a
   snapshot every 5,000 entries and without any snapshot.

    scripts/bench_durability.py                       # everything
    scripts/bench_durability.py --skip-process --entries 20000
    scripts/bench_durability.py --only-process --rate 3000 --time-limit 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from node.server import Server  # noqa: E402
from node.storage import durable  # noqa: E402
from node.storage.wal import FileWAL  # noqa: E402


def process_table(args: argparse.Namespace) -> None:
    print(f"== 1. real processes: 3 nodes, --latency 0, --rate {args.rate}, "
          f"--concurrency 8n, --time-limit {args.time_limit}")
    print(f"{'mode':>10} {'valid':>6} {'ok/s':>7} {'p50 write':>10} {'p99 write':>10}"
          f" {'p50 all':>8} {'p99 all':>8}")
    for mode, env in (("fsync", {}), ("no fsync", {"FERRITE_FSYNC": "0"}),
                      ("no WAL", {"FERRITE_WAL": "off"})):
        cmd = [sys.executable, "-m", "maelstrom", "test", "-w", "lin-kv", "--bin", "node/run.py",
               "--node-count", "3", "--concurrency", "8n", "--latency", "0",
               "--rate", str(args.rate), "--time-limit", str(args.time_limit),
               "--seed", "1", "--quiet", "--store", args.store]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, **env})
        m = re.search(r"Results in (\S+)", proc.stdout + proc.stderr)
        if not m:
            print(f"{mode:>10} bench failed: {(proc.stderr or proc.stdout)[-300:]}")
            continue
        r = json.loads((ROOT / m.group(1) / "results.json").read_text())
        lat = r["perf"]["latency"]
        w = lat["by-f"].get("write", {})
        print(f"{mode:>10} {str(r.get('valid?')):>6} {r['perf']['throughput']:>7.1f}"
              f" {w.get('p50', float('nan')):>10.1f} {w.get('p99', float('nan')):>10.1f}"
              f" {lat['all']['p50']:>8.1f} {lat['all']['p99']:>8.1f}", flush=True)


def wal_cost(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import tests.test_storage_restart as T

    tmp = tempfile.mkdtemp(prefix="bench-wal-")
    made: list[FileWAL] = []

    def file_disk() -> FileWAL:
        w = FileWAL(os.path.join(tmp, str(len(made))))
        made.append(w)
        return w

    real = T.MemDisk
    T.MemDisk = file_disk
    try:
        t0 = time.perf_counter()
        c = T.run(Server, 1, n=3, duration=args.wal_seconds, kills=False)
        wall = time.perf_counter() - t0
    finally:
        T.MemDisk = real
    ops = len(c.acked)
    bytes_ = sum(w.bytes_written for w in made)
    syncs = sum(w.syncs for w in made)
    print(f"== 2. in-process, 3 nodes, FileWAL with fsync, {args.wal_seconds:g} s simulated, "
          f"1 write per 10 ms")
    print(f"acknowledged writes {ops}; WAL bytes per write {bytes_ / ops:.0f} (all 3 nodes), "
          f"syncs per write {syncs / ops:.2f}; wall {wall:.2f} s, "
          f"{wall / syncs * 1e3:.3f} ms of wall per sync (all work included)")
    shutil.rmtree(tmp, ignore_errors=True)


def _one_node(disk, seed: int = 1) -> Server:
    s = Server(seed=seed, disk=disk)
    s.receive(0.0, {"src": "c0", "dest": "n0", "body": {"type": "init", "msg_id": 1,
                                                       "node_id": "n0", "node_ids": ["n0"]}})
    return s


def restart_time(args: argparse.Namespace) -> None:
    print(f"== 3. restart of a one-node cluster with {args.entries} shard log entries "
          f"(FileWAL; built without fsync)")
    for label, snap in (("snapshot every 5000", 5000), ("no snapshot", 10 ** 9)):
        tmp = tempfile.mkdtemp(prefix="bench-restart-")
        durable.SNAPSHOT_ENTRIES = snap
        durable.REWRITE_RECORDS = 50_000
        wal = FileWAL(tmp, fsync=False)
        s = _one_node(wal)
        now = 0.0
        while s.raft_cores().get(1) is None or s.raft_cores()[1].role != "leader":
            now += 0.05
            s.tick(now)
        acked = 0
        for i in range(args.entries):
            now += 0.0001
            out = s.receive(now, {"src": "c1", "dest": "n0",
                                  "body": {"type": "write", "key": i % 1000, "value": i,
                                           "msg_id": i + 10}})
            acked += sum(1 for e in out if e["body"].get("type") == "write_ok")
            if s.next_deadline() is not None and s.next_deadline() <= now:
                s.tick(now)
        wal.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        core = s.raft_cores()[1]
        t0 = time.perf_counter()
        wal2 = FileWAL(tmp, fsync=False)
        s2 = _one_node(wal2)
        dt = time.perf_counter() - t0
        core2 = s2.raft_cores()[1]
        ok = core2.log.last_index == core.log.last_index and \
            s2.shards[1].kv.data == s.shards[1].kv.data
        print(f"{label:>20}: acked {acked}, log last {core.log.last_index}, snapshot at "
              f"{core.log.snapshot_index}, WAL {size / 1e6:.1f} MB; restart {dt * 1e3:.0f} ms"
              f" (state equal after restart: {ok})", flush=True)
        wal2.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--time-limit", type=float, default=10)
    ap.add_argument("--store", default="store/bench-durability")
    ap.add_argument("--wal-seconds", type=float, default=10)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--skip-process", action="store_true")
    ap.add_argument("--only-process", action="store_true")
    args = ap.parse_args()
    if not args.skip_process:
        process_table(args)
    if not args.only_process:
        wal_cost(args)
        restart_time(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
