#!/usr/bin/env python3
"""How long a slot move takes, and how long its slot is unavailable (issue 12's benchmark), in
virtual time: 9 in-process nodes (3 shard groups) on a network with a fixed one-way latency,
no faults. A slot is filled with N keys (one hash tag), then moved to another group while one
client writes to it and another to a key of an unmoved slot, back to back.

Prints per N: the move's duration (migrate_slot asked -> the target serves the slot, i.e.
`activate` applied at its leader), the write-unavailability window of the moving slot (longest
gap between two successful writes to it), and p50/p99 write latency to the moving slot vs the
other slot during the move. Target (issue 12): unavailable for writes for less than two
election timeouts (0.6 s).

    scripts/bench_migration.py [--keys 1000 10000] [--latency-ms 5]
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.cluster.config import ClusterConfig  # noqa: E402
from node.cluster.slots import key_slot  # noqa: E402
from node.server import Server  # noqa: E402


class Net:
    """Servers in virtual time; clients are "c*" ids whose replies land in `replies`."""

    def __init__(self, n: int, latency: float) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        cfg = ClusterConfig()
        self.servers = {i: Server(seed=k + 1, config=cfg) for k, i in enumerate(self.ids)}
        self.latency = latency
        self.now = 0.0
        self._q: list = []
        self._seq = 0
        self.replies: dict[int, tuple[float, dict]] = {}
        for i in self.ids:
            self.send({"src": "c0", "dest": i, "body": {"type": "init", "msg_id": 1,
                                                         "node_id": i, "node_ids": self.ids}})

    def send(self, env: dict, delay: float = 0.0) -> None:
        self._seq += 1
        heapq.heappush(self._q, (self.now + delay, self._seq, env))

    def run_until(self, t_end: float) -> None:
        while True:
            t_msg = self._q[0][0] if self._q else float("inf")
            ticks = [(s.next_deadline(), i) for i, s in self.servers.items()
                     if s.next_deadline() is not None]
            t_tick, who = min(ticks) if ticks else (float("inf"), None)
            t = min(t_msg, t_tick)
            if t > t_end:
                self.now = t_end
                return
            self.now = max(self.now, t)
            if t_msg <= t_tick:
                env = heapq.heappop(self._q)[2]
                out = self.servers[env["dest"]].receive(self.now, env)
            else:
                out = self.servers[who].tick(self.now)
            for e in out:
                if e["dest"].startswith("c"):
                    self.replies[e["body"].get("in_reply_to")] = (self.now, e["body"])
                else:
                    self.send(e, self.latency)


def measure(keys: int, latency: float) -> dict:
    net = Net(9, latency)
    net.run_until(2.0)
    tag = "{bench}"
    slot = key_slot(tag + "0")
    other_key = next(k for k in range(10_000) if key_slot(k) != slot
                     and net.servers["n0"].meta.owner(key_slot(k))
                     == net.servers["n0"].meta.owner(slot))
    msg = 100
    for i in range(0, keys, 200):  # fill the slot, 200 writes at a time
        for j in range(i, min(i + 200, keys)):
            msg += 1
            net.send({"src": "c1", "dest": f"n{j % 9}",
                      "body": {"type": "write", "msg_id": msg, "key": f"{tag}{j}", "value": j}})
        net.run_until(net.now + 0.5)
    src = net.servers["n0"].meta.owner(slot)
    dst = next(g for g in (1, 2, 3) if g != src)
    asked = net.now
    net.send({"src": "c9", "dest": "n4", "body": {"type": "migrate_slot", "msg_id": 1,
                                                   "slot": slot, "to_group": dst}})
    moving, steady = [], []  # (sent, answered or None)
    done_at = None
    while net.now < asked + 30.0 and done_at is None:
        for key, log in ((f"{tag}w", moving), (other_key, steady)):
            msg += 1
            sent = net.now
            net.send({"src": "c2", "dest": "n8",
                      "body": {"type": "write", "msg_id": msg, "key": key, "value": msg}})
            log.append((sent, msg))
        net.run_until(net.now + 0.01)
        for s in net.servers.values():
            if dst in s.shards and s.shards[dst].serves(slot) and \
                    s.raft.cores[dst].role == "leader":
                done_at = net.now
    net.run_until(net.now + 2.0)

    def lat(log):
        return [net.replies[m][0] - t for t, m in log
                if m in net.replies and net.replies[m][1].get("type") == "write_ok"]

    ok_times = sorted(net.replies[m][0] for _, m in moving
                      if m in net.replies and net.replies[m][1].get("type") == "write_ok")
    gaps = [b - a for a, b in zip(ok_times, ok_times[1:])] or [float("nan")]
    lm, ls = lat(moving), lat(steady)
    return {"keys": keys, "move_s": (done_at - asked) if done_at else float("nan"),
            "unavailable_s": max(gaps), "moving_p50": _q(lm, 0.5), "moving_p99": _q(lm, 0.99),
            "other_p50": _q(ls, 0.5), "other_p99": _q(ls, 0.99)}


def _q(xs: list, q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--latency-ms", type=float, default=5.0)
    args = ap.parse_args()
    print(f"9 nodes, 3 shard groups, one-way latency {args.latency_ms:g} ms, virtual time")
    print(f"{'keys':>6} {'move s':>7} {'unavail s':>9} {'moving p50/p99 ms':>18} "
          f"{'other p50/p99 ms':>17} {'wall s':>7}")
    for keys in args.keys:
        t = time.perf_counter()
        r = measure(keys, args.latency_ms / 1000)
        print(f"{keys:>6} {r['move_s']:>7.3f} {r['unavailable_s']:>9.3f} "
              f"{r['moving_p50']:>8.1f}/{r['moving_p99']:<9.1f} "
              f"{r['other_p50']:>8.1f}/{r['other_p99']:<8.1f} {time.perf_counter() - t:>7.1f}")
    print("target: unavailable for writes < 2 election timeouts (0.6 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
