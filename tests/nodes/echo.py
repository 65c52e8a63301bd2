#!/usr/bin/env python3
"""Echo node: answers every `echo` with `echo_ok` carrying the same payload."""

from _node import Node

node = Node()
node.run({"echo": lambda m: node.reply(m, {"type": "echo_ok", "echo": m["body"]["echo"]})})
