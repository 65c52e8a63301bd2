"""Every timing constant of the node, in seconds, in one place.

The values are tuned for Maelstrom's lin-kv runs: one-way latencies of 0-100 ms, a client
timeout of max(10 x latency, 1 s), and a failover target of under 1 s at 10 ms latency.
`Timing` bundles them so tests and the simulator can shrink or stretch time; the module-level
`DEFAULT` is what `node/run.py` uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.timing_spec import with_overrides

__all__ = ["Timing", "DEFAULT", "from_spec"]


@dataclass(frozen=True, slots=True)
class Timing:
    """Timing constants of one Raft group and of the request bookkeeping around it."""

    # A follower that hears nothing from a leader for a random time in
    # [election_timeout, 2 x election_timeout) starts a pre-vote. The same base is the
    # leader-lease window: a node that heard from its leader less than this long ago refuses
    # pre-votes and votes (thesis 9.6), and the leader's CheckQuorum period.
    # Failover bound at 10 ms latency: lease expiry (0.3) .. timer (<= 0.6) + 2 rounds + no-op.
    election_timeout: float = 0.300

    # Slow networks (node/raft/round_trips.py): the election timeout base, the lease window and
    # the CheckQuorum period are at least this many measured quorum round trips (a leader
    # advertises its measure to followers), and the resend timeout at least 1.5 of them;
    # never above max_election_timeout. Round-trip samples older than rtt_sample_ttl are
    # forgotten, so timeouts shrink back when the network recovers.
    rtt_timeout_factor: float = 1.5
    max_election_timeout: float = 10.0
    rtt_sample_ttl: float = 10.0

    # Quiescence (node/raft/core.py, "Quiet groups"): a leader with nothing to do for this long,
    # whose voters all hold its whole log and commit index, tells them it goes quiet and stops
    # heartbeating; quiet followers run no election timer until something happens. inf: never.
    quiesce_after: float = 1.0

    # The leader sends an (empty) AppendEntries to a follower it has sent nothing to for this
    # long. Well under election_timeout / 2 so one lost heartbeat never costs leadership.
    heartbeat_interval: float = 0.075

    # An AppendEntries still unacknowledged after this long is presumed lost: the follower's
    # progress falls back to probing from its last known match.
    resend_timeout: float = 0.150

    # Load above which a core batches hard (operations per second: proposals and reads seen
    # by the leader; a follower estimates from its own clients x voters). Below it, messages
    # leave eagerly (latency first); above it, one AppendEntries round per follower per round
    # trip and forwards ride on acks (messages first). See docs/node.md, "Tuning".
    busy_rate: float = 300.0

    # Replication pipelining: at most this many unacknowledged AppendEntries per follower
    # when busy / when idle (plus one for news a follower's clients wait on: see
    # Progress.urgent). One per round trip keeps server traffic under one message per client
    # op at >= 500 ops/s.
    max_inflight: int = 1
    idle_max_inflight: int = 4
    # On a slow network (see rtt_timeout_factor) the window is a round trip of heartbeats,
    # at most this many.
    max_slow_inflight: int = 32

    # When busy, the leader also spaces AppendEntries to one follower so that a round carries
    # about this many operations: gap = busy_round_ops / load, at most max_append_gap. On a
    # fast network (round trip << gap) this is what batches; at 10 ms latency the round trip
    # already spaces rounds further apart and the gap never binds.
    busy_round_ops: float = 10.0
    max_append_gap: float = 0.020

    # At most this many log entries in one AppendEntries.
    max_batch_entries: int = 512

    # The leader holds outgoing AppendEntries this long after something new to send appears,
    # so that the messages the driver reads in one go (acks from several followers, forwards)
    # are all handled before anything goes out: commit advances once, one message carries all.
    append_flush_delay: float = 0.0005

    # A follower holds forwarded proposals and reads this long (unless an ack to the leader
    # leaves first and carries them), so that requests read in one go share one message.
    forward_flush_delay: float = 0.0005

    # Standalone forwards a follower may send between two AppendEntries from the leader, when
    # busy / when idle; past that, requests wait for the next ack, which carries them. Under
    # load the leader sends each follower one AppendEntries per round trip, so when busy all
    # forwards ride on acks: no forward messages at all. When idle, forwards leave at once.
    forward_window: int = 0
    idle_forward_window: int = 64

    # ... but a forward never waits longer than this for an ack to ride on (the leader may be
    # idle while this follower's clients are busy).
    forward_max_hold: float = 0.025

    # --- request bookkeeping in node/server.py ---

    # A write that could not be handed to any leader is answered 11 (definitely not applied)
    # after this long; until then it waits for a leader to appear.
    request_hold: float = 0.800

    # A read not served after this long is answered 11 (reads never change state).
    read_deadline: float = 0.900

    # A write (or read-index request) handed to a leader and not answered after this long is
    # handed again, under the same request id so it applies at most once.
    resubmit_after: float = 0.250

    # After this long a write's client has long timed out (Maelstrom: >= 1 s): forget it.
    give_up_after: float = 3.000

    # Period of the sweep that applies the four rules above.
    sweep_interval: float = 0.050


DEFAULT = Timing()


def from_spec(spec: str, base: Timing = DEFAULT) -> Timing:
    """`base` with overrides from "name=value,name=value" (for experiments: $FERRITE_TIMING).

    Unknown names and unparsable values raise ValueError.
    """
    return with_overrides(base, spec, "timing")
