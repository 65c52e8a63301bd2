#!/usr/bin/env python3
"""Echo node that keeps a file in its data directory: on every `init` it appends its pid to
`$FERRITE_DATA_DIR/pids` and logs what the file held before, so a test can see that a restarted
process is new (another pid), was sent `init` again, and found the same directory."""

import os

from _node import Node

node = Node()


def on_init() -> None:
    path = os.path.join(os.environ["FERRITE_DATA_DIR"], "pids")
    try:
        with open(path) as f:
            before = f.read().split()
    except FileNotFoundError:
        before = []
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    node.log(f"pid {os.getpid()} found pids {before}")


node.on_init = on_init
node.run({"echo": lambda m: node.reply(m, {"type": "echo_ok", "echo": m["body"]["echo"]})})
