"""Every timing and size constant of the gossip layer, in one place (seconds, counts, bytes).

Defaults follow HashiCorp memberlist's LAN profile (`DefaultLANConfig`) with the protocol
period halved (0.5 s instead of 1 s), because Maelstrom runs last tens of seconds and its
one-way latencies are 0-100 ms. `Timing` bundles them so tests can shrink or stretch time;
`DEFAULT` is the configuration the node will use, `PLAIN_SWIM` the same without Lifeguard's
refinements (for measuring what they buy).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from node.timing_spec import with_overrides

__all__ = ["Timing", "DEFAULT", "PLAIN_SWIM", "from_spec"]


@dataclass(frozen=True, slots=True)
class Timing:
    """Constants of one SWIM member (node/gossip/swim.py)."""

    # The protocol period: each member probes one other member per period (round-robin over a
    # shuffled list, SWIM 4.3). Stretched by the local health multiplier (see awareness_max).
    probe_interval: float = 0.5

    # How long a direct ping waits for its ack before the member asks `indirect_checks` others
    # to ping the target (ping-req). Must exceed a round trip: Maelstrom's `--latency 100`
    # gives ~200 ms. Also stretched by the local health multiplier (Lifeguard's LHA-Probe
    # scales both; memberlist scales only the period). An intermediary that hears nothing from
    # the target within this (unscaled) time answers the prober with a nack.
    probe_timeout: float = 0.25

    # k of SWIM: members asked to probe the target indirectly after a missed direct ack.
    indirect_checks: int = 3

    # An intermediary nacks (Lifeguard) if the target has not answered within this share of
    # the time the prober has left in its period (sent as `wait` in the ping-req); the rest
    # leaves room for the ping-req and the nack to travel, so that nacks arrive before the
    # prober judges its probe (one-way latency up to a quarter of what is left: 62 ms at the
    # defaults and a healthy score). A target's ack that comes later is still relayed.
    nack_ratio: float = 0.5

    # Suspicion timeout (Lifeguard's LHA-Suspicion, as memberlist): a suspected member is
    # declared dead after a timeout that starts at
    #   max = suspicion_max_mult * min,  min = suspicion_mult * max(1, log10(n)) * probe_interval
    # (n = members not known dead) and falls towards min as independent confirmations arrive:
    #   timeout(c) = max - (max - min) * log(c + 1) / log(K + 1),   K = suspicion_mult - 2,
    # K = 0 (no confirmations expected: fewer than K + 2 members) keeps it at max.
    # suspicion_max_mult = 1 gives SWIM's fixed timeout (min).
    suspicion_mult: int = 4
    suspicion_max_mult: int = 6

    # Local health (Lifeguard's LHA-Probe): a score in [0, awareness_max - 1] that rises when
    # this member's probes fail without the expected nacks and when it must refute a suspicion,
    # and falls by one on every successful probe; probe_interval and probe_timeout are
    # multiplied by score + 1. awareness_max = 1 turns it off.
    awareness_max: int = 8

    # Lifeguard's buddy system: a ping to a member we suspect carries that suspicion, so the
    # member can refute at once instead of waiting for gossip to reach it.
    buddy: bool = True

    # Membership news (suspect, dead, an incarnation change; not soft-state refreshes) is also
    # sent every gossip_interval to gossip_nodes random members, alive or suspect (memberlist's
    # gossip timer), and not only piggybacked on probes. It matters for the members Lifeguard
    # slows down: they probe less, so piggybacking alone tells them late that they are
    # suspected and carries their refutations late. Each send counts towards the same
    # retransmit limit. A quiet cluster sends none of these. gossip_nodes = 0 turns it off.
    gossip_interval: float = 0.2
    gossip_nodes: int = 3

    # Dissemination: every membership update is piggybacked on about
    #   retransmit_mult * ceil(log10(n + 1))
    # outgoing messages (memberlist's RetransmitMult), least-sent and newest first, at most
    # max_updates_per_message per message.
    retransmit_mult: int = 4
    max_updates_per_message: int = 8

    # Soft state (set_local_state): at most this many bytes of JSON per member, and at most
    # one new version announced per soft_state_interval (the latest value wins).
    max_soft_state_bytes: int = 512
    soft_state_interval: float = 1.0

    # Discovery: until some member has sent it a full state, a member sends its own state to
    # every seed and asks for theirs, again every join_retry.
    join_retry: float = 1.0

    # Anti-entropy (memberlist's push-pull): a full state exchange with one random live member
    # every push_pull_interval * max(1, n / push_pull_scale_nodes). The interval grows with n
    # linearly, so the bytes it costs a member per second stay flat as the cluster grows
    # (memberlist grows it as log2 above 32 members). 0 turns it off.
    push_pull_interval: float = 10.0
    push_pull_scale_nodes: int = 16

    # A full state leaves in messages of at most this many entries, so every message is bounded.
    sync_chunk: int = 16

    # Rejoin after a partition (Serf's reconnect, memberlist's gossip to the dead): every
    # reconnect_interval, ping one random member we believe dead, telling it so; if it is in
    # fact alive it refutes with a higher incarnation and comes back. 0 turns it off.
    reconnect_interval: float = 2.0


DEFAULT = Timing()

# SWIM with suspicion but without Lifeguard: fixed suspicion timeout (min), no local health,
# no buddy system. Nacks are still sent but change nothing.
PLAIN_SWIM = dataclasses.replace(DEFAULT, suspicion_max_mult=1, awareness_max=1, buddy=False)


def from_spec(spec: str, base: Timing = DEFAULT) -> Timing:
    """`base` with overrides from "name=value,name=value" (for experiments).

    Unknown names and unparsable values raise ValueError.
    """
    return with_overrides(base, spec, "gossip timing")
