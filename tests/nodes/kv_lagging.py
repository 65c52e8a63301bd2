#!/usr/bin/env python3
"""A broken KV: writes and cas go to the owner (the first node), but every node serves reads
from its own copy, which the owner refreshes only once a second (and partitions delay further).
Reads are therefore stale: not linearizable."""

from _node import Node

node = Node()
store: dict = {}   # the owner's authoritative state
copy: dict = {}    # this node's lagging copy
waiting: dict = {}


def apply(body: dict) -> dict:
    k = body["key"]
    if body["type"] == "write":
        store[k] = body["value"]
        return {"type": "write_ok"}
    if k not in store:
        return {"type": "error", "code": 20, "text": "no such key"}
    if store[k] != body["from"]:
        return {"type": "error", "code": 22, "text": "mismatch"}
    store[k] = body["to"]
    return {"type": "cas_ok"}


def read(msg: dict) -> None:
    view = copy
    k = msg["body"]["key"]
    if k not in view:
        node.reply(msg, {"type": "error", "code": 20, "text": "no such key"})
    else:
        node.reply(msg, {"type": "read_ok", "value": view[k]})


def update(msg: dict) -> None:
    if node.id == node.ids[0]:
        node.reply(msg, apply(msg["body"]))
    else:
        node.next_msg_id += 1
        waiting[node.next_msg_id] = msg
        node.send(node.ids[0], {"type": "fwd", "msg_id": node.next_msg_id, "req": msg["body"]})


def forwarded(msg: dict) -> None:
    node.reply(msg, {"type": "fwd_ok", "res": apply(msg["body"]["req"])})


def forwarded_ok(msg: dict) -> None:
    original = waiting.pop(msg["body"]["in_reply_to"], None)
    if original is not None:
        node.reply(original, dict(msg["body"]["res"]))


def replicate() -> None:
    if node.id == node.ids[0]:
        snapshot = [[k, v] for k, v in store.items()]
        copy.clear()
        copy.update(store)
        for other in node.ids[1:]:
            node.send(other, {"type": "snapshot", "kv": snapshot})


def snapshot(msg: dict) -> None:
    copy.clear()
    copy.update({k: v for k, v in msg["body"]["kv"]})


node.run({"read": read, "write": update, "cas": update, "fwd": forwarded,
          "fwd_ok": forwarded_ok, "snapshot": snapshot}, every=(1.0, replicate))
