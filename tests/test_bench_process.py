"""ProcessHost: node exits seen when they happen, process groups always stopped, output read
while stopping kept. Small shell scripts stand in for nodes; every wait is on an event or a
deadline, never a bare sleep."""

from __future__ import annotations

import os
import select
import signal
import time

import pytest

from maelstrom.hosts.process import ProcessHost


def _dead(pid: int, within: float = 10.0) -> bool:
    """True once the process has exited (waited for through a pidfd, at most `within` s)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], within)[0])
    finally:
        os.close(fd)


def host_for(tmp_path, script: str, nodes=("n0",)) -> ProcessHost:
    host = ProcessHost("/bin/sh", ["-c", script], list(nodes), tmp_path / "logs")
    host.start()
    return host


def poll_until(host, done, seconds=10.0):
    """Poll until done(lines, ends) says so; returns everything polled."""
    lines, ends = [], []
    deadline = time.monotonic() + seconds
    while not done(lines, ends):
        assert time.monotonic() < deadline, (lines, ends)
        got, ended = host.poll(0.1)
        lines += got
        ends += ended
    return lines, ends


def test_exit_is_seen_while_a_child_holds_stdout_and_the_child_is_stopped(tmp_path):
    host = host_for(tmp_path, "sleep 600 & echo $!; exit 3")
    lines, ends = poll_until(host, lambda lines, ends: ends)
    assert ends == ["n0"] and host.run_exit_code("n0") == 3
    child = int(lines[0][1])
    assert not _dead(child, within=0)
    host.stop(grace=0.5)
    assert _dead(child)
    assert host.held_open == []


def test_a_group_is_stopped_even_when_the_node_exits_cleanly(tmp_path):
    # the node exits when its stdin closes, its child does not
    host = host_for(tmp_path, "sleep 600 & echo $!; read line; exit 0")
    lines, _ = poll_until(host, lambda lines, ends: lines)
    child = int(lines[0][1])
    codes = host.stop(grace=0.5)
    assert codes == {"n0": 0} and _dead(child)


def test_an_end_no_poll_saw_and_the_output_written_while_stopping_are_kept(tmp_path):
    host = host_for(tmp_path, "exit 7", nodes=["n0"])
    node_proc = host._nodes["n0"].proc
    node_proc.wait(timeout=10)  # it has ended; no poll() has said so
    other = host_for(tmp_path / "b", "read line; echo bye; printf 'no newline'; exit 0")
    host.stop(grace=0.5)
    assert host.unread() == ([], ["n0"]) and host.run_exit_code("n0") == 7
    other.stop(grace=0.5)
    assert other.unread() == ([("n0", b"bye"), ("n0", b"no newline")], [])
    assert other.run_exit_code("n0") is None  # it ended because we stopped it


def test_stdout_held_by_a_process_outside_the_group_is_reported(tmp_path):
    if not os.path.exists("/usr/bin/setsid") and not os.path.exists("/bin/setsid"):
        pytest.skip("no setsid")
    host = host_for(tmp_path, "setsid sh -c 'echo $$; exec sleep 600' & wait")
    lines, _ = poll_until(host, lambda lines, ends: lines)
    escaped = int(lines[0][1])
    try:
        host.stop(grace=0.3)
        assert host.held_open == ["n0"]
    finally:
        os.kill(escaped, signal.SIGKILL)
