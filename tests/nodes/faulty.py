#!/usr/bin/env python3
"""A node that misbehaves in the way named by its first argument, for the bench's fault tests:

- crash:   answers init, then on its first request writes to stderr and exits with status 3
- garbage: answers init, then answers every request with a line that is not JSON
- badsrc:  answers init, then answers requests with a wrong `src`
- hang:    never answers init
Node n0 misbehaves; the others echo correctly (so the test itself goes on).
"""

import json
import sys

from _node import Node

mode = sys.argv[1] if len(sys.argv) > 1 else "crash"
node = Node()


def echo(msg: dict) -> None:
    if node.id != "n0":
        node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]})
    elif mode == "crash":
        print("faulty node: crashing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    elif mode == "garbage":
        sys.stdout.write("this is not json {\n")
        sys.stdout.flush()
    elif mode == "badsrc":
        body = {"type": "echo_ok", "echo": msg["body"]["echo"], "in_reply_to": msg["body"]["msg_id"]}
        sys.stdout.write(json.dumps({"src": "n99", "dest": msg["src"], "body": body}) + "\n")
        sys.stdout.flush()


if mode == "hang":
    node.id = ""
    for _ in sys.stdin:  # read forever, answer nothing
        pass
else:
    node.run({"echo": echo})
