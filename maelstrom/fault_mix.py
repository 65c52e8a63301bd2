"""The standard adversarial fault mix (issue 8): the configuration each seed runs in
`scripts/sweep_adversarial.py` and in the CI-sized sweep of tests/test_adversarial.py.

A seed draws its own cell of the mix: 3/5/7 nodes, 200-2000 ops/s, exponential latency
(mean 10 ms), 10-30% of server messages held back up to 3 s (10x the election timeout),
loss 0.05-0.2, duplication 0.05, partitions and pauses every 0.5-1 s. Where our own sweeps
once passed 200/200 while a stale-read bug hid behind delays longer than an election timeout.

`kill=True` adds the kill nemesis (and `lose_unsynced=True` its power-cut variant) on the same
schedule; it draws nothing from the mix's generator, so every other choice of a seed stays
what it is without it.
"""

from __future__ import annotations

import random

from maelstrom.runner import TestOptions

__all__ = ["adversarial_options"]


def adversarial_options(seed: int, time_limit: float = 20.0, sim_node: str | None = None,
                        kill: bool = False, lose_unsynced: bool = False,
                        **overrides) -> TestOptions:
    """The simulated lin-kv test that `seed` runs (the same for a seed every time)."""
    rng = random.Random(f"ferrite-adversarial/{seed}")
    nodes = rng.choice([3, 5, 7])
    fields = dict(
        workload="lin-kv", bin="node/run.py", sim=True, sim_node=sim_node, seed=seed,
        node_count=nodes, concurrency=4 * nodes, rate=rng.choice([200.0, 500.0, 1000.0, 2000.0]),
        time_limit=time_limit, latency=10.0, latency_dist="exponential",
        nemesis=["kill", "partition", "pause"] if kill else ["partition", "pause"],
        lose_unsynced=kill and lose_unsynced, nemesis_interval=rng.choice([0.5, 0.75, 1.0]),
        loss=rng.choice([0.05, 0.1, 0.2]), duplicate=0.05, reorder=rng.choice([0.1, 0.3]),
        reorder_delay=3000.0, recovery_time=10.0, quiet=True)
    fields.update(overrides)
    return TestOptions(**fields)
