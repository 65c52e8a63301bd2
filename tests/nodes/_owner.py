"""Shared by the small KV test nodes: one owner (the first node) holds the authoritative map and
applies every request forwarded to it; other nodes forward and relay the answer."""

from _node import Node


class OwnerKV:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.store: dict = {}
        self.waiting: dict = {}  # forward msg_id -> original client message

    def apply(self, body: dict) -> dict:
        store, k = self.store, body["key"]
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

    def via_owner(self, msg: dict) -> None:
        """Apply at the owner: here if this is the owner, else forward and relay the answer."""
        node = self.node
        if node.id == node.ids[0]:
            node.reply(msg, self.apply(msg["body"]))
        else:
            node.next_msg_id += 1
            self.waiting[node.next_msg_id] = msg
            node.send(node.ids[0], {"type": "fwd", "msg_id": node.next_msg_id, "req": msg["body"]})

    def forwarded(self, msg: dict) -> None:
        self.node.reply(msg, {"type": "fwd_ok", "res": self.apply(msg["body"]["req"])})

    def forwarded_ok(self, msg: dict) -> None:
        original = self.waiting.pop(msg["body"]["in_reply_to"], None)
        if original is not None:
            self.node.reply(original, dict(msg["body"]["res"]))

    def handlers(self) -> dict:
        return {"read": self.via_owner, "write": self.via_owner, "cas": self.via_owner,
                "fwd": self.forwarded, "fwd_ok": self.forwarded_ok}
