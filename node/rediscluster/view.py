"""What one node knows about the cluster, and the rules that change who owns a slot.

Redis Cluster specification, "Configuration handling, propagation, and failovers":

- `current_epoch` is the cluster's logical clock: every message carries the sender's, and a
  higher one is adopted. Elections run in a fresh current epoch.
- Every master has a `config_epoch`: the version of its claim on its slots. A replica that wins
  an election takes the election's epoch, which is higher than any before it.
- The slot table binds each slot to a node. **Rule 1**: an unbound slot goes to whoever claims
  it. **Rule 2**: a bound slot moves to a claimant whose config epoch is greater than the
  current owner's ("last fail-over wins"). `update_slots_config` applies both
  (clusterUpdateSlotsConfigWith), and then the **role switch rule**: a master left without
  slots (or a replica whose master was) replicates the node that took its last slot.
- `stale_claim` is the reverse check: a sender that claims slots we know are owned with a
  greater config epoch gets an UPDATE message about that owner.
- Config epoch collisions (two masters with one config epoch) are resolved by the smaller node
  id taking a new epoch (`resolve_collision`).

Nothing here sends messages or reads a clock; bus.py does both. Node ids are compared as
strings, as Redis compares its 40-character names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.cluster.slots import SLOT_COUNT

__all__ = ["NodeInfo", "ClusterView", "SlotUpdate", "MASTER", "REPLICA", "PFAIL", "FAIL",
           "parse_ranges"]

# Node flags as they travel in gossip sections (Redis' CLUSTER_NODE_* bit values).
MASTER = 1
REPLICA = 2
PFAIL = 4
FAIL = 8

_NEVER = float("-inf")


@dataclass(slots=True)
class NodeInfo:
    """One entry of the node table (Redis' clusterNode)."""

    id: str
    master: bool = True
    replica_of: str | None = None
    config_epoch: int = 0
    pfail: bool = False
    fail: bool = False
    fail_time: float = _NEVER
    ping_sent: float | None = None      # oldest unanswered ping (None: none pending)
    link_ctime: float = _NEVER          # when our link to it was (re)made (bus.py)
    pong_received: float = _NEVER
    data_received: float = _NEVER       # any cluster-bus message from it
    fail_reports: dict[str, float] = field(default_factory=dict)  # reporting master -> when
    repl_offset: int = 0                # as its last message said
    voted_time: float = _NEVER          # when we last voted for a replica of this master

    def flags(self) -> int:
        f = MASTER if self.master else REPLICA
        if self.pfail:
            f |= PFAIL
        if self.fail:
            f |= FAIL
        return f


@dataclass(frozen=True, slots=True)
class SlotUpdate:
    """What `update_slots_config` changed for this node."""

    rebound: int = 0                    # slots moved to the claimant
    new_master: str | None = None       # we (or our master) lost the last slot: replicate this
    lost_slots: tuple[int, ...] = ()    # our own slots taken while we keep others (drop keys)


def parse_ranges(value: object) -> tuple[tuple[int, int], ...] | None:
    """Claimed slots as sorted, disjoint [lo, hi] pairs, or None if malformed."""
    if type(value) is not list:
        return None
    out = []
    for run in value:
        if type(run) is not list or len(run) != 2:
            return None
        lo, hi = run
        if type(lo) is not int or type(hi) is not int or not 0 <= lo <= hi < SLOT_COUNT:
            return None
        out.append((lo, hi))
    out.sort()
    for (_, hi), (lo, _) in zip(out, out[1:]):
        if lo <= hi:
            return None
    return tuple(out)


class ClusterView:
    """The node table, the slot table and the epochs, as node `me` knows them."""

    def __init__(self, me: str, nodes: dict[str, NodeInfo], owners: list[str | None],
                 current_epoch: int) -> None:
        if me not in nodes:
            raise ValueError(f"{me} is not in its own node table")
        if len(owners) != SLOT_COUNT:
            raise ValueError(f"a slot table has {SLOT_COUNT} entries")
        self.me = me
        self.nodes = nodes
        self.current_epoch = current_epoch
        self.last_vote_epoch = 0
        self._owners = list(owners)
        self._counts: dict[str, int] = {}
        for owner in self._owners:
            if owner is not None:
                self._counts[owner] = self._counts.get(owner, 0) + 1
        self._ranges: dict[str, tuple[tuple[int, int], ...]] = {}

    # -- the slot table ---------------------------------------------------------------------

    @property
    def myself(self) -> NodeInfo:
        return self.nodes[self.me]

    def owner(self, slot: int) -> str | None:
        return self._owners[slot]

    def count(self, node: str | None) -> int:
        """Slots bound to `node`."""
        return self._counts.get(node, 0) if node is not None else 0

    def unbound(self) -> int:
        return SLOT_COUNT - sum(self._counts.values())

    def ranges_of(self, node: str | None) -> tuple[tuple[int, int], ...]:
        """The slots bound to `node` as merged (lo, hi) runs (cached until the table changes)."""
        if node is None:
            return ()
        cached = self._ranges.get(node)
        if cached is None:
            runs: list[tuple[int, int]] = []
            owners = self._owners
            slot = 0
            while slot < SLOT_COUNT:
                if owners[slot] == node:
                    lo = slot
                    while slot + 1 < SLOT_COUNT and owners[slot + 1] == node:
                        slot += 1
                    runs.append((lo, slot))
                slot += 1
            cached = self._ranges[node] = tuple(runs)
        return cached

    def owner_runs(self) -> list[list]:
        """[[lo, hi, owner-or-None], ...] over all slots, in slot order."""
        runs: list[list] = []
        lo = 0
        owners = self._owners
        for slot in range(1, SLOT_COUNT + 1):
            if slot == SLOT_COUNT or owners[slot] != owners[lo]:
                runs.append([lo, slot - 1, owners[lo]])
                lo = slot
        return runs

    def assign(self, slot: int, node: str | None) -> None:
        old = self._owners[slot]
        if old == node:
            return
        if old is not None:
            self._counts[old] -= 1
            self._ranges.pop(old, None)
        if node is not None:
            self._counts[node] = self._counts.get(node, 0) + 1
            self._ranges.pop(node, None)
        self._owners[slot] = node

    def unbind_all(self, node: str) -> int:
        """Unbind every slot of `node` (a master that turned replica); returns how many."""
        n = 0
        for lo, hi in self.ranges_of(node):
            for slot in range(lo, hi + 1):
                self.assign(slot, None)
                n += 1
        return n

    # -- masters, quorum ----------------------------------------------------------------------

    def my_master(self) -> str | None:
        """The master whose slots this node serves or replicates: itself or its master."""
        me = self.myself
        return self.me if me.master else me.replica_of

    def size(self) -> int:
        """Masters serving at least one slot (Redis' cluster->size)."""
        return sum(1 for n in self.nodes.values() if n.master and self.count(n.id) > 0)

    def needed_quorum(self) -> int:
        return self.size() // 2 + 1

    def master_config_epoch(self) -> int:
        """The config epoch this node advertises: its own as a master, its master's as a
        replica (as of what it last heard)."""
        me = self.myself
        if me.master:
            return me.config_epoch
        master = self.nodes.get(me.replica_of) if me.replica_of else None
        return master.config_epoch if master is not None else 0

    # -- the rules ----------------------------------------------------------------------------

    def update_slots_config(self, sender: str, sender_epoch: int,
                            claimed: tuple[tuple[int, int], ...]) -> SlotUpdate:
        """Rules 1 and 2 for the slots `sender` claims with `sender_epoch`, then the role switch
        rule (module docstring). The caller has already made `sender` a master."""
        if sender == self.me:
            return SlotUpdate()
        cur_master = self.my_master()
        new_master = None
        rebound = 0
        lost: list[int] = []
        owners = self._owners
        nodes = self.nodes
        for lo, hi in claimed:
            for slot in range(lo, hi + 1):
                owner = owners[slot]
                if owner == sender:
                    continue
                if owner is None or nodes[owner].config_epoch < sender_epoch:
                    if owner == self.me:
                        lost.append(slot)
                    if owner is not None and owner == cur_master:
                        new_master = sender
                    self.assign(slot, sender)
                    rebound += 1
        if new_master is not None and self.count(cur_master) == 0:
            return SlotUpdate(rebound, new_master, ())
        return SlotUpdate(rebound, None, tuple(lost))

    def stale_claim(self, sender: str, sender_epoch: int,
                    claimed: tuple[tuple[int, int], ...]) -> str | None:
        """A node that owns one of the claimed slots with a greater config epoch than the
        claim's (the sender needs an UPDATE about it), or None."""
        owners = self._owners
        nodes = self.nodes
        for lo, hi in claimed:
            for slot in range(lo, hi + 1):
                owner = owners[slot]
                if owner is None or owner == sender:
                    continue
                if nodes[owner].config_epoch > sender_epoch:
                    return owner
        return None

    def resolve_collision(self, sender: str) -> bool:
        """Two masters with one config epoch: the smaller node id moves to a new epoch.
        Returns True if this node did."""
        me, other = self.myself, self.nodes[sender]
        if not (me.master and other.master) or other.config_epoch != me.config_epoch:
            return False
        if not self.me < sender:
            return False
        self.current_epoch += 1
        me.config_epoch = self.current_epoch
        return True
