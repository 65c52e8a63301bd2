#!/usr/bin/env python3
"""A broken KV: writes and cas go to the owner (the first node), but every node serves reads
from its own copy, which the owner refreshes only once a second (and partitions delay further).
Reads are therefore stale: not linearizable."""

from _node import Node
from _owner import OwnerKV

node = Node()
kv = OwnerKV(node)
copy: dict = {}    # this node's lagging copy of the owner's map


def read(msg: dict) -> None:
    k = msg["body"]["key"]
    if k not in copy:
        node.reply(msg, {"type": "error", "code": 20, "text": "no such key"})
    else:
        node.reply(msg, {"type": "read_ok", "value": copy[k]})


def replicate() -> None:
    if node.id == node.ids[0]:
        snapshot = [[k, v] for k, v in kv.store.items()]
        copy.clear()
        copy.update(kv.store)
        for other in node.ids[1:]:
            node.send(other, {"type": "snapshot", "kv": snapshot})


def snapshot(msg: dict) -> None:
    copy.clear()
    copy.update({k: v for k, v in msg["body"]["kv"]})


node.run({**kv.handlers(), "read": read, "snapshot": snapshot}, every=(1.0, replicate))
