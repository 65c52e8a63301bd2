"""Group-aware nemesis targets (`--nemesis-targets`): the view of leaders and moves built from
node logs (maelstrom/cluster_view.py), and runs in which every hit is checked against the truth
at that instant (the simulator's node objects; the process backend's own logs)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from maelstrom.cli import main
from maelstrom.cluster_view import ClusterView, LogTail
from maelstrom.edn import Keyword
from maelstrom.nemesis import KillNemesis, PartitionNemesis, TARGET_RETRY
from maelstrom.runner import Runner, TestOptions
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
NODES = [f"n{i}" for i in range(5)]


def role(node, group, term, r, **kw):
    return {"event": "role", "node": node, "group": group, "term": term, "role": r, **kw}


# -- the view ---------------------------------------------------------------------------------

def test_view_leader_is_the_leader_of_the_highest_term():
    v = ClusterView()
    assert v.leader(1) is None
    v.feed(role("n0", 1, 1, "leader"))
    v.feed(role("n1", 1, 1, "follower", leader="n0"))
    assert v.leader(1) == ("n0", 1)
    # n0 is cut off and still thinks it leads term 1; n1 campaigns: no leader known now
    v.feed(role("n1", 1, 2, "candidate"))
    assert v.leader(1) is None
    v.feed(role("n1", 1, 2, "leader"))
    assert v.leader(1) == ("n1", 2)  # not the stale n0
    v.forget("n1")  # killed: its memory is gone
    assert v.leader(1) == ("n0", 1)
    v.feed(role("n2", 0, 4, "leader"))
    assert v.leader(0) == ("n2", 4) and v.shard_groups() == [1]


def test_view_moves_and_voters_come_from_the_highest_epoch():
    v = ClusterView()
    v.feed({"event": "meta_epoch", "epoch": 3, "moving": [["m1", 7, 1, 2]], "node": "n0",
            "groups": {"1": ["n2", "n0", "n1"], "2": ["n3", "n4", "n5"]}})
    v.feed({"event": "meta_epoch", "epoch": 2, "moving": [], "node": "n1",
            "groups": {"1": ["n6"]}})  # older: ignored
    assert v.moving() == [("m1", 7, 1, 2)] and v.voters(1) == ["n0", "n1", "n2"]
    v.feed({"event": "meta_epoch", "epoch": 4, "moving": [], "node": "n1",
            "groups": {"1": ["n0", "n1", "n7"], "2": ["n3", "n4", "n5"]}})
    assert v.moving() == [] and v.voters(1) == ["n0", "n1", "n7"] and v.voters(3) == []


@pytest.mark.parametrize("junk", [None, 3, "x", [], {"event": "role"},
                                  {"event": "role", "group": [1], "term": 1, "role": "leader",
                                   "node": "n0"},
                                  {"event": "role", "group": 1, "term": "1", "role": "leader",
                                   "node": "n0"},
                                  {"event": "meta_epoch", "epoch": 9, "moving": "all"},
                                  {"event": "meta_epoch", "epoch": 9, "moving": [[1, 2], 5]}])
def test_view_ignores_bad_events(junk):
    v = ClusterView()
    v.feed(junk)
    assert v.leader(1) is None and v.moving() == [] and v.shard_groups() == []


def test_log_tail_reads_only_what_was_appended(tmp_path):
    v = ClusterView()
    tail = LogTail(tmp_path, ["n0"], v)
    tail.read()  # no file yet
    path = tmp_path / "n0.log"
    with open(path, "wb") as f:
        f.write(orjson.dumps(role("n0", 1, 1, "leader")) + b"\nnot json \"role\"\n")
        f.write(orjson.dumps(role("n0", 1, 2, "follower"))[:20])  # a line still being written
    tail.read()
    assert v.leader(1) == ("n0", 1)
    with open(path, "ab") as f:
        f.write(orjson.dumps(role("n0", 1, 2, "follower"))[20:] + b"\n")
    tail.read()
    assert v.leader(1) is None


# -- the nemeses ------------------------------------------------------------------------------

class FixedView(ClusterView):
    def __init__(self, leaders, moving=()):
        super().__init__()
        self._fixed, self._mv = leaders, list(moving)

    def leader(self, group):
        return self._fixed.get(group)

    def shard_groups(self):
        return sorted(g for g in self._fixed if g != 0)

    def moving(self):
        return self._mv


def test_partition_isolates_the_resolved_leader_and_waits_when_none_resolves():
    view = FixedView({0: ("n3", 5)})
    nem = PartitionNemesis(NODES, 1.0, random.Random(1), ("meta-leader",), view=view)
    f, inv, done, grudge = nem.step(0.0)
    assert (f, inv) == ("start-partition", Keyword("meta-leader"))
    assert grudge["n3"] == frozenset(NODES) - {"n3"}
    assert all(grudge[n] == {"n3"} for n in NODES if n != "n3")
    assert nem.last_hit == {"target": "meta-leader", "nodes": ["n3"], "group": 0, "term": 5}
    nem.step(nem.next_at)  # heal
    view._fixed = {}  # an election is on: nobody to aim at
    at = nem.next_at
    assert nem.step(at) is None and nem.next_at == at + TARGET_RETRY and nem.deferred == 1
    assert not nem.active


def test_kill_aims_at_a_migration_group_leader():
    view = FixedView({1: ("n0", 2), 2: ("n4", 3)}, moving=[("m9", 100, 1, 2)])
    src = KillNemesis(NODES, 1.0, random.Random(2), ("migration-source",), view=view)
    dst = KillNemesis(NODES, 1.0, random.Random(2), ("migration-target",), view=view)
    assert src.step(0.0)[2] == ["n0"] and dst.step(0.0)[2] == ["n4"]
    assert src.last_hit == {"target": "migration-source", "nodes": ["n0"], "group": 1,
                            "term": 2, "migration": "m9", "slot": 100}
    assert dst.last_hit["group"] == 2 and dst.last_hit["migration"] == "m9"


def test_group_targets_hit_every_voter_of_the_group():
    view = FixedView({1: ("n0", 2)}, moving=[("m9", 100, 1, 2)])
    view.feed({"event": "meta_epoch", "epoch": 5, "moving": [],
               "groups": {"1": ["n0", "n1", "n2"], "2": ["n2", "n3", "n4"]}})
    part = PartitionNemesis(NODES, 1.0, random.Random(1), ("migration-target-group",),
                            view=view)
    f, inv, done, grudge = part.step(0.0)
    assert inv == Keyword("migration-target-group")
    assert grudge["n3"] == {"n0", "n1"} and grudge["n0"] == {"n2", "n3", "n4"}
    assert part.last_hit == {"target": "migration-target-group", "nodes": ["n2", "n3", "n4"],
                             "group": 2, "migration": "m9", "slot": 100}
    kill = KillNemesis(NODES, 1.0, random.Random(1), ("group-1",), view=view)
    assert kill.step(0.0)[2] == ["n0", "n1", "n2"]
    gone = KillNemesis(NODES, 1.0, random.Random(1), ("group-7",), view=view)
    assert gone.step(0.0) is None  # no such group (yet): deferred

def test_cli_checks_targets(tmp_path):
    base = ["test", "--sim", "-w", "lin-kv", "--bin", RUN_PY, "--time-limit", "1", "--quiet",
            "--store", str(tmp_path)]
    for extra, why in [(["--nemesis", "kill", "--nemesis-targets", "majority"], "kill"),
                       (["--nemesis", "partition", "--nemesis-targets", "leader-x"], "unknown"),
                       (["--nemesis-targets", "leader"], "needs --nemesis"),
                       (["--nemesis", "partition", "--lose-unsynced"], "--nemesis kill")]:
        r = CliRunner().invoke(main, base + extra)
        assert r.exit_code == 254 and why in r.output, (extra, r.output)


# -- runs: every hit checked against the truth -----------------------------------------------

class TruthRunner(Runner):
    """Before each nemesis step, records what every simulated node object says of itself
    (group -> (role, term), moves in flight); after it, checks the step's hit, if any."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.checked: list[dict] = []
        self.misses: list[dict] = []

    def _nemesis_step(self, now, nem, heal=False):
        truth = {}
        for node in self.host.nodes:
            if node.obj is None:
                continue
            cores = node.obj.raft_cores()
            truth[node.id] = ({g: (c.role, c.term) for g, c in cores.items()},
                              {i for i, m in node.obj.meta.migrations.items()
                               if m["state"] == "moving"})
        before = len(self.nemesis_driver.hits)
        done = super()._nemesis_step(now, nem, heal)
        if len(self.nemesis_driver.hits) > before:
            hit = self.nemesis_driver.hits[-1]
            if "term" in hit:  # a leader: its own core says so
                roles, moving = truth.get(hit["nodes"][0], ({}, set()))
                ok = len(hit["nodes"]) == 1 \
                    and roles.get(hit["group"]) == ("leader", hit["term"])
            else:  # a group: the voters the most advanced meta state lists
                meta = max((n.obj.meta for n in self.host.nodes if n.obj is not None),
                           key=lambda m: m.epoch)
                ok = hit["nodes"] == sorted(meta.groups[hit["group"]].voters)
                moving = {i for i, m in meta.migrations.items() if m["state"] == "moving"}
            if "migration" in hit:
                ok = ok and hit["migration"] in moving
            (self.checked if ok else self.misses).append(hit)
        return done


def sim_run(tmp_path, workload, targets, nemesis=("partition",), seed=3, **kw):
    opts = TestOptions(workload=workload, bin=RUN_PY, node_count=9, concurrency=18,
                       time_limit=12.0, rate=80.0, latency=10.0, seed=seed, quiet=True,
                       sim=True, store=str(tmp_path / "store"), recovery_time=2.0,
                       nemesis=list(nemesis), nemesis_interval=1.0,
                       nemesis_targets=list(targets), **kw)
    runner = TruthRunner(opts, WORKLOADS[workload])
    return runner, runner.run()


def test_leader_targets_hit_leaders_in_the_simulator(tmp_path):
    runner, r = sim_run(tmp_path, "lin-kv", ["meta-leader", "leader"],
                        nemesis=("partition", "kill"))
    hits = r.results["nemesis"]["targets-hit"]
    assert runner.misses == [] and len(runner.checked) == len(hits) >= 8
    assert {h["target"] for h in hits} == {"meta-leader", "leader"}
    assert {h["group"] for h in hits if h["target"] == "leader"} >= {1, 2}
    assert {h["f"] for h in hits} == {"start-partition", "kill"}
    # the history says whom: an isolated node's grudge, a killed node's list
    ops = [op for op in r.history if op.process == "nemesis"]
    for inv, done in zip(ops, ops[1:]):
        if inv.f == "start-partition" and inv.value == Keyword("meta-leader") \
                and done.f == inv.f and isinstance(done.value, list):
            grudge = done.value[1]
            loner = [n for n, drops in grudge.items() if len(drops) == 8]
            assert len(loner) == 1
    assert r.results["nodes"]["faults"] == []


def test_migration_targets_hit_a_moving_group_leader(tmp_path):
    runner, r = sim_run(tmp_path, "slot-migration", ["migration-source", "migration-target"])
    hits = r.results["nemesis"]["targets-hit"]
    assert runner.misses == [] and len(runner.checked) == len(hits) >= 4
    assert {h["target"] for h in hits} == {"migration-source", "migration-target"}
    assert r.results["valid?"] is True


def test_group_targets_isolate_a_moving_group_in_the_simulator(tmp_path):
    runner, r = sim_run(tmp_path, "slot-migration",
                        ["migration-source-group", "migration-target-group", "group-1"],
                        nemesis=("partition", "pause"), seed=5)
    hits = r.results["nemesis"]["targets-hit"]
    assert runner.misses == [] and len(runner.checked) == len(hits) >= 6
    assert {h["target"] for h in hits} == {"migration-source-group", "migration-target-group",
                                           "group-1"}
    assert all(len(h["nodes"]) == 3 for h in hits)
    assert r.results["valid?"] is True


def test_a_view_that_names_followers_is_caught(tmp_path, monkeypatch):
    """The truth check bites: a view that names a follower of the group as its leader."""

    class FollowerView(ClusterView):
        def leader(self, group):
            roles = self._roles.get(group, {})
            followers = sorted((n, t) for n, (t, role) in roles.items() if role != "leader")
            return followers[0] if followers else None

    monkeypatch.setattr("maelstrom.cluster_view.ClusterView", FollowerView)
    runner, r = sim_run(tmp_path, "lin-kv", ["meta-leader"], seed=4)
    assert runner.misses and not runner.checked


def test_a_view_with_the_wrong_voters_is_caught(tmp_path, monkeypatch):
    """The truth check bites for group targets too: a view that names another group's
    voters."""

    class WrongVoters(ClusterView):
        def voters(self, group):
            return super().voters(group % 3 + 1)

    monkeypatch.setattr("maelstrom.cluster_view.ClusterView", WrongVoters)
    runner, r = sim_run(tmp_path, "lin-kv", ["group-1", "group-2"], seed=4)
    assert runner.misses and not runner.checked


def test_process_backend_isolates_the_meta_leader(tmp_path):
    """Real processes: each isolated node was, by its own log at that instant, the meta
    group's leader in the term the hit names, and no node had logged a later term."""
    opts = TestOptions(workload="lin-kv", bin=RUN_PY, node_count=5, concurrency=10,
                       time_limit=5.0, rate=40.0, latency=5.0, seed=6, quiet=True,
                       store=str(tmp_path / "store"), recovery_time=1.0,
                       nemesis=["partition"], nemesis_interval=0.7,
                       nemesis_targets=["meta-leader"])
    runner = Runner(opts, WORKLOADS["lin-kv"])
    r = runner.run()
    hits = r.results["nemesis"]["targets-hit"]
    assert len(hits) >= 2
    origin = runner.clock._origin + runner.t0  # monotonic time of the history's 0
    events = []
    for node in opts.nodes:
        for line in (r.store / "node-logs" / f"{node}.log").read_bytes().splitlines():
            if b'"role"' in line:
                e = orjson.loads(line)
                if e.get("event") == "role" and e.get("group") == 0:
                    events.append(e)
    for hit in hits:
        at = origin + hit["time"] / 1e9
        seen = [e for e in events if e["t"] <= at]
        latest = [e for e in seen if e["node"] == hit["nodes"][0]][-1]
        assert (latest["role"], latest["term"]) == ("leader", hit["term"])
        # (a margin for a line the node had logged but not yet flushed when the bench read)
        assert all(e["term"] <= hit["term"] for e in seen if e["t"] <= at - 0.02)
    log = (r.store / "bench.log").read_text()
    assert re.search(r"start-partition meta-leader -> n\d \(leader of group 0 in term \d+\)", log)
