"""Maelstrom's wire protocol as the node speaks it: error codes, error bodies, and validation of
client requests (doc/protocol.md, doc/workloads.md of jepsen-io/maelstrom).

Validation turns a request body into a command or raises `Malformed` with a text for error 12.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "TIMEOUT", "NODE_NOT_FOUND", "NOT_SUPPORTED", "TEMPORARILY_UNAVAILABLE", "MALFORMED_REQUEST",
    "CRASH", "ABORT", "KEY_DOES_NOT_EXIST", "KEY_ALREADY_EXISTS", "PRECONDITION_FAILED",
    "TXN_CONFLICT", "Malformed", "error_body", "parse_client_request", "CLIENT_TYPES",
    "command_body",
]

TIMEOUT = 0                   # indefinite
NODE_NOT_FOUND = 1
NOT_SUPPORTED = 10
TEMPORARILY_UNAVAILABLE = 11  # definite: the request was not and will not be applied
MALFORMED_REQUEST = 12
CRASH = 13                    # indefinite
ABORT = 14
KEY_DOES_NOT_EXIST = 20
KEY_ALREADY_EXISTS = 21
PRECONDITION_FAILED = 22
TXN_CONFLICT = 30

CLIENT_TYPES = frozenset({"read", "write", "cas"})

_MISSING = object()


class Malformed(ValueError):
    """A request with missing or ill-typed fields (answered with error 12)."""


def error_body(code: int, text: str, in_reply_to: int | None) -> dict:
    body: dict[str, Any] = {"type": "error", "code": code, "text": text}
    if in_reply_to is not None:
        body["in_reply_to"] = in_reply_to
    return body


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _key(body: dict) -> Any:
    key = body.get("key", _MISSING)
    if key is _MISSING:
        raise Malformed("missing field 'key'")
    # Keys index a dict and travel through the log: JSON integers and strings only.
    if not (is_int(key) or isinstance(key, str)):
        raise Malformed(f"field 'key' must be an integer or a string, not {type(key).__name__}")
    return key


def _field(body: dict, name: str) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING:
        raise Malformed(f"missing field {name!r}")
    return value


def parse_client_request(body: dict) -> list:
    """The command of a read/write/cas body: ["read", k] | ["write", k, v] | ["cas", k, from, to].

    Raises Malformed. The caller checked that body["type"] is in CLIENT_TYPES.
    """
    t = body["type"]
    if t == "read":
        return ["read", _key(body)]
    if t == "write":
        return ["write", _key(body), _field(body, "value")]
    return ["cas", _key(body), _field(body, "from"), _field(body, "to")]


def command_body(cmd: Any) -> dict:
    """A command ["read", k] | ["write", k, v] | ["cas", k, from, to] (as nodes pass requests
    on to each other) back as a request body, so it is validated exactly like a client's.
    KeyError/IndexError/TypeError if it is no such list."""
    op = cmd[0]
    if op == "read":
        return {"type": "read", "key": cmd[1]}
    if op == "write":
        return {"type": "write", "key": cmd[1], "value": cmd[2]}
    if op == "cas":
        return {"type": "cas", "key": cmd[1], "from": cmd[2], "to": cmd[3]}
    raise KeyError(op)
