"""A tiny Maelstrom node toolkit for the bench's test nodes (standard library only).

`Node.run(handlers, every=(period, fn))` reads JSON lines from stdin, answers `init`, and calls
`handlers[type](msg)` for every other message; `fn()` runs every `period` seconds if given.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time


class Node:
    def __init__(self) -> None:
        self.id = ""
        self.ids: list[str] = []
        self.next_msg_id = 0
        self.on_init = None  # called after init_ok, if set

    def send(self, dest: str, body: dict) -> None:
        self.next_msg_id += 1
        body.setdefault("msg_id", self.next_msg_id)
        sys.stdout.write(json.dumps({"src": self.id, "dest": dest, "body": body}) + "\n")
        sys.stdout.flush()

    def reply(self, msg: dict, body: dict) -> None:
        body["in_reply_to"] = msg["body"]["msg_id"]
        self.send(msg["src"], body)

    def log(self, text: str) -> None:
        print(f"{self.id}: {text}", file=sys.stderr, flush=True)

    def run(self, handlers: dict, every: tuple | None = None) -> None:
        fd = sys.stdin.fileno()
        buf = b""
        next_tick = time.monotonic() + every[0] if every else None
        while True:
            timeout = max(0.0, next_tick - time.monotonic()) if next_tick else None
            ready, _, _ = select.select([fd], [], [], timeout)
            if every and time.monotonic() >= next_tick:
                next_tick += every[0]
                if self.id:
                    every[1]()
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                msg = json.loads(line)
                body = msg["body"]
                if body["type"] == "init":
                    self.id, self.ids = body["node_id"], body["node_ids"]
                    self.reply(msg, {"type": "init_ok"})
                    self.log("initialised")
                    if self.on_init is not None:
                        self.on_init()
                elif body["type"] in handlers:
                    handlers[body["type"]](msg)
