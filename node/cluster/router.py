"""Routing: key -> slot -> shard group -> a node to hand the request to (docs/cluster.md).

Any node accepts any lin-kv request. It maps the key to its slot (CRC16, node/cluster/slots.py)
and the slot to its shard group through the node's *applied* meta state. If the node is a member
of that group, its own core takes the request (and forwards it to the group's leader, as Raft
followers do). Otherwise it routes the request to a member of the group (`kv_route`), which
proposes it in its group under the *origin's* node id and request id, so a request handed to
several members (after a timeout, or a rejection) is still applied at most once (node/kv.py).

The member checks the slot against its own applied map: if its group does not own the slot (one
of the two maps is stale) it answers `kv_route_moved` with its epoch and proposes nothing; the
origin retries, with its map as it is then. A member that knows no leader answers
`kv_route_retry` (nothing proposed either). Neither answer is definite about the request as a
whole: an earlier hand-over may still commit, so the origin never answers its client with a
definite error after a hand-over.

`Router` holds the routing table's soft parts: which member of each group answered last (a
good guess for the next request), and which member to try on the n-th attempt.
"""

from __future__ import annotations

from node.cluster.meta import MetaState
from node.cluster.slots import key_slot

__all__ = ["Router", "ROUTE", "ROUTE_OK", "ROUTE_MOVED", "ROUTE_RETRY", "ROUTE_TYPES"]

ROUTE = "kv_route"              # origin -> member: {rid, w, cmd, shard, epoch}
ROUTE_OK = "kv_route_ok"        # member -> origin: {rid, code, text | value}
ROUTE_MOVED = "kv_route_moved"  # member -> origin: {rid, epoch, owner}: not this group's slot
ROUTE_RETRY = "kv_route_retry"  # member -> origin: {rid}: no leader known, nothing proposed
ROUTE_TYPES = frozenset({ROUTE, ROUTE_OK, ROUTE_MOVED, ROUTE_RETRY})
_SLOT_CACHE = 4096  # keys whose slot is remembered (cleared whole when full)


class Router:
    """Where this node sends requests for groups it is not a member of."""

    __slots__ = ("meta", "_good", "_slots")

    def __init__(self, meta: MetaState) -> None:
        self.meta = meta
        self._good: dict[int, str] = {}  # group -> the member that answered last
        self._slots: dict = {}           # key -> slot: a request's key is hashed once or twice

    def group_of(self, key) -> int | None:
        """The shard group owning `key`'s slot, by the applied map (None: no map yet)."""
        slot = self._slots.get(key)
        if slot is None or type(key) is bool:
            if len(self._slots) >= _SLOT_CACHE:
                self._slots.clear()
            slot = self._slots[key] = key_slot(key)
        return self.meta.owner(slot)

    def target(self, group: int, attempt: int) -> str | None:
        """The member to try on attempt `attempt` (0, 1, ...): the last good one first, then
        the voters in turn."""
        members = self.meta.groups.get(group)
        if members is None or not members.voters:
            return None
        order = list(members.voters)
        good = self._good.get(group)
        if good in order:
            order.remove(good)
            order.insert(0, good)
        return order[attempt % len(order)]

    def answered(self, group: int, member: str) -> None:
        self._good[group] = member

    def failed(self, group: int, member: str) -> None:
        if self._good.get(group) == member:
            del self._good[group]
