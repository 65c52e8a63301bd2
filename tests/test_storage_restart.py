"""Crash-restart of whole nodes (docs/storage.md): Servers on a virtual-time network, each
with its own MemDisk; nodes are killed at random in the middle of a turn (after the
node wrote its records, before they were synced and its messages sent: `hold_sync`), losing
what was not synced but a random prefix of it, restarted from their disk with a new Server object and `init` again,
while a client writes. The Raft invariant oracle checks every core after every step (a
restarted node's cores are new cores: two leaders in one term, or two different entries
committed at one index, are violations), and after healing every acknowledged write must be
read back. The broken variants of tests/nodes/unsynced.py must be caught."""

from __future__ import annotations

import heapq
import random
from typing import Any

import orjson
import pytest

from maelstrom.invariants import RaftInvariants
from node.server import Server
from node.storage import durable
from node.storage.memdisk import MemDisk
from node.raft.core import RaftCore
from node.storage.records import read_records
from tests.nodes.unsynced import AckBeforeSyncServer, UnsyncedVoteCore


class Cluster:
    def __init__(self, n: int, seed: int, server_class: type = Server,
                 slow: float = 0.0) -> None:
        self.rng = random.Random(seed)
        self.slow = slow  # share of messages held back up to a second (so they outlive a
        #                   restart of their destination: late vote requests, late acks)
        self.ids = [f"n{i}" for i in range(n)]
        self.server_class = server_class
        self.disks = {i: MemDisk() for i in self.ids}
        self.servers: dict[str, Any] = {}
        self.up: dict[str, bool] = {}
        self.inv = RaftInvariants()
        self.now = 0.0
        self._q: list = []
        self._seq = 0
        self._msg = 0
        self.acked: dict[int, int] = {}       # key -> value of an acknowledged write
        self.sent: dict[int, tuple] = {}      # msg_id -> (key, value)
        self.reads: dict[int, Any] = {}       # msg_id -> reply body
        self.restarts = 0
        self.lost_records = 0
        self.doomed: set[str] = set()  # killed at the end of their next call, before sync
        self.events: dict[str, int] = {}  # node log events by name
        for i in self.ids:
            self.start(i)

    def start(self, node: str) -> None:
        s = self.server_class(seed=self.rng.getrandbits(32), disk=self.disks[node],
                              log=self._log)
        s.hold_sync = True
        self.servers[node] = s
        self.up[node] = True
        self._deliver({"src": "c0", "dest": node, "body": {"type": "init", "msg_id": 1,
                                                            "node_id": node,
                                                            "node_ids": self.ids}})

    def kill(self, node: str) -> None:
        self.up[node] = False
        self.lost_records += self.disks[node].crash(True, self.rng)
        self.restarts += 1

    def _log(self, event: dict) -> None:
        name = event.get("event")
        self.events[name] = self.events.get(name, 0) + 1
        if name == "internal_error":
            raise AssertionError(event.get("traceback"))

    def _turn_end(self, node: str, out: list) -> None:
        s = self.servers[node]
        self._watch(s)
        if node in self.doomed and self.disks[node].unsynced:
            # (the worst moment: the turn wrote records; they are not synced yet)
            self.doomed.discard(node)
            self.kill(node)  # the turn's records not synced, its messages never sent
            return
        s.sync()
        self._emit(out)

    def _watch(self, s: Any) -> None:
        for core in s.raft_cores().values():
            if core.observer is not self.inv:
                self.inv.attach(core)

    def _deliver(self, env: dict) -> None:
        node = env["dest"]
        if not self.up.get(node):
            return
        s = self.servers[node]
        self._turn_end(node, s.receive(self.now, env))

    def _emit(self, envs: list) -> None:
        for e in envs:
            if e["dest"].startswith("c"):
                self._client(e["body"])
            else:
                self._seq += 1
                delay = 0.001 + self.rng.random() * 0.01
                if self.slow and self.rng.random() < self.slow:
                    delay += self.rng.random()
                heapq.heappush(self._q, (self.now + delay, self._seq, orjson.dumps(e)))

    def _client(self, body: dict) -> None:
        irt = body.get("in_reply_to")
        if body.get("type") == "write_ok" and irt in self.sent:
            k, v = self.sent[irt]
            self.acked[k] = v
        elif irt in self.reads:
            self.reads[irt] = body

    def write(self, key: int, value: int) -> None:
        node = self.rng.choice([i for i in self.ids if self.up[i]])
        self._msg += 1
        self.sent[self._msg + 1000] = (key, value)
        self._deliver({"src": "c1", "dest": node, "body": {"type": "write", "key": key,
                                                            "value": value,
                                                            "msg_id": self._msg + 1000}})

    def read(self, node: str, key: int) -> int:
        self._msg += 1
        mid = self._msg + 1000
        self.reads[mid] = None
        self._deliver({"src": "c1", "dest": node, "body": {"type": "read", "key": key,
                                                            "msg_id": mid}})
        return mid

    def run_until(self, t: float) -> None:
        while True:
            due = [(s.next_deadline(), i) for i, s in self.servers.items()
                   if self.up[i] and s.next_deadline() is not None]
            nxt_timer = min(due)[0] if due else float("inf")
            nxt_msg = self._q[0][0] if self._q else float("inf")
            nxt = min(nxt_timer, nxt_msg)
            if nxt > t:
                self.now = t
                return
            self.now = max(self.now, nxt)
            if nxt_msg <= nxt_timer:
                _, _, raw = heapq.heappop(self._q)
                self._deliver(orjson.loads(raw))
            else:
                for d, i in due:
                    if d <= self.now:
                        if self.up[i]:
                            self._turn_end(i, self.servers[i].tick(self.now))


def run(server_class: type, seed: int, n: int = 3, duration: float = 12.0,
        kills: bool = True, kill_rate: float = 0.015, slow: float = 0.0,
        downtime: tuple = (0.05, 0.6)) -> Cluster:
    c = Cluster(n, seed, server_class, slow)
    rng = c.rng
    key = 0
    t = 0.5
    down: dict[str, float] = {}
    while t < duration:
        c.run_until(t)
        for node, back in list(down.items()):
            if t >= back and not c.up[node]:
                del down[node]
                c.start(node)
        if kills and rng.random() < kill_rate and len(down) < max(1, (n - 1) // 2):
            victim = rng.choice([i for i in c.ids if c.up[i] and i not in c.doomed])
            c.doomed.add(victim)
            down[victim] = t + rng.uniform(*downtime)
        key += 1
        c.write(key, key * 10)
        t += 0.01
    c.doomed.clear()
    for node in list(down):
        if not c.up[node]:
            c.start(node)
    c.run_until(duration + 5.0)
    return c


def check_acked(c: Cluster) -> list[int]:
    """Acknowledged writes that a final read does not return."""
    mids = {k: c.read(c.ids[k % len(c.ids)], k) for k in c.acked}
    c.run_until(c.now + 3.0)
    return [k for k, mid in mids.items()
            if (c.reads[mid] or {}).get("value") != c.acked[k]]


# The fault mix of these tests: kills every ~0.25 s (one node down at a time), back after
# 10-200 ms; 5% of messages held back up to a second.
FAULTS = dict(duration=6.0, kill_rate=0.04, slow=0.05, downtime=(0.01, 0.2))


@pytest.mark.parametrize("seed", range(3))
def test_correct_node_survives_kills_with_lost_unsynced_writes(seed: int) -> None:
    c = run(Server, seed, **FAULTS)
    assert c.restarts >= 5 and c.lost_records > 0
    assert c.inv.violations == []
    assert len(c.acked) > 200
    assert check_acked(c) == []


def test_restart_recovers_without_kills_and_rejoins() -> None:
    c = run(Server, 7, kills=False, duration=3.0)
    assert check_acked(c) == [] and len(c.acked) > 100
    # Every node restarts at once, cleanly (a process kill: nothing lost).
    for i in c.ids:
        c.up[i] = False
        c.disks[i].sync()  # (the harness syncs after each turn: nothing is pending)
        c.disks[i].crash(False)
    for i in c.ids:
        c.start(i)
    c.run_until(c.now + 3.0)
    assert check_acked(c) == []
    assert c.inv.violations == []
    assert all(s.raft_cores()[1].term >= 1 for s in c.servers.values())


def test_snapshots_compact_logs_and_restarted_nodes_install_them(monkeypatch) -> None:
    monkeypatch.setattr(durable, "SNAPSHOT_ENTRIES", 50)
    monkeypatch.setattr(durable, "REWRITE_RECORDS", 100)
    c = run(Server, 3, **FAULTS)
    assert c.inv.violations == []
    assert check_acked(c) == []
    snaps = [core.log.snapshot_index for s in c.servers.values()
             for g, core in s.raft_cores().items() if g != 0]
    assert min(snaps) > 0
    assert c.events.get("snapshot_installed", 0) > 0  # InstallSnapshot to a lagging follower
    assert all(d.rewrites > 0 for d in c.disks.values())
    assert max(len(d.load()) for d in c.disks.values()) < 250


def test_ack_before_sync_is_caught() -> None:
    c = run(AckBeforeSyncServer, 0, **FAULTS)
    assert c.inv.violations or check_acked(c)


def _restart_core(core: RaftCore, records: list) -> RaftCore:
    img = read_records([["g+", 0, ["a", "b", "c"], [], False]] + records)
    g = img.groups[0]
    new = RaftCore(group=0, node_id=core.id, voters=["a", "b", "c"],
                   rng=random.Random(9), now=1.0)
    new.restore(1.0, g.hard_state, g.entries, g.lo, g.snapshot)
    return new


@pytest.mark.parametrize("core_class,double", [(RaftCore, False), (UnsyncedVoteCore, True)])
def test_a_vote_survives_a_restart(core_class: type, double: bool) -> None:
    """c grants a in term 1, restarts from its records, and is asked by b in term 1: it
    refuses, unless its vote was not persisted (the broken core grants again)."""
    c = core_class(group=0, node_id="c", voters=["a", "b", "c"], rng=random.Random(1), now=0.0)
    records = c.take_persist()
    c.step(0.5, "a", {"type": "raft_vote", "term": 1, "group": 0, "last_index": 0,
                      "last_term": 0})
    records += c.take_persist()
    assert c.take_messages()[0][1]["granted"] is True
    c2 = _restart_core(c, records)
    assert c2.term == 1
    c2.step(1.1, "b", {"type": "raft_vote", "term": 1, "group": 0, "last_index": 0,
                       "last_term": 0})
    assert c2.take_messages()[0][1]["granted"] is double


def test_oracle_flags_a_second_grant_in_a_term_and_a_term_gone_back_at_restart() -> None:
    inv = RaftInvariants()
    a, b = (RaftCore(group=0, node_id=x, voters=["a", "b", "c"], rng=random.Random(1), now=0.0)
            for x in "ab")
    inv.attach(a)
    inv.attach(b)
    grant = {"type": "raft_vote_ok", "term": 3, "granted": True, "group": 0}
    a.step(0.1, "c", dict(grant))
    a.step(0.1, "c", dict(grant))  # (a duplicate of the same grant is no violation)
    assert inv.violations == []
    b.step(0.2, "c", dict(grant))
    assert [v["what"] for v in inv.violations] == ["c granted its vote in term 3 to a and to b"]
    # c restarts: restored at the term its delivered grant carried, fine; below it, flagged.
    for term, flagged in ((3, False), (2, True)):
        inv.violations.clear()
        c = RaftCore(group=0, node_id="c", voters=["a", "b", "c"], rng=random.Random(1), now=0.0)
        c.restore(1.0, [term, "a", 0, False, None], [])
        inv.attach(c)
        assert bool(inv.violations) is flagged
