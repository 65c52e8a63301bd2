"""Gossip in raft mode (node/cluster/health.py): every node's SWIM member, its soft state in
cluster_info, discovery of spares from the seeds and their admission by the meta log, and the
meta leader's proposal to replace a shard voter that gossip holds dead (Raft carries it out)."""

from __future__ import annotations

from test_cluster import Cluster
from test_cluster_members import _members, _wait
from test_cluster_migration import _ask

from node.cluster.health import default_seeds


def _info(c: Cluster, node: str, msg_id: int) -> dict:
    c.request(node, {"type": "cluster_info", "msg_id": msg_id})
    c.run(0.05)
    return c.replies(msg_id)[0]


def test_default_seeds_are_the_first_meta_voters_ids_in_natural_order() -> None:
    assert default_seeds(["n10", "n2", "n1", "n3"], 3) == ["n1", "n2", "n3"]
    assert default_seeds(["a"], 5) == ["a"]


def test_every_node_gossips_liveness_and_soft_state() -> None:
    c = Cluster(9)
    c.run(4.0)
    key = next(k for k in range(1000) if c.servers["n0"].router.group_of(k) == 2)
    for i in range(40):  # about 10 requests a second at n3 for 4 s
        assert _ask(c, "n3", {"type": "write", "msg_id": 100 + i, "key": key,
                              "value": i})["type"] == "write_ok"
        c.run(0.1)
    info = _info(c, "n7", 5)
    members = info["gossip"]["members"]
    assert set(members) == set(c.ids)
    assert all(m["state"] == "alive" for m in members.values()), members
    # n7 knows, by gossip, which groups each node leads and how long its logs are.
    leaders = {str(g): next(s.raft.cores[g].lead for s in c.servers.values()
                            if g in s.raft.cores and s.raft.cores[g].lead)
               for g in (0, 1, 2, 3)}
    for g, leader in leaders.items():
        soft = members[leader]["soft"]
        assert int(g) in soft["led"], (g, leader, soft)
        assert soft["groups"][g][0] >= 1 and soft["groups"][g][1] >= 0
    writer_group2 = members[leaders["2"]]["soft"]
    assert writer_group2["groups"]["2"][0] >= 20 and writer_group2["mem"] > 0
    assert members["n3"]["soft"]["ops"] > 2, members["n3"]
    assert all(m["soft"]["ops"] == 0 for n, m in members.items() if n != "n3")
    assert info["admitted"] == c.ids
    # The node logs every change of its view.
    assert any(e["body"]["type"].startswith("gossip_") for e in c.sent)


def test_a_node_starts_from_the_seeds_only_and_learns_the_rest() -> None:
    c = Cluster(9, seeds=("n0",))
    swim = c.servers["n5"].health.swim
    assert set(swim.members()) == {"n5"}  # before any message: itself only
    c.run(3.0)
    for server in c.servers.values():
        assert set(server.health.swim.alive()) == set(c.ids)


def test_spares_are_discovered_by_gossip_and_admitted_by_the_meta_log() -> None:
    c = Cluster(7, bootstrap_nodes=5)
    layout_nodes = set(c.servers["n0"].layout.nodes)
    assert layout_nodes == {"n0", "n1", "n2", "n3", "n4"}
    _wait(c, lambda: all(c.servers[i].meta.admitted == set(c.ids) for i in c.ids), 8.0)
    # The spares are meta learners now and apply the same meta log as everyone.
    n0 = c.servers["n0"]
    meta_core = n0.raft.cores[0]
    for spare in ("n5", "n6"):
        assert spare in meta_core.membership.learners
        assert c.servers[spare].meta.digest() == n0.meta.digest()
        assert c.servers[spare].meta.epoch == n0.meta.epoch
        assert c.servers[spare].meta.member_groups(spare) == []
    # An admitted spare can join a shard group; it then serves that group's data.
    key = next(k for k in range(1000) if n0.router.group_of(k) == 1)
    assert _ask(c, "n1", {"type": "write", "msg_id": 10, "key": key, "value": 7})["type"] \
        == "write_ok"
    assert _ask(c, "n6", {"type": "add_member", "msg_id": 11, "group": 1,
                          "node": "n6"})["type"] == "add_member_ok"
    _wait(c, lambda: "n6" in _members(c, 1)[0])
    assert _ask(c, "n6", {"type": "read", "msg_id": 12, "key": key})["value"] == 7


def test_the_meta_log_takes_only_admitted_nodes_into_groups() -> None:
    from node.cluster.config import ClusterConfig
    from node.cluster.layout import initial_layout
    from node.cluster.meta import MetaState, init_entry

    config = ClusterConfig(bootstrap_nodes=3)
    meta = MetaState()
    assert meta.apply(init_entry(initial_layout(["n0", "n1", "n2"], config), config))
    assert meta.admitted == {"n0", "n1", "n2"}
    why = meta.check_member_request(1, "add_voter", "n3", None)
    assert "not admitted" in why
    assert not meta.apply({"op": "member_request", "id": "r1", "group": 1,
                           "action": "add_learner", "node": "n3"})
    assert "not admitted" in meta.rejections["r1"]
    epoch = meta.epoch
    assert meta.apply({"op": "admit", "node": "n3"}) and meta.epoch == epoch + 1
    assert not meta.apply({"op": "admit", "node": "n3"})  # once
    assert not meta.apply({"op": "admit", "node": 5})     # malformed: ignored
    assert meta.check_member_request(1, "add_voter", "n3", None) == ""
    assert meta.apply({"op": "member_request", "id": "r2", "group": 1,
                       "action": "add_learner", "node": "n3"})


def test_a_dead_voter_is_replaced_through_the_meta_log() -> None:
    c = Cluster(6, replace_dead_after=2)
    c.run(2.0)
    voters, _ = _members(c, 1)
    dead = sorted(voters)[1]
    c.drop = lambda e: dead in (e["src"], e["dest"])  # the node is gone for good
    key = next(k for k in range(1000) if c.servers["n0"].router.group_of(k) == 1)
    live = next(i for i in c.ids if i != dead)
    _wait(c, lambda: dead not in _members(c, 1, live)[0], 30.0)
    new_voters, _ = _members(c, 1, live)
    assert len(new_voters) == len(voters) and dead not in new_voters
    # The group serves with its new voter.
    assert _ask(c, live, {"type": "write", "msg_id": 20, "key": key, "value": 9})["type"] \
        == "write_ok"
    assert _ask(c, live, {"type": "read", "msg_id": 21, "key": key})["value"] == 9


def test_no_replacement_when_turned_off_or_while_the_voter_is_alive() -> None:
    c = Cluster(6, replace_dead_after=0)
    c.run(2.0)
    voters, _ = _members(c, 1)
    dead = sorted(voters)[1]
    c.drop = lambda e: dead in (e["src"], e["dest"])
    c.run(15.0)
    assert _members(c, 1, "n0" if dead != "n0" else "n1")[0] == voters
    c2 = Cluster(6, replace_dead_after=2)
    c2.run(15.0)
    # Nobody dead: every group keeps its initial voters.
    for g, m in c2.servers["n0"].layout.groups.items():
        assert _members(c2, g)[0] == set(m.voters)
