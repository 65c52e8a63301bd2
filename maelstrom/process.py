"""Node processes: spawn the binary once per node, move bytes in and out, reap them.

This is the IO half of the process backend. It knows nothing about JSON or the protocol: it
hands the runner complete stdout lines and takes bytes to write to stdin. Writes are buffered
per node and flushed once per runner iteration (one `os.write` per node, not per message);
reads are `os.read` of large chunks split into lines. Nothing here blocks except `poll`, which
waits at most the timeout it is given.

A node's stderr goes straight to its log file (or, with `log_stderr`, through the bench so it
can also be echoed to our stderr).
"""

from __future__ import annotations

import errno
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from maelstrom.errors import BenchError

__all__ = ["resolve_bin", "ProcessHost", "stderr_tail"]

_READ_CHUNK = 1 << 16
_MAX_LINE = 16 << 20  # a node printing more than this without a newline is broken


def resolve_bin(bin_: str) -> str:
    """The absolute path of `bin_` if it is an existing executable file, else a BenchError that
    says what is wrong. A bare name is looked up on PATH, as a shell would."""
    if not bin_:
        raise BenchError("Expected a --bin BINARY to test")
    path = Path(bin_)
    if os.sep not in bin_ and not path.exists():
        found = shutil.which(bin_)
        if found is None:
            raise BenchError(f"--bin {bin_}: no such file, and not found on PATH")
        path = Path(found)
    if not path.exists():
        raise BenchError(f"--bin {bin_}: no such file")
    if path.is_dir():
        raise BenchError(f"--bin {bin_}: is a directory, not an executable")
    if not os.access(path, os.X_OK):
        raise BenchError(f"--bin {bin_}: not executable (try chmod +x {bin_})")
    return str(path.resolve())


def stderr_tail(log_path: Path, max_bytes: int = 2000) -> str:
    """The last `max_bytes` of a node's log, as text ('' if there is none)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class _Node:
    __slots__ = ("id", "proc", "out_fd", "in_fd", "err_fd", "partial", "err_partial",
                 "outbuf", "writing", "alive", "log", "exit_code", "stdin_open")

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.partial = b""
        self.err_partial = b""
        self.outbuf: list[bytes] = []
        self.writing = False
        self.alive = True
        self.stdin_open = True
        self.exit_code: int | None = None


class ProcessHost:
    """Runs one OS process per node id and exchanges newline-delimited lines with them.

    `poll(timeout)` returns `(lines, exits)`: lines as (node_id, bytes without the newline),
    exits as node ids whose stdout closed (the process ended or closed it).
    """

    def __init__(self, bin_path: str, args: list[str], node_ids: list[str], log_dir: Path,
                 log_stderr: bool = False, echo: Callable[[str], None] | None = None) -> None:
        self.bin = bin_path
        self.args = list(args)
        self.node_ids = list(node_ids)
        self.log_dir = Path(log_dir)
        self.log_stderr = log_stderr
        self.echo = echo or (lambda line: print(line, file=sys.stderr))
        self._sel = selectors.DefaultSelector()
        self._nodes: dict[str, _Node] = {}
        self._dirty: list[_Node] = []
        self.overlong: list[tuple[str, bytes]] = []  # (node, first bytes) of runaway lines

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Spawn every node. Raises BenchError if the binary cannot be started at all."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for nid in self.node_ids:
            node = _Node(nid)
            node.log = open(self.log_dir / f"{nid}.log", "wb", buffering=0)
            try:
                node.proc = subprocess.Popen(
                    [self.bin, *self.args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE if self.log_stderr else node.log,
                    bufsize=0, close_fds=True, start_new_session=True)
            except OSError as exc:
                node.log.close()
                self.stop()
                raise BenchError(f"cannot start --bin {self.bin}: {exc.strerror or exc}") from None
            node.out_fd = node.proc.stdout.fileno()
            node.in_fd = node.proc.stdin.fileno()
            os.set_blocking(node.out_fd, False)
            os.set_blocking(node.in_fd, False)
            self._sel.register(node.out_fd, selectors.EVENT_READ, (node, "out"))
            node.err_fd = None
            if self.log_stderr:
                node.err_fd = node.proc.stderr.fileno()
                os.set_blocking(node.err_fd, False)
                self._sel.register(node.err_fd, selectors.EVENT_READ, (node, "err"))
            self._nodes[nid] = node

    def pid(self, node_id: str) -> int | None:
        node = self._nodes.get(node_id)
        return node.proc.pid if node is not None else None

    def exit_code(self, node_id: str) -> int | None:
        node = self._nodes.get(node_id)
        if node is None:
            return None
        if node.exit_code is None:
            node.exit_code = node.proc.poll()
        return node.exit_code

    def log_path(self, node_id: str) -> Path:
        return self.log_dir / f"{node_id}.log"

    def stop(self, grace: float = 1.0) -> dict[str, int | None]:
        """Close every node's stdin, give them `grace` seconds, then SIGTERM and finally SIGKILL
        their process groups. Returns node id -> exit code."""
        nodes = list(self._nodes.values())
        for node in nodes:
            self._close_stdin(node)
        deadline = time.monotonic() + grace
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for node in nodes:
                while node.proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                if node.proc.poll() is None:
                    try:
                        os.killpg(node.proc.pid, sig)
                    except (ProcessLookupError, PermissionError):
                        pass
            deadline = time.monotonic() + grace
        codes = {}
        for node in nodes:
            try:
                node.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            if node.exit_code is None:
                node.exit_code = node.proc.poll()
            codes[node.id] = node.exit_code
            for stream in (node.proc.stdout, node.proc.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            node.log.close()
        try:
            self._sel.close()
        except (OSError, ValueError):
            pass
        return codes

    def _close_stdin(self, node: _Node) -> None:
        if node.stdin_open:
            node.stdin_open = False
            if node.writing:
                self._sel.unregister(node.in_fd)
                node.writing = False
            try:
                node.proc.stdin.close()
            except OSError:
                pass

    # -- traffic -------------------------------------------------------------------------
    def send(self, node_id: str, data: bytes) -> None:
        """Queue bytes (complete lines, newline included) for a node's stdin."""
        node = self._nodes.get(node_id)
        if node is None or not node.stdin_open:
            return
        if not node.outbuf and not node.writing:
            self._dirty.append(node)
        node.outbuf.append(data)

    def flush(self) -> None:
        """Write queued bytes without blocking; leftovers wait for the pipe to drain."""
        dirty, self._dirty = self._dirty, []
        for node in dirty:
            if not node.writing:
                self._write(node)

    def _write(self, node: _Node) -> None:
        if not node.stdin_open:
            node.outbuf.clear()
            return
        data = b"".join(node.outbuf) if len(node.outbuf) > 1 else node.outbuf[0]
        node.outbuf.clear()
        try:
            n = os.write(node.in_fd, data)
        except BlockingIOError:
            n = 0
        except (BrokenPipeError, OSError):
            # the node stopped reading (it exited or closed stdin): its messages are lost
            self._close_stdin(node)
            return
        if n < len(data):
            node.outbuf.append(data[n:])
            if not node.writing:
                self._sel.register(node.in_fd, selectors.EVENT_WRITE, (node, "in"))
                node.writing = True
        elif node.writing:
            self._sel.unregister(node.in_fd)
            node.writing = False

    def poll(self, timeout: float) -> tuple[list[tuple[str, bytes]], list[str]]:
        """Wait up to `timeout` seconds for output; return complete lines and closed nodes."""
        lines: list[tuple[str, bytes]] = []
        exits: list[str] = []
        try:
            events = self._sel.select(max(0.0, timeout))
        except InterruptedError:
            return lines, exits
        for key, _ in events:
            node, what = key.data
            if what == "in":
                if node.outbuf:
                    self._write(node)
                continue
            fd = key.fd
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                continue
            except OSError as exc:
                chunk = b"" if exc.errno != errno.EINTR else None
                if chunk is None:
                    continue
            if what == "err":
                if chunk:
                    self._stderr(node, chunk)
                else:
                    self._sel.unregister(fd)
                continue
            if not chunk:
                self._sel.unregister(fd)
                node.alive = False
                if node.partial:
                    lines.append((node.id, node.partial))
                    node.partial = b""
                self._close_stdin(node)
                exits.append(node.id)
                continue
            if node.partial:
                chunk = node.partial + chunk
            parts = chunk.split(b"\n")
            node.partial = parts.pop()
            if len(node.partial) > _MAX_LINE:
                self.overlong.append((node.id, node.partial[:200]))
                node.partial = b""
            nid = node.id
            for line in parts:
                lines.append((nid, line))
        return lines, exits

    def _stderr(self, node: _Node, chunk: bytes) -> None:
        node.log.write(chunk)
        data = node.err_partial + chunk
        parts = data.split(b"\n")
        node.err_partial = parts.pop()[-_READ_CHUNK:]
        for line in parts:
            self.echo(f"{node.id} stderr: {line.decode('utf-8', 'replace')}")
