"""Slot migration in-process (node/cluster/migration.py, shard.py, meta.py): a slot's data and
its at-most-once records move through the groups' own logs; writes and reads during the move
are answered right; errors are clear; an aborted move leaves the source serving; a move whose
source leader is cut off resumes under the next leader."""

from __future__ import annotations

from node.cluster.slots import key_slot
from test_cluster import Cluster

TAG = "{mig}"  # keys sharing a hash tag share a slot
SLOT = key_slot(TAG + "a")


def _owner(c: Cluster, node: str = "n0") -> int:
    return c.servers[node].meta.slots.owner(SLOT)


def _other_group(c: Cluster) -> int:
    return next(g for g in (1, 2, 3) if g != _owner(c))


def _ask(c: Cluster, node: str, body: dict, wait: float = 0.3) -> dict:
    c.request(node, body)
    c.run(wait)
    replies = c.replies(body["msg_id"])
    assert replies, f"no answer to {body}"
    return replies[0]


def _wait_moved(c: Cluster, dst: int, limit: float = 5.0) -> None:
    t = 0.0
    while t < limit and not all(s.meta.epoch and s.meta.slots.owner(SLOT) == dst
                                and all(m["state"] != "moving" for m in s.meta.migrations.values())
                                for s in c.servers.values()):
        c.run(0.1)
        t += 0.1
    c.run(0.5)  # activation and drop
    assert all(s.meta.slots.owner(SLOT) == dst for s in c.servers.values())


def test_a_slot_moves_with_its_data() -> None:
    c = Cluster(9)
    c.run(2.0)
    msg = 100
    for i in range(20):
        msg += 1
        assert _ask(c, f"n{i % 9}", {"type": "write", "msg_id": msg, "key": f"{TAG}{i}",
                                      "value": i})["type"] == "write_ok"
    src, dst = _owner(c), _other_group(c)
    epoch = c.servers["n0"].meta.epoch
    reply = _ask(c, "n4", {"type": "migrate_slot", "msg_id": 1, "slot": SLOT, "to_group": dst})
    assert reply["type"] == "migrate_slot_ok" and reply["from"] == src and reply["to"] == dst
    _wait_moved(c, dst)
    assert all(s.meta.epoch == epoch + 2 for s in c.servers.values())  # begin, done
    for i in range(20):
        msg += 1
        assert _ask(c, f"n{(i + 3) % 9}", {"type": "read", "msg_id": msg,
                                            "key": f"{TAG}{i}"}).get("value") == i
    # The data lives in the target group only; the source dropped it.
    for s in c.servers.values():
        if dst in s.shards:
            assert s.shards[dst].serves(SLOT) and len(s.shards[dst].kv.slot_items(SLOT)) == 20
        if src in s.shards:
            assert not s.shards[src].serves(SLOT) and not s.shards[src].kv.slot_items(SLOT)
    info = _ask(c, "n1", {"type": "cluster_info", "msg_id": 2})
    assert info["migrations"] == {} and info["migrations-done"] == 1


def test_writes_and_reads_during_a_move_are_answered_right() -> None:
    c = Cluster(9)
    c.run(2.0)
    dst = _other_group(c)
    key = TAG + "x"
    c.request("n2", {"type": "migrate_slot", "msg_id": 1, "slot": SLOT, "to_group": dst})
    # One client, one op at a time, through the move: each read sees the last write.
    msg, value, ok_writes = 1000, None, 0
    for i in range(30):
        msg += 1
        c.request(f"n{i % 9}", {"type": "write", "msg_id": msg, "key": key, "value": i})
        c.run(0.15)
        if [b["type"] for b in c.replies(msg)] == ["write_ok"]:
            value, ok_writes = i, ok_writes + 1
        elif c.replies(msg):
            assert c.replies(msg)[0]["code"] == 11  # never handed over: definitely not applied
        else:
            c.run(1.5)  # unanswered: indeterminate; let it settle before reading
            value = None
        msg += 1
        c.request(f"n{(i + 4) % 9}", {"type": "read", "msg_id": msg, "key": key})
        c.run(0.15)
        r = c.replies(msg)
        if r and r[0]["type"] == "read_ok" and value is not None:
            assert r[0]["value"] == value
    assert ok_writes >= 20
    _wait_moved(c, dst)


def test_bad_requests_get_clear_errors() -> None:
    c = Cluster(9)
    c.run(2.0)
    owner = _owner(c)
    assert _ask(c, "n0", {"type": "migrate_slot", "msg_id": 1, "slot": SLOT,
                          "to_group": owner})["code"] == 22          # to its owner
    assert _ask(c, "n0", {"type": "migrate_slot", "msg_id": 2, "slot": SLOT,
                          "to_group": 9})["code"] == 12              # unknown group
    assert _ask(c, "n0", {"type": "migrate_slot", "msg_id": 3, "slot": 16384,
                          "to_group": 1})["code"] == 12              # unknown slot
    assert _ask(c, "n0", {"type": "move_slots", "msg_id": 4, "from_group": 1,
                          "to_group": 2})["code"] == 12              # no count
    c.request("n0", {"type": "migrate_slot", "msg_id": 5, "slot": SLOT, "to_group": _other_group(c)})
    c.request("n5", {"type": "migrate_slot", "msg_id": 6, "slot": SLOT, "to_group": _other_group(c)})
    c.run(0.5)
    answers = sorted(str(b["type"] if b["type"] != "error" else b["code"])
                     for m in (5, 6) for b in c.replies(m))
    assert answers == ["22", "migrate_slot_ok"]  # the second, conflicting move is refused


def test_move_slots_rebalances_and_an_abort_leaves_the_source_serving() -> None:
    c = Cluster(9)
    c.run(2.0)
    reply = _ask(c, "n3", {"type": "move_slots", "msg_id": 1, "from_group": 1, "to_group": 3,
                           "count": 4}, wait=3.0)
    assert reply["type"] == "move_slots_ok" and len(reply["ids"]) == 4
    assert all(s.meta.slots.counts()[3] == 5461 + 4 for s in c.servers.values())
    # An abort: the target group is cut off, so the move cannot finish; aborted, the source
    # serves the slot (and its data) again, and the target forgets what it staged.
    key = TAG + "z"
    assert _ask(c, "n0", {"type": "write", "msg_id": 10, "key": key, "value": 7})["type"] \
        == "write_ok"
    src = _owner(c)
    dst = _other_group(c)
    cut = set(c.servers["n0"].meta.groups[dst].voters)
    c.drop = lambda e: e["src"] in cut or e["dest"] in cut
    node = next(i for i in c.ids if i not in cut)
    started = _ask(c, node, {"type": "migrate_slot", "msg_id": 11, "slot": SLOT,
                             "to_group": dst}, wait=2.0)  # (the meta leader may be cut off)
    assert started["type"] == "migrate_slot_ok"
    c.run(1.0)
    aborted = _ask(c, node, {"type": "abort_migration", "msg_id": 12, "id": started["id"]})
    assert aborted["type"] == "abort_migration_ok"
    c.run(1.0)
    assert _ask(c, node, {"type": "read", "msg_id": 13, "key": key})["value"] == 7
    c.drop = lambda e: False
    c.run(2.0)
    assert all(s.meta.slots.owner(SLOT) == src for s in c.servers.values())
    assert all(not s.shards[dst].staged for s in c.servers.values() if dst in s.shards)
    assert _ask(c, "n8", {"type": "read", "msg_id": 14, "key": key})["value"] == 7


def test_a_move_resumes_when_the_source_leader_is_cut_off() -> None:
    c = Cluster(9)
    c.run(2.0)
    src, dst = _owner(c), _other_group(c)
    key = TAG + "r"
    assert _ask(c, "n0", {"type": "write", "msg_id": 1, "key": key, "value": 5})["type"] \
        == "write_ok"
    leader = next(i for i, s in c.servers.items()
                  if src in s.raft.cores and s.raft.cores[src].role == "leader")
    c.request("n0", {"type": "migrate_slot", "msg_id": 2, "slot": SLOT, "to_group": dst})
    c.run(0.05)
    c.drop = lambda e: leader in (e["src"], e["dest"])  # the source's leader is cut off
    c.run(3.0)
    c.drop = lambda e: False
    _wait_moved(c, dst, limit=10.0)
    assert _ask(c, "n7", {"type": "read", "msg_id": 3, "key": key})["value"] == 5
