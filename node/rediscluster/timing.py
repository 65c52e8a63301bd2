"""Every timing constant of gossip mode (`cluster.consensus = "gossip"`), in seconds, in one place.

Redis Cluster has one knob users set, `cluster-node-timeout` (default 15 s); most of its other
time limits are multiples of it, and a few are absolute milliseconds in the source. We keep
every rule and every multiple as Redis has them and change one thing: the node timeout.

Why 1 s instead of 15 s. Redis sizes the node timeout for a LAN (round trips well under 1 ms)
and for fail-over being rare and expensive; the spec asks only that NODE_TIMEOUT be "large
compared to the network round trip time". Maelstrom's lin-kv runs have 10 ms one-way latency
(20 ms round trips), a 1 s client timeout, partitions that last ~10 s on average
(`--nemesis-interval 10`) and tests of 20-60 s. With 15 s no partition would ever last long
enough to fail a master over, and the mode would never be exercised; at 1 s a node timeout is
still 50 round trips (no false suspicion on a healthy network: a node pings each peer at least
every NODE_TIMEOUT/2), and a fail-over completes in about 2-3 s, well inside one partition.

The absolute constants (election delays of 500 ms + 0..500 ms + 1 s per rank, the 2 s minimum
election timeout, the 0.5-5 s rejoin clamp, the 2 s writable delay, the 10 s replication ping
period) are kept at Redis' values: they are absolute in Redis too, and none of them is a
multiple of the node timeout there.

`$FERRITE_GOSSIP_TIMING="node_timeout=0.5,failover_rank_delay=0.5"` overrides any of them
(GossipServer.configure; an unknown name or bad value is a ConfigError).

| constant | ours | Redis | rule |
|---|---|---|---|
| node_timeout | 1.0 | 15 (cluster-node-timeout) | PFAIL after an unanswered ping this old |
| cron_interval | 0.1 | 0.1 (clusterCron at 10 Hz) | failure detection, pings, elections, state |
| random_ping_every | 10 crons | 10 | every second ping the stalest of 5 random peers |
| fail_report_validity_mult | 2 | 2 (CLUSTER_FAIL_REPORT_VALIDITY_MULT) | reports older than 2 x NODE_TIMEOUT are dropped |
| fail_undo_time_mult | 2 | 2 (CLUSTER_FAIL_UNDO_TIME_MULT) | a reachable master keeps FAIL this long without a fail-over |
| failover_fixed_delay | 0.5 | 0.5 | let FAIL propagate before asking for votes |
| failover_random_delay | 0.5 | 0.5 | desynchronise replicas |
| failover_rank_delay | 1.0 | 1.0 | per replica rank (worse replication offset -> later) |
| failover_auth_timeout_min | 2.0 | 2.0 | election timeout = max(2 x NODE_TIMEOUT, this); retry after twice that |
| rejoin_delay_min/max | 0.5 / 5.0 | 0.5 / 5.0 | a master back in the majority waits clamp(NODE_TIMEOUT) before serving |
| writable_delay | 2.0 | 2.0 (CLUSTER_WRITABLE_DELAY) | a master serves nothing for this long after start |
| repl_ping_period | 10.0 | 10 (repl-ping-replica-period) | master pings replicas; part of the data-age limit |
| replica_validity_factor | 10 | 10 (cluster-replica-validity-factor) | too-old replicas do not fail over |
| repl_timeout | 60.0 | 60 (repl-timeout) | a replica's master link is down after this silence |
| psync_retry | 1.0 | 1.0 (replicationCron) | a replica without a master link retries PSYNC |
| repl_resend_after | 0.2 | (TCP) | unacknowledged stream resent: TCP's retransmission |
| max_redirects | 5 | client side | MOVED redirections followed per request |
| read_deadline | 0.9 | client side | a forwarded read unanswered this long -> error 11 |
| give_up_after | 3.0 | client side | forget a forwarded request (its client timed out at 1 s) |
"""

from __future__ import annotations

from dataclasses import dataclass

from node.timing_spec import with_overrides

__all__ = ["GossipTiming", "DEFAULT", "from_spec"]


@dataclass(frozen=True, slots=True)
class GossipTiming:
    """Timing constants of the Redis Cluster model (the table in the module docstring)."""

    node_timeout: float = 1.0
    cron_interval: float = 0.1
    random_ping_every: int = 10
    random_ping_candidates: int = 5
    fail_report_validity_mult: float = 2.0
    fail_undo_time_mult: float = 2.0
    failover_fixed_delay: float = 0.5
    failover_random_delay: float = 0.5
    failover_rank_delay: float = 1.0
    failover_auth_timeout_min: float = 2.0
    rejoin_delay_min: float = 0.5
    rejoin_delay_max: float = 5.0
    writable_delay: float = 2.0
    repl_ping_period: float = 10.0
    replica_validity_factor: float = 10.0
    repl_timeout: float = 60.0
    psync_retry: float = 1.0
    repl_resend_after: float = 0.2
    max_redirects: int = 5
    read_deadline: float = 0.9
    give_up_after: float = 3.0

    @property
    def auth_timeout(self) -> float:
        """How long a replica waits for votes: max(2 x NODE_TIMEOUT, 2 s)."""
        return max(2 * self.node_timeout, self.failover_auth_timeout_min)

    @property
    def auth_retry_time(self) -> float:
        """After a failed election, the next one is scheduled no sooner than this."""
        return 2 * self.auth_timeout

    @property
    def fail_report_validity(self) -> float:
        return self.node_timeout * self.fail_report_validity_mult

    @property
    def rejoin_delay(self) -> float:
        return min(max(self.node_timeout, self.rejoin_delay_min), self.rejoin_delay_max)


DEFAULT = GossipTiming()


def from_spec(spec: str, base: GossipTiming = DEFAULT) -> GossipTiming:
    """`base` with overrides from "name=value,..." ($FERRITE_GOSSIP_TIMING). ValueError on an
    unknown name, a value that does not parse, or a value that is not positive."""
    return with_overrides(base, spec, "gossip timing", positive=True)
