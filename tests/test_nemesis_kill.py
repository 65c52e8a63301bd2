"""The kill nemesis in both backends, and pause in the process backend: a killed node loses its
memory (a new process or object), keeps its data (directory or simulated disk), is sent `init`
again, and gets no traffic while down; `--lose-unsynced` (simulator) loses unsynced records."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from maelstrom.clock import VirtualClock
from maelstrom.edn import Keyword
from maelstrom.nemesis import KillNemesis
from maelstrom.hosts.process import ProcessHost
from maelstrom.runner import Runner, TestOptions
from maelstrom.hosts.sim import SimHost
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
DATA_ECHO = str(ROOT / "tests" / "nodes" / "data_echo.py")
ECHO = str(ROOT / "tests" / "nodes" / "echo.py")
NODES5 = [f"n{i}" for i in range(5)]


# -- the schedule -----------------------------------------------------------------------------

def test_kill_nemesis_alternates_kill_and_start():
    nem = KillNemesis(NODES5, 1.0, random.Random(3))
    seen = []
    for _ in range(40):
        f, inv, done, affected = nem.step(nem.next_at)
        seen.append(f)
        if f == "kill":
            assert inv in (Keyword("one"), Keyword("minority"))
            assert done == affected == nem.killed and 1 <= len(affected) <= 2
        else:
            assert inv == Keyword("all") and done == affected and nem.killed == []
    assert seen == ["kill", "start"] * 20


def test_fault_mix_with_kill_changes_nothing_else():
    from dataclasses import asdict

    from maelstrom.fault_mix import adversarial_options

    for seed in range(20):
        plain = asdict(adversarial_options(seed))
        killing = asdict(adversarial_options(seed, kill=True, lose_unsynced=True))
        assert plain["nemesis"] == ["partition", "pause"] and not plain["lose_unsynced"]
        assert killing.pop("nemesis") == ["kill", "partition", "pause"]
        assert killing.pop("lose_unsynced") is True
        plain.pop("nemesis"), plain.pop("lose_unsynced")
        assert plain == killing


def test_replay_command_line_carries_the_new_flags():
    from maelstrom.commands.replay import command_line, options_from_dict

    opts = TestOptions(workload="lin-kv", bin=RUN_PY, sim=True, seed=3, nemesis=["kill"],
                       nemesis_targets=["meta-leader", "leader-2"], lose_unsynced=True)
    line = command_line(opts)
    assert "--nemesis kill" in line and "--nemesis-targets meta-leader,leader-2" in line
    assert "--lose-unsynced" in line
    assert options_from_dict(opts.to_dict()) == opts


# -- simulator --------------------------------------------------------------------------------

class DiskEcho:
    """An echo node on a MemDisk: every echo it answers is one record, synced every fifth
    time; when built it logs how many records its disk holds."""

    def __init__(self, *, seed: int, log, disk) -> None:
        self.log, self.disk, self.id = log, disk, None
        self.count = len(disk.load())
        log({"event": "recovered", "records": self.count})

    def receive(self, now, msg):
        body = msg["body"]
        if body["type"] == "init":
            self.id = body["node_id"]
            self.log({"event": "init"})
            return [{"src": self.id, "dest": msg["src"],
                     "body": {"type": "init_ok", "in_reply_to": body["msg_id"]}}]
        self.disk.append([body["echo"]])
        self.count += 1
        if self.count % 5 == 0:
            self.disk.sync()
        self.log({"event": "wrote", "records": self.count, "synced": self.count % 5 == 0})
        return [{"src": self.id, "dest": msg["src"],
                 "body": {"type": "echo_ok", "echo": body["echo"], "in_reply_to": body["msg_id"]}}]

    def tick(self, now):
        return []

    def next_deadline(self):
        return None


def sim_disk_echo(tmp_path, lose_unsynced=False, seed=4):
    opts = TestOptions(workload="echo", bin="", node_count=3, concurrency=3, time_limit=20.0,
                       rate=40.0, seed=seed, quiet=True, store=str(tmp_path / "store"), sim=True,
                       nemesis=["kill"], nemesis_interval=1.0, lose_unsynced=lose_unsynced)
    clock = VirtualClock()
    runner = Runner(opts, WORKLOADS["echo"], clock=clock,
                    host_factory=lambda o, d, log: SimHost(DiskEcho, o.nodes, clock, d, o.seed,
                                                           lose_unsynced=o.lose_unsynced))
    return runner, runner.run()


def incarnations(log_path: Path) -> list[list[dict | str]]:
    """A node log split at the bench's kill markers: each part is what one object logged
    (events as dicts), ending with the marker line that ended it (a string)."""
    parts: list[list] = [[]]
    for line in log_path.read_text().splitlines():
        if line.startswith("=== maelstrom:"):
            parts[-1].append(line)
            if " killed" in line:
                parts.append([])
        else:
            parts[-1].append(json.loads(line))
    return parts


def test_sim_kill_restarts_a_new_object_on_the_same_disk_and_sends_init_again(tmp_path):
    runner, r = sim_disk_echo(tmp_path)
    section = r.results["nemesis"]
    assert section["kills"] >= 8 and section["counts"]["kill"] >= 8
    assert r.results["nodes"]["faults"] == [] and r.results["valid?"] is True
    checked = 0
    for node in runner.host.nodes:
        parts = incarnations(r.store / "node-logs" / f"{node.id}.log")
        assert node.incarnation == sum(1 for p in parts[1:] if p and isinstance(p[0], str))
        for before, after in zip(parts, parts[1:]):
            if not after or not isinstance(after[0], str):
                continue  # killed at the very end: never restarted
            assert "restarted" in after[0]
            written = [e["records"] for e in before if isinstance(e, dict)
                       and e["event"] in ("wrote", "recovered")][-1]
            # a new object: it reads the disk, and the bench sends it init before anything else
            assert after[1] == {"event": "recovered", "records": written, "t": after[1]["t"]}
            assert after[2]["event"] == "init"
            checked += 1
        assert node.disk.lost == 0  # a kill (not a power cut) keeps unsynced records
    assert checked == section["restarts"] >= 8
    # clients of a down node time out: its messages are dropped, not held
    timeouts = [op for op in r.history if op.type in ("fail", "info")
                and op.error is not None and "net-timeout" in str(op.error)]
    assert timeouts
    nem = [(op.f, op.value) for op in r.history if op.process == "nemesis"]
    assert nem[0] == ("kill", Keyword("one")) or nem[0] == ("kill", Keyword("minority"))
    assert nem[1][0] == "kill" and isinstance(nem[1][1], list)


def test_sim_lose_unsynced_drops_what_was_not_synced(tmp_path):
    runner, r = sim_disk_echo(tmp_path, lose_unsynced=True)
    lost = sum(node.disk.lost for node in runner.host.nodes)
    assert lost > 0
    for node in runner.host.nodes:
        parts = incarnations(r.store / "node-logs" / f"{node.id}.log")
        for before, after in zip(parts, parts[1:]):
            if not after or not isinstance(after[0], str):
                continue
            events = [e for e in before if isinstance(e, dict) and e["event"] != "init"]
            written = events[-1]["records"]
            synced = max([e["records"] for e in events if e.get("synced")]
                         + [events[0]["records"]])
            recovered = after[1]["records"]
            assert synced <= recovered <= written  # synced records always survive


def test_sim_kill_is_deterministic(tmp_path):
    a = sim_disk_echo(tmp_path / "a", lose_unsynced=True)[1]
    b = sim_disk_echo(tmp_path / "b", lose_unsynced=True)[1]
    for name in ("history.edn", "messages.jsonl"):
        assert (a.store / name).read_bytes() == (b.store / name).read_bytes()


def test_sim_kill_with_the_raft_node(tmp_path):
    """lin-kv on node/run.py with kills: every killed node is started again before the final
    reads, answers init again and catches up with the meta log (applies an epoch again).
    (Whether the history stays linearizable depends on what the node persists: the durability
    work's own tests cover that.)"""
    opts = TestOptions(workload="lin-kv", bin=RUN_PY, node_count=5, concurrency=10,
                       time_limit=10.0, rate=50.0, latency=10.0, seed=2, quiet=True, sim=True,
                       store=str(tmp_path / "store"), recovery_time=3.0, nemesis=["kill"],
                       nemesis_interval=2.0)
    runner = Runner(opts, WORKLOADS["lin-kv"])
    r = runner.run()
    section = r.results["nemesis"]
    assert section["kills"] >= 2 and section["restarts"] == section["kills"]
    assert r.results["nodes"]["faults"] == []
    restarted = 0
    for node in runner.host.nodes:
        assert not node.down
        parts = incarnations(r.store / "node-logs" / f"{node.id}.log")
        for after in parts[1:]:
            events = [e for e in after if isinstance(e, dict)]
            kinds = [e["event"] for e in events]
            assert "init" in kinds
            assert "meta_epoch" in kinds[kinds.index("init"):]
            restarted += 1
    assert restarted == section["restarts"]


# -- process backend --------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_process_kill_starts_a_new_process_with_the_same_data_dir(tmp_path):
    opts = TestOptions(workload="echo", bin=DATA_ECHO, node_count=3, concurrency=3,
                       time_limit=3.0, rate=40.0, seed=5, quiet=True, nemesis=["kill"],
                       nemesis_interval=0.4, store=str(tmp_path / "store"))
    r = Runner(opts, WORKLOADS["echo"]).run()
    assert r.results["nodes"]["faults"] == []
    section = r.results["nemesis"]
    assert section["kills"] >= 3
    restarts = reinits = 0
    for node in opts.nodes:
        log = (r.store / "node-logs" / f"{node}.log").read_text()
        pids = [int(p) for p in (r.store / "data" / node / "pids").read_text().split()]
        killed = [int(p) for p in re.findall(r"killed \(SIGKILL, pid (\d+)\)", log)]
        started = [int(p) for p in re.findall(r"restarted \(pid (\d+)\)", log)]
        processes = pids[:1] + started  # every process this node ran, in order
        assert len(set(processes)) == len(processes)  # each restart is a new process
        assert killed == processes[:len(killed)]  # kills hit the process running then
        assert not any(_alive(pid) for pid in killed)  # really gone (SIGKILL, reaped)
        # one pid per init, each appended to the same directory's file: the restarted
        # processes that lived long enough were sent init again and found their
        # predecessors' pids (one killed before its init got there is missing)
        found = re.findall(r"pid (\d+) found pids \[(.*?)\]", log)
        assert [int(p) for p, _ in found] == pids
        for i, (_, before) in enumerate(found):
            assert [int(p) for p in re.findall(r"\d+", before)] == pids[:i]
        assert all(p in started for p in pids[1:])
        restarts += len(started)
        reinits += len(pids) - 1
    assert restarts == section["restarts"] and section["kills"] >= restarts
    assert reinits >= 2
    timeouts = [op for op in r.history if op.error is not None and "net-timeout" in str(op.error)]
    assert timeouts  # clients of a killed node time out


def _init(host, node, client="c0"):
    host.send(node, json.dumps({"src": client, "dest": node, "body": {
        "type": "init", "msg_id": 1, "node_id": node, "node_ids": [node]}}).encode() + b"\n")


def _echo(host, node, msg_id):
    host.send(node, json.dumps({"src": "c9", "dest": node, "body": {
        "type": "echo", "echo": msg_id, "msg_id": msg_id}}).encode() + b"\n")


def _replies(host, want, timeout=5.0):
    """Poll until `want` lines arrived or `timeout` seconds (a bound, never a wait to hope)."""
    import time

    got, end = [], time.monotonic() + timeout
    while len(got) < want and time.monotonic() < end:
        host.flush()
        lines, exits = host.poll(0.05)
        assert not exits
        got += [json.loads(line)["body"] for _, line in lines]
    return got


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_process_pause_stops_the_process_and_resume_continues_it(tmp_path):
    host = ProcessHost(ECHO, [], ["n0"], tmp_path / "logs", data_dir=tmp_path / "data")
    host.start()
    try:
        _init(host, "n0")
        assert _replies(host, 1)[0]["type"] == "init_ok"
        pid = host.pid("n0")
        host.pause("n0")
        assert _state(pid) == "T"  # stopped by SIGSTOP
        _echo(host, "n0", 7)
        host.flush()
        assert host.poll(0.2) == ([], [])  # a stopped process answers nothing...
        host.resume("n0")
        assert _state(pid) != "T"
        got = _replies(host, 1)
        assert [b["type"] for b in got] == ["echo_ok"] and got[0]["echo"] == 7  # ...until now
    finally:
        host.stop()


def test_process_host_kill_and_restart(tmp_path):
    host = ProcessHost(ECHO, [], ["n0"], tmp_path / "logs", data_dir=tmp_path / "data")
    host.start()
    try:
        _init(host, "n0")
        assert _replies(host, 1)[0]["type"] == "init_ok"
        old = host.pid("n0")
        assert host.kill("n0") is True and host.kill("n0") is False
        assert not _alive(old)
        _echo(host, "n0", 3)  # to a down node: dropped
        host.flush()
        assert host.poll(0.1) == ([], [])
        assert host.restart("n0") is True and host.restart("n0") is False
        new = host.pid("n0")
        assert new != old and _alive(new)
        _init(host, "n0")
        _echo(host, "n0", 4)
        got = _replies(host, 2)
        assert [b["type"] for b in got] == ["init_ok", "echo_ok"] and got[1]["echo"] == 4
        assert host.restarts == {"n0": 1}
        log = (tmp_path / "logs" / "n0.log").read_text()
        after = log.split(f"=== maelstrom: n0 killed (SIGKILL, pid {old}) ===\n")[1]
        assert after.startswith(f"=== maelstrom: n0 restarted (pid {new}) ===\n")
        assert "n0: initialised" in after  # the new process's stderr, in the same log
        assert (tmp_path / "data" / "n0").is_dir()
    finally:
        codes = host.stop()
    assert codes["n0"] is not None


def test_progress_line_says_which_nodes_are_down():
    from maelstrom.nemesis import PartitionNemesis, PauseNemesis
    from maelstrom.progress import nemesis_state

    part = PartitionNemesis(NODES5, 1.0, random.Random(1))
    kill = KillNemesis(NODES5, 1.0, random.Random(1), ("one",))
    pause = PauseNemesis(NODES5, 1.0, random.Random(2), ("one",))
    assert nemesis_state(None, []) == "no nemesis"
    assert nemesis_state(None, [kill]) == "every node up"
    assert nemesis_state(part, [part, kill, pause]) == "network healed"
    killed = kill.step(0.0)[3]
    paused = pause.step(0.0)[3]
    assert nemesis_state(None, [kill, pause]) == f"killed {killed[0]}, paused {paused[0]}"
    part.step(0.0)
    assert nemesis_state(part, []) == f"partition: {part.shape}"
