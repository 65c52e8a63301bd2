#!/usr/bin/env python3
"""A correct linearizable KV: every request is forwarded to one owner (the first node), which
applies it and answers through the forwarding node. Under partitions requests get lost (clients
time out), but every answer reflects one serial order of operations."""

from _node import Node

node = Node()
store: dict = {}
waiting: dict = {}  # forward msg_id -> original client message


def apply(body: dict) -> dict:
    k = body["key"]
    if body["type"] == "read":
        if k not in store:
            return {"type": "error", "code": 20, "text": "no such key"}
        return {"type": "read_ok", "value": store[k]}
    if body["type"] == "write":
        store[k] = body["value"]
        return {"type": "write_ok"}
    if k not in store:
        return {"type": "error", "code": 20, "text": "no such key"}
    if store[k] != body["from"]:
        return {"type": "error", "code": 22, "text": f"expected {body['from']} had {store[k]}"}
    store[k] = body["to"]
    return {"type": "cas_ok"}


def client_request(msg: dict) -> None:
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


node.run({"read": client_request, "write": client_request, "cas": client_request,
          "fwd": forwarded, "fwd_ok": forwarded_ok})
