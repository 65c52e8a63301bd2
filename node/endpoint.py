"""What every node kind of ours does alike with Maelstrom envelopes (doc/protocol.md of
jepsen-io/maelstrom): validate an incoming envelope and answer a malformed request with error
12, read `init`'s fields, number and address what it sends, and log. The Raft node
(node/server.py) and the gossip-mode node (node/rediscluster/server.py) both build on it.
"""

from __future__ import annotations

from typing import Any, Callable

from node import protocol as P

__all__ = ["Endpoint", "clip"]


class Endpoint:
    """Mixin: needs `node_id`, `_reply_src`, `_next_msg_id` and `_log` set by the subclass."""

    node_id: str | None
    _reply_src: str | None
    _next_msg_id: int
    _log: Callable[[dict], None] | None

    def _envelope(self, message: Any, out: list[dict]) -> tuple[str, dict, Any, str] | None:
        """(src, body, msg_id, type) of a well-formed envelope; else None, having answered
        what can be answered (12) and logged the rest."""
        if not isinstance(message, dict):
            self._emit({"event": "bad_message", "why": "not an object", "message": clip(message)})
            return None
        src = message.get("src")
        body = message.get("body")
        if self.node_id is None and isinstance(message.get("dest"), str):
            self._reply_src = message["dest"]  # before init, answer as whom we were addressed
        if not isinstance(src, str):
            self._emit({"event": "bad_message", "why": "no src", "message": clip(message)})
            return None
        if not isinstance(body, dict):
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "body must be an object")
            return None
        msg_id = body.get("msg_id")
        if msg_id is not None and type(msg_id) is not int and not P.is_int(msg_id):
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "msg_id must be an integer")
            return None
        t = body.get("type")
        if not isinstance(t, str):
            self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST, "missing or non-string type")
            return None
        return src, body, msg_id, t

    def _init_fields(self, src: str, body: dict, msg_id: Any,
                     out: list[dict]) -> tuple[str, list[str]] | None:
        """(node_id, node_ids) of an `init`; else None, having answered 12."""
        node_id, node_ids = body.get("node_id"), body.get("node_ids")
        if not isinstance(node_id, str) or not isinstance(node_ids, list) \
                or not all(isinstance(n, str) for n in node_ids):
            self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST,
                              "init needs node_id (string) and node_ids (list of strings)")
            return None
        if msg_id is None:
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "missing msg_id")
            return None
        return node_id, node_ids

    def _client_command(self, src: str, body: dict, msg_id: Any, ready: bool,
                        out: list[dict]) -> list | None:
        """The command of a read/write/cas request (node/protocol.py); else None, having
        answered 12 (malformed) or 11 (not `ready`: before init, definitely not applied)."""
        if msg_id is None:
            self._reply_error(out, src, None, P.MALFORMED_REQUEST, "missing msg_id")
            return None
        try:
            cmd = P.parse_client_request(body)
        except P.Malformed as e:
            self._reply_error(out, src, msg_id, P.MALFORMED_REQUEST, str(e))
            return None
        if not ready:
            self._reply_error(out, src, msg_id, P.TEMPORARILY_UNAVAILABLE, "node not initialized")
            return None
        return cmd

    def _send(self, out: list[dict], dest: str, body: dict) -> None:
        self._next_msg_id += 1
        body["msg_id"] = self._next_msg_id
        out.append({"src": self.node_id or self._reply_src, "dest": dest, "body": body})

    def _reply_error(self, out: list[dict], dest: str, in_reply_to: int | None, code: int,
                     text: str) -> None:
        self._send(out, dest, P.error_body(code, text, in_reply_to))

    def _emit(self, event: dict) -> None:
        if self._log is not None:
            event.setdefault("node", self.node_id)
            self._log(event)


def clip(x: Any) -> Any:
    """A short printable form of arbitrary input, for logs."""
    s = repr(x)
    return s if len(s) <= 300 else s[:300] + "..."
