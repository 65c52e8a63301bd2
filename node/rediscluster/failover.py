"""Replica election and promotion, and masters' votes (Redis Cluster specification: "Replica
election and promotion", "Replica rank", "Masters reply to replica vote request").

Replica side (`Election.step`, run every cron and after every message, as Redis'
clusterHandleSlaveFailover):

1. Preconditions: this node is a replica, its master is flagged FAIL (never PFAIL alone: no
   fail-over without FAIL), and the master serves at least one slot.
2. Data age: the time since the last interaction with the master, minus NODE_TIMEOUT; a replica
   whose data is older than repl_ping_period + NODE_TIMEOUT x validity_factor does not run.
3. If the last attempt is older than the retry time (2 x the election timeout), schedule one:
   now + 500 ms + random(0..500 ms) + rank x 1 s, where rank is the number of other replicas
   of the same master with a greater replication offset (as their last messages said). The
   replica then tells its sibling replicas its offset (a pong), so ranks settle.
4. Until the election starts, a worse rank learned later pushes the start back (1 s per rank).
5. At the start time (and not later than the election timeout): current_epoch += 1, and a
   FAILOVER_AUTH_REQUEST goes to every node; only masters with slots answer.
6. With acks from a majority of the masters that serve slots (counted by distinct voter,
   only acks whose epoch is at least the election's), the replica wins: it takes the
   election's epoch as its config epoch, claims its master's slots and tells everyone.
   Without a majority within the election timeout it waits for the retry time.

Master side (`grant_vote`), all of Redis' conditions; a refusal is silence:
- only a master serving slots votes;
- a request whose epoch is below our current epoch is ignored;
- one vote per epoch: refuse if last_vote_epoch == current_epoch;
- the requester must be a replica whose master we flag FAIL;
- no vote for a replica of the same master within 2 x NODE_TIMEOUT of the last one;
- the request's config epoch must be >= the config epoch of every owner of the slots it
  claims (a replica with a stale configuration gets no vote).
The voter then sets last_vote_epoch = current_epoch and notes the time for that master.

Acks are counted as a set of voters: Redis counts ack packets, which over TCP arrive once;
our network may duplicate messages, and a duplicate must not count twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from node.rediscluster.timing import GossipTiming
from node.rediscluster.view import ClusterView

__all__ = ["Election", "Action", "grant_vote", "replica_rank"]

_NEVER = float("-inf")


def replica_rank(view: ClusterView, my_offset: int) -> int:
    """How many other replicas of my master have processed more of its replication stream."""
    master = view.myself.replica_of
    return sum(1 for n in view.nodes.values()
               if n.id != view.me and not n.master and n.replica_of == master
               and n.repl_offset > my_offset)


@dataclass(slots=True)
class Action:
    """What `Election.step` wants done: `kind` is "scheduled" (tell sibling replicas our
    offset), "request" (broadcast an auth request for `epoch`) or "won"."""

    kind: str
    epoch: int = 0
    delay: float = 0.0
    rank: int = 0


@dataclass(slots=True)
class Election:
    """A replica's election state (Redis' failover_auth_* fields)."""

    auth_time: float = _NEVER    # when the current/previous election starts/started
    auth_sent: bool = False
    auth_rank: int = 0
    auth_epoch: int = 0
    voters: set[str] = field(default_factory=set)
    blocked: str | None = None   # why we cannot fail over now (for cluster_info)

    def step(self, now: float, view: ClusterView, timing: GossipTiming, rng: random.Random,
             my_offset: int, data_age: float) -> Action | None:
        me = view.myself
        master = view.nodes.get(me.replica_of) if me.replica_of else None
        if me.master or master is None or not master.fail or view.count(master.id) == 0:
            self.blocked = None
            return None
        age = data_age - timing.node_timeout if data_age > timing.node_timeout else data_age
        if age > timing.repl_ping_period + timing.node_timeout * timing.replica_validity_factor:
            self.blocked = "data-age"
            return None
        auth_age = now - self.auth_time
        if auth_age > timing.auth_retry_time:
            rank = replica_rank(view, my_offset)
            delay = (timing.failover_fixed_delay + rng.random() * timing.failover_random_delay
                     + rank * timing.failover_rank_delay)
            self.auth_time = now + delay
            self.auth_sent = False
            self.auth_rank = rank
            self.voters = set()
            self.blocked = "waiting-delay"
            return Action("scheduled", delay=delay, rank=rank)
        if not self.auth_sent:
            rank = replica_rank(view, my_offset)
            if rank > self.auth_rank:
                self.auth_time += (rank - self.auth_rank) * timing.failover_rank_delay
                self.auth_rank = rank
        if now < self.auth_time:
            self.blocked = "waiting-delay"
            return None
        if auth_age > timing.auth_timeout:
            self.blocked = "expired"
            return None
        if not self.auth_sent:
            view.current_epoch += 1
            self.auth_epoch = view.current_epoch
            self.auth_sent = True
            self.blocked = "waiting-votes"
            return Action("request", epoch=self.auth_epoch, rank=self.auth_rank)
        if len(self.voters) >= view.needed_quorum():
            self.blocked = None
            return Action("won", epoch=self.auth_epoch, rank=self.auth_rank)
        self.blocked = "waiting-votes"
        return None

    def ack(self, view: ClusterView, sender: str, sender_current_epoch: int) -> bool:
        """Count an auth ack; True if it counted."""
        node = view.nodes.get(sender)
        if (node is None or not node.master or view.count(sender) == 0
                or not self.auth_sent or sender_current_epoch < self.auth_epoch):
            return False
        self.voters.add(sender)
        return True


def grant_vote(view: ClusterView, now: float, timing: GossipTiming, requester: str,
               request_epoch: int, request_config_epoch: int,
               claimed: tuple[tuple[int, int], ...]) -> str | None:
    """None if this master grants `requester` its vote now (the caller records it), else the
    reason it stays silent. `request_epoch` is the request's current epoch, already adopted by
    the caller if it was higher than ours (as for every message)."""
    me = view.myself
    if not me.master or view.count(view.me) == 0:
        return "not a master with slots"
    if request_epoch < view.current_epoch:
        return "old epoch"
    if view.last_vote_epoch == view.current_epoch:
        return "already voted in this epoch"
    node = view.nodes.get(requester)
    master = view.nodes.get(node.replica_of) if node is not None and node.replica_of else None
    if node is None or node.master or master is None:
        return "not a replica"
    if not master.fail:
        return "its master is not failing"
    if now - master.voted_time < timing.node_timeout * 2:
        return "voted for a replica of this master recently"
    for lo, hi in claimed:
        for slot in range(lo, hi + 1):
            owner = view.owner(slot)
            if owner is not None and view.nodes[owner].config_epoch > request_config_epoch:
                return f"slot {slot} has a newer configuration"
    return None
