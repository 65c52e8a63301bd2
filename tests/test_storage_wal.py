"""The file WAL (node/storage/wal.py) and the in-memory disk: recovery returns exactly the
records synced before a crash, never a torn or corrupt one. Real files: a writer subprocess is
SIGKILLed at random points while it writes and syncs; torn and corrupted tails are made by
editing bytes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.storage.memdisk import MemDisk
from node.storage.records import read_records
from node.storage.wal import FileWAL, encode_record

ROOT = Path(__file__).resolve().parent.parent

# The writer: appends numbered records in batches, syncs each batch, then prints the last
# number synced (so the parent knows what must survive). Records carry some bulk so that a
# kill often lands inside a write.
_WRITER = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
from node.storage.wal import FileWAL
wal = FileWAL(sys.argv[1], segment_bytes=int(sys.argv[3]))
start = len(wal.load())
i = start
while True:
    batch = [[i + k, "x" * ((i + k) % 300)] for k in range(1 + i % 7)]
    wal.append(batch)
    wal.sync()
    i += len(batch)
    os.write(1, b"%d\n" % i)
"""


def _numbers(records: list) -> list[int]:
    return [r[0] for r in records]


@pytest.mark.parametrize("seed", range(3))
def test_sigkill_while_writing_recovers_every_synced_record_and_nothing_torn(tmp_path: Path,
                                                                            seed: int) -> None:
    rng = random.Random(seed)
    d = tmp_path / "wal"
    synced = 0
    for _round in range(4):
        p = subprocess.Popen([sys.executable, "-c", _WRITER, str(d), str(ROOT),
                              str(rng.choice([4096, 1 << 20]))],
                             stdout=subprocess.PIPE)
        time.sleep(rng.uniform(0.05, 0.3))
        os.kill(p.pid, signal.SIGKILL)
        out = p.communicate()[0].split()
        p.wait()
        if out:  # (none if killed before its first sync: then the earlier rounds' count)
            synced = int(out[-1])
        records = FileWAL(str(d)).load()
        got = _numbers(records)
        # Every synced record, in order, no gap, and at most one more whole batch (written
        # but not yet reported, or synced just before the kill).
        assert got == list(range(len(got)))
        assert len(got) >= synced
        assert len(got) - synced <= 7
        assert all(r[1] == "x" * (r[0] % 300) for r in records)


def _write(d: Path, n: int, segment_bytes: int = 1 << 20) -> None:
    wal = FileWAL(str(d), segment_bytes=segment_bytes)
    for i in range(n):
        wal.append([[i, "payload" * (i % 5)]])
        wal.sync()
    wal.close()


def test_torn_tail_is_truncated_and_writing_continues(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    _write(d, 50)
    seg = max(d.glob("*.wal"), key=lambda p: p.stat().st_size)
    data = seg.read_bytes()
    last = len(encode_record([49, "payload" * 4]))
    for cut in (1, 5, last - 1):  # inside the header, inside the payload
        seg.write_bytes(data[:len(data) - cut])
        wal = FileWAL(str(d))
        assert _numbers(wal.load()) == list(range(49))
        assert wal.truncated == last - cut
        wal.append([[49, "again"]])
        wal.sync()
        wal.close()
        assert _numbers(FileWAL(str(d)).load()) == list(range(50))
        seg.write_bytes(data)


def test_corrupt_record_drops_it_and_everything_after(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    _write(d, 200, segment_bytes=1000)  # several segments
    segs = sorted(d.glob("*.wal"))
    assert len(segs) > 3
    victim = segs[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    got = _numbers(FileWAL(str(d)).load())
    assert got == list(range(len(got))) and 0 < len(got) < 200
    # The segments after the corrupt one are gone; writing goes on in a fresh one after it.
    assert sorted(p.name for p in d.glob("*.wal")) == [segs[0].name, segs[1].name,
                                                        segs[2].name]
    assert (d / segs[2].name).stat().st_size == 0
    # Recovery is stable: opening again gives the same records.
    assert _numbers(FileWAL(str(d)).load()) == got


def test_garbage_length_field_is_a_torn_tail(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    _write(d, 10)
    seg = max(d.glob("*.wal"), key=lambda p: p.stat().st_size)
    with open(seg, "ab") as f:
        f.write(b"\xff\xff\xff\x7f\x00\x00\x00\x00junk")
    assert _numbers(FileWAL(str(d)).load()) == list(range(10))


def test_rewrite_is_a_checkpoint_and_old_files_go(tmp_path: Path) -> None:
    d = tmp_path / "wal"
    wal = FileWAL(str(d), segment_bytes=500)
    for i in range(100):
        wal.append([[i]])
        wal.sync()
    wal.rewrite([["ckpt"], [1], [2]])
    wal.append([[3]])
    wal.sync()
    wal.close()
    assert FileWAL(str(d)).load() == [["ckpt"], [1], [2], [3]]
    names = sorted(os.listdir(d))
    assert len([n for n in names if n.endswith(".ckpt")]) == 1
    assert not any(n.endswith(".tmp") for n in names)
    # A checkpoint interrupted before its rename leaves the old state whole.
    (d / "99999999.ckpt.tmp").write_bytes(b"half")
    assert FileWAL(str(d)).load() == [["ckpt"], [1], [2], [3]]


def test_memdisk_loses_only_unsynced_records() -> None:
    disk = MemDisk()
    disk.append([[1], [2]])
    disk.sync()
    disk.append([[3], [4], [5]])
    assert disk.load() == [[1], [2], [3], [4], [5]]
    assert disk.crash(lose_unsynced=True) == 3
    assert disk.load() == [[1], [2]]
    disk.append([[3]])
    assert disk.crash(lose_unsynced=False) == 0
    assert disk.load() == [[1], [2], [3]]
    rng = random.Random(4)
    kept = set()
    for _ in range(40):
        d = MemDisk()
        d.append([[1]])
        d.sync()
        d.append([[2], [3], [4]])
        d.crash(True, rng)
        got = d.load()
        assert got == [[1], [2], [3], [4]][:len(got)] and len(got) >= 1
        kept.add(len(got))
    assert kept == {1, 2, 3, 4}  # a prefix of any length may survive


def test_records_replay_skips_bad_records() -> None:
    img = read_records([["boot", "n1", ["n1"], 2], ["g+", 1, ["n1"], [], False],
                        ["e", 1, 1, [[1, "a"], [1, "b"], [1, "c"]]], ["e", 1, 3, [[2, "z"]]],
                        ["h", 1, 2, "n1", 2, False, None], "junk", ["zz"], ["e"],
                        ["s", 1, 2, 1, {"raft_config": {"voters": ["n1"]}}, {"st": 1}, True]])
    assert img.node_id == "n1" and img.incarnation == 2 and img.bad == 3
    g = img.groups[1]
    assert g.snapshot[0] == 2 and g.lo == 3 and g.entries == [[2, "z"]]
    assert g.hard_state == [2, "n1", 2, False, None]
