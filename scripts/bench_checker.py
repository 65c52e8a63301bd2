#!/usr/bin/env python3
"""Benchmark the linearizability checker; prints figures, asserts nothing.

1. Every history of the test corpus (tests/corpus/ in the repository): parse time, check time, and peak
   Python memory of the check.
2. A generated lin-kv history (default 100,000 client operations, i.e. 200,000 history lines):
   many keys, 10 concurrent clients, some :info ops (clients that time out before or after their
   op took effect), recorded from a real in-memory map so it is linearizable. Timed with the
   default worker processes and with one process.

Wall time is time.perf_counter around the call. Peak memory is measured with tracemalloc in a
separate run of the same check (tracemalloc slows Python down, so it never overlaps a timed
run); it counts Python allocations of this process only (not worker processes). The process's
max RSS (resource.getrusage) is printed at the end.

    scripts/bench_checker.py [--ops 100000] [--keys 200] [--keys-at-once 3] [--info-rate 0.01]
                             [--seed 1] [--skip-corpus]
"""

from __future__ import annotations

import argparse
import glob
import heapq
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maelstrom.checker import check, guess_model  # noqa: E402
from maelstrom.history import Op, read_history  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"


def generate_lin_kv(n_ops: int, n_keys: int, concurrency: int = 10, info_rate: float = 0.01,
                    seed: int = 1, keys_at_once: int = 3) -> list[Op]:
    """A linearizable lin-kv history recorded from a simulated run.

    Each client invokes, its op takes effect on the map at a random instant after, and the
    completion follows; with probability `info_rate` the client times out instead (:info), the
    op having taken effect or not. As in Jepsen, a timed-out client's process is replaced by a
    fresh process number. Keys are used in order, each for about n_ops / n_keys ops, several at
    a time (`keys_at_once`, like Maelstrom's independent generator), so keys see concurrent ops.
    """
    rng = random.Random(seed)
    state: dict[int, int | None] = {}
    history: list[Op] = []
    events: list[tuple[int, int, str, int]] = []  # (time, seq, what, client slot)
    seq = 0
    per_key = max(1, n_ops // n_keys)
    active_keys = max(1, min(n_keys, keys_at_once))
    key_budget = {k: per_key for k in range(active_keys)}
    next_key = active_keys
    process = list(range(concurrency))
    next_process = concurrency
    inflight: dict[int, dict] = {}
    started = 0

    def schedule(t: int, what: str, slot: int) -> None:
        nonlocal seq
        heapq.heappush(events, (t, seq, what, slot))
        seq += 1

    for slot in range(concurrency):
        schedule(rng.randrange(1_000_000), "invoke", slot)
    while events:
        t, _, what, slot = heapq.heappop(events)
        if what == "invoke":
            if started >= n_ops or not key_budget:
                continue
            started += 1
            key = rng.choice(list(key_budget))
            key_budget[key] -= 1
            if key_budget[key] == 0:
                del key_budget[key]
                if next_key < n_keys:
                    key_budget[next_key] = per_key
                    next_key += 1
            f = rng.choice(("read", "read", "write", "cas"))
            value = None if f == "read" else rng.randrange(5) if f == "write" else \
                [rng.randrange(5), rng.randrange(5)]
            history.append(Op(len(history), t, "invoke", process[slot], f, [key, value]))
            crash = rng.random() < info_rate
            inflight[slot] = {"key": key, "f": f, "value": value, "crash": crash,
                              "apply": not crash or rng.random() < 0.5}
            schedule(t + rng.randrange(100_000, 5_000_000), "apply", slot)
        elif what == "apply":
            op = inflight[slot]
            if op["apply"]:
                cur = state.get(op["key"])
                if op["f"] == "write":
                    state[op["key"]] = op["value"]
                    op["result"] = ("ok", op["value"])
                elif op["f"] == "read":
                    op["result"] = ("ok", cur) if op["key"] in state else ("fail", None)
                elif cur == op["value"][0] and op["key"] in state:
                    state[op["key"]] = op["value"][1]
                    op["result"] = ("ok", op["value"])
                else:
                    op["result"] = ("fail", op["value"])
            schedule(t + rng.randrange(100_000, 5_000_000), "complete", slot)
        else:
            op = inflight.pop(slot)
            if op["crash"]:
                history.append(Op(len(history), t, "info", process[slot], op["f"],
                                  [op["key"], op["value"]], error="net-timeout"))
                process[slot] = next_process
                next_process += 1
            else:
                kind, value = op["result"]
                error = [20, "key does not exist"] if kind == "fail" and op["f"] == "read" else \
                    [22, "precondition failed"] if kind == "fail" else None
                history.append(Op(len(history), t, kind, process[slot], op["f"],
                                  [op["key"], value if op["f"] == "read" else op["value"]],
                                  error=error))
            schedule(t + rng.randrange(0, 2_000_000), "invoke", slot)
    return history


def measure(fn) -> tuple[float, float]:
    """(wall seconds of one run, peak MiB of Python allocations in a second, traced run)."""
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return wall, peak / 2**20, result


def bench_corpus() -> None:
    files = sorted(glob.glob(str(CORPUS / "*" / "*" / "*.edn")))
    print(f"== test corpus: {len(files)} histories")
    print(f"{'history':58} {'ops':>6} {'parse s':>8} {'check s':>8} {'peak MiB':>9}  verdict")
    total_parse = total_check = 0.0
    slowest = ("", 0.0)
    for path in files:
        start = time.perf_counter()
        ops = read_history(path)
        parse = time.perf_counter() - start
        model = guess_model(ops)
        wall, peak, result = measure(lambda: check(ops, model, workers=1))
        total_parse += parse
        total_check += wall
        if wall > slowest[1]:
            slowest = (path, wall)
        name = os.path.relpath(path, CORPUS)
        print(f"{name:58} {len(ops):6} {parse:8.4f} {wall:8.4f} {peak:9.2f}  {result['valid?']}")
    print(f"corpus total: check {total_check:.3f} s, parse {total_parse:.3f} s, "
          f"check+parse {total_check + total_parse:.3f} s; slowest check "
          f"{slowest[1]:.4f} s ({os.path.relpath(slowest[0], CORPUS)})")


def bench_generated(n_ops: int, n_keys: int, seed: int, keys_at_once: int,
                    info_rate: float) -> None:
    start = time.perf_counter()
    ops = generate_lin_kv(n_ops, n_keys, seed=seed, keys_at_once=keys_at_once, info_rate=info_rate)
    gen = time.perf_counter() - start
    infos = sum(1 for op in ops if op.type == "info")
    print(f"\n== generated lin-kv history: {n_ops} client ops ({len(ops)} history lines), "
          f"{n_keys} keys ({keys_at_once} at a time), concurrency 10, {infos} :info ops, "
          f"seed {seed} "
          f"(generated in {gen:.2f} s)")
    import tempfile
    from maelstrom.history import write_edn, write_jsonl
    with tempfile.TemporaryDirectory() as tmp:
        for name, writer in (("history.edn", write_edn), ("history.jsonl", write_jsonl)):
            path = Path(tmp) / name
            writer(ops, path)
            start = time.perf_counter()
            read_back = read_history(path)
            print(f"read {name}: {time.perf_counter() - start:.3f} s "
                  f"({path.stat().st_size / 2**20:.1f} MiB, round trip exact: {read_back == ops})")
    start = time.perf_counter()
    result = check(ops, "lin-kv")
    wall_default = time.perf_counter() - start
    print(f"check, default workers: {wall_default:.3f} s  valid? {result['valid?']}")
    wall, peak, result = measure(lambda: check(ops, "lin-kv", workers=1))
    configs = sum(r["linearizable"].get("configs", 0) for r in result["results"].values())
    print(f"check, 1 process:       {wall:.3f} s  valid? {result['valid?']}  "
          f"peak {peak:.1f} MiB (tracemalloc)  {configs} configurations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keys-at-once", type=int, default=3)
    parser.add_argument("--info-rate", type=float, default=0.01)
    parser.add_argument("--skip-corpus", action="store_true")
    args = parser.parse_args()
    if not args.skip_corpus:
        bench_corpus()
    bench_generated(args.ops, args.keys, args.seed, args.keys_at_once, args.info_rate)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmax RSS of this process: {rss:.0f} MiB (resource.getrusage)")


if __name__ == "__main__":
    main()
