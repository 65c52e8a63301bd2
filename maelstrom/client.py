"""Maelstrom's clients, as the runner's worker threads see them. Sans-IO.

Each worker thread `t` (0..concurrency-1) talks to node `nodes[t % n]` through one client id
(`c<k>`), one request at a time, as Jepsen's workers do. Its Jepsen process starts as `t`;
when an operation ends `:info` (it may or may not have happened), the process is retired and
the thread continues as process `t + concurrency` with a fresh client id.

A request times out after `timeout` seconds (Maelstrom: max(10 x latency, 1 s)). Completions
follow Maelstrom's client.clj: a reply of type "error" maps through the error table (definite
codes -> `:fail`, others -> `:info`, with `:error [:name "text"]`); a timeout is `:info` with
`:error :net-timeout`; and for idempotent functions (reads) both become `:fail`, since a read
that may not have happened changed nothing.

Replies are checked: one whose `in_reply_to` names no request the client sent is an
`invalid-reply`; the first reply to each request is kept, and a later one that says something
else (a different body, `msg_id` aside) is a `contradictory-reply`. A copy of the first (the
same body again, as a duplicating network delivers it) is ignored, like a reply that comes after
its request timed out.
"""

from __future__ import annotations

import heapq
from typing import Any, NamedTuple

from maelstrom.edn import Keyword, excerpt, frozen
from maelstrom.errors import error_kind

__all__ = ["Worker", "ClientPool", "Completion", "ReplyFault", "NET_TIMEOUT"]

NET_TIMEOUT = Keyword("net-timeout")

# (thread, process, type, f, value, error)
Completion = tuple[int, int, str, str, Any, Any]


class ReplyFault(NamedTuple):
    """A reply that is the node's fault: `kind` is "invalid-reply" or "contradictory-reply"."""

    kind: str
    reason: str


def _same_answer(a: dict, b: dict) -> bool:
    """Two replies say the same (Clojure's equality on the bodies, msg_id aside)."""
    return frozen({k: v for k, v in a.items() if k != "msg_id"}) == \
        frozen({k: v for k, v in b.items() if k != "msg_id"})


class Worker:
    __slots__ = ("thread", "process", "client", "node", "msg_id", "f", "value", "pending",
                 "free_since")

    def __init__(self, thread: int, client: str, node: str) -> None:
        self.thread = thread
        self.process = thread
        self.client = client
        self.node = node
        self.msg_id = 0
        self.f: str | None = None
        self.value: Any = None
        self.pending: int | None = None  # msg_id of the outstanding request
        self.free_since = 0.0


class ClientPool:
    """The worker threads, their outstanding requests and their timeouts."""

    def __init__(self, concurrency: int, nodes: list[str], workload: Any, timeout: float,
                 first_client: int = 0) -> None:
        self.concurrency = concurrency
        self.workload = workload
        self.idempotent = workload.idempotent
        self.timeout = timeout
        self._next_client = first_client
        self.workers = [Worker(t, self._new_client_id(), nodes[t % len(nodes)])
                        for t in range(concurrency)]
        self.by_client = {w.client: w for w in self.workers}
        self.free: list[int] = list(range(concurrency))
        self._retired: dict[str, int] = {}  # retired client id -> the last msg_id it sent
        self._replies: dict[tuple[str, int], dict] = {}  # (client, msg_id) -> its first reply
        self._timeouts: list[tuple[float, int, int]] = []  # (deadline, thread, msg_id)
        # next_deadline(), cached (the runner asks every turn); False: not known. Cleared by
        # invoke() and _complete(), the only places that change which requests are pending.
        self._next: float | None | bool = False

    def _new_client_id(self) -> str:
        cid = f"c{self._next_client}"
        self._next_client += 1
        return cid

    def client_ids(self) -> list[str]:
        return list(self.by_client)

    def busy(self) -> int:
        return self.concurrency - len(self.free)

    def invoke(self, now: float, thread: int, f: str, value: Any) -> tuple[str, str, dict]:
        """Start an operation on a free thread. Returns (client id, node, body) to send."""
        w = self.workers[thread]
        self.free.remove(thread)
        w.msg_id += 1
        w.pending = w.msg_id
        w.f, w.value = f, value
        body = self.workload.request(f, value)
        body["msg_id"] = w.msg_id
        heapq.heappush(self._timeouts, (now + self.timeout, thread, w.msg_id))
        self._next = False
        return w.client, w.node, body

    def receive(self, now: float, client: str, body: dict) -> Completion | ReplyFault | None:
        """A message delivered to `client`. Returns the completion it causes; None if it
        completes nothing and is fine (a late reply, to a request already timed out or to a
        retired client; a copy of an earlier reply); or a ReplyFault."""
        w = self.by_client.get(client)
        sent = w.msg_id if w is not None else self._retired.get(client)
        if sent is None:
            return None  # not one of ours (the runner delivers only to known clients)
        irt = body.get("in_reply_to")
        if type(irt) is not int or not 0 < irt <= sent:
            return ReplyFault("invalid-reply", f"reply to {client} has in_reply_to "
                              f"{excerpt(irt)}, which matches no request {client} sent")
        first = self._replies.get((client, irt))
        if first is not None:
            if _same_answer(first, body):
                return None
            return ReplyFault("contradictory-reply",
                              f"second reply to {client}'s request {irt} differs from the "
                              f"first: {excerpt(first, 200)} then {excerpt(body, 200)}")
        self._replies[(client, irt)] = body
        if w is None or w.pending != irt:
            return None  # the answer to a request we already gave up on
        f, value = w.f, w.value
        if body.get("type") == "error":
            kind = error_kind(body.get("code"))
            definite = kind.definite or f in self.idempotent
            text = body.get("text")
            return self._complete(now, w, "fail" if definite else "info", value,
                                  [Keyword(kind.name), text])
        type_, value, error = self.workload.complete(f, value, body)
        return self._complete(now, w, type_, value, error)

    def next_deadline(self) -> float | None:
        """The earliest timeout of a request still outstanding (None if there is none)."""
        if self._next is not False:
            return self._next
        heap = self._timeouts
        while heap:
            _, thread, msg_id = heap[0]
            if self.workers[thread].pending == msg_id:
                self._next = heap[0][0]
                return self._next
            heapq.heappop(heap)  # already answered
        self._next = None
        return None

    def expire(self, now: float) -> list[Completion]:
        """Time out every request whose deadline has passed."""
        out = []
        heap = self._timeouts
        while heap and heap[0][0] <= now:
            _, thread, msg_id = heapq.heappop(heap)
            w = self.workers[thread]
            if w.pending == msg_id:
                type_ = "fail" if w.f in self.idempotent else "info"
                out.append(self._complete(now, w, type_, w.value, NET_TIMEOUT))
        return out

    def _complete(self, now: float, w: Worker, type_: str, value: Any, error: Any) -> Completion:
        done = (w.thread, w.process, type_, w.f, value, error)
        w.pending = None
        self._next = False
        w.f = w.value = None
        if type_ == "info":
            # The process crashed as far as Jepsen is concerned: the thread goes on as a new
            # process with a new client (a late reply to the old one is ignored).
            w.process += self.concurrency
            del self.by_client[w.client]
            self._retired[w.client] = w.msg_id
            w.client = self._new_client_id()
            self.by_client[w.client] = w
        w.free_since = now
        self.free.append(w.thread)
        return done
