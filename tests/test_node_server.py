"""Server semantics in a small deterministic harness: which requests get a definite error (11)
and which are left indefinite, forwarding to the leader, at-most-once through retries.

With 3 nodes and the default config, every node is in the meta group (0) and in the one shard
group (1) that owns every slot; these tests watch shard group 1."""

from __future__ import annotations

import heapq
from dataclasses import replace

from node.raft.timing import DEFAULT
from node.server import Server

SHARD = 1


def _bodies(e: dict) -> list[dict]:
    """The Raft bodies an envelope carries (one, or a raft_batch's)."""
    body = e["body"]
    return body["msgs"] if body.get("type") == "raft_batch" else [body]


class Net:
    """Servers joined by a 5 ms network with cuttable links; clients are 'c*' ids."""

    def __init__(self, n: int, seed: int = 1, timing=DEFAULT) -> None:
        self.ids = [f"n{i}" for i in range(n)]
        self.servers = {i: Server(seed=seed * 10 + k, timing=timing)
                        for k, i in enumerate(self.ids)}
        self.now = 0.0
        self._q: list = []
        self._seq = 0
        self.cut: set[frozenset] = set()
        self.client_inbox: list[dict] = []
        self.drop_if = lambda env: False
        for i in self.ids:
            self._deliver({"src": "c0", "dest": i, "body": {"type": "init", "msg_id": 1,
                                                             "node_id": i, "node_ids": self.ids}})
        self.client_inbox.clear()

    def isolate(self, node: str) -> None:
        self.cut = {frozenset((node, o)) for o in self.ids if o != node}

    def heal(self) -> None:
        self.cut = set()

    def _deliver(self, env: dict) -> None:
        self._emit(self.servers[env["dest"]].receive(self.now, env))

    def _emit(self, envs: list[dict]) -> None:
        for e in envs:
            if e["dest"].startswith("c"):
                self.client_inbox.append(e)
            else:
                self._seq += 1
                heapq.heappush(self._q, (self.now + 0.005, self._seq, e))

    def request(self, node: str, body: dict, client: str = "c1") -> None:
        self._deliver({"src": client, "dest": node, "body": body})

    def run(self, duration: float) -> None:
        end = self.now + duration
        while True:
            t_msg = self._q[0][0] if self._q else float("inf")
            dl = [(s.next_deadline(), i) for i, s in self.servers.items()
                  if s.next_deadline() is not None]
            t_tick, who = min(dl) if dl else (float("inf"), None)
            t = min(t_msg, t_tick)
            if t > end:
                self.now = end
                return
            self.now = max(self.now, t)
            if t_msg <= t_tick:
                _, _, e = heapq.heappop(self._q)
                if frozenset((e["src"], e["dest"])) in self.cut or self.drop_if(e):
                    continue
                self._deliver(e)
            else:
                self._emit(self.servers[who].tick(self.now))

    def core(self, node: str):
        """The node's core of shard group 1."""
        return self.servers[node].raft.cores[SHARD]

    def leader(self) -> str | None:
        leaders = [i for i in self.servers if self.core(i).role == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def replies(self, msg_id: int) -> list[dict]:
        return [e["body"] for e in self.client_inbox if e["body"].get("in_reply_to") == msg_id]


def test_followers_forward_and_answer_from_their_own_log() -> None:
    net = Net(3)
    net.run(1.5)
    leader = net.leader()
    follower = next(i for i in net.ids if i != leader)
    net.request(follower, {"type": "write", "msg_id": 10, "key": "k", "value": 1})
    net.run(0.1)
    assert net.replies(10) == [{"type": "write_ok", "in_reply_to": 10,
                                "msg_id": net.replies(10)[0]["msg_id"]}]
    net.request(follower, {"type": "cas", "msg_id": 11, "key": "k", "from": 2, "to": 3})
    net.request(leader, {"type": "read", "msg_id": 12, "key": "k"})
    net.run(0.1)
    assert net.replies(11)[0]["code"] == 22
    assert net.replies(12)[0]["value"] == 1


def test_write_at_isolated_leader_is_never_answered_definitely() -> None:
    net = Net(3)
    net.run(1.5)
    old = net.leader()
    net.isolate(old)
    net.request(old, {"type": "write", "msg_id": 20, "key": 1, "value": 7})
    net.request(old, {"type": "read", "msg_id": 21, "key": 1})
    net.run(4.0)
    # The write was appended to the old leader's log: it might have committed, so no 11.
    assert net.replies(20) == []
    # The read can never be confirmed: a read changes nothing, so 11 is safe.
    assert net.replies(21)[0]["code"] == 11
    # The others' group had gone quiet: the first request there wakes it, and they elect.
    other = next(i for i in net.ids if i != old)
    net.request(other, {"type": "write", "msg_id": 22, "key": 1, "value": 8})
    net.run(2.0)
    assert net.leader() not in (None, old)


def test_write_with_no_leader_anywhere_gets_temporarily_unavailable() -> None:
    # Heartbeats never stop here (no quiet groups), so leases and CheckQuorum run out.
    net = Net(3, timing=replace(DEFAULT, quiesce_after=float("inf")))
    net.run(1.5)
    net.cut = {frozenset((a, b)) for a in net.ids for b in net.ids if a != b}  # every link
    net.run(1.5)  # leases and CheckQuorum expire: nobody knows a leader
    assert all(net.core(i).lead is None for i in net.ids)
    net.request("n0", {"type": "write", "msg_id": 30, "key": 1, "value": 1})
    net.run(0.5)
    assert net.replies(30) == []  # held while a leader may appear
    net.run(0.5)
    assert net.replies(30)[0]["code"] == 11  # never handed to anyone: definitely not applied


def test_lost_forwards_are_retried_and_applied_once() -> None:
    net = Net(3)
    net.run(1.5)
    leader = net.leader()
    follower = next(i for i in net.ids if i != leader)
    net.request(follower, {"type": "write", "msg_id": 39, "key": "c", "value": 0})
    net.run(0.2)
    # Acks (which carry forwards) from the follower are lost for a while, but the leader's
    # AppendEntries do arrive: the follower re-proposes under the same request id.
    lost = []

    def drop(e: dict) -> bool:
        if e["src"] == follower and any(b.get("props") for b in _bodies(e)) and len(lost) < 3:
            lost.append(e)
            return True
        return False

    net.drop_if = drop
    net.request(follower, {"type": "cas", "msg_id": 40, "key": "c", "from": 0, "to": 1})
    net.run(1.5)
    assert lost  # the first forwards really were lost
    assert [b["type"] for b in net.replies(40)] == ["cas_ok"]
    # The cas may sit in the log several times (one copy per retry), all under one request
    # id; it took effect once and every node agrees on the value.
    core = net.core(leader)
    entries = [d for i in range(1, core.commit + 1)
               if isinstance(d := core.log.data(i), dict) and d["c"][0] == "cas"]
    assert len({(e["o"], e["r"]) for e in entries}) == 1
    assert all(s.shards[SHARD].read("c") == (0, 1) for s in net.servers.values())
