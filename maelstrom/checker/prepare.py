"""From a Jepsen history to the operation tables the search works on.

Rules (Jepsen's, as Knossos applies them):
- Only client ops count: ops whose process is not an integer (the nemesis) are ignored.
- Each process has at most one op in flight: an invoke is paired with the next completion of the
  same process. A completion with no invoke is ignored.
- `:ok` took effect between invoke and completion, with the completion's value (a read's value is
  only known at completion). `:fail` never took effect and is dropped. `:info`, or an invoke with
  no completion, may take effect at any point after the invoke, or never: it is *optional* and
  keeps the invoke's value. An optional read constrains nothing and is dropped.
- lin-kv values are `[key value]`: the history splits into one cas-register history per key
  (P-compositionality: a map of independent registers is linearizable iff each register is).
  Keys are told apart as Jepsen tells them apart, by Clojure's `=`: 1, 1.0, true and "1" are
  four keys, [1] and (1) one. Each key is its `edn.frozen` form (ints and strings as they are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from maelstrom.checker.model import CAS, KINDS, READ, Interner
from maelstrom.edn import excerpt, frozen
from maelstrom.history import Op


class HistoryShapeError(ValueError):
    """A client op the model cannot interpret (unknown f, malformed value)."""


@dataclass(slots=True)
class Call:
    """One client operation as the search sees it (positions are indexes in the history list)."""

    process: int
    f: str
    value: Any          # per-register value: read v, write v, cas [from to]
    required: bool      # True for :ok ops; False for :info / never-completed ones
    call_pos: int
    ret_pos: int | None  # None: optional op, no deadline
    invoke: Op
    completion: Op | None
    kind: int = 0       # model.READ / WRITE / CAS
    a: int = 0          # interned read/write value, or cas `from`
    b: int = 0          # interned cas `to`


def pair_client_ops(ops: Iterable[Op]) -> list[tuple[int, Op, int | None, Op | None]]:
    """(invoke position, invoke, completion position or None, completion or None) for every
    client invoke, in invoke order."""
    pending: dict[int, int] = {}  # process -> index into `pairs`
    pairs: list[list] = []
    for pos, op in enumerate(ops):
        process = op.process
        if not isinstance(process, int) or isinstance(process, bool):
            continue
        if op.type == "invoke":
            # A second invoke while one is in flight: the first never completed (a crashed
            # client reusing its id); it stays optional.
            pending[process] = len(pairs)
            pairs.append([pos, op, None, None])
        else:
            i = pending.pop(process, None)
            if i is not None:
                pairs[i][2] = pos
                pairs[i][3] = op
    return [tuple(p) for p in pairs]  # type: ignore[misc]


def _check_value(f: str, value: Any, where: Op) -> None:
    if f not in KINDS:
        raise HistoryShapeError(f"op {where.index}: f {excerpt(f)} is not read, write or cas")
    if f == "cas" and not (isinstance(value, list) and len(value) == 2):
        raise HistoryShapeError(f"op {where.index}: cas value must be [from to], "
                                f"got {excerpt(value)}")


def _call(pair: tuple, split_key: bool) -> tuple[Any, Call] | None:
    """(key, Call) for one invoke/completion pair, or None if the op cannot matter."""
    call_pos, invoke, ret_pos, completion = pair
    ctype = completion.type if completion is not None else "info"
    if ctype == "fail":
        return None
    required = ctype == "ok"
    source = completion if required else invoke
    f = invoke.f
    raw = source.value
    key = None
    if split_key:
        if not (isinstance(raw, list) and len(raw) == 2):
            raw = invoke.value  # a completion may carry no value; the key is in the invoke
        if not (isinstance(raw, list) and len(raw) == 2):
            raise HistoryShapeError(f"op {source.index}: lin-kv value must be [key value], "
                                    f"got {excerpt(raw)}")
        key, raw = raw
        key = frozen(key)
    if not required and f == "read":
        return None
    _check_value(f, raw, source)
    return key, Call(process=invoke.process, f=f, value=raw, required=required,
                     call_pos=call_pos, ret_pos=ret_pos if required else None,
                     invoke=invoke, completion=completion)


def intern_calls(calls: list[Call]) -> Interner:
    """Fill in kind/a/b of each call (one interner per register)."""
    interner = Interner()
    for c in calls:
        c.kind = KINDS[c.f]
        if c.kind == CAS:
            c.a = interner.intern(c.value[0])
            c.b = interner.intern(c.value[1])
        else:
            c.a = interner.intern(c.value)
    return interner


def register_calls(ops: list[Op]) -> list[Call]:
    """The calls of a single cas-register history (values are plain)."""
    out = []
    for pair in pair_client_ops(ops):
        item = _call(pair, split_key=False)
        if item is not None:
            out.append(item[1])
    return out


def keyed_calls(ops: list[Op]) -> dict[Any, list[Call]]:
    """The calls of a lin-kv history, one list per key, keys in order of first appearance.
    Keys that appear only in failed ops or optional reads still get an (empty) entry, so the
    result lists every key the history touched, as Jepsen's independent checker does."""
    out: dict[Any, list[Call]] = {}
    for pair in pair_client_ops(ops):
        item = _call(pair, split_key=True)
        if item is None:
            raw = pair[1].value
            if isinstance(raw, list) and len(raw) == 2:
                out.setdefault(frozen(raw[0]), [])
            continue
        out.setdefault(item[0], []).append(item[1])
    return out


def looks_like_lin_kv(ops: list[Op]) -> bool:
    """True if every client read/write/cas value is a `[key value]` pair (and every cas value
    is `[key [from to]]`); false for plain cas-register histories."""
    seen = False
    for op in ops:
        if not isinstance(op.process, int) or op.f not in KINDS:
            continue
        v = op.value
        if op.type == "invoke" or op.type == "ok":
            if not (isinstance(v, list) and len(v) == 2):
                return False
            if op.f == "cas" and not (isinstance(v[1], list) and len(v[1]) == 2):
                return False
            seen = True
    return seen


__all__ = ["Call", "HistoryShapeError", "pair_client_ops", "register_calls", "keyed_calls",
           "intern_calls", "looks_like_lin_kv", "READ"]
