"""The lin-kv workload: Jepsen's independent linearizable-register generator and messages."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from maelstrom.edn import Keyword
from maelstrom.errors import BenchError
from workloads.lin_kv import PER_KEY_LIMIT, LinKVWorkload

NODES = ["n0", "n1", "n2"]


@pytest.mark.parametrize("concurrency", [1, 3, 5, 7, 9])
def test_concurrency_must_be_a_multiple_of_2n(concurrency):
    with pytest.raises(BenchError, match="multiple of 6"):
        LinKVWorkload(NODES, concurrency, random.Random(0))


def test_groups_readers_keys_and_values():
    wl = LinKVWorkload(NODES, 12, random.Random(1))
    ops = {t: [wl.next_op(t) for _ in range(40)] for t in range(12)}
    for t, seq in ops.items():
        keys = {v[0] for _, v in seq}
        if t % 6 < 3:
            assert {f for f, _ in seq} == {"read"} and all(v[1] is None for _, v in seq)
        else:
            assert {f for f, _ in seq} <= {"write", "cas"}
        for f, v in seq:
            if f == "write":
                assert v[1] in range(5)
            if f == "cas":
                assert all(x in range(5) for x in v[1])
        # threads of one group share their keys; the two groups never do
        assert keys <= {k for s in (ops[u] for u in range(12) if u // 6 == t // 6)
                        for _, (k, _) in s}
    group0 = {v[0] for t in range(6) for _, v in ops[t]}
    group1 = {v[0] for t in range(6, 12) for _, v in ops[t]}
    assert not group0 & group1


def test_mix_is_one_write_to_two_cas():
    wl = LinKVWorkload(NODES, 6, random.Random(2))
    fs = Counter(wl.next_op(5)[0] for _ in range(3000))
    assert 0.28 < fs["write"] / 3000 < 0.39


def test_per_key_limit_is_randomised_between_90_and_100_percent():
    wl = LinKVWorkload(NODES, 6, random.Random(3))
    per_key = Counter(wl.next_op(i % 6)[1][0] for i in range(20000))
    full = [n for k, n in per_key.items() if k != max(per_key)]  # the last key is unfinished
    assert all(0.9 * PER_KEY_LIMIT <= n <= PER_KEY_LIMIT for n in full)
    assert len(set(full)) > 1
    assert wl.final_ops() == [("read", [k, None]) for k in sorted(per_key)]


def test_messages_and_completions():
    wl = LinKVWorkload(NODES, 6, random.Random(0))
    assert wl.request("read", [3, None]) == {"type": "read", "key": 3}
    assert wl.request("write", [3, 4]) == {"type": "write", "key": 3, "value": 4}
    assert wl.request("cas", [3, [1, 2]]) == {"type": "cas", "key": 3, "from": 1, "to": 2}
    assert wl.complete("read", [3, None], {"type": "read_ok", "value": 2}) == ("ok", [3, 2], None)
    assert wl.complete("cas", [3, [1, 2]], {"type": "cas_ok"}) == ("ok", [3, [1, 2]], None)
    type_, _, error = wl.complete("write", [3, 4], {"type": "read_ok"})
    assert type_ == "info" and error[0] == Keyword("malformed-response")
    assert wl.complete("read", [3, None], {"type": "read_ok"})[0] == "fail"


def test_same_seed_same_operations():
    def seq(seed):
        wl = LinKVWorkload(NODES, 6, random.Random(seed))
        return [wl.next_op(t % 6) for t in range(500)]
    assert seq(4) == seq(4) and seq(4) != seq(5)
