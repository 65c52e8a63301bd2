"""Membership changes of shard groups through the admin RPCs (node/cluster/members.py): a node
added as a voter (learner first, caught up, then promoted by joint consensus) serves the
group's data; a removed node stops its core; promotion; leadership transfer; clear errors."""

from __future__ import annotations

from test_cluster import Cluster
from test_cluster_migration import _ask


def _wait(c: Cluster, cond, limit: float = 6.0) -> None:
    t = 0.0
    while t < limit and not cond():
        c.run(0.1)
        t += 0.1
    assert cond()


def _members(c: Cluster, group: int, node: str = "n0"):
    m = c.servers[node].meta.groups[group]
    return set(m.voters), set(m.learners)


def test_add_a_voter_then_remove_another() -> None:
    c = Cluster(9)
    c.run(2.0)
    voters, _ = _members(c, 1)
    new = next(i for i in c.ids if i not in voters)
    key = next(k for k in range(1000) if c.servers["n0"].router.group_of(k) == 1)
    assert _ask(c, "n5", {"type": "write", "msg_id": 10, "key": key, "value": 3})["type"] \
        == "write_ok"
    reply = _ask(c, "n8", {"type": "add_member", "msg_id": 11, "group": 1, "node": new})
    assert reply["type"] == "add_member_ok"
    _wait(c, lambda: all(new in _members(c, 1, i)[0] for i in c.ids))
    core = c.servers[new].raft.cores[1]
    assert new in core.membership.voters and not core.membership.joint
    assert c.servers[new].shards[1].kv.read(key) == (0, 3)  # caught up with the data
    # Remove an original voter: its core stops, the group goes on with the others.
    gone = sorted(voters)[0]
    assert _ask(c, "n8", {"type": "remove_member", "msg_id": 12, "group": 1,
                          "node": gone})["type"] == "remove_member_ok"
    _wait(c, lambda: all(gone not in _members(c, 1, i)[0] for i in c.ids))
    c.run(0.5)
    assert 1 not in c.servers[gone].raft.cores
    assert _ask(c, "n3", {"type": "write", "msg_id": 13, "key": key, "value": 4})["type"] \
        == "write_ok"
    assert _ask(c, gone, {"type": "read", "msg_id": 14, "key": key})["value"] == 4


def test_learner_promotion_and_leadership_transfer() -> None:
    c = Cluster(9)
    c.run(2.0)
    voters, _ = _members(c, 2)
    new = next(i for i in c.ids if i not in voters)
    assert _ask(c, "n0", {"type": "add_member", "msg_id": 20, "group": 2, "node": new,
                          "learner": True})["type"] == "add_member_ok"
    _wait(c, lambda: new in _members(c, 2)[1] and 2 in c.servers[new].raft.cores)
    assert c.servers[new].raft.cores[2].is_learner
    c.run(0.5)
    assert _ask(c, "n0", {"type": "promote_learner", "msg_id": 21, "group": 2,
                          "node": new})["type"] == "promote_learner_ok"
    _wait(c, lambda: new in _members(c, 2)[0])
    _wait(c, lambda: not c.servers[new].raft.cores[2].is_learner)
    assert _ask(c, "n0", {"type": "transfer_leader", "msg_id": 22, "group": 2,
                          "node": new})["type"] == "transfer_leader_ok"
    _wait(c, lambda: c.servers[new].raft.cores[2].role == "leader")


def test_membership_errors_are_clear() -> None:
    c = Cluster(9)
    c.run(2.0)
    voters, _ = _members(c, 3)
    member = sorted(voters)[0]
    outsider = next(i for i in c.ids if i not in voters)
    assert _ask(c, "n0", {"type": "add_member", "msg_id": 30, "group": 3,
                          "node": member})["code"] == 22
    assert _ask(c, "n0", {"type": "remove_member", "msg_id": 31, "group": 3,
                          "node": outsider})["code"] == 22
    assert _ask(c, "n0", {"type": "promote_learner", "msg_id": 32, "group": 3,
                          "node": outsider})["code"] == 22
    assert _ask(c, "n0", {"type": "add_member", "msg_id": 33, "group": 7,
                          "node": outsider})["code"] == 12
    assert _ask(c, "n0", {"type": "add_member", "msg_id": 34, "group": 3,
                          "node": "n99"})["code"] == 12
    # Down to one voter, then that one cannot go.
    for k, v in enumerate(sorted(voters)[:2]):
        assert _ask(c, "n0", {"type": "remove_member", "msg_id": 40 + k, "group": 3,
                              "node": v})["type"] == "remove_member_ok"
        _wait(c, lambda: v not in _members(c, 3)[0])
    last = sorted(voters)[2]
    assert _ask(c, "n0", {"type": "remove_member", "msg_id": 45, "group": 3,
                          "node": last})["code"] == 22


def test_request_ids_differ_across_lives_of_a_node() -> None:
    # A node killed and started again (a new process, a new seed) must not reuse the ids of
    # requests the meta log has already decided (they would be ignored, and their old answer
    # given to the new request).
    from node.server import Server

    lives = []
    for seed in (1, 2):
        server = Server(seed=seed)
        server.node_id = "n3"
        lives.append([server.new_request_id("m") for _ in range(3)])
    assert len(set(lives[0] + lives[1])) == 6
    assert all(i.startswith("n3.") for i in lives[0] + lives[1])
