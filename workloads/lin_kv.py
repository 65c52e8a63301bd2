"""lin-kv: Jepsen's linearizable-register workload over independent keys, as Maelstrom runs it.

Generator (jepsen.tests.linearizable-register with jepsen.independent): worker threads form
groups of 2n (n = node count); each group works on one key at a time, from the shared sequence
0, 1, 2, ...; a key gets at most `per_key_limit` operations (randomised to 90-100% so that
keys drift apart), after which the group moves on to the next key. In each group the first n
threads only read; the others mix write:cas:cas. Values are 0..4.

Messages are Maelstrom's: `read{key}` -> `read_ok{value}`, `write{key,value}` -> `write_ok`,
`cas{key,from,to}` -> `cas_ok` (errors 20 key-does-not-exist and 22 precondition-failed are
definite, see maelstrom.errors). History values are independent tuples `[key, v]`.
"""

from __future__ import annotations

import math
import random
from typing import Any

from maelstrom.edn import Keyword
from maelstrom.errors import BenchError

__all__ = ["LinKVWorkload", "PER_KEY_LIMIT"]

PER_KEY_LIMIT = 128
VALUES = 5


class LinKVWorkload:
    """See the module docstring; the protocol is described in workloads/__init__.py."""

    name = "lin-kv"
    idempotent = frozenset({"read"})

    def __init__(self, nodes: list[str], concurrency: int, rng: random.Random,
                 per_key_limit: int = PER_KEY_LIMIT) -> None:
        n = len(nodes)
        group = 2 * n
        if n < 1:
            raise BenchError("lin-kv needs at least one node")
        if concurrency < group or concurrency % group:
            raise BenchError(
                f"lin-kv runs 2n = {group} workers per key with {n} nodes, so --concurrency "
                f"must be a multiple of {group} (got {concurrency}); try --concurrency 2n")
        self.n = n
        self.group_size = group
        self.rng = rng
        self.per_key_limit = per_key_limit
        groups = concurrency // group
        self._key = [-1] * groups
        self._left = [0] * groups
        self._next_key = 0
        self.keys_used: list[int] = []

    def next_op(self, thread: int) -> tuple[str, Any]:
        g, t = divmod(thread, self.group_size)
        if self._left[g] <= 0:
            self._key[g] = k = self._next_key
            self._next_key += 1
            self.keys_used.append(k)
            self._left[g] = math.ceil((0.9 + self.rng.random() * 0.1) * self.per_key_limit)
        self._left[g] -= 1
        k = self._key[g]
        if t < self.n:
            return "read", [k, None]
        rng = self.rng
        if rng.randrange(3) == 0:
            return "write", [k, rng.randrange(VALUES)]
        return "cas", [k, [rng.randrange(VALUES), rng.randrange(VALUES)]]

    @staticmethod
    def request(f: str, value: Any) -> dict:
        k, v = value
        if f == "read":
            return {"type": "read", "key": k}
        if f == "write":
            return {"type": "write", "key": k, "value": v}
        return {"type": "cas", "key": k, "from": v[0], "to": v[1]}

    @staticmethod
    def complete(f: str, value: Any, body: dict) -> tuple[str, Any, Any]:
        if body.get("type") != f + "_ok" or (f == "read" and "value" not in body):
            # a reply we cannot interpret: the op may or may not have happened
            return ("fail" if f == "read" else "info"), value, [
                Keyword("malformed-response"), f"expected {f}_ok, got {body.get('type')!r}"]
        if f == "read":
            return "ok", [value[0], body["value"]], None
        return "ok", value, None

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", [k, None]) for k in self.keys_used]

    @staticmethod
    def check(history: list) -> dict:
        try:
            from maelstrom.checker import check
        except ImportError:  # the linearizability checker has not landed in this tree yet
            return {"valid?": "unknown", "error": "no linearizability checker available"}
        from maelstrom.checker.lost_writes import lost_writes

        result = check(history, model="lin-kv")
        # A diagnostic beside the verdict: acknowledged writes a later read shows lost.
        result["lost-writes"] = lost_writes(history)
        return result
