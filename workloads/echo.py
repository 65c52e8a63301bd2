"""echo: Maelstrom's echo workload. Clients send `echo{echo}`, nodes answer `echo_ok{echo}` with
the same payload; the checker verifies every acknowledged echo returned what was sent."""

from __future__ import annotations

import random
from typing import Any

from maelstrom.edn import Keyword

__all__ = ["EchoWorkload"]


class EchoWorkload:
    """See the module docstring; the protocol is described in workloads/__init__.py."""

    name = "echo"
    idempotent = frozenset({"echo"})

    def __init__(self, nodes: list[str], concurrency: int, rng: random.Random) -> None:
        self.rng = rng

    def next_op(self, thread: int) -> tuple[str, Any]:
        return "echo", f"Please echo {self.rng.randrange(128)}"

    @staticmethod
    def request(f: str, value: Any) -> dict:
        return {"type": "echo", "echo": value}

    @staticmethod
    def complete(f: str, value: Any, body: dict) -> tuple[str, Any, Any]:
        if body.get("type") != "echo_ok" or "echo" not in body:
            return "fail", value, [Keyword("malformed-response"),
                                   f"expected echo_ok, got {body.get('type')!r}"]
        return "ok", body["echo"], None

    @staticmethod
    def final_ops() -> list[tuple[str, Any]]:
        return []

    @staticmethod
    def check(history: list) -> dict:
        """Pair each completion with its process's invocation; an ok echo must match."""
        pending: dict[Any, Any] = {}
        errors = []
        for op in history:
            if not isinstance(op.process, int):
                continue
            if op.type == "invoke":
                pending[op.process] = op
            elif op.type == "ok":
                inv = pending.pop(op.process, None)
                if inv is None or inv.value != op.value:
                    errors.append({"expected": None if inv is None else inv.value,
                                   "received": op.value, "index": op.index})
            else:
                pending.pop(op.process, None)
        return {"valid?": not errors, "errors": errors[:10]}
