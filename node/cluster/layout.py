"""The initial cluster layout: which nodes vote or learn in the meta group and in each shard
group, and which group owns each slot. A pure function of Maelstrom's `init` node ids and the
ClusterConfig, so every node computes the same layout without talking to the others.

Rules of `initial_layout(node_ids, config)`:

- Nodes are taken in natural order, whatever order `node_ids` comes in: digit runs compare as
  numbers ("n2" < "n10"), ties broken by the plain text. Call the sorted list the ring, n long.
- replicas = min(cluster.replicas, n); shards = cluster.shards if set, else max(1, n // replicas);
  shard group ids are 1..shards (0 is the meta group's).
- Voters: group g (0-based) takes the `replicas` ring positions (g*replicas + i) % n, i < replicas.
  The groups walk the ring in consecutive blocks, so a group's voters are distinct, and each node
  is a voter in floor or ceil(shards*replicas / n) groups. The first voter is the group's expected
  leader: it is the member that has led the fewest groups so far (ties: ring order), and the
  other voters follow it in ring order. That leaves the plain rotation alone wherever its first
  members are already distinct, and otherwise spreads leaders: no node is the first voter of
  more than ceil(shards / min(n, shards*replicas)) groups (tests check this for n <= 60).
  Checked cases: 9 nodes, 3 replicas -> groups {n1,n2,n3} {n4,n5,n6} {n7,n8,n9}; 5 nodes with the
  defaults -> one group {n1,n2,n3}; 25 nodes, shards=8 -> 8 groups of 3 over 24 distinct nodes
  (n25 in none); 100 nodes, shards=30 -> 30 disjoint groups of 3; 5 nodes, shards=3 -> {n1,n2,n3}
  {n4,n5,n1} {n2,n3,n4}: every node in 1 or 2 groups, leaders n1, n4, n2.
- Learners of group g: the next min(learners_per_shard, n - replicas) ring positions after its
  voters, (g*replicas + replicas + j) % n, which are never its voters.
- Meta group: every node is a member. m = min(cluster.meta_voters, n) of them vote, spread over
  the ring at positions round(k*n/m), k < m (halves round up); the others are meta learners.
- Slots: SlotMap.even over the group ids 1..shards, in order.
- ConfigError: no nodes, a node id that is not a non-empty str, a repeated node id, more shards
  than slots (16384).

JSON form (`to_json`, what the meta log carries): {"meta": {"voters": [...], "learners": [...]},
"groups": {"1": {"voters": [...], "learners": [...]}, ...}, "slots": [[lo, hi, group], ...]}.
Group ids are ints in memory and in "slots", decimal strings as keys of "groups" (JSON object keys
are strings); `from_json` accepts only canonical decimal strings there ("1", not "01" or 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from node.cluster.config import ClusterConfig, ConfigError
from node.cluster.slots import SLOT_COUNT, SlotMap

__all__ = ["GroupMembers", "Layout", "initial_layout", "natural_key", "natural_sorted"]

_DIGIT_RUNS = re.compile(r"(\d+)")
_GROUP_KEY = re.compile(r"[1-9][0-9]*")


def natural_key(node: str) -> tuple[tuple[Any, ...], str]:
    """Sort key: digit runs as numbers ("n2" < "n10"), then the text itself (so "n01" != "n1")."""
    parts = _DIGIT_RUNS.split(node)  # text at even indexes, digit runs at odd ones
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), node


def natural_sorted(nodes: Iterable[str]) -> list[str]:
    """`nodes` in natural order."""
    return sorted(nodes, key=natural_key)


def _node_tuple(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list of node ids, not {type(value).__name__}")
    for node in value:
        if not isinstance(node, str) or not node:
            raise ValueError(f"{what}: {node!r} is not a node id")
    if len(set(value)) != len(value):
        raise ValueError(f"{what}: a node id repeats: {list(value)!r}")
    return tuple(value)


@dataclass(frozen=True)
class GroupMembers:
    """A Raft group's members: voters (the first is the expected leader) and learners."""

    voters: tuple[str, ...]
    learners: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "voters", _node_tuple(self.voters, "voters"))
        object.__setattr__(self, "learners", _node_tuple(self.learners, "learners"))
        if not self.voters:
            raise ValueError("a group needs at least one voter")
        both = set(self.voters) & set(self.learners)
        if both:
            raise ValueError(f"nodes {sorted(both)} are both voters and learners")

    @property
    def members(self) -> tuple[str, ...]:
        """Voters, then learners."""
        return self.voters + self.learners

    def to_json(self) -> dict[str, list[str]]:
        return {"voters": list(self.voters), "learners": list(self.learners)}

    @classmethod
    def from_json(cls, data: Any) -> GroupMembers:
        if not isinstance(data, dict) or set(data) != {"voters", "learners"}:
            raise ValueError(f"a group is {{'voters': [...], 'learners': [...]}}, not {data!r}")
        return cls(_node_tuple(data["voters"], "voters"), _node_tuple(data["learners"], "learners"))


@dataclass(frozen=True)
class Layout:
    """Meta group membership, shard groups by id (1..), and the slot map. Treat `groups` as
    read-only. Constructing one checks that it is consistent (ValueError)."""

    meta_voters: tuple[str, ...]
    meta_learners: tuple[str, ...]
    groups: dict[int, GroupMembers]
    slots: SlotMap

    def __post_init__(self) -> None:
        meta = GroupMembers(self.meta_voters, self.meta_learners)  # checks the meta group
        object.__setattr__(self, "meta_voters", meta.voters)
        object.__setattr__(self, "meta_learners", meta.learners)
        if not isinstance(self.groups, dict) or not self.groups:
            raise ValueError("a layout needs at least one shard group (a dict by group id)")
        nodes = set(meta.members)
        for group, members in self.groups.items():
            if not isinstance(group, int) or isinstance(group, bool) or group < 1:
                raise ValueError(f"shard group ids are ints >= 1, not {group!r}")
            if not isinstance(members, GroupMembers):
                raise ValueError(f"group {group}: members must be GroupMembers, not {members!r}")
            strangers = set(members.members) - nodes
            if strangers:
                raise ValueError(f"group {group}: {sorted(strangers)} are not cluster nodes")
        if not isinstance(self.slots, SlotMap):
            raise ValueError(f"slots must be a SlotMap, not {type(self.slots).__name__}")
        unknown = set(self.slots.groups()) - set(self.groups)
        if unknown:
            raise ValueError(f"slots are owned by groups {sorted(unknown)} that do not exist")

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node of the cluster, in natural order."""
        return tuple(natural_sorted(self.meta_voters + self.meta_learners))

    def member_groups(self, node: str) -> list[int]:
        """Shard groups (ascending ids) in which `node` votes or learns; the meta group not
        included (every node is in it)."""
        return sorted(g for g, m in self.groups.items() if node in m.voters or node in m.learners)

    def to_json(self) -> dict[str, Any]:
        """The JSON-safe form (module docstring)."""
        return {
            "meta": {"voters": list(self.meta_voters), "learners": list(self.meta_learners)},
            "groups": {str(g): self.groups[g].to_json() for g in sorted(self.groups)},
            "slots": self.slots.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Layout:
        """The inverse of `to_json`; ValueError if `data` is not a consistent layout."""
        if not isinstance(data, dict) or set(data) != {"meta", "groups", "slots"}:
            raise ValueError("a layout is {'meta': ..., 'groups': ..., 'slots': ...}")
        meta = GroupMembers.from_json(data["meta"])
        if not isinstance(data["groups"], dict):
            raise ValueError("layout 'groups' must be an object keyed by group id")
        groups: dict[int, GroupMembers] = {}
        for key, members in data["groups"].items():
            if not isinstance(key, str) or not _GROUP_KEY.fullmatch(key):
                raise ValueError(f"a group id key is a decimal string like '1', not {key!r}")
            groups[int(key)] = GroupMembers.from_json(members)
        return cls(meta.voters, meta.learners, groups, SlotMap.from_json(data["slots"]))


def initial_layout(node_ids: Iterable[str], config: ClusterConfig) -> Layout:
    """The deterministic initial layout of `node_ids` under `config` (module docstring)."""
    ids = list(node_ids)
    if not ids:
        raise ConfigError("the cluster has no nodes (init's node_ids is empty)")
    for node in ids:
        if not isinstance(node, str) or not node:
            raise ConfigError(f"node id {node!r} is not a non-empty string")
    if len(set(ids)) != len(ids):
        repeated = sorted({node for node in ids if ids.count(node) > 1}, key=natural_key)
        raise ConfigError(f"node ids repeat: {repeated}")
    ring = natural_sorted(ids)
    n = len(ring)
    replicas = min(config.replicas, n)
    shards = config.shards if config.shards is not None else max(1, n // replicas)
    if shards > SLOT_COUNT:
        raise ConfigError(f"cluster.shards = {shards}: more shard groups than slots ({SLOT_COUNT})")
    learners = min(config.learners_per_shard, n - replicas)

    groups: dict[int, GroupMembers] = {}
    led = [0] * n  # how many groups each ring position is the first voter of
    for g in range(shards):
        start = g * replicas
        block = [(start + i) % n for i in range(replicas)]
        first = min(range(replicas), key=lambda i: (led[block[i]], i))
        led[block[first]] += 1
        voters = block[first:] + block[:first]
        extra = [(start + replicas + j) % n for j in range(learners)]
        groups[g + 1] = GroupMembers(tuple(ring[p] for p in voters), tuple(ring[p] for p in extra))

    m = min(config.meta_voters, n)
    voting = {(2 * k * n + m) // (2 * m) for k in range(m)}  # round(k*n/m), halves up
    meta_voters = tuple(ring[p] for p in sorted(voting))
    meta_learners = tuple(node for p, node in enumerate(ring) if p not in voting)
    return Layout(meta_voters, meta_learners, groups, SlotMap.even(range(1, shards + 1)))
