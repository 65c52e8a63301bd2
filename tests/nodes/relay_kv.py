#!/usr/bin/env python3
"""A single-leader lin-kv node whose followers relay client requests to the leader unchanged,
the way Maelstrom's demo Raft forwards them: same `src` (the client), same body, only `dest`
changed. The leader (the first node, n0) applies every request to its map at once and answers
the client directly, so the answer's `src` is the leader, not the node the client asked.

Linearizable whatever the network does: one map, each request applied when it arrives. Under a
partition that cuts a follower from the leader, the requests that follower relays are lost and
its clients time out.

Two ways to run it:
- as a process (`--bin tests/nodes/relay_kv.py`): JSON lines on stdin and stdout;
  `relay_kv.py unknown-src` relays with a `src` that is no node or client of the test;
- in the simulator (`--sim --bin tests/nodes/relay_kv.py`): the sans-IO class `Server`, or
  `--sim-node tests/nodes/relay_kv.py:UnknownSrcServer` for the broken relay.
"""

from __future__ import annotations

import json
import sys

UNKNOWN_SRC = "x9"  # not a node or client id of any test


class Server:
    """The node, sans-IO: `receive(now, envelope)` returns the envelopes to send."""

    unknown_src = False

    def __init__(self, *, seed: int = 0, log=None) -> None:
        self.id: str | None = None
        self.ids: list[str] = []
        self.store: dict = {}
        self._log = log

    def receive(self, now: float, msg: dict) -> list[dict]:
        body = msg["body"]
        kind = body.get("type")
        if kind == "init":
            self.id, self.ids = body["node_id"], list(body["node_ids"])
            if self._log is not None:
                self._log({"event": "init", "node": self.id})
            return [{"src": self.id, "dest": msg["src"],
                     "body": {"type": "init_ok", "in_reply_to": body["msg_id"]}}]
        if kind not in ("read", "write", "cas"):
            return []
        leader = self.ids[0]
        if self.id != leader:
            relayed = dict(msg, dest=leader)  # src and body unchanged
            if self.unknown_src:
                relayed["src"] = UNKNOWN_SRC
            return [relayed]
        reply = self.apply(body)
        reply["in_reply_to"] = body["msg_id"]
        return [{"src": self.id, "dest": msg["src"], "body": reply}]

    def apply(self, body: dict) -> dict:
        store, key = self.store, body["key"]
        if body["type"] == "write":
            store[key] = body["value"]
            return {"type": "write_ok"}
        if key not in store:
            return {"type": "error", "code": 20, "text": "no such key"}
        if body["type"] == "read":
            return {"type": "read_ok", "value": store[key]}
        if store[key] != body["from"]:
            return {"type": "error", "code": 22,
                    "text": f"expected {body['from']}, had {store[key]}"}
        store[key] = body["to"]
        return {"type": "cas_ok"}

    def tick(self, now: float) -> list[dict]:
        return []

    def next_deadline(self) -> float | None:
        return None


class UnknownSrcServer(Server):
    """Relays with a `src` that names nobody in the test: the bench must call it a fault."""

    unknown_src = True


def main() -> None:
    server = UnknownSrcServer() if sys.argv[1:2] == ["unknown-src"] else Server()
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        for envelope in server.receive(0.0, msg):
            out.write(json.dumps(envelope) + "\n")
        out.flush()
        if msg["body"].get("type") == "init":
            print(f"{server.id}: initialised", file=sys.stderr, flush=True)

if __name__ == "__main__":
    main()
