"""Partition shapes and the nemesis schedule."""

from __future__ import annotations

import random

import pytest

from maelstrom.edn import Keyword
from maelstrom.nemesis import PartitionNemesis, grudge_for, majority, minority_third

NODES5 = [f"n{i}" for i in range(5)]


def visible(grudge, node, nodes):
    return set(nodes) - set(grudge[node])


@pytest.mark.parametrize("n,expected", [(1, 0), (3, 0), (4, 1), (5, 1), (7, 2), (9, 2), (10, 3)])
def test_minority_third(n, expected):
    assert minority_third(n) == expected


@pytest.mark.parametrize("seed", range(5))
def test_one_isolates_a_single_node(seed):
    g = grudge_for("one", NODES5, random.Random(seed))
    loners = [n for n in NODES5 if len(g[n]) == 4]
    assert len(loners) == 1
    assert all(g[n] == {loners[0]} for n in NODES5 if n != loners[0])


@pytest.mark.parametrize("seed", range(5))
def test_majority_is_a_clean_split(seed):
    g = grudge_for("majority", NODES5, random.Random(seed))
    sizes = sorted(len(visible(g, n, NODES5)) for n in NODES5)
    assert sizes == [2, 2, 3, 3, 3]
    for a in NODES5:  # symmetric
        for b in g[a]:
            assert a in g[b]


def test_minority_third_of_three_is_no_partition():
    g = grudge_for("minority-third", ["n0", "n1", "n2"], random.Random(0))
    assert g == {"n0": frozenset(), "n1": frozenset(), "n2": frozenset()}


@pytest.mark.parametrize("nodes", [["n0", "n1", "n2"], NODES5, [f"n{i}" for i in range(7)]])
def test_majorities_ring_every_node_sees_a_distinct_majority(nodes):
    g = grudge_for("majorities-ring", nodes, random.Random(4))
    views = [frozenset(visible(g, n, nodes)) for n in nodes]
    assert all(len(v) == majority(len(nodes)) and n in v for n, v in zip(nodes, views))
    assert len(set(views)) == len(nodes)


def test_schedule_flip_flops_with_mean_interval():
    nem = PartitionNemesis(NODES5, interval=2.0, rng=random.Random(1))
    fs, times, now = [], [], 0.0
    for _ in range(400):
        now = nem.next_at
        f, inv, done, grudge = nem.step(now)
        fs.append(f)
        times.append(now)
        if f == "start-partition":
            assert isinstance(inv, Keyword) and done[0] == Keyword("isolated")
            assert set(done[1]) == set(NODES5) and grudge is not None
        else:
            assert inv is None and done == Keyword("network-healed") and grudge is None
    assert fs[:4] == ["start-partition", "stop-partition"] * 2
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert 1.6 < sum(gaps) / len(gaps) < 2.4 and max(gaps) <= 4.0


def test_same_seed_same_schedule():
    def run(seed):
        nem = PartitionNemesis(NODES5, 1.0, random.Random(seed))
        return [(nem.next_at, nem.step(nem.next_at)[2]) for _ in range(20)]
    assert run(5) == run(5)
    assert run(5) != run(6)
