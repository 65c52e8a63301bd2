"""Client semantics: Maelstrom's error table, timeouts, process retirement, late replies."""

from __future__ import annotations

import random

import pytest

from maelstrom.client import NET_TIMEOUT, ClientPool
from maelstrom.edn import Keyword
from maelstrom.errors import error_kind
from workloads.lin_kv import LinKVWorkload

NODES = ["n0", "n1"]


def pool(concurrency=4, timeout=1.0) -> ClientPool:
    wl = LinKVWorkload(NODES, concurrency, random.Random(0))
    return ClientPool(concurrency, NODES, wl, timeout, first_client=len(NODES))


def test_threads_map_to_nodes_and_clients():
    p = pool()
    assert [(w.process, w.client, w.node) for w in p.workers] == [
        (0, "c2", "n0"), (1, "c3", "n1"), (2, "c4", "n0"), (3, "c5", "n1")]


def test_invoke_then_ok():
    p = pool()
    client, node, body = p.invoke(0.0, 1, "read", [7, None])
    assert (client, node) == ("c3", "n1")
    assert body == {"type": "read", "key": 7, "msg_id": 1}
    assert p.free == [0, 2, 3]
    done = p.receive(0.1, "c3", {"type": "read_ok", "value": 4, "in_reply_to": 1})
    assert done == (1, 1, "ok", "read", [7, 4], None)
    assert 1 in p.free


@pytest.mark.parametrize("code,f,type_,name", [
    (11, "write", "fail", "temporarily-unavailable"),
    (20, "cas", "fail", "key-does-not-exist"),
    (22, "cas", "fail", "precondition-failed"),
    (13, "write", "info", "crash"),
    (0, "cas", "info", "timeout"),
    (4242, "write", "info", "unknown"),
    (13, "read", "fail", "crash"),     # reads are idempotent: an indefinite error is a fail
])
def test_error_table(code, f, type_, name):
    p = pool()
    value = [0, None] if f == "read" else [0, 1] if f == "write" else [0, [1, 2]]
    p.invoke(0.0, 0, f, value)
    done = p.receive(0.1, "c2", {"type": "error", "code": code, "text": "why",
                                 "in_reply_to": 1})
    assert done[2] == type_
    assert done[5] == [Keyword(name), "why"]


def test_error_kinds():
    assert error_kind(22).definite and not error_kind(13).definite
    assert error_kind("x").name == "unknown" and not error_kind(True).definite


def test_timeout_retires_process_and_ignores_late_reply():
    p = pool(timeout=1.0)
    p.invoke(0.0, 0, "write", [0, 3])
    assert p.next_deadline() == 1.0
    assert p.expire(0.5) == []
    (done,) = p.expire(1.0)
    assert done == (0, 0, "info", "write", [0, 3], NET_TIMEOUT)
    w = p.workers[0]
    assert w.process == 4 and w.client == "c6"      # process + concurrency, new client
    assert p.receive(1.2, "c2", {"type": "write_ok", "in_reply_to": 1}) is None
    p.invoke(2.0, 0, "read", [0, None])
    (done,) = p.expire(3.0)
    assert done[2] == "fail" and done[5] == NET_TIMEOUT  # a timed-out read is a fail
    assert p.workers[0].process == 4                     # ... and does not retire
    assert p.receive(3.1, "c6", {"type": "read_ok", "value": 1, "in_reply_to": 1}) is None


def test_reply_to_a_request_never_sent_is_reported():
    p = pool()
    p.invoke(0.0, 0, "read", [0, None])
    problem = p.receive(0.1, "c2", {"type": "read_ok", "value": 1, "in_reply_to": 5})
    assert problem.kind == "invalid-reply" and "in_reply_to 5" in problem.reason
    assert p.receive(0.1, "c2", {"type": "read_ok", "value": 1}).kind == "invalid-reply"
    assert p.busy() == 1


def test_answered_requests_do_not_time_out():
    p = pool()
    p.invoke(0.0, 0, "read", [0, None])
    p.receive(0.1, "c2", {"type": "read_ok", "value": 1, "in_reply_to": 1})
    assert p.next_deadline() is None and p.expire(5.0) == []


def test_a_second_different_reply_to_one_request_is_a_fault_and_a_copy_is_not():
    p = pool()
    p.invoke(0.0, 0, "read", [0, None])
    first = {"type": "read_ok", "value": 1, "in_reply_to": 1, "msg_id": 7}
    done = p.receive(0.1, "c2", first)
    assert done[2] == "ok" and done[4] == [0, 1]
    assert p.receive(0.2, "c2", dict(first)) is None                    # the network's copy
    assert p.receive(0.2, "c2", dict(first, msg_id=8)) is None          # same answer, resent
    for other in ({"value": 2}, {"value": 1.0}, {"value": True}, {"type": "error", "code": 11}):
        problem = p.receive(0.3, "c2", dict(first, **other))
        assert problem.kind == "contradictory-reply", other
        assert "request 1" in problem.reason and '"value" 1' in problem.reason
    assert p.busy() == 0  # nothing completed twice


def test_late_and_retired_clients_replies_are_checked_too():
    p = pool(timeout=1.0)
    p.invoke(0.0, 0, "write", [0, 3])
    p.expire(1.0)                      # :info: c2 retires, the thread goes on as c6
    late = {"type": "write_ok", "in_reply_to": 1}
    assert p.receive(1.1, "c2", late) is None
    assert p.receive(1.2, "c2", late) is None
    problem = p.receive(1.3, "c2", {"type": "error", "code": 20, "in_reply_to": 1})
    assert problem.kind == "contradictory-reply"
    assert p.receive(1.4, "c2", {"type": "write_ok", "in_reply_to": 2}).kind == "invalid-reply"
