"""node/run.py as Maelstrom runs it: a subprocess speaking newline-delimited JSON.

Every kind of bad input gets the right answer (12 malformed, 10 unknown type, nothing for
non-JSON lines) and the node keeps serving afterwards.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "node" / "run.py"


class NodeProcess:
    """A running node/run.py with line-level send and receive."""

    def __init__(self, cwd: str) -> None:
        env = dict(os.environ, FERRITE_SEED="7")
        # Started by path from a foreign cwd, as Maelstrom does.
        self.proc = subprocess.Popen([str(RUN)], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self._buf = b""
        self._closed: tuple[int, bytes] | None = None

    def send_raw(self, line: bytes) -> None:
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def send(self, body: dict, src: str = "c1", dest: str = "n1") -> None:
        self.send_raw(json.dumps({"src": src, "dest": dest, "body": body}).encode())

    def recv(self, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                raise TimeoutError("no message from the node")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError("node closed stdout")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, body: dict, **kw) -> dict:
        self.send(body, **kw)
        return self.recv()

    def close(self) -> tuple[int, bytes]:
        """EOF on stdin; returns (exit code, stderr). Idempotent."""
        if self._closed is None:
            self.proc.stdin.close()
            rc = self.proc.wait(timeout=5)
            err = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
            self._closed = (rc, err)
        return self._closed


@pytest.fixture
def node(tmp_path):
    n = NodeProcess(str(tmp_path))
    reply = n.request({"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]})
    assert reply == {"src": "n1", "dest": "c1",
                     "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": reply["body"]["msg_id"]}}
    yield n
    rc, _ = n.close()
    assert rc == 0


def _error(reply: dict, in_reply_to: int | None) -> int:
    body = reply["body"]
    assert body["type"] == "error"
    assert isinstance(body["text"], str) and body["text"]
    assert body.get("in_reply_to") == in_reply_to
    return body["code"]


def test_serves_lin_kv_with_definite_errors(node: NodeProcess) -> None:
    # The single node elects itself within 2 election timeouts; requests wait for it.
    assert node.request({"type": "write", "msg_id": 2, "key": 1, "value": 5})["body"] == \
        {"type": "write_ok", "in_reply_to": 2, "msg_id": 2}
    assert node.request({"type": "read", "msg_id": 3, "key": 1})["body"]["value"] == 5
    assert _error(node.request({"type": "read", "msg_id": 4, "key": 2}), 4) == 20
    assert _error(node.request({"type": "cas", "msg_id": 5, "key": 2, "from": 1, "to": 2}), 5) == 20
    assert _error(node.request({"type": "cas", "msg_id": 6, "key": 1, "from": 4, "to": 6}), 6) == 22
    assert node.request({"type": "cas", "msg_id": 7, "key": 1, "from": 5, "to": 6})["body"]["type"] \
        == "cas_ok"
    assert node.request({"type": "read", "msg_id": 8, "key": 1})["body"]["value"] == 6


BAD_REQUESTS = [
    ({"type": "read", "msg_id": 10}, 12),                                     # missing key
    ({"type": "write", "msg_id": 11, "key": 1}, 12),                          # missing value
    ({"type": "cas", "msg_id": 12, "key": 1, "from": 1}, 12),                 # missing to
    ({"type": "read", "msg_id": 13, "key": [1, 2]}, 12),                      # ill-typed key
    ({"type": "read", "msg_id": 14, "key": True}, 12),                        # bool is no key
    ({"type": "write", "msg_id": 15, "key": {"a": 1}, "value": 1}, 12),
    ({"type": "frobnicate", "msg_id": 16}, 10),                               # unknown type
    ({"type": "txn", "msg_id": 17, "txn": []}, 10),
    ({"type": 42, "msg_id": 18}, 12),                                         # ill-typed type
    ({"msg_id": 19, "key": 1}, 12),                                           # missing type
    ({"type": "read", "key": 1}, 12),                                         # missing msg_id
]


@pytest.mark.parametrize("body, code", BAD_REQUESTS)
def test_bad_request_gets_its_error_and_node_keeps_serving(node: NodeProcess, body: dict,
                                                           code: int) -> None:
    reply = node.request(body)
    assert _error(reply, body.get("msg_id")) == code
    assert reply["dest"] == "c1" and reply["src"] == "n1"
    assert node.request({"type": "write", "msg_id": 99, "key": 3, "value": 1})["body"]["type"] \
        == "write_ok"


def test_garbage_lines_are_logged_and_skipped(node: NodeProcess) -> None:
    for raw in [b"not json", b"{\"src\": ", b"[1, 2, 3]", b"\"just a string\"", b"null",
                b"{\"dest\": \"n1\", \"body\": {\"type\": \"read\"}}",   # no src: cannot answer
                b"\xff\xfe\x00garbage", b"{\"src\": \"c1\", \"body\": 7}"]:
        node.send_raw(raw)
    # The last one had a src: it gets a 12 (body is not an object), without in_reply_to.
    assert _error(node.recv(), None) == 12
    assert node.request({"type": "write", "msg_id": 30, "key": 1, "value": 2})["body"]["type"] \
        == "write_ok"
    assert node.request({"type": "read", "msg_id": 31, "key": 1})["body"]["value"] == 2
    rc, err = node.close()
    assert rc == 0
    events = [json.loads(line) for line in err.splitlines()]
    assert sum(1 for e in events if e["event"] == "bad_json") == 3  # "not json", "{src:", \xff
    assert any(e["event"] == "role" and e["role"] == "leader" for e in events)


def test_raft_messages_from_strangers_or_malformed_do_not_crash(node: NodeProcess) -> None:
    node.send({"type": "raft_append", "group": 0, "term": 99}, src="c9")
    node.send({"type": "raft_append", "group": 0, "term": "x"}, src="n1")
    node.send({"type": "raft_vote", "group": 0}, src="n1")
    assert node.request({"type": "read", "msg_id": 40, "key": 77})["body"]["code"] == 20


def test_requests_before_init_are_definitely_refused(tmp_path) -> None:
    n = NodeProcess(str(tmp_path))
    try:
        assert _error(n.request({"type": "write", "msg_id": 1, "key": 1, "value": 1}), 1) == 11
        assert _error(n.request({"type": "init", "msg_id": 2, "node_id": 5}), 2) == 12
        assert n.request({"type": "init", "msg_id": 3, "node_id": "n1",
                          "node_ids": ["n1"]})["body"]["type"] == "init_ok"
    finally:
        n.close()


def test_node_imports_only_stdlib_and_orjson(tmp_path) -> None:
    code = ("import runpy, sys; sys.argv=['run.py']; sys.stdin=open('/dev/null');"
            "runpy.run_path(%r, run_name='not_main');"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('maelstrom','workloads','click',"
            "'edn_format','pytest','hypothesis')]; print(bad)" % str(RUN))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr
