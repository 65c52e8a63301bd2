"""Knossos' `cas-register` model, over interned values.

A register starts at nil. Operations:
- `write v`: always legal; the register becomes v.
- `cas [from to]`: legal iff the register is `from`; it becomes `to`.
- `read v`: legal iff the register is v (a `:ok` read of nil reads the nil register).

The search compares values millions of times and hashes them into its memo, so every value is
replaced by a small int first (`Interner`). Two values get the same int exactly when Knossos'
`(= a b)` holds (Clojure's equality, `edn.frozen`): 1, 1.0 and true get three ints, [1 2] and
(1 2) one. `step` is the reference definition of the model; the search in wgl.py inlines the same
three rules for speed.
"""

from __future__ import annotations

from typing import Any

from maelstrom.edn import frozen

READ, WRITE, CAS = 0, 1, 2
KINDS = {"read": READ, "write": WRITE, "cas": CAS}
NIL = 0  # Interner always gives None the id 0: the initial register value


class Interner:
    """Maps values to dense ints (None -> 0) and back."""

    __slots__ = ("_ids", "values")

    def __init__(self) -> None:
        self._ids: dict[Any, int] = {}
        self.values: list[Any] = []
        self.intern(None)

    def intern(self, v: Any) -> int:
        key = frozen(v)
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self.values)
            self.values.append(v)
        return i


def step(state: int, kind: int, a: int, b: int) -> int | None:
    """The register after the op, or None if the op is not legal in `state`."""
    if kind == WRITE:
        return a
    if state != a:
        return None
    return b if kind == CAS else state


def is_pure(kind: int, a: int, b: int) -> bool:
    """True if the op never changes the register where it is legal (reads, cas x->x). The search
    may linearize such an op as soon as it is legal without keeping the alternative."""
    return kind == READ or (kind == CAS and a == b)


def explain(state: Any, f: str, value: Any) -> str:
    """Knossos' message for an op that `step` found illegal, in terms of real values."""
    if f == "cas":
        return f"can't CAS {_show(state)} from {_show(value[0])} to {_show(value[1])}"
    return f"can't read {_show(value)} from register {_show(state)}"


def _show(v: Any) -> str:
    from maelstrom import edn
    return edn.dumps(v, keyword_keys=False)
