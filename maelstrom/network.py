"""The simulated network: latency, partitions, the message journal and net stats. Sans-IO.

Fed `send(now, ...)` for every message a node or client emits, it answers `due(now)` with the
messages whose delivery time has come, in delivery order. It never reads a clock or touches a
pipe: the runner owns time and IO, so the same object serves the process backend and the
deterministic simulator.

Rules (as Maelstrom's net.clj):
- Every message gets a network-unique `id` (journal and stats use it).
- A message between two servers is delayed by a latency drawn from the chosen distribution;
  a message to or from a client has zero latency.
- Relayed messages: a node may print a message whose `src` is another node or a client (a
  follower passing a client's request on to the leader unchanged). The network routes every
  message from its *sender*, the process that printed it (or the client that sent it): latency,
  partitions and the client/server split of the stats follow the sender, not the printed
  `src`. (Maelstrom routes by the printed `src`, so a relayed client request has no latency
  and crosses every partition.) The journal keeps the message as printed and adds
  `"via": sender` to its send and recv lines when the sender is not the message's `src`.
- Partitions are a *grudge*: dest -> the set of sources whose messages it drops. They are
  applied when a message is delivered, not when it is sent (a message in flight when a
  partition starts is lost; one sent during a partition that is healed before it lands is not).
- Down nodes (killed by the nemesis, or restarted and not yet initialised): a message to one
  is dropped at delivery (counted in `dropped`, not journaled as received), except from the
  senders it is still open to (`down(node, allow)`: the init client of a restarting node).
- Delivery order is by delivery time, ties by send order.

Extra faults (ours; off by default, server-to-server messages only, drawn from their own
generator `fault_rng` so that turning them on never shifts the latency draws):
- loss:      each message is lost with probability `loss` (counted in `dropped`).
- duplicate: each message is delivered a second time with probability `duplicate`, after its
             own latency draw (both deliveries are journaled under the same id).
- reorder:   each delivery is held back by an extra uniform 0..`reorder_delay` with
             probability `reorder`, so it can overtake or be overtaken well beyond the latency.
Client links stay reliable, as in Maelstrom: a lost or duplicated client message would only
test the bench's client, not the node.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from typing import Any, Callable

from maelstrom import json_write

__all__ = ["Network", "NetStats", "LATENCY_DISTS"]

LATENCY_DISTS = ("constant", "uniform", "exponential")


class NetStats:
    """Counters in the shape of Maelstrom's `:net` result (all traffic, client links, servers)."""

    __slots__ = ("send_all", "recv_all", "send_clients", "recv_clients", "dropped")

    def __init__(self) -> None:
        self.send_all = self.recv_all = 0
        self.send_clients = self.recv_clients = 0
        self.dropped = 0

    def result(self, op_count: int) -> dict:
        """Maelstrom's `:net` map; msgs-per-op divides by the number of client operations."""
        servers_send = self.send_all - self.send_clients
        servers_recv = self.recv_all - self.recv_clients
        all_ = {"send-count": self.send_all, "recv-count": self.recv_all,
                "msg-count": self.send_all}
        servers = {"send-count": servers_send, "recv-count": servers_recv,
                   "msg-count": servers_send}
        if op_count:
            all_["msgs-per-op"] = self.send_all / op_count
            servers["msgs-per-op"] = servers_send / op_count
        return {"all": all_,
                "clients": {"send-count": self.send_clients, "recv-count": self.recv_clients,
                            "msg-count": self.send_clients},
                "servers": servers,
                "valid?": True}


class Network:
    """An unordered, lossy-under-partition network between server nodes and clients.

    `journal`, if given, is any object with `write(bytes)`: it receives one JSON line per send
    and per delivery. `log`, if given, is called with a line of text per send/delivery when
    `log_send`/`log_recv` are set (Maelstrom's --log-net-send/--log-net-recv).
    """

    def __init__(self, nodes: list[str], rng: random.Random, latency_ms: float = 0.0,
                 dist: str = "constant", journal: Any = None,
                 log: Callable[[str], None] | None = None,
                 log_send: bool = False, log_recv: bool = False,
                 fault_rng: random.Random | None = None, loss: float = 0.0,
                 duplicate: float = 0.0, reorder: float = 0.0,
                 reorder_delay_ms: float = 100.0) -> None:
        if dist not in LATENCY_DISTS:
            raise ValueError(f"latency distribution must be one of {LATENCY_DISTS}, got {dist!r}")
        if latency_ms < 0:
            raise ValueError("latency must be non-negative")
        for name, p in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} probability must be between 0 and 1, got {p}")
        if reorder_delay_ms < 0:
            raise ValueError("reorder delay must be non-negative")
        self._fault_rng = fault_rng if fault_rng is not None else random.Random(0)
        self._loss = loss
        self._duplicate = duplicate
        self._reorder = reorder
        self._reorder_delay = reorder_delay_ms / 1000.0
        self._faulty = bool(loss or duplicate or reorder)
        self.nodes = frozenset(nodes)
        self.clients: set[str] = set()
        self.grudge: dict[str, frozenset[str]] = {}
        self.downed: dict[str, frozenset[str]] = {}  # down node -> senders it still takes
        self.stats = NetStats()
        self._rng = rng
        self._mean = latency_ms / 1000.0
        self._dist = dist
        self._heap: list[tuple] = []
        self._ready: deque[tuple] = deque()  # zero-latency messages, in send order
        self._next_id = 0
        self._journal = journal
        self._log = log if (log_send or log_recv) else None
        self._log_send = log_send
        self._log_recv = log_recv

    # -- membership ----------------------------------------------------------------------
    def add_client(self, client_id: str) -> None:
        """Register a client id (clients are never removed: late replies to a retired client
        are delivered and ignored by the client side)."""
        self.clients.add(client_id)

    def knows(self, node_id: str) -> bool:
        return node_id in self.nodes or node_id in self.clients

    # -- faults --------------------------------------------------------------------------
    def partition(self, grudge: dict[str, frozenset[str]]) -> None:
        """Replace the current partition: `grudge[dest]` is the set of sources dest drops."""
        self.grudge = {d: frozenset(s) for d, s in grudge.items() if s}

    def heal(self) -> None:
        self.grudge = {}

    def down(self, node: str, allow: frozenset[str] = frozenset()) -> None:
        """Drop every message delivered to `node` from now on, except from `allow`."""
        self.downed[node] = frozenset(allow)

    def up(self, node: str) -> None:
        self.downed.pop(node, None)

    # -- traffic -------------------------------------------------------------------------
    def latency(self) -> float:
        """One server-to-server latency draw, in seconds."""
        mean = self._mean
        if mean == 0.0:
            return 0.0
        dist = self._dist
        if dist == "constant":
            return mean
        if dist == "uniform":
            return self._rng.uniform(0.0, 2.0 * mean)
        return self._rng.expovariate(1.0 / mean)

    def send(self, now: float, src: str, dest: str, raw: bytes, body: Any,
             relayed: bool = False) -> int:
        """Accept one message (already validated by the caller) from sender `src` (the process
        that printed it, or the client that sent it). `raw` is its JSON text, `body` its parsed
        form (the runner passes the whole envelope), handed back untouched by due() so nobody
        parses twice. `relayed`: the message's own `src` is not the sender (the journal says
        `"via": src`). Returns the message id."""
        mid = self._next_id
        self._next_id = mid + 1
        clients = self.clients
        client = src in clients or dest in clients
        stats = self.stats
        stats.send_all += 1
        if client:
            stats.send_clients += 1
        via = _via(src) if relayed else None
        journal = self._journal
        if journal is not None:
            if via is None:
                journal.write(b'{"type":"send","time":%d,"id":%d,"message":%s}\n'
                              % (int(now * 1e9), mid, raw))
            else:
                journal.write(b'{"type":"send","time":%d,"id":%d,"via":%s,"message":%s}\n'
                              % (int(now * 1e9), mid, via, raw))
        if self._log is not None and self._log_send:
            self._log(f":send {raw.decode('utf-8', 'replace')}"
                      + (f" (via {src})" if relayed else ""))
        # Entries are (time, order, id, ...): order = 2 x id (+1 for a duplicate copy) keeps
        # ties in send order and never lets the heap compare message bodies.
        if client:
            self._ready.append((now, mid << 1, mid, src, dest, raw, body, client, via))
        elif self._faulty:
            self._send_faulty(now, mid, src, dest, raw, body, via)
        elif self._mean == 0.0:
            self._ready.append((now, mid << 1, mid, src, dest, raw, body, client, via))
        else:
            at = now + (self._mean if self._dist == "constant" else self.latency())
            heapq.heappush(self._heap, (at, mid << 1, mid, src, dest, raw, body, client, via))
        return mid

    def _send_faulty(self, now: float, mid: int, src: str, dest: str, raw: bytes,
                     body: Any, via: bytes | None = None) -> None:
        # Draw order is fixed (loss, duplicate, then per copy latency and reorder) and a draw
        # is made only for a fault that is on, so one seed gives one schedule.
        rng = self._fault_rng
        if self._loss and rng.random() < self._loss:
            self.stats.dropped += 1
            return
        copies = 2 if self._duplicate and rng.random() < self._duplicate else 1
        for copy in range(copies):
            at = now + self.latency()
            if self._reorder and rng.random() < self._reorder:
                at += rng.uniform(0.0, self._reorder_delay)
            # Everything goes through the heap here (even at zero latency): a reordered
            # message must be able to land after later ones.
            heapq.heappush(self._heap,
                           (at, (mid << 1) | copy, mid, src, dest, raw, body, False, via))

    def next_due(self) -> float | None:
        """When the next delivery is due (None if nothing is in flight)."""
        if self._ready:
            return self._ready[0][0]
        if self._heap:
            return self._heap[0][0]
        return None

    def due(self, now: float) -> list[tuple[str, str, bytes, Any]]:
        """Remove and return every message due at `now`, as (sender, dest, raw, body),
        dropping those that a partition forbids (it applies to the sender)."""
        out: list[tuple[str, str, bytes, Any]] = []
        ready, heap = self._ready, self._heap
        if ready:
            batch: list[tuple] = list(ready)
            n_ready = len(batch)
            ready.clear()
        else:
            batch = []
            n_ready = 0
        if heap and heap[0][0] <= now:
            pop = heapq.heappop
            append = batch.append
            while heap and heap[0][0] <= now:
                append(pop(heap))
        if not batch:
            return out
        if n_ready and len(batch) > n_ready:
            # zero-latency and delayed messages interleave by delivery time, then send order
            batch.sort(key=_order)
        grudge = self.grudge
        downed = self.downed
        stats = self.stats
        journal = self._journal
        log_recv = self._log if self._log_recv else None
        emit = out.append
        t_ns = int(now * 1e9)
        received = received_by_clients = 0
        for _, _, mid, src, dest, raw, body, client, via in batch:
            if grudge:
                drops = grudge.get(dest)
                if drops is not None and src in drops:
                    stats.dropped += 1
                    continue
            if downed:
                takes = downed.get(dest)
                if takes is not None and src not in takes:
                    stats.dropped += 1
                    continue
            received += 1
            if client:
                received_by_clients += 1
            if journal is not None:
                if via is None:
                    journal.write(b'{"type":"recv","time":%d,"id":%d,"message":%s}\n'
                                  % (t_ns, mid, raw))
                else:
                    journal.write(b'{"type":"recv","time":%d,"id":%d,"via":%s,"message":%s}\n'
                                  % (t_ns, mid, via, raw))
            if log_recv is not None:
                log_recv(f":recv {raw.decode('utf-8', 'replace')}"
                         + (f" (via {src})" if via is not None else ""))
            emit((src, dest, raw, body))
        stats.recv_all += received
        stats.recv_clients += received_by_clients
        return out

    def in_flight(self) -> int:
        return len(self._ready) + len(self._heap)


def _via(sender: str) -> bytes:
    """The journal's `via` value: the sender's id as JSON text."""
    return json_write.dumps(sender)


def _order(entry: tuple) -> tuple[float, int]:
    return entry[0], entry[1]  # delivery time, then send order (see Network.send)
