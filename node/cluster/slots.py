"""Keys, hash slots and the slot map, exactly as Redis Cluster distributes keys.

Rules (the Redis Cluster specification, "Keys distribution model" and "Hash tags"):

- There are `SLOT_COUNT` = 16384 slots. A key's slot is CRC16(key) mod 16384 (the low 14 bits).
- CRC16 is the XMODEM variant: polynomial 0x1021, initial value 0, input and output not
  reflected, no final XOR; `crc16(b"123456789") == 0x31C3`. Table-driven; the table is built
  once, at import.
- Hash tags, as the spec's keyHashSlot: find the first '{'; if there is none, hash the whole key.
  Otherwise find the first '}' after it; if there is none, or nothing lies between the two
  ('{}'), hash the whole key; else hash only the bytes between them. So "{user1000}.following"
  and "{user1000}.followers" share a slot, "foo{}{bar}" hashes the whole key and
  "foo{{bar}}zap" hashes "{bar".
- Which keys: a `str` is hashed on its UTF-8 bytes; an `int` (lin-kv's keys; not `bool`) on its
  decimal text, `str(key)`, so 7 and "7" share a slot. Anything else is a TypeError. ('{' and
  '}' are single bytes in UTF-8 and never occur inside a multi-byte character, so searching the
  bytes is the same as searching the text.)

`SlotMap` says which shard group (an int id) owns each slot. It is a value: it never changes
after construction; `with_owner` returns a new map. Its JSON form is the list of merged runs
`[[lo, hi, group], ...]` in slot order (inclusive bounds); `digest()` is the first 16 hex digits of
SHA-256 over that list's canonical JSON text, so equal maps have equal digests in every process
and different maps differ except with probability about 2**-64.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

__all__ = ["SLOT_COUNT", "crc16", "hash_key", "key_slot", "SlotMap"]

SLOT_COUNT = 16384
_SLOT_MASK = SLOT_COUNT - 1  # 0x3FFF: 16384 is a power of two, so mod is a mask
_POLY = 0x1021


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
        table.append(crc)
    return tuple(table)


_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC16/XMODEM of `data` (bytes-like), as the Redis Cluster spec defines it."""
    crc = 0
    table = _TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ byte]
    return crc


def hash_key(key: str | int) -> bytes:
    """The bytes of `key` that decide its slot: the hash tag's content if it has one, else all."""
    if isinstance(key, str):
        data = key.encode("utf-8")
    elif isinstance(key, int) and not isinstance(key, bool):
        data = str(key).encode("ascii")
    else:
        raise TypeError(f"a key is a str or an int, not {type(key).__name__}: {key!r}")
    start = data.find(b"{")
    if start < 0:
        return data
    end = data.find(b"}", start + 1)
    if end < 0 or end == start + 1:
        return data
    return data[start + 1:end]


def key_slot(key: str | int) -> int:
    """The slot of `key` (0 <= slot < 16384), hash tags honoured."""
    return crc16(hash_key(key)) & _SLOT_MASK


def _check_int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what} must be an int, not {type(value).__name__}: {value!r}")
    return value


def _check_slot(slot: Any) -> int:
    _check_int(slot, "a slot")
    if not 0 <= slot < SLOT_COUNT:
        raise ValueError(f"slot {slot} is out of range 0..{SLOT_COUNT - 1}")
    return slot


class SlotMap:
    """The owner (a shard group id) of each of the 16384 slots. Immutable; compare with ==."""

    __slots__ = ("_owners", "_ranges", "_digest", "_hash")

    def __init__(self, owners: Iterable[int]) -> None:
        """A map from one owner per slot, in slot order (16384 ints). Prefer `even`/`from_json`."""
        owners = tuple(owners)
        if len(owners) != SLOT_COUNT:
            raise ValueError(f"a slot map needs {SLOT_COUNT} owners, got {len(owners)}")
        if set(map(type, owners)) != {int}:
            bad = next(g for g in owners if type(g) is not int)
            raise ValueError(f"a group id must be an int, not {type(bad).__name__}: {bad!r}")
        self._owners: tuple[int, ...] = owners
        self._ranges: list[list[int]] | None = None
        self._digest: str | None = None
        self._hash: int | None = None

    @classmethod
    def even(cls, group_ids: Iterable[int]) -> SlotMap:
        """Contiguous ranges in the order of `group_ids`, sizes differing by at most 1 (the
        first SLOT_COUNT % len(groups) groups get one slot more): 3 groups -> 5462/5461/5461."""
        groups = list(group_ids)
        if not groups:
            raise ValueError("SlotMap.even needs at least one group")
        for group in groups:
            _check_int(group, "a group id")
        if len(set(groups)) != len(groups):
            raise ValueError(f"group ids repeat: {groups}")
        if len(groups) > SLOT_COUNT:
            raise ValueError(f"{len(groups)} groups cannot each own a slot of {SLOT_COUNT}")
        base, extra = divmod(SLOT_COUNT, len(groups))
        owners: list[int] = []
        for index, group in enumerate(groups):
            owners.extend([group] * (base + (1 if index < extra else 0)))
        return cls(owners)

    def owner(self, slot: int) -> int:
        """The group that owns `slot`."""
        return self._owners[_check_slot(slot)]

    def ranges(self) -> list[list[int]]:
        """Merged contiguous runs `[lo, hi, group]` (inclusive), in slot order (a fresh list)."""
        if self._ranges is None:
            runs: list[list[int]] = []
            owners = self._owners
            lo = 0
            for slot in range(1, SLOT_COUNT + 1):
                if slot == SLOT_COUNT or owners[slot] != owners[lo]:
                    runs.append([lo, slot - 1, owners[lo]])
                    lo = slot
            self._ranges = runs
        return [list(run) for run in self._ranges]

    def counts(self) -> dict[int, int]:
        """How many slots each group owns (groups in order of their first slot)."""
        counts: dict[int, int] = {}
        for lo, hi, group in self.ranges():
            counts[group] = counts.get(group, 0) + hi - lo + 1
        return counts

    def groups(self) -> list[int]:
        """The groups that own at least one slot, ascending."""
        return sorted(set(self._owners))

    def to_json(self) -> list[list[int]]:
        """The JSON form: `ranges()`."""
        return self.ranges()

    @classmethod
    def from_json(cls, ranges: Any) -> SlotMap:
        """A map from `[[lo, hi, group], ...]` (any order) that covers 0..16383 exactly once with
        int bounds and int group ids; anything else is a ValueError."""
        if not isinstance(ranges, (list, tuple)):
            raise ValueError(f"slot ranges must be a list, not {type(ranges).__name__}")
        runs = []
        for run in ranges:
            if not isinstance(run, (list, tuple)) or len(run) != 3:
                raise ValueError(f"a slot range is [lo, hi, group], not {run!r}")
            lo, hi, group = (_check_int(v, "a slot range's field") for v in run)
            if not 0 <= lo <= hi < SLOT_COUNT:
                raise ValueError(f"bad slot range {list(run)!r}: need 0 <= lo <= hi <= {SLOT_COUNT - 1}")
            runs.append((lo, hi, group))
        runs.sort()
        owners: list[int] = []
        for lo, hi, group in runs:
            if lo != len(owners):
                problem = "overlaps" if lo < len(owners) else "leaves a gap before"
                raise ValueError(f"slot range {[lo, hi, group]!r} {problem} slot {len(owners)}")
            owners.extend([group] * (hi - lo + 1))
        if len(owners) != SLOT_COUNT:
            raise ValueError(f"slot ranges cover 0..{len(owners) - 1}, not 0..{SLOT_COUNT - 1}")
        return cls(owners)

    def with_owner(self, slot: int, group: int) -> SlotMap:
        """A new map in which `group` owns `slot`; this map is unchanged."""
        _check_slot(slot)
        _check_int(group, "a group id")
        owners = list(self._owners)
        owners[slot] = group
        return SlotMap(owners)

    def digest(self) -> str:
        """16 hex digits of SHA-256 over the canonical JSON text of `ranges()`."""
        if self._digest is None:
            text = json.dumps(self.ranges(), separators=(",", ":"))
            self._digest = hashlib.sha256(text.encode("ascii")).hexdigest()[:16]
        return self._digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SlotMap):
            return NotImplemented
        return self is other or self._owners == other._owners

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._owners)
        return self._hash

    def __repr__(self) -> str:
        runs = self.ranges()
        shown = ", ".join(f"{lo}-{hi}:{group}" for lo, hi, group in runs[:8])
        more = f", ... ({len(runs)} runs)" if len(runs) > 8 else ""
        return f"SlotMap({shown}{more})"
