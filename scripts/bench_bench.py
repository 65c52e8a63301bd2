#!/usr/bin/env python3
"""How fast does the bench route messages? Prints messages/second and the bench's own CPU per
message for two loads, each with 5 nodes of tests/nodes/:

- ring:  every node forwards tokens to its successor (server-to-server routing only)
- echo:  clients send echo requests as fast as workers allow (client traffic, ops recorded)

Usage: scripts/bench_bench.py [--seconds 5] [--tokens 20] [--nodes 5]
(run it with the project's virtualenv: .venv/bin/python scripts/bench_bench.py)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from maelstrom.runner import Runner, TestOptions
from workloads import WORKLOADS

NODES = Path(__file__).resolve().parent.parent / "tests" / "nodes"


class TimedRunner(Runner):
    """Measures wall time, bench CPU and messages over the main phase only."""

    def _main(self) -> None:
        stats = self.net.stats
        sent0, wall0, cpu0 = stats.send_all, time.monotonic(), time.process_time()
        super()._main()
        self.measured = (stats.send_all - sent0, time.monotonic() - wall0,
                         time.process_time() - cpu0, len(self.history))


def measure(name: str, opts: TestOptions) -> None:
    runner = TimedRunner(opts, WORKLOADS[opts.workload])
    runner.run()
    msgs, wall, cpu, ops = runner.measured
    print(f"{name:5s} nodes={opts.node_count} seconds={wall:5.2f} messages={msgs:7d} "
          f"msgs/s={msgs / wall:9.0f}  bench CPU/msg={cpu / max(msgs, 1) * 1e6:6.1f} us  "
          f"bench CPU={cpu / wall * 100:5.1f}%  ops/s={ops / 2 / wall:7.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--tokens", type=int, default=20, help="tokens per node in the ring")
    ap.add_argument("--nodes", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as store:
        common = dict(node_count=a.nodes, time_limit=a.seconds, seed=1, quiet=True, store=store)
        measure("ring", TestOptions(workload="echo", bin=str(NODES / "ring.py"),
                                    args=[str(a.tokens)], rate=0, concurrency=1, **common))
        measure("echo", TestOptions(workload="echo", bin=str(NODES / "echo.py"), rate=1e6,
                                    concurrency=4 * a.nodes, **common))


if __name__ == "__main__":
    main()
