"""Workloads the bench can run, by name (`maelstrom test -w NAME`).

A workload is a class constructed as `Workload(nodes, concurrency, rng)` (it raises
`maelstrom.errors.BenchError` if the options cannot work) with:

- `name`, and `idempotent`: the set of `f`s that can be assumed to have had no effect when
  they fail indefinitely (a timed-out read becomes `:fail`, not `:info`, as in Maelstrom).
- `next_op(thread) -> (f, value)`: the next invocation for a worker thread (0..concurrency-1).
  All randomness comes from the `rng` it was given, so a seed fixes the whole sequence.
- `request(f, value) -> body`: the RPC body (without `msg_id`) sent to the thread's node.
- `complete(f, value, body) -> (type, value, error)`: the completion for a non-error reply.
- `final_ops() -> [(f, value)]`: operations for the final phase (after heal and recovery).
- `check(history) -> dict`: the `:workload` result, with key "valid?".
"""

from __future__ import annotations

from workloads.echo import EchoWorkload
from workloads.lin_kv import LinKVWorkload
from workloads.membership import MembershipWorkload
from workloads.slot_migration import SlotMigrationWorkload

WORKLOADS = {
    "echo": EchoWorkload,
    "lin-kv": LinKVWorkload,
    "slot-migration": SlotMigrationWorkload,
    "membership": MembershipWorkload,
}

__all__ = ["WORKLOADS", "EchoWorkload", "LinKVWorkload", "MembershipWorkload",
           "SlotMigrationWorkload"]
