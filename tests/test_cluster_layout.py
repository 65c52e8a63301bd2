"""node/cluster/layout.py: the deterministic initial layout of meta and shard groups."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from node.cluster.config import ClusterConfig, ConfigError
from node.cluster.layout import (GroupMembers, Layout, initial_layout, natural_key,
                                 natural_sorted)
from node.cluster.slots import SLOT_COUNT, SlotMap


def ids(n: int) -> list[str]:
    return [f"n{i}" for i in range(1, n + 1)]


def voters(layout: Layout) -> dict[int, tuple[str, ...]]:
    return {g: m.voters for g, m in layout.groups.items()}


def voter_counts(layout: Layout) -> Counter:
    return Counter(node for m in layout.groups.values() for node in m.voters)


def leader_counts(layout: Layout) -> Counter:
    return Counter(m.voters[0] for m in layout.groups.values())


# --- natural order -----------------------------------------------------------------------------

def test_natural_order():
    assert natural_sorted(["n10", "n2", "n1", "n100", "n9"]) == ["n1", "n2", "n9", "n10", "n100"]
    assert natural_sorted(["b1", "a2", "a10", "a1"]) == ["a1", "a2", "a10", "b1"]
    assert natural_sorted(["n01", "n1", "n001"]) == ["n001", "n01", "n1"]   # text breaks ties
    assert natural_sorted(["x", "1", "n1a2", "n1a10", ""]) == ["", "1", "n1a2", "n1a10", "x"]
    assert natural_key("n2") < natural_key("n10")


# --- the named cases ---------------------------------------------------------------------------

def test_nine_nodes_three_groups_exactly():
    layout = initial_layout(ids(9), ClusterConfig())
    assert voters(layout) == {1: ("n1", "n2", "n3"), 2: ("n4", "n5", "n6"), 3: ("n7", "n8", "n9")}
    assert all(m.learners == () for m in layout.groups.values())
    assert layout.meta_voters == ("n1", "n3", "n5", "n6", "n8")   # round(k*9/5): 0 2 4 5 7
    assert layout.meta_learners == ("n2", "n4", "n7", "n9")
    assert layout.slots == SlotMap.even([1, 2, 3])
    assert layout.slots.counts() == {1: 5462, 2: 5461, 3: 5461}
    assert layout.member_groups("n5") == [2]


def test_five_nodes_defaults_one_group():
    layout = initial_layout(ids(5), ClusterConfig())
    assert voters(layout) == {1: ("n1", "n2", "n3")}
    assert layout.meta_voters == tuple(ids(5)) and layout.meta_learners == ()
    assert layout.slots.ranges() == [[0, SLOT_COUNT - 1, 1]]
    assert layout.member_groups("n4") == [] and layout.member_groups("n1") == [1]


def test_five_nodes_three_shards():
    layout = initial_layout(ids(5), ClusterConfig(shards=3))
    assert voters(layout) == {1: ("n1", "n2", "n3"), 2: ("n4", "n5", "n1"), 3: ("n2", "n3", "n4")}
    assert sorted(voter_counts(layout).values()) == [1, 2, 2, 2, 2]   # 9 seats over 5 nodes
    assert len(leader_counts(layout)) == 3                             # 3 distinct leaders
    assert layout.member_groups("n1") == [1, 2] and layout.member_groups("n5") == [2]


def test_twenty_five_nodes_eight_shards():
    layout = initial_layout(ids(25), ClusterConfig(shards=8))
    assert len(layout.groups) == 8
    assert all(len(m.voters) == 3 for m in layout.groups.values())
    counts = voter_counts(layout)
    assert len(counts) == 24 and set(counts.values()) == {1}           # 24 distinct nodes
    assert len(leader_counts(layout)) == 8
    assert layout.meta_voters == ("n1", "n6", "n11", "n16", "n21")
    assert set(layout.slots.counts().values()) == {2048}


def test_hundred_nodes_thirty_shards():
    layout = initial_layout(ids(100), ClusterConfig(shards=30))
    counts = voter_counts(layout)
    assert len(counts) == 90 and set(counts.values()) == {1}           # disjoint
    assert len(leader_counts(layout)) == 30
    assert len(layout.meta_voters) == 5 and len(layout.meta_learners) == 95
    sizes = layout.slots.counts().values()
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == SLOT_COUNT


def test_defaults_derive_shards_from_node_count():
    assert len(initial_layout(ids(9), ClusterConfig()).groups) == 3
    assert len(initial_layout(ids(11), ClusterConfig()).groups) == 3
    assert len(initial_layout(ids(100), ClusterConfig()).groups) == 33
    assert len(initial_layout(ids(8), ClusterConfig(replicas=2)).groups) == 4


def test_fewer_nodes_than_replicas():
    layout = initial_layout(ids(2), ClusterConfig())
    assert voters(layout) == {1: ("n1", "n2")}
    layout = initial_layout(["solo"], ClusterConfig(shards=4, learners_per_shard=3))
    assert voters(layout) == {g: ("solo",) for g in (1, 2, 3, 4)}
    assert all(m.learners == () for m in layout.groups.values())
    assert layout.meta_voters == ("solo",) and layout.member_groups("solo") == [1, 2, 3, 4]


def test_leaders_spread_where_the_plain_rotation_repeats_them():
    # 6 nodes, 4 groups of 3: the rotation gives {n1,n2,n3} {n4,n5,n6} twice each; the second
    # copies are led by other members.
    layout = initial_layout(ids(6), ClusterConfig(shards=4))
    assert voters(layout) == {1: ("n1", "n2", "n3"), 2: ("n4", "n5", "n6"),
                              3: ("n2", "n3", "n1"), 4: ("n5", "n6", "n4")}


def test_learners():
    layout = initial_layout(ids(9), ClusterConfig(learners_per_shard=2))
    assert {g: m.learners for g, m in layout.groups.items()} == {
        1: ("n4", "n5"), 2: ("n7", "n8"), 3: ("n1", "n2")}
    layout = initial_layout(ids(4), ClusterConfig(learners_per_shard=5))
    assert layout.groups[1] == GroupMembers(("n1", "n2", "n3"), ("n4",))   # only one left
    assert layout.member_groups("n4") == [1]


def test_meta_voters_capped_and_spread():
    assert initial_layout(ids(3), ClusterConfig()).meta_voters == ("n1", "n2", "n3")
    layout = initial_layout(ids(10), ClusterConfig(meta_voters=3))
    assert layout.meta_voters == ("n1", "n4", "n8")                     # round(0, 3.33, 6.67)
    assert initial_layout(ids(7), ClusterConfig(meta_voters=1)).meta_voters == ("n1",)


def test_order_of_node_ids_does_not_matter():
    config = ClusterConfig(shards=7, learners_per_shard=1, meta_voters=3)
    nodes = ids(23)
    expected = initial_layout(nodes, config)
    rng = random.Random(5)
    for _ in range(5):
        rng.shuffle(nodes)
        assert initial_layout(nodes, config) == expected
        assert initial_layout(tuple(nodes), config).to_json() == expected.to_json()


# --- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("node_ids", [[], ["n1", "n1"], ["n1", ""], ["n1", 2], [None]])
def test_impossible_node_lists(node_ids):
    with pytest.raises(ConfigError):
        initial_layout(node_ids, ClusterConfig())


def test_too_many_shards():
    # ClusterConfig itself refuses shards > 16384; a config that slipped past it is refused too.
    config = ClusterConfig()
    object.__setattr__(config, "shards", SLOT_COUNT + 1)
    with pytest.raises(ConfigError, match="more shard groups than slots"):
        initial_layout(ids(3), config)
    assert len(initial_layout(ids(2), ClusterConfig(shards=SLOT_COUNT, replicas=1)).groups) \
        == SLOT_COUNT


# --- JSON --------------------------------------------------------------------------------------

def test_json_round_trip_and_shape():
    layout = initial_layout(ids(9), ClusterConfig(learners_per_shard=1))
    wire = json.loads(json.dumps(layout.to_json()))
    assert Layout.from_json(wire) == layout
    assert list(wire["groups"]) == ["1", "2", "3"]
    assert wire["groups"]["1"] == {"voters": ["n1", "n2", "n3"], "learners": ["n4"]}
    assert wire["meta"] == {"voters": ["n1", "n3", "n5", "n6", "n8"],
                            "learners": ["n2", "n4", "n7", "n9"]}
    assert wire["slots"] == [[0, 5461, 1], [5462, 10922, 2], [10923, 16383, 3]]
    assert set(Layout.from_json(wire).groups) == {1, 2, 3}


def _wire() -> dict:
    return initial_layout(ids(5), ClusterConfig(shards=2)).to_json()


def _broken(change) -> dict:
    wire = _wire()
    change(wire)
    return wire


@pytest.mark.parametrize("change", [
    lambda w: w.pop("slots"),
    lambda w: w.update(extra=1),
    lambda w: w["groups"].update({"01": w["groups"].pop("1")}),
    lambda w: w["groups"].update({"0": w["groups"].pop("1")}),
    lambda w: w["groups"].update({"x": w["groups"].pop("1")}),
    lambda w: w.update(groups={}),
    lambda w: w.update(groups=[]),
    lambda w: w["groups"]["1"].update(voters=[]),
    lambda w: w["groups"]["1"].update(voters=["n1", "n1"]),
    lambda w: w["groups"]["1"].update(learners=["n1"]),             # voter and learner
    lambda w: w["groups"]["1"].update(voters=["n1", "n99"]),        # not a cluster node
    lambda w: w["groups"]["1"].pop("learners"),
    lambda w: w["meta"].update(voters=[]),
    lambda w: w["meta"].update(learners=["n1"]),
    lambda w: w["meta"].update(voters="n1"),
    lambda w: w["slots"].append([0, 0, 1]),
    lambda w: w["slots"][0].__setitem__(2, 7),                      # owner group 7 missing
])
def test_from_json_rejects_inconsistent_layouts(change):
    Layout.from_json(_wire())   # the unbroken one is fine
    with pytest.raises(ValueError):
        Layout.from_json(_broken(change))


def test_layout_is_frozen():
    layout = initial_layout(ids(3), ClusterConfig())
    with pytest.raises(AttributeError):
        layout.slots = SlotMap.even([1])  # type: ignore[misc]


# --- properties --------------------------------------------------------------------------------

configs = st.builds(
    ClusterConfig,
    shards=st.one_of(st.none(), st.integers(1, 120)),
    replicas=st.integers(1, 7),
    meta_voters=st.integers(1, 9),
    learners_per_shard=st.integers(0, 4),
)


@given(st.integers(1, 60), configs, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_layout_properties(n, config, rng):
    nodes = ids(n)
    rng.shuffle(nodes)
    layout = initial_layout(nodes, config)
    replicas = min(config.replicas, n)
    shards = config.shards if config.shards is not None else max(1, n // replicas)

    assert sorted(layout.groups) == list(range(1, shards + 1))
    for g, m in layout.groups.items():
        assert len(m.voters) == replicas == len(set(m.voters))
        assert not set(m.learners) & set(m.voters)
        assert len(m.learners) == min(config.learners_per_shard, n - replicas)
        assert set(m.members) <= set(nodes)
    # Every slot owned, by an existing group, evenly.
    assert sum(layout.slots.counts().values()) == SLOT_COUNT
    assert set(layout.slots.counts()) == set(layout.groups)
    # Every node in the meta group exactly once; at most meta_voters vote.
    meta = layout.meta_voters + layout.meta_learners
    assert sorted(meta) == sorted(nodes)
    assert len(layout.meta_voters) == min(config.meta_voters, n)
    # Balance: each node votes in floor or ceil(seats / n) groups.
    seats = shards * replicas
    counts = voter_counts(layout)
    assert all(counts.get(node, 0) in (seats // n, -(-seats // n)) for node in nodes)
    # Expected leaders spread as far as they can.
    assert max(leader_counts(layout).values()) == math.ceil(shards / min(n, seats))
    # member_groups agrees with the groups.
    for node in nodes:
        assert layout.member_groups(node) == sorted(
            g for g, m in layout.groups.items() if node in m.members)
    # Determinism and the wire form.
    assert initial_layout(sorted(nodes), config) == layout
    assert Layout.from_json(json.loads(json.dumps(layout.to_json()))) == layout
