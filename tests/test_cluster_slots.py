"""node/cluster/slots.py: CRC16/XMODEM, Redis Cluster key slots with hash tags, the slot map."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from node.cluster.slots import SLOT_COUNT, SlotMap, crc16, hash_key, key_slot


def crc16_bitwise(data: bytes) -> int:
    """A second CRC16/XMODEM, bit by bit (no table), to check the table-driven one."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_hash_slot_spec(key: bytes) -> int:
    """The Redis Cluster spec's keyHashSlot, transliterated index by index."""
    keylen = len(key)
    s = 0
    while s < keylen and key[s] != ord("{"):
        s += 1
    if s == keylen:
        return crc16_bitwise(key) & 0x3FFF
    e = s + 1
    while e < keylen and key[e] != ord("}"):
        e += 1
    if e == keylen or e == s + 1:
        return crc16_bitwise(key) & 0x3FFF
    return crc16_bitwise(key[s + 1:e]) & 0x3FFF


# --- CRC16 -------------------------------------------------------------------------------------

def test_crc16_spec_test_vector():
    # Redis Cluster spec, "Keys distribution model": output for "123456789" is 31C3.
    assert crc16(b"123456789") == 0x31C3


def test_crc16_edge_values():
    assert crc16(b"") == 0
    assert crc16(b"\x00") == 0
    assert crc16(bytearray(b"123456789")) == 0x31C3
    assert crc16(memoryview(b"123456789")) == 0x31C3


@given(st.binary(max_size=300))
def test_crc16_matches_bitwise_reference(data):
    assert crc16(data) == crc16_bitwise(data)
    assert 0 <= crc16(data) <= 0xFFFF


# --- key_slot: values that Redis itself reports -----------------------------------------------

@pytest.mark.parametrize("key, slot", [
    ("foo", 12182),          # MOVED 12182 for `set foo bar` (redis-cli against a cluster)
    ("bar", 5061),
    ("hello", 866),          # CLUSTER KEYSLOT hello -> 866
    ("somekey", 11058),      # redis.io, CLUSTER KEYSLOT example
    ("foo{hash_tag}", 2515),  # redis.io, CLUSTER KEYSLOT example
    ("bar{hash_tag}", 2515),  # redis.io, CLUSTER KEYSLOT example
    ("{user1}.following", 8106),
    ("8xjx7vWrfPq54mKfFD3Y1CcjjofpnAcQ", 5458),
])
def test_known_redis_slots(key, slot):
    assert key_slot(key) == slot


def test_hash_tags_share_a_slot():
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers")
    assert key_slot("{user1000}.following") == key_slot("user1000")
    assert key_slot("foo{hash_tag}") == key_slot("hash_tag")


def test_hash_tag_rules_of_the_spec():
    # The spec's examples.
    assert hash_key("{user1000}.following") == b"user1000"
    assert hash_key("foo{}{bar}") == b"foo{}{bar}"        # empty first tag: whole key
    assert key_slot("foo{}{bar}") == crc16(b"foo{}{bar}") & 0x3FFF
    assert hash_key("foo{{bar}}zap") == b"{bar"            # first '{', then the first '}'
    assert key_slot("foo{{bar}}zap") == key_slot("{bar")  # "{bar" has no '}': whole key
    assert hash_key("foo{bar}{zap}") == b"bar"             # only the first tag counts
    # No closing brace, or none at all: whole key.
    assert hash_key("foo{bar") == b"foo{bar"
    assert hash_key("}foo{") == b"}foo{"
    assert hash_key("}{x}") == b"x"                        # a '}' before the '{' is ignored
    assert hash_key("") == b""
    assert key_slot("") == 0


def test_unicode_keys_hash_utf8_bytes():
    assert hash_key("é{ü}") == "ü".encode("utf-8")
    assert key_slot("日本") == crc16("日本".encode("utf-8")) % SLOT_COUNT


def test_int_keys_hash_their_decimal_text():
    assert key_slot(7) == key_slot("7")
    assert key_slot(0) == key_slot("0")
    assert key_slot(-12) == key_slot("-12")
    assert key_slot(10 ** 30) == key_slot(str(10 ** 30))


@pytest.mark.parametrize("bad", [True, False, None, 1.0, b"foo", ["foo"], ("a",), {"k": 1}])
def test_other_key_types_raise_type_error(bad):
    with pytest.raises(TypeError):
        key_slot(bad)


@given(st.one_of(st.text(max_size=60), st.integers()))
def test_any_key_has_a_slot_in_range(key):
    slot = key_slot(key)
    assert 0 <= slot < SLOT_COUNT
    text = key if isinstance(key, str) else str(key)
    assert slot == key_hash_slot_spec(text.encode("utf-8"))


@given(st.text(alphabet="ab{}x", max_size=20))
def test_brace_heavy_keys_match_the_spec_transliteration(key):
    assert key_slot(key) == key_hash_slot_spec(key.encode("utf-8"))


@given(st.text(min_size=1, max_size=20).filter(lambda t: "}" not in t),
       st.text(max_size=20).filter(lambda t: "{" not in t), st.text(max_size=20))
def test_keys_with_the_same_tag_share_a_slot(tag, prefix, suffix):
    # prefix has no '{', so the tag is the first; tag has no '}', so its '}' is the first.
    key = f"{prefix}{{{tag}}}{suffix}"
    assert key_slot(key) == key_slot(tag) == key_slot(f"{{{tag}}}")


# --- SlotMap -----------------------------------------------------------------------------------

def test_even_three_groups():
    m = SlotMap.even([1, 2, 3])
    assert m.ranges() == [[0, 5461, 1], [5462, 10922, 2], [10923, 16383, 3]]
    assert m.counts() == {1: 5462, 2: 5461, 3: 5461}
    assert sum(m.counts().values()) == SLOT_COUNT
    assert m.owner(0) == 1 and m.owner(5461) == 1 and m.owner(5462) == 2
    assert m.owner(16383) == 3
    assert m.groups() == [1, 2, 3]


def test_even_follows_the_given_order():
    m = SlotMap.even([7, 2])
    assert m.ranges() == [[0, 8191, 7], [8192, 16383, 2]]
    assert SlotMap.even([5]).ranges() == [[0, 16383, 5]]


@given(st.lists(st.integers(min_value=-5, max_value=10 ** 6), min_size=1, max_size=200,
                unique=True))
@settings(max_examples=60, deadline=None)
def test_even_is_balanced_and_contiguous(groups):
    m = SlotMap.even(groups)
    runs = m.ranges()
    assert [g for _, _, g in runs] == groups          # one run per group, in order
    sizes = [hi - lo + 1 for lo, hi, _ in runs]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)        # the bigger ones first
    assert sum(sizes) == SLOT_COUNT


def test_even_rejects_bad_groups():
    for bad in ([], [1, 1], [True], ["1"], [1.0], list(range(SLOT_COUNT + 1))):
        with pytest.raises(ValueError):
            SlotMap.even(bad)
    assert len(SlotMap.even(range(SLOT_COUNT)).ranges()) == SLOT_COUNT


def test_owner_rejects_bad_slots():
    m = SlotMap.even([1])
    for bad in (-1, SLOT_COUNT, True, "3", 1.0):
        with pytest.raises(ValueError):
            m.owner(bad)


def test_json_round_trip():
    m = SlotMap.even([1, 2, 3]).with_owner(100, 3).with_owner(16383, 1)
    wire = json.loads(json.dumps(m.to_json()))
    assert SlotMap.from_json(wire) == m
    assert SlotMap.from_json(wire).digest() == m.digest()
    assert m.to_json() == [[0, 99, 1], [100, 100, 3], [101, 5461, 1], [5462, 10922, 2],
                           [10923, 16382, 3], [16383, 16383, 1]]


def test_from_json_accepts_any_order_and_unmerged_runs():
    m = SlotMap.from_json([[8192, 16383, 2], [0, 10, 1], [11, 8191, 1]])
    assert m.ranges() == [[0, 8191, 1], [8192, 16383, 2]]
    assert m == SlotMap.even([1, 2])


@pytest.mark.parametrize("bad", [
    None, {}, "0-16383", [],
    [[0, 16382, 1]],                                  # slot 16383 uncovered
    [[1, 16383, 1]],                                  # slot 0 uncovered
    [[0, 100, 1], [102, 16383, 2]],                   # gap
    [[0, 100, 1], [100, 16383, 2]],                   # overlap
    [[0, 16383, 1], [5, 5, 2]],                       # overlap
    [[0, 16384, 1]],                                  # beyond the last slot
    [[-1, 16383, 1]],
    [[10, 5, 1], [0, 16383, 1]],                      # lo > hi
    [[0, 16383]], [[0, 16383, 1, 2]], [0, 16383, 1],
    [[0, 16383, "1"]], [[0.0, 16383, 1]], [[0, 16383, True]], [[0, 16383, None]],
])
def test_from_json_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        SlotMap.from_json(bad)


def test_with_owner_returns_a_new_map():
    m = SlotMap.even([1, 2])
    n = m.with_owner(0, 2)
    assert m.owner(0) == 1 and n.owner(0) == 2
    assert m != n and m.digest() != n.digest()
    assert n.counts() == {2: 8193, 1: 8191}
    assert n.with_owner(0, 1) == m and n.with_owner(0, 1).digest() == m.digest()
    with pytest.raises(ValueError):
        m.with_owner(SLOT_COUNT, 1)
    with pytest.raises(ValueError):
        m.with_owner(0, "2")


def test_ranges_is_a_copy():
    m = SlotMap.even([1, 2])
    m.ranges()[0][2] = 99
    m.to_json().clear()
    assert m.ranges() == [[0, 8191, 1], [8192, 16383, 2]]


def test_equality_and_hash():
    assert SlotMap.even([1, 2, 3]) == SlotMap.even([1, 2, 3])
    assert hash(SlotMap.even([1, 2, 3])) == hash(SlotMap.even([1, 2, 3]))
    assert SlotMap.even([1, 2, 3]) != SlotMap.even([3, 2, 1])
    assert SlotMap.even([1]) != [[0, 16383, 1]]
    assert len({SlotMap.even([1, 2]), SlotMap.even([1, 2]), SlotMap.even([2, 1])}) == 2


def test_constructor_validates():
    with pytest.raises(ValueError):
        SlotMap([1] * (SLOT_COUNT - 1))
    with pytest.raises(ValueError):
        SlotMap([1] * (SLOT_COUNT - 1) + [True])
    assert SlotMap([1] * SLOT_COUNT) == SlotMap.even([1])


def test_digest_is_short_hex_and_pinned():
    d = SlotMap.even([1, 2, 3]).digest()
    assert len(d) == 16 and int(d, 16) >= 0
    # Pinned, so a change of the canonical form (which would split old and new nodes) shows.
    assert d == "96d964bb6ef5778c"


def test_digest_is_the_same_in_another_process():
    code = ("from node.cluster.slots import SlotMap;"
            "print(SlotMap.even([4, 5, 6]).with_owner(9, 6).digest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "123"}, cwd=_repo_root())
    assert out.stdout.strip() == SlotMap.even([4, 5, 6]).with_owner(9, 6).digest()


def _repo_root() -> str:
    import pathlib
    return str(pathlib.Path(__file__).resolve().parent.parent)


@given(st.lists(st.tuples(st.integers(0, SLOT_COUNT - 1), st.integers(1, 4)), max_size=12))
@settings(max_examples=60, deadline=None)
def test_maps_equal_iff_digests_equal(moves):
    base = SlotMap.even([1, 2, 3])
    m = base
    for slot, group in moves:
        m = m.with_owner(slot, group)
    assert (m == base) == (m.digest() == base.digest())
    assert SlotMap.from_json(m.to_json()) == m
    runs = m.ranges()
    assert all(a[2] != b[2] for a, b in zip(runs, runs[1:]))   # merged
    assert sum(m.counts().values()) == SLOT_COUNT
