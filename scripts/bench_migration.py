#!/usr/bin/env python3
"""How long a slot move takes, how long its slot is unavailable for writes, and what the move
does to request latency (issue 12's benchmark), on two backends that run the same measurement:

- `sim`: 9 in-process nodes (node.server.Server) in virtual time, on a network with a fixed
  one-way latency (--latency-ms), no faults. Nodes take no CPU time there: it gives the
  protocol's own cost.
- `process`: real node processes (node/run.py) on stdin/stdout pipes, in real time
  (maelstrom/hosts/process.py's ProcessHost; the bench relays node-to-node messages at once, so the
  network adds no latency, only the bench's hop). Configured as the simulator's cluster:
  FERRITE_CLUSTER_SHARDS=3, --nodes (9: three disjoint groups of 3 voters).

Each run: wait for the slot map, fill one slot with N keys (hash tag `{bench}`: `{bench}0` ..
`{bench}N-1`, value = index), then write back to back (one write every 10 ms to each key, to
rotating nodes) to another key of that slot and to one key of another slot of every group (the
source's own group included), for 0.5 s, then ask `migrate_slot {slot, to_group}` and keep
writing until 0.5 s after the target serves the slot. Afterwards every one of the N keys is read
back and every node is asked who owns the slot (`cluster_info`).

Prints per backend and N:
- move: `migrate_slot` sent -> the target group applies `activate` (the first `slot_activate`
  event a target member logs; the source's fence and the meta log's migrate_done come before
  it);
- unavailable: the longest gap between two successful writes to the moving slot (over all the
  traffic, before, during and after the move);
- p50/p99 latency of the writes to the moving slot sent during the move (asked -> activate) vs
  of the writes to the other slots sent meanwhile; writes never answered are counted apart;
- the ratios move / election timeout and unavailable / election timeout (node/raft/timing.py);
- read back: keys read with their value / N, and whether every node's map gives the slot to the
  target. Target (issue 12): unavailable for writes for less than two election timeouts.

    scripts/bench_migration.py                              # both backends, 1,000 and 10,000 keys
    scripts/bench_migration.py --backend process --keys 1000 --nodes 3
    scripts/bench_migration.py --backend sim --latency-ms 5
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maelstrom.hosts.process import ProcessHost  # noqa: E402
from node.cluster.config import CONFIG_ENV, ENV_PREFIX, ClusterConfig  # noqa: E402
from node.cluster.slots import key_slot  # noqa: E402
from node.raft.timing import DEFAULT as TIMING  # noqa: E402
from node.server import Server  # noqa: E402

NODE_BIN = ROOT / "node" / "run.py"
SHARDS = 3
TAG = "{bench}"
STEP = 0.01      # seconds between two writes to one key during the traffic
WARM = 0.5       # traffic before the move is asked, and after the target serves the slot
BATCH = 200      # fill and read-back requests in flight at once
MOVE_LIMIT = 30.0


# ---------------------------------------------------------------------------------------------
# Two backends with one interface: ids, now, send(envelope), run_until(t), replies
# (msg_id -> (time, body) of client replies), events ((time, node, event) of the nodes' logs)


class SimNet:
    """Servers in virtual time; clients are "c*" ids whose replies land in `replies`."""

    def __init__(self, n: int, latency: float, seed: int = 0,
                 server_class: type = Server) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        cfg = ClusterConfig(shards=SHARDS)
        self.servers = {i: server_class(seed=seed * n + k + 1, config=cfg, log=self._log)
                        for k, i in enumerate(self.ids)}
        self.latency = latency
        self.now = 0.0
        self._q: list = []
        self._seq = 0
        self.replies: dict[int, tuple[float, dict]] = {}
        self.events: list[tuple[float, str, dict]] = []

    def _log(self, event: dict) -> None:
        self.events.append((self.now, event.get("node"), event))

    def send(self, env: dict, delay: float = 0.0) -> None:
        self._seq += 1
        heapq.heappush(self._q, (self.now + delay, self._seq, env))

    def run_until(self, t_end: float) -> None:
        while True:
            t_msg = self._q[0][0] if self._q else math.inf
            ticks = [(s.next_deadline(), i) for i, s in self.servers.items()
                     if s.next_deadline() is not None]
            t_tick, who = min(ticks) if ticks else (math.inf, None)
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
                if e["dest"] in self.servers:
                    self.send(e, self.latency)
                else:
                    self.replies[e["body"].get("in_reply_to")] = (self.now, e["body"])

    def close(self) -> None:
        pass


class ProcessNet:
    """node/run.py processes (ProcessHost) in real time; `now` is seconds since the start. The
    bench relays every node-to-node line as it is read; replies to "c*" land in `replies`."""

    def __init__(self, n: int, log_dir: Path) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(ENV_PREFIX) and k != CONFIG_ENV}
        env[ENV_PREFIX + "SHARDS"] = str(SHARDS)
        self.replies: dict[int, tuple[float, dict]] = {}
        self.events: list[tuple[float, str, dict]] = []
        self._t0 = time.monotonic()
        self.host = ProcessHost(str(NODE_BIN), [], self.ids, log_dir, log_stderr=True,
                                echo=self._stderr, env=env)
        self.host.start()

    @property
    def now(self) -> float:
        return time.monotonic() - self._t0

    def _stderr(self, line: str) -> None:
        # ProcessHost hands over "<node> stderr: <line>"; node/run.py logs JSON with "t", its
        # monotonic clock (the same clock as ours).
        node, _, text = line.partition(" stderr: ")
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        if isinstance(event, dict) and isinstance(event.get("t"), float):
            self.events.append((event["t"] - self._t0, node, event))

    def send(self, env: dict) -> None:
        self.host.send(env["dest"], orjson.dumps(env) + b"\n")

    def run_until(self, t_end: float) -> None:
        host = self.host
        host.flush()
        while (left := t_end - self.now) > 0:
            lines, exits = host.poll(left)
            if exits:
                raise RuntimeError(f"node(s) {', '.join(exits)} exited; logs in "
                                   f"{host.log_dir}")
            for node, line in lines:
                try:
                    env = orjson.loads(line)
                    dest = env["dest"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue
                if dest in self.ids:
                    host.send(dest, line + b"\n")
                else:
                    body = env.get("body") or {}
                    self.replies[body.get("in_reply_to")] = (self.now, body)
            host.flush()

    def close(self) -> None:
        self.host.stop()


# ---------------------------------------------------------------------------------------------
# Client side, the same on both backends


class Client:
    """Requests with unique msg_ids from "c1" to the net's nodes."""

    def __init__(self, net: SimNet | ProcessNet) -> None:
        self.net = net
        self.msg_id = 0

    def request(self, dest: str, body: dict) -> int:
        self.msg_id += 1
        self.net.send({"src": "c1", "dest": dest, "body": {**body, "msg_id": self.msg_id}})
        return self.msg_id

    def wait(self, msg_ids: list[int], limit: float) -> bool:
        """Run until every request in `msg_ids` has a reply, or `limit` seconds."""
        net, end = self.net, self.net.now + limit
        while any(m not in net.replies for m in msg_ids):
            if net.now >= end:
                return False
            net.run_until(min(end, net.now + STEP))
        return True

    def call(self, dest: str, body: dict, limit: float = 2.0) -> dict | None:
        m = self.request(dest, body)
        return self.net.replies[m][1] if self.wait([m], limit) else None

    def in_batches(self, bodies: list[dict], ok: str, tries: int = 3) -> dict[int, dict]:
        """Send bodies (index -> reply body of the last try), BATCH at a time to rotating nodes;
        a request without an `ok` reply is sent again, up to `tries` times in all."""
        ids, answers = self.net.ids, {}
        todo = list(range(len(bodies)))
        for _ in range(tries):
            for i in range(0, len(todo), BATCH):
                sent = {self.request(ids[j % len(ids)], bodies[j]): j for j in todo[i:i + BATCH]}
                self.wait(list(sent), 5.0)
                for m, j in sent.items():
                    if m in self.net.replies:
                        answers[j] = self.net.replies[m][1]
            todo = [j for j in todo if answers.get(j, {}).get("type") != ok]
            if not todo:
                break
        return answers

    def slot_map(self, node: str) -> dict | None:
        """cluster_info of `node` once it has a slot map (None if it has none after 10 s)."""
        end = self.net.now + 10.0
        while self.net.now < end:
            info = self.call(node, {"type": "cluster_info"})
            if info is not None and info.get("epoch", 0) >= 1:
                return info
            self.net.run_until(self.net.now + 0.1)
        return None


def owner(info: dict, slot: int) -> int | None:
    return next((g for lo, hi, g in info["slots"] if lo <= slot <= hi), None)


def measure(net: SimNet | ProcessNet, keys: int) -> dict:
    """One move of a slot holding `keys` keys, with traffic; see the module docstring."""
    c = Client(net)
    for node in net.ids:
        c.request(node, {"type": "init", "node_id": node, "node_ids": net.ids})
    info = c.slot_map(net.ids[0])
    if info is None:
        raise RuntimeError("no slot map after 10 s")
    slot = key_slot(TAG + "0")
    src = owner(info, slot)
    dst = next(g for g in range(1, SHARDS + 1) if g != src)
    fill = c.in_batches([{"type": "write", "key": f"{TAG}{j}", "value": j}
                         for j in range(keys)], "write_ok")
    filled = sum(1 for a in fill.values() if a.get("type") == "write_ok")
    # Writers: one key of the moving slot, and one key of another slot in each group.
    writers: dict[Any, list] = {f"{TAG}w": []}
    for g in range(1, SHARDS + 1):
        writers[next(k for k in range(100_000) if key_slot(k) != slot
                     and owner(info, key_slot(k)) == g)] = []
    moving_key = f"{TAG}w"
    turn = 0

    def traffic(until: float, stop=lambda: None) -> None:
        nonlocal turn
        while net.now < until and stop() is None:
            for key, log in writers.items():
                turn += 1
                log.append((net.now, c.request(net.ids[turn % len(net.ids)],
                                               {"type": "write", "key": key, "value": turn})))
            net.run_until(net.now + STEP)

    def activated() -> float | None:
        return next((t for t, _, e in net.events if e.get("event") == "slot_activate"
                     and e.get("group") == dst and e.get("slot") == slot), None)

    traffic(net.now + WARM)
    asked = net.now
    admin = c.request(net.ids[-1], {"type": "migrate_slot", "slot": slot, "to_group": dst})
    traffic(asked + MOVE_LIMIT, activated)
    done_at = activated()
    traffic(net.now + WARM)  # and after the move
    sent = [m for log in writers.values() for _, m in log]
    c.wait(sent, 2.0)

    def ok(m: int) -> bool:
        return m in net.replies and net.replies[m][1].get("type") == "write_ok"

    end = done_at if done_at is not None else math.inf
    lat_moving, lat_other, unanswered = [], [], {"moving": 0, "other": 0}
    for key, log in writers.items():
        kind = "moving" if key == moving_key else "other"
        for t, m in log:
            if not ok(m):
                unanswered[kind] += 1
            elif asked <= t <= end:
                (lat_moving if kind == "moving" else lat_other).append(net.replies[m][0] - t)
    ok_times = sorted(net.replies[m][0] for _, m in writers[moving_key] if ok(m))
    gaps = [b - a for a, b in zip(ok_times, ok_times[1:])] or [math.nan]
    # Read back every key, and every node's owner of the slot.
    reads = c.in_batches([{"type": "read", "key": f"{TAG}{j}"} for j in range(keys)], "read_ok")
    readable = sum(1 for j, a in reads.items() if a.get("type") == "read_ok"
                   and a.get("value") == j)
    owners = {}
    for node in net.ids:
        info = c.call(node, {"type": "cluster_info"})
        owners[node] = owner(info, slot) if info else None
    return {"keys": keys, "slot": slot, "from": src, "to": dst, "filled": filled,
            "admin_ok": net.replies.get(admin, (0, {}))[1].get("type") == "migrate_slot_ok",
            "move_s": done_at - asked if done_at is not None else math.nan,
            "unavailable_s": max(gaps),
            "lat_moving": lat_moving, "lat_other": lat_other, "unanswered": unanswered,
            "readable": readable, "owners": owners}


def quantile(xs: list[float], q: float) -> float:
    """The q-quantile of xs in milliseconds (nearest rank), nan if empty."""
    if not xs:
        return math.nan
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def run(backend: str, keys: int, *, nodes: int = 9, latency: float = 0.005, seed: int = 0,
        log_dir: Path | None = None) -> dict:
    """measure() on a fresh cluster of the given backend, closed afterwards (`seed`: the
    simulated nodes'; processes draw their own and log to `log_dir`, else to a temporary
    directory removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench_migration-") as tmp:
        if backend == "sim":
            net: SimNet | ProcessNet = SimNet(nodes, latency, seed)
        else:
            net = ProcessNet(nodes, log_dir or Path(tmp))
        try:
            return measure(net, keys)
        finally:
            net.close()


def row(backend: str, keys: int, runs: list[dict], wall: float) -> str:
    """One table line for `runs` moves of one size: move and unavailability as median (max),
    latencies pooled over the runs."""
    et = TIMING.election_timeout
    moves = sorted(r["move_s"] for r in runs)
    gaps = sorted(r["unavailable_s"] for r in runs)
    moving = [x for r in runs for x in r["lat_moving"]]
    other = [x for r in runs for x in r["lat_other"]]
    lost = sum(r["unanswered"]["moving"] for r in runs), \
        sum(r["unanswered"]["other"] for r in runs)
    readable = sum(r["readable"] for r in runs)
    owned = all(set(r["owners"].values()) == {r["to"]} for r in runs)
    med = len(runs) // 2
    return (f"{backend:>7} {keys:>6} {len(runs):>4} {moves[med]:>6.3f} ({moves[-1]:.3f}) "
            f"{moves[-1] / et:>5.2f} {gaps[med]:>6.3f} ({gaps[-1]:.3f}) {gaps[-1] / et:>5.2f} "
            f"{quantile(moving, 0.5):>6.1f}/{quantile(moving, 0.99):<6.1f} ({len(moving):>4}) "
            f"{quantile(other, 0.5):>5.1f}/{quantile(other, 0.99):<6.1f} ({len(other):>5}) "
            f"{lost[0]:>3}/{lost[1]:<3} {readable:>6}/{keys * len(runs):<6} "
            f"{'ok' if owned else 'NO':>5} {wall:>6.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--backend", nargs="+", choices=("sim", "process"),
                    default=["sim", "process"])
    ap.add_argument("--nodes", type=int, default=9, help="node count (3 shard groups)")
    ap.add_argument("--runs", type=int, default=5, help="moves per backend and size, each on "
                    "a fresh cluster (sim: node seeds differ per run)")
    ap.add_argument("--latency-ms", type=float, default=5.0, help="one-way latency, sim only")
    args = ap.parse_args()
    et = TIMING.election_timeout
    print(f"{args.nodes} nodes, {SHARDS} shard groups; sim: one-way latency "
          f"{args.latency_ms:g} ms, virtual time; process: node/run.py processes, real time; "
          f"election timeout (ET) {et:g} s")
    print(f"{'backend':>7} {'keys':>6} {'runs':>4} {'move s med (max)':>16} {'max/ET':>6} "
          f"{'unavail s med (max)':>19} {'max/ET':>6} {'moving p50/p99 ms (n)':>20} "
          f"{'other p50/p99 ms (n)':>21} {'unanswered':>10} {'read back':>13} {'owner':>5} "
          f"{'wall s':>6}")
    for backend in args.backend:
        for keys in args.keys:
            t = time.perf_counter()
            runs = [run(backend, keys, nodes=args.nodes, latency=args.latency_ms / 1000,
                        seed=i) for i in range(args.runs)]
            print(row(backend, keys, runs, time.perf_counter() - t), flush=True)
    print("move: migrate_slot sent -> the target applies activate. unavail: the longest gap "
          "between write_oks on the moving slot. latencies: writes sent during the move, to the "
          "moving slot vs to one key of another slot per group, pooled over the runs. "
          "unanswered: moving/other writes with no write_ok. read back: keys read with their "
          "value. owner: every node's map gives the slot to the target, in every run.")
    print(f"target: unavailable for writes < 2 election timeouts ({2 * et:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
