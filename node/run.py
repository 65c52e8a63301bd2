#!/usr/bin/env python3
"""Maelstrom node binary: newline-delimited JSON on stdin/stdout, structured logs on stderr.

A thin driver around the sans-IO `node.server.Server`: it reads lines, hands them over with the
monotonic clock, writes what comes back, and calls tick() when next_deadline() is due. Standard
library + orjson only (json if orjson is missing). Seed: $FERRITE_SEED, else os.urandom.
$FERRITE_TIMING="name=value,..." overrides timing constants (node/raft/timing.py) for experiments.
The cluster config comes from FERRITE_CLUSTER_* and FERRITE_CONFIG (node/cluster/config.py, the
same function the simulator uses); a bad value stops the node at start with a message on stderr
and exit status 2.

Durability (docs/storage.md): the Raft state goes to a write-ahead log in $FERRITE_DATA_DIR
(created if missing; kept across restarts, so a restarted node recovers from it). Without it
(Jepsen's Maelstrom, which never restarts a node) the log goes to a fresh temporary directory
removed at exit: the same code path, fsync included, with nothing left behind. Each turn's
records are written and fsynced once (group commit) before any of the turn's messages is
written to stdout. $FERRITE_FSYNC=0 skips the fsync, $FERRITE_WAL=off keeps the log in memory
only (benchmark comparisons only: unsafe).
"""

from __future__ import annotations

import os
import selectors
import shutil
import sys
import tempfile
import time

# Runnable by path from any directory: import `node` from the directory above this file.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from node.raft.timing import DEFAULT, from_spec  # noqa: E402
from node.server import ConfigError, Server  # noqa: E402
from node.storage.memdisk import MemDisk  # noqa: E402
from node.storage.wal import FileWAL  # noqa: E402

try:
    import orjson

    def _loads(line: bytes):
        return orjson.loads(line)

    def _dumps(obj) -> bytes:
        return orjson.dumps(obj)

    _DECODE_ERRORS: tuple = (orjson.JSONDecodeError, ValueError)
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    import json

    def _loads(line: bytes):
        return json.loads(line)

    def _dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    _DECODE_ERRORS = (ValueError, UnicodeDecodeError)


def _seed() -> int:
    env = os.environ.get("FERRITE_SEED")
    if env:
        try:
            return int(env)
        except ValueError:
            pass
    return int.from_bytes(os.urandom(8), "little")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def main() -> int:
    err = sys.stderr.buffer
    log_lines: list[bytes] = []

    def log(event: dict) -> None:
        event["t"] = round(time.monotonic(), 4)
        try:
            log_lines.append(_dumps(event) + b"\n")
        except TypeError:
            log_lines.append(repr(event).encode() + b"\n")

    seed = _seed()
    timing = DEFAULT
    spec = os.environ.get("FERRITE_TIMING")
    if spec:
        try:
            timing = from_spec(spec)
        except ValueError as e:
            log({"event": "bad_timing_spec", "error": str(e)})
    try:
        config = Server.configure(os.environ)
    except ConfigError as e:
        err.write(f"ferrite node: bad cluster configuration: {e}\n".encode())
        err.flush()
        return 2
    data_dir = os.environ.get("FERRITE_DATA_DIR") or None
    scratch = None
    if data_dir is None:
        scratch = data_dir = tempfile.mkdtemp(prefix="ferrite-node-")
    try:
        if os.environ.get("FERRITE_WAL") == "off":
            disk = MemDisk()
        else:
            disk = FileWAL(data_dir, fsync=os.environ.get("FERRITE_FSYNC", "1") != "0",
                           log=log)
    except OSError as e:
        err.write(f"ferrite node: cannot open the data directory {data_dir}: {e}\n".encode())
        err.flush()
        return 2
    try:
        return _serve(Server(seed=seed, log=log, timing=timing, disk=disk, **config), seed,
                      log, log_lines)
    finally:
        disk.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _serve(server, seed: int, log, log_lines: list[bytes]) -> int:
    err = sys.stderr.buffer
    log({"event": "start", "seed": seed, "pid": os.getpid()})
    # Hold the disk sync to the end of each turn: one fsync for all the lines read at once.
    hold = getattr(server, "hold_sync", None)
    if hold is not None:
        server.hold_sync = True

    in_fd = sys.stdin.fileno()
    out_fd = sys.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(in_fd, selectors.EVENT_READ)
    pending = b""
    eof = False
    while not eof:
        deadline = server.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        out: list[dict] = []
        if sel.select(timeout):
            chunk = os.read(in_fd, 1 << 16)
            if not chunk:
                eof = True
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop() if not eof else b""
            now = time.monotonic()
            for line in lines:
                if not line.strip():
                    continue
                try:
                    message = _loads(line)
                except _DECODE_ERRORS as e:
                    log({"event": "bad_json", "error": str(e), "line": line[:300].decode("utf-8", "replace")})
                    continue
                out.extend(server.receive(now, message))
        now = time.monotonic()
        deadline = server.next_deadline()
        if deadline is not None and deadline <= now:
            out.extend(server.tick(now))
        if hold is not None:
            server.sync()  # the turn's records are durable before any of its messages leaves
        if out:
            _write_all(out_fd, b"".join(_dumps(m) + b"\n" for m in out))
        if log_lines:
            err.write(b"".join(log_lines))
            err.flush()
            log_lines.clear()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
