"""The file backend: a segmented, checksummed write-ahead log with fsync (node/run.py).

Layout of the data directory (docs/storage.md):

  00000001.wal, 00000002.wal, ...   segments of records, appended in order
  00000007.ckpt                     a checkpoint: the whole state, written by rewrite()
  *.tmp                             a checkpoint being written (ignored and removed at start)

A record on disk is `length (u32 LE) | crc32 of the payload (u32 LE) | payload`, the payload
being the record as compact JSON. Recovery (`FileWAL(dir)`) reads the newest checkpoint, then
every segment numbered after it, in order; at the first record that is short, fails its
checksum or is not JSON, it stops: that segment is truncated there and any later segment
removed. A torn or corrupt tail is thus never half-read, and every record synced before it is
recovered (a sync writes and fsyncs whole records in order, so a crash can tear only records
written after the last completed sync).

Writes: `append()` only encodes into a buffer; `sync()` writes the buffer with one write and
one fsync (group commit: the driver syncs once per turn, for every group's records). A segment
that grows past `segment_bytes` is closed and a new one started after a sync. `rewrite()`
writes a checkpoint to a temporary file, fsyncs it, renames it into place, fsyncs the
directory, and only then deletes the older files: a crash at any point leaves either the old
files or the new checkpoint, both whole.

`fsync=False` (FERRITE_FSYNC=0) writes without fsync: for the benchmark's comparison only.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

try:
    import orjson

    def _encode(record: Any) -> bytes:
        return orjson.dumps(record)

    def _decode(payload: bytes) -> Any:
        return orjson.loads(payload)
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    import json

    def _encode(record: Any) -> bytes:
        return json.dumps(record, separators=(",", ":")).encode()

    def _decode(payload: bytes) -> Any:
        return json.loads(payload)

__all__ = ["FileWAL", "encode_record", "SEGMENT_BYTES"]

SEGMENT_BYTES = 16 << 20
_HEADER = struct.Struct("<II")
# A record longer than this is taken for garbage (a corrupt length field), not allocated.
_MAX_RECORD = 1 << 30


def encode_record(record: Any) -> bytes:
    """One record in its on-disk framing."""
    payload = _encode(record)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def _read_records(data: bytes) -> tuple[list[Any], int]:
    """The whole records at the start of `data` and the byte offset where they end."""
    out: list[Any] = []
    pos = 0
    size = len(data)
    hsize = _HEADER.size
    while pos + hsize <= size:
        length, crc = _HEADER.unpack_from(data, pos)
        end = pos + hsize + length
        if length > _MAX_RECORD or end > size:
            break
        payload = data[pos + hsize:end]
        if zlib.crc32(payload) != crc:
            break
        try:
            record = _decode(payload)
        except ValueError:
            break
        out.append(record)
        pos = end
    return out, pos


class FileWAL:
    """One node's write-ahead log in directory `path` (created if missing)."""

    def __init__(self, path: str, *, fsync: bool = True, segment_bytes: int = SEGMENT_BYTES,
                 log: Any = None) -> None:
        self.path = path
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self._log = log
        self._buf: list[bytes] = []
        self.bytes_written = 0
        self.syncs = 0
        self.truncated = 0       # bytes of torn or corrupt tail dropped at start
        os.makedirs(path, exist_ok=True)
        self._recovered, self._seg_no = self._recover()
        self._fd = -1
        self._seg_size = 0
        self._open_segment(self._seg_no)

    # -- recovery ------------------------------------------------------------------------------
    def _files(self) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        ckpts, segs = [], []
        for name in os.listdir(self.path):
            stem, dot, ext = name.partition(".")
            if ext == "tmp" or name.endswith(".tmp"):
                os.unlink(os.path.join(self.path, name))
            elif stem.isdigit() and ext in ("wal", "ckpt"):
                (segs if ext == "wal" else ckpts).append((int(stem), name))
        return sorted(ckpts), sorted(segs)

    def _recover(self) -> tuple[list[Any], int]:
        ckpts, segs = self._files()
        records: list[Any] = []
        base = 0
        if ckpts:
            base, name = ckpts[-1]
            data = self._read(name)
            got, end = _read_records(data)
            if end != len(data):  # cannot happen short of disk corruption: it was renamed whole
                self._event({"event": "wal_bad_checkpoint", "file": name, "at": end})
            records.extend(got)
            for _, old in ckpts[:-1]:
                self._unlink(old)
        last = base
        broken = False
        for no, name in segs:
            if no <= base or broken:
                self._unlink(name)  # older than the checkpoint, or after a torn record
                continue
            data = self._read(name)
            got, end = _read_records(data)
            records.extend(got)
            last = no
            if end != len(data):
                broken = True
                self.truncated += len(data) - end
                self._event({"event": "wal_truncated", "file": name, "at": end,
                             "dropped_bytes": len(data) - end})
                with open(os.path.join(self.path, name), "r+b") as f:
                    f.truncate(end)
                    if self.fsync:
                        os.fsync(f.fileno())
        return records, last + 1

    def _read(self, name: str) -> bytes:
        with open(os.path.join(self.path, name), "rb") as f:
            return f.read()

    def _unlink(self, name: str) -> None:
        try:
            os.unlink(os.path.join(self.path, name))
        except FileNotFoundError:
            pass

    # -- the storage interface (node/storage/__init__.py) --------------------------------------
    def load(self) -> list[Any]:
        """The records recovered at start (call before the first append)."""
        return list(self._recovered)

    def append(self, records: list[Any]) -> None:
        self._buf.extend(map(encode_record, records))

    def sync(self) -> None:
        if not self._buf:
            return
        data = b"".join(self._buf)
        self._buf = []
        _write_all(self._fd, data)
        if self.fsync:
            os.fsync(self._fd)
        self.bytes_written += len(data)
        self._seg_size += len(data)
        self.syncs += 1
        if self._seg_size >= self.segment_bytes:
            self._open_segment(self._seg_no + 1)

    def rewrite(self, records: list[Any]) -> None:
        """Replace the log with a checkpoint holding `records` (see the module docstring)."""
        self._buf = []
        no = self._seg_no + 1
        name = f"{no:08d}.ckpt"
        tmp = os.path.join(self.path, name + ".tmp")
        data = b"".join(map(encode_record, records))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(self.path, name))
        self._sync_dir()
        self.bytes_written += len(data)
        ckpts, segs = self._files()
        for n, old in ckpts + segs:
            if n < no:
                self._unlink(old)
        self._open_segment(no + 1)

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1

    # -- plumbing ------------------------------------------------------------------------------
    def _open_segment(self, no: int) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._seg_no = no
        path = os.path.join(self.path, f"{no:08d}.wal")
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._seg_size = os.fstat(self._fd).st_size
        self._sync_dir()

    def _sync_dir(self) -> None:
        if not self.fsync:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _event(self, event: dict) -> None:
        if self._log is not None:
            self._log(event)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
