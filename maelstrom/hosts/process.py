"""Node processes: spawn the binary once per node, move bytes in and out, reap them.

This is the IO half of the process backend. It knows nothing about JSON or the protocol: it
hands the runner complete stdout lines and takes bytes to write to stdin. Writes are buffered
per node and flushed once per runner iteration (one `os.write` per node, not per message);
reads are `os.read` of large chunks split into lines. Nothing here blocks except `poll`, which
waits at most the timeout it is given.

A node's stderr goes straight to its log file (or, with `log_stderr`, through the bench so it
can also be echoed to our stderr).

Each node runs in a session (and process group) of its own. A node has ended when its process
exits (seen at once through a pidfd, where Linux has them) or when its stdout closes, whichever
comes first: a child that inherited stdout and keeps it open does not hide the node's exit.
`stop()` closes every stdin, reads what the nodes still write, then signals every node's whole
process group, SIGTERM and then SIGKILL, whether or not the node itself has exited, so no child
outlives the test; output read while stopping is kept for `unread()`, not dropped.

Faults (the nemesis): `pause`/`resume` send the node's process group SIGSTOP/SIGCONT (what it
is sent waits in its stdin pipe, then in our buffer). `kill` sends the group SIGKILL, reaps it
and reads what it had written to stdout before dying (complete lines are passed on at the next
poll, as messages already sent; a torn last line is dropped); its end is not reported as a
fault. `restart` starts a fresh process with the same node id, environment and data directory
(`$FERRITE_DATA_DIR`: `<data_dir>/<node>`, made at start and kept across restarts), its
stderr appended to the same log after a line saying so.
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
_EXIT_LAG = 0.25  # seconds stop() waits for a node whose stdout closed to exit by itself


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
                 "outbuf", "writing", "alive", "log", "exit_code", "stdin_open", "pidfd",
                 "run_exit", "ended", "err_open", "down", "paused")

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.partial = b""
        self.err_partial = b""
        self.outbuf: list[bytes] = []
        self.writing = False
        self.alive = True       # stdout still open
        self.err_open = False   # stderr read through the bench and still open
        self.stdin_open = True
        self.exit_code: int | None = None
        self.pidfd: int | None = None   # readable once the process has exited
        self.run_exit: int | None = None  # exit status, if the process ended before stop()
        self.ended = False      # reported to the runner as ended (once)
        self.down = False       # killed by the nemesis (and not restarted yet)
        self.paused = False     # stopped by the nemesis (SIGSTOP)


class ProcessHost:
    """Runs one OS process per node id and exchanges newline-delimited lines with them.

    `poll(timeout)` returns `(lines, exits)`: lines as (node_id, bytes without the newline),
    exits as node ids whose stdout closed (the process ended or closed it).
    """

    def __init__(self, bin_path: str, args: list[str], node_ids: list[str], log_dir: Path,
                 log_stderr: bool = False, echo: Callable[[str], None] | None = None,
                 env: dict[str, str] | None = None, data_dir: Path | None = None) -> None:
        self.bin = bin_path
        self.env = env  # the nodes' environment (None: ours)
        # Each node's $FERRITE_DATA_DIR is data_dir/<node> (None: not set)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._killed_lines: list[tuple[str, bytes]] = []  # written before a kill, not yet polled
        self.restarts: dict[str, int] = {}
        self.args = list(args)
        self.node_ids = list(node_ids)
        self.log_dir = Path(log_dir)
        self.log_stderr = log_stderr
        self.echo = echo or (lambda line: print(line, file=sys.stderr))
        self._sel = selectors.DefaultSelector()
        self._nodes: dict[str, _Node] = {}
        self._dirty: list[_Node] = []
        self.overlong: list[tuple[str, bytes]] = []  # (node, first bytes) of runaway lines
        self._stopping = False
        self._next_reap = 0.0  # without pidfds: when poll() next asks whether processes exited
        self._unread: list[tuple[str, bytes]] = []  # lines read while stopping
        self._unread_ends: list[str] = []  # nodes that had ended, unreported, when stop() began
        self.held_open: list[str] = []  # nodes whose stdout outlived their killed process group

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Spawn every node. Raises BenchError if the binary cannot be started at all."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for nid in self.node_ids:
            node = _Node(nid)
            node.log = open(self.log_dir / f"{nid}.log", "wb", buffering=0)
            if self.data_dir is not None:
                (self.data_dir / nid).mkdir(parents=True, exist_ok=True)
            try:
                self._spawn(node)
            except OSError as exc:
                node.log.close()
                self.stop()
                raise BenchError(f"cannot start --bin {self.bin}: {exc.strerror or exc}") from None
            self._nodes[nid] = node

    def _spawn(self, node: _Node) -> None:
        env = self.env
        if self.data_dir is not None:
            env = dict(os.environ if env is None else env,
                       FERRITE_DATA_DIR=str(self.data_dir / node.id))
        node.proc = subprocess.Popen(
            [self.bin, *self.args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if self.log_stderr else node.log,
            bufsize=0, close_fds=True, start_new_session=True, env=env)
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
            node.err_open = True
        try:
            node.pidfd = os.pidfd_open(node.proc.pid)
            self._sel.register(node.pidfd, selectors.EVENT_READ, (node, "exit"))
        except (AttributeError, OSError):
            node.pidfd = None  # no pidfds here: poll() asks now and then instead

    # -- faults --------------------------------------------------------------------------
    def pause(self, node_id: str) -> None:
        """SIGSTOP the node's process group; returns once the node's process has stopped."""
        node = self._nodes.get(node_id)
        if node is not None and not node.down and self._signal(node, signal.SIGSTOP):
            node.paused = True
            try:  # until it has stopped (or exited), without reaping it: a pause is applied
                os.waitid(os.P_PID, node.proc.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
            except (ChildProcessError, OSError):
                pass

    def resume(self, node_id: str) -> None:
        """SIGCONT the node's process group."""
        node = self._nodes.get(node_id)
        if node is not None and node.paused:
            node.paused = False
            self._signal(node, signal.SIGCONT)

    def _signal(self, node: _Node, sig: int) -> bool:
        try:
            os.killpg(node.proc.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def kill(self, node_id: str) -> bool:
        """SIGKILL the node's process group and reap it; the lines it had written are passed
        on at the next poll. Its end is not reported. False if it was already down."""
        node = self._nodes.get(node_id)
        if node is None or node.down:
            return False
        pid = node.proc.pid
        self._signal(node, signal.SIGKILL)
        try:
            node.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass  # unkillable (a zombie's parent?): treated as gone all the same
        node.down = True
        node.paused = False
        node.ended = True  # never reported as a fault: we did it
        node.run_exit = None
        self._close_stdin(node)
        node.outbuf.clear()
        if node.pidfd is not None:
            self._sel.unregister(node.pidfd)
            os.close(node.pidfd)
            node.pidfd = None
        if node.alive:
            self._sel.unregister(node.out_fd)
            node.alive = False
            self._drain_dead(node)
        if node.err_open:
            self._sel.unregister(node.err_fd)
            node.err_open = False
            try:
                while chunk := os.read(node.err_fd, _READ_CHUNK):
                    self._stderr(node, chunk)
            except OSError:
                pass
        node.log.write(f"=== maelstrom: {node_id} killed (SIGKILL, pid {pid}) ===\n".encode())
        return True

    def _drain_dead(self, node: _Node) -> None:
        """Read what a killed node left in its stdout pipe: complete lines only."""
        data = node.partial
        node.partial = b""
        try:
            while True:
                chunk = os.read(node.out_fd, _READ_CHUNK)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass  # BlockingIOError: a process outside the group holds the pipe; stop here
        lines = data.split(b"\n")
        lines.pop()  # a torn last line (or b""): never completely sent
        self._killed_lines.extend((node.id, line) for line in lines)

    def restart(self, node_id: str) -> bool:
        """Start a killed node again: a fresh process, same id, environment and data
        directory, its stderr appended to the same log. False if it was not down. Raises
        BenchError if the binary cannot be started."""
        old = self._nodes.get(node_id)
        if old is None or not old.down:
            return False
        for stream in (old.proc.stdout, old.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        node = _Node(node_id)
        node.log = old.log
        try:
            self._spawn(node)
        except OSError as exc:
            raise BenchError(f"cannot restart --bin {self.bin}: {exc.strerror or exc}") from None
        self.restarts[node_id] = self.restarts.get(node_id, 0) + 1
        node.log.write(f"=== maelstrom: {node_id} restarted (pid {node.proc.pid}) ===\n"
                       .encode())
        self._nodes[node_id] = node
        return True

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

    def run_exit_code(self, node_id: str) -> int | None:
        """The exit status of a node whose process ended before stop() (None: it was still
        running when the test stopped, e.g. it only closed its stdout)."""
        node = self._nodes.get(node_id)
        return node.run_exit if node is not None else None

    def log_path(self, node_id: str) -> Path:
        return self.log_dir / f"{node_id}.log"

    def unread(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """After stop(): the lines nodes wrote that no poll() returned (read while stopping,
        a last line without a newline included), and the nodes that had ended before stop()
        without a poll() saying so."""
        lines, self._unread = self._unread, []
        ends, self._unread_ends = self._unread_ends, []
        return lines, ends

    def stop(self, grace: float = 1.0) -> dict[str, int | None]:
        """Close every node's stdin and read what they still write (up to `grace` seconds for
        them to exit), then SIGTERM and, `grace` later, SIGKILL every node's process group,
        always. Returns node id -> exit code; the output read meanwhile is in `unread()`."""
        nodes = list(self._nodes.values())
        self._stopping = True
        for node in nodes:  # a stopped process would not read its closed stdin or exit
            self.resume(node.id)
        # A process whose stdout has closed is usually exiting: its status may lag the pipe's
        # end by a moment. Wait for it (briefly) before closing stdin, so that a node that died
        # on its own is an exit with its status, not a process we stopped.
        deadline = time.monotonic() + min(grace, _EXIT_LAG)
        for node in nodes:
            if not node.alive and node.run_exit is None:
                try:
                    node.run_exit = node.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass  # still running with its stdout closed
        for node in nodes:  # ends no poll() has seen yet are still the run's
            code = node.proc.poll()
            if code is not None and node.run_exit is None:
                node.run_exit = code
            if not node.ended and (code is not None or not node.alive):
                node.ended = True
                self._unread_ends.append(node.id)
        for node in nodes:
            self._close_stdin(node)
        self._drain(nodes, grace)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for node in nodes:
                try:
                    os.killpg(node.proc.pid, sig)  # the group: the node and every child
                except (ProcessLookupError, PermissionError):
                    pass  # nobody left in it
            self._drain(nodes, grace)
        codes = {}
        for node in nodes:
            if node.alive:  # a process outside the group (a new session) holds the pipe
                self.held_open.append(node.id)
                if node.partial:
                    self._unread.append((node.id, node.partial))
                    node.partial = b""
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
            if node.pidfd is not None:
                os.close(node.pidfd)
                node.pidfd = None
            node.log.close()
        try:
            self._sel.close()
        except (OSError, ValueError):
            pass
        return codes

    def _drain(self, nodes: list[_Node], timeout: float) -> None:
        """While stopping: read output until every stdout is closed and every process has
        exited, or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while any(n.alive or n.err_open or n.proc.poll() is None for n in nodes):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            lines, _ = self.poll(min(left, 0.05))
            self._unread.extend(lines)

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
        """Wait up to `timeout` seconds for output; return complete lines and the nodes that
        ended (process exited or stdout closed), each node once."""
        lines: list[tuple[str, bytes]] = []
        exits: list[str] = []
        if self._killed_lines:
            lines, self._killed_lines = self._killed_lines, []
            timeout = 0.0
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
            if what == "exit":
                self._sel.unregister(fd)
                os.close(fd)
                node.pidfd = None
                self._exited(node, exits)
                continue
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
                    node.err_open = False
                continue
            if not chunk:
                self._sel.unregister(fd)
                node.alive = False
                if node.partial:
                    lines.append((node.id, node.partial))
                    node.partial = b""
                self._close_stdin(node)
                self._ended(node, exits)
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
        now = time.monotonic()
        if now >= self._next_reap:  # processes without a pidfd: ask whether they exited
            self._next_reap = now + 0.1
            for node in self._nodes.values():
                if node.pidfd is None and node.run_exit is None and not node.ended \
                        and node.proc.poll() is not None:
                    self._exited(node, exits)
        return lines, exits

    def _exited(self, node: _Node, exits: list[str]) -> None:
        """The node's process exited (its stdout may still be open: a child can hold it)."""
        code = node.proc.poll()
        if not self._stopping and node.run_exit is None:
            node.run_exit = code
        self._close_stdin(node)
        self._ended(node, exits)

    def _ended(self, node: _Node, exits: list[str]) -> None:
        if not node.ended and not self._stopping:
            node.ended = True
            exits.append(node.id)

    def _stderr(self, node: _Node, chunk: bytes) -> None:
        node.log.write(chunk)
        data = node.err_partial + chunk
        parts = data.split(b"\n")
        node.err_partial = parts.pop()[-_READ_CHUNK:]
        for line in parts:
            self.echo(f"{node.id} stderr: {line.decode('utf-8', 'replace')}")
