"""Jepsen histories: the one internal op record, and conversion from/to EDN, JSONL and text.

Every input format is converted to `Op` on the way in; every writer takes `Op`s.

Conventions (shared by the bench, the workloads and the checkers):
- `type` is one of "invoke", "ok", "fail", "info" (Jepsen keywords without the colon).
- `f` is a plain string ("read", "write", "cas", "start-partition", ...).
- `process` is an int for client processes, or the string "nemesis".
- `time` is nanoseconds since the test started (int).
- `value` is plain Python data: lists for EDN vectors/lists, tuples never; an independent
  (keyed) lin-kv value is the 2-list `[key, value]`; a cas value is `[from, to]`; nil is None.
  EDN keywords inside values are `Keyword` instances (so they round-trip); sets are frozensets.
- `error` is None or plain data (Maelstrom writes e.g. `[:temporarily-unavailable "not a leader"]`).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import orjson

from maelstrom import edn, json_write
from maelstrom.edn import Char, Frozen, Keyword, Symbol, Tagged
from maelstrom.nested import rebuild


@dataclass(slots=True)
class Op:
    """One history entry (see the module docstring for the conventions of each field)."""

    index: int
    time: int
    type: str
    process: int | str
    f: str
    value: Any = None
    error: Any = None


# ---------------------------------------------------------------------------------------------
# Everything below converts between `Op` and the on-disk formats.

__all__ = [
    "Op", "HistoryError", "op_from_map", "op_to_edn", "op_to_json", "op_from_json",
    "parse_edn_history", "parse_jsonl_history", "read_history",
    "write_edn", "write_jsonl", "write_txt", "op_to_txt",
]

OP_TYPES = ("invoke", "ok", "fail", "info")


class HistoryError(ValueError):
    """A history file or op that cannot be read: the message says where and why."""


def _name(x: Any) -> Any:
    """Keyword -> its name; anything else unchanged."""
    return x.name if isinstance(x, Keyword) else x


_FIELDS = ("index", "time", "type", "process", "f", "value", "error")
_KEYWORD_FIELDS = tuple(Keyword(name) for name in _FIELDS)


def op_from_map(m: Any, position: int) -> Op:
    """An `Op` from a parsed op map (keys may be Keywords or str). `position` fills a missing
    :index and :time (so histories written without them still order correctly)."""
    if not isinstance(m, dict):
        raise HistoryError(f"op {position}: expected a map, got {edn.dumps(m)[:80]}")
    keys = _KEYWORD_FIELDS if _KEYWORD_FIELDS[2] in m else _FIELDS
    get = m.get
    type_ = _name(get(keys[2]))
    if type_ not in OP_TYPES:
        raise HistoryError(f"op {position}: :type must be one of :invoke :ok :fail :info, "
                           f"got {edn.dumps(get(keys[2]))}")
    process = _name(get(keys[3]))
    if isinstance(process, bool) or not isinstance(process, (int, str)):
        raise HistoryError(f"op {position}: :process must be an integer or a keyword, "
                           f"got {edn.dumps(get(keys[3]))}")
    f = _name(get(keys[4]))
    if f is None:
        raise HistoryError(f"op {position}: missing :f")
    if not isinstance(f, str):
        f = edn.dumps(f)
    index = get(keys[0], position)
    time = get(keys[1], position)
    if isinstance(index, bool) or not isinstance(index, int):
        raise HistoryError(f"op {position}: :index must be an integer")
    if isinstance(time, bool) or not isinstance(time, (int, float)) or time != time \
            or time in (float("inf"), float("-inf")):
        raise HistoryError(f"op {position}: :time must be a finite number")
    return Op(index, int(time), type_, process, f, get(keys[5]), get(keys[6]))


# Maelstrom writes one op per line in one fixed shape; reading that shape with one regex and
# memoised value parsing is much faster than a general EDN reader (values repeat a lot: [0 nil]).
# Any line not in this shape sends the whole text to the general reader.
_MAELSTROM_LINE = re.compile(
    r"\{:index (\d+), :time (\d+), :type :(invoke|ok|fail|info), "
    r":process (?:(\d+)|:([\w.*+!\-?$%&=<>]+)), :f :([\w.*+!\-?$%&=<>]+), "
    r":value (.*?)(?:, :error (.*))?\}\s*\Z")


def _copy_children(x: Any) -> Any:
    t = type(x)
    return x if t is list else list(x.values()) if t is dict else None


def _copy_build(x: Any, kids: list) -> Any:
    return kids if type(x) is list else dict(zip(x, kids))


def _copy(x: Any) -> Any:
    """A copy of every list and dict in `x` (iterative: any depth)."""
    return rebuild(x, _copy_children, _copy_build, _same)


def _same(x: Any) -> Any:
    return x


def _value_reader() -> Any:
    """A memoised reader of one EDN value. Values from the memo are shared, so every op gets its
    own copy of lists and dicts (a slice for flat lists, the common case)."""
    memo: dict[str, tuple[Any, int]] = {}

    def read(text: str) -> Any:
        hit = memo.get(text)
        if hit is None:
            values = edn._fast_loads_all(text)  # raises edn._Unsupported
            if len(values) != 1:
                raise edn._Unsupported
            v = values[0]
            if type(v) is list and not any(type(e) in (list, dict) for e in v):
                hit = (v, 1)
            elif type(v) in (list, dict):
                hit = (v, 2)
            else:
                hit = (v, 0)
            memo[text] = hit
        v, how = hit
        return v if how == 0 else v[:] if how == 1 else _copy(v)

    return read


def _parse_maelstrom_lines(text: str) -> list[Op] | None:
    """Ops if every non-blank line is a Maelstrom op line, else None."""
    ops = []
    append = ops.append
    match = _MAELSTROM_LINE.match
    read = _value_reader()
    try:
        for line in text.split("\n"):
            m = match(line)
            if m is None:
                if line.strip():
                    return None
                continue
            index, time, type_, pid, pname, f, value_text, error_text = m.groups()
            append(Op(int(index), int(time), type_, int(pid) if pid is not None else pname, f,
                      read(value_text), None if error_text is None else read(error_text)))
    except (edn._Unsupported, RecursionError, ValueError):
        return None
    return ops


def _process_edn(process: int | str) -> str:
    return str(process) if isinstance(process, int) else ":" + str(process)


@functools.lru_cache(maxsize=256)
def _f_edn(f: str) -> str:
    return edn.dumps(Keyword(f)) if edn._KEYWORD_NAME.match(f) else edn.dumps(f)


def _value_edn(x: Any) -> str:
    """`edn.dumps(x, keyword_keys=False)`, with a fast path for the ints, nils and vectors of
    them that make up nearly every client op value (a history is written at the end of every run)."""
    t = type(x)
    if t is int:
        return str(x)
    if x is None:
        return "nil"
    if t is list:
        parts = []
        for v in x:
            if type(v) is int:
                parts.append(str(v))
            elif v is None:
                parts.append("nil")
            elif type(v) is list and all(type(e) is int for e in v):
                parts.append("[" + " ".join([str(e) for e in v]) + "]")
            else:
                return edn.dumps(x, keyword_keys=False)
        return "[" + " ".join(parts) + "]"
    return edn.dumps(x, keyword_keys=False)


def op_to_edn(op: Op) -> str:
    """One op as one line of Maelstrom's history.edn, e.g.
    `{:index 0, :time 1, :type :invoke, :process 0, :f :read, :value [0 nil]}` (+ `:error`)."""
    text = (f"{{:index {op.index}, :time {op.time}, :type :{op.type}, "
            f":process {_process_edn(op.process)}, :f {_f_edn(op.f)}, "
            f":value {_value_edn(op.value)}")
    if op.error is not None:
        text += f", :error {edn.dumps(op.error, keyword_keys=False)}"
    return text + "}"


def op_to_txt(op: Op) -> str:
    """One op as one line of Jepsen's history.txt: process, type, f, value[, error], tab-separated.
    Errors are printed like Clojure's `print` (strings without quotes), as Jepsen does."""
    parts = [_process_edn(op.process), ":" + op.type, _f_edn(op.f), _value_edn(op.value)]
    if op.error is not None:
        parts.append(edn.dumps(op.error, readably=False, keyword_keys=False))
    return "\t".join(parts)


# JSON has no keywords: a Keyword is written as ":name", and a string that starts with ":" gets a
# second ":" in front so that reading back is exact. Sets become {"#set": [...]} (members sorted
# by their JSON text, so the file does not depend on hashing), tagged values
# {"#tag": tag, "value": v}. Map keys become strings (the one lossy step; op values rarely have
# non-string keys): keywords their name, other non-strings their EDN text. Both directions are
# iterative (any nesting depth), with a fast path for the flat values nearly every op has.
def _to_json_children(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return x
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, (set, frozenset)):
        return list(x)
    if isinstance(x, (Tagged, Frozen)):
        return [x.value]
    return None


def _json_key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, Keyword):
        return k.name
    return edn.dumps(k, keyword_keys=False)


def _to_json_build(x: Any, kids: list) -> Any:
    if isinstance(x, (list, tuple)):
        return kids
    if isinstance(x, dict):
        return {_json_key(k): v for k, v in zip(x, kids)}
    if isinstance(x, (set, frozenset)):  # in a fixed order (a set's own depends on hashing)
        return {"#set": sorted(kids, key=json_write.dumps)}
    if isinstance(x, Tagged):
        return {"#tag": x.tag, "value": kids[0]}
    return kids[0]  # Frozen: its value


def _to_json_leaf(x: Any) -> Any:
    if isinstance(x, Keyword):
        return ":" + x.name
    if isinstance(x, str):
        return ":" + x if x.startswith(":") else x
    if x is None or isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, Char):
        return x.char
    return edn.dumps(x) if isinstance(x, Symbol) else str(x)


def _ints(x: Any) -> bool:
    """x is an int or nil, or a list of those or of lists of them ([k v], [k [from to]]): the
    values nearly every op has, the same in JSON as in our data."""
    if x is None or type(x) is int:
        return True
    if type(x) is not list:
        return False
    for v in x:
        if not (v is None or type(v) is int or type(v) is list
                and all(e is None or type(e) is int for e in v)):
            return False
    return True


def _to_json_value(x: Any) -> Any:
    if _ints(x):
        return x
    return rebuild(x, _to_json_children, _to_json_build, _to_json_leaf)


def _from_json_children(x: Any) -> Any:
    if isinstance(x, list):
        return x
    if isinstance(x, dict):
        if len(x) == 1 and isinstance(x.get("#set"), list):
            return x["#set"]
        if len(x) == 2 and "#tag" in x and "value" in x:
            return [x["value"]]
        return list(x.values())
    return None


def _from_json_build(x: Any, kids: list) -> Any:
    if isinstance(x, list):
        return kids
    if len(x) == 1 and isinstance(x.get("#set"), list):
        return frozenset(edn.frozen(v) for v in kids)
    if len(x) == 2 and "#tag" in x and "value" in x:
        return Tagged(x["#tag"], kids[0])
    return dict(zip(x, kids))


def _from_json_leaf(x: Any) -> Any:
    if isinstance(x, str):
        if x.startswith("::"):
            return x[1:]
        if x.startswith(":") and len(x) > 1:
            return Keyword(x[1:])
    return x


def _from_json_value(x: Any) -> Any:
    if _ints(x):
        return x  # the parsed list is ours to keep
    return rebuild(x, _from_json_children, _from_json_build, _from_json_leaf)


def op_to_json(op: Op) -> dict:
    """One op as a JSON-ready dict with the field names of `Op` (error only when present)."""
    d = {"index": op.index, "time": op.time, "type": op.type, "process": op.process, "f": op.f,
         "value": _to_json_value(op.value)}
    if op.error is not None:
        d["error"] = _to_json_value(op.error)
    return d


def op_from_json(d: Any, position: int) -> Op:
    """Inverse of `op_to_json`; missing index/time are filled from `position`."""
    if type(d) is dict:  # fast path: the shape write_jsonl produces
        t, p, f = d.get("type"), d.get("process"), d.get("f")
        index, time = d.get("index", position), d.get("time", position)
        if (t in OP_TYPES and type(f) is str and f[:1] != ":" and type(index) is int
                and type(time) is int and (type(p) is int or (type(p) is str and p[:1] != ":"))):
            v, e = d.get("value"), d.get("error")
            return Op(index, time, t, p, f, v if v is None or type(v) is int else _from_json_value(v),
                      None if e is None else _from_json_value(e))
    if not isinstance(d, dict):
        raise HistoryError(f"op {position}: expected a JSON object")
    m = dict(d)
    for field in ("type", "process", "f"):
        v = m.get(field)
        if isinstance(v, str) and v.startswith(":"):
            m[field] = v[1:]
    m["value"] = _from_json_value(m.get("value"))
    m["error"] = _from_json_value(m.get("error"))
    return op_from_map(m, position)


_json_loads = orjson.loads


# ---------------------------------------------------------------------------------------------
# Readers and writers

def parse_edn_history(text: str) -> list[Op]:
    """Ops from EDN text: one vector or list of op maps, or op maps one after another (one per
    line, as Maelstrom writes them). `;` comments are fine. Raises HistoryError."""
    fast = _parse_maelstrom_lines(text)
    if fast is not None:
        return fast
    try:
        values = edn.loads_all(text)
    except edn.EDNError as exc:
        raise HistoryError(str(exc)) from None
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    return [op_from_map(m, i) for i, m in enumerate(values)]


def parse_jsonl_history(text: str) -> list[Op]:
    """Ops from JSON Lines text (blank lines skipped), or from one JSON array of op objects."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = _json_loads(stripped)
        except ValueError as exc:
            raise HistoryError(f"cannot parse JSON: {exc}") from None
        return [op_from_json(d, i) for i, d in enumerate(items)]
    lines = [line for line in text.splitlines() if line.strip()]
    try:  # one parse of the whole file; on any error, go line by line to say where
        items = _json_loads("[" + ",".join(lines) + "]")
    except ValueError:
        items = None
    if isinstance(items, list) and len(items) == len(lines):
        return [op_from_json(d, i) for i, d in enumerate(items)]
    ops = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = _json_loads(line)
        except ValueError as exc:
            raise HistoryError(f"line {lineno}: cannot parse JSON: {exc}") from None
        ops.append(op_from_json(d, len(ops)))
    return ops


def _history_file(path: Path) -> Path:
    """Resolve a store directory (or `store/` with a `latest` link) to its history file."""
    if path.is_dir():
        for candidate in (path / "history.edn", path / "history.jsonl",
                          path / "latest" / "history.edn", path / "latest" / "history.jsonl"):
            if candidate.is_file():
                return candidate
        raise HistoryError(f"{path}: no history.edn or history.jsonl in this directory")
    if not path.exists():
        raise HistoryError(f"{path}: no such file or directory")
    return path


def read_history(path: str | os.PathLike) -> list[Op]:
    """Ops from a history.edn (vector or one map per line), a history.jsonl, a store run
    directory, or a store root with a `latest` link. Raises HistoryError with a clear message."""
    file = _history_file(Path(path))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{file}: cannot read: {exc}") from None
    try:
        if file.suffix in (".jsonl", ".json"):
            return parse_jsonl_history(text)
        if file.suffix == ".edn":
            return parse_edn_history(text)
        # Unknown extension: JSON objects start with `{"`, EDN maps with `{:`.
        first = text.lstrip()[:2]
        if first in ('{"', "[{") and not text.lstrip().startswith("[{:"):
            return parse_jsonl_history(text)
        return parse_edn_history(text)
    except HistoryError as exc:
        raise HistoryError(f"{file}: {exc}") from None


def _write_lines(lines: Iterable[str], path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.write("\n")


def write_edn(ops: Iterable[Op], path: str | os.PathLike) -> None:
    """Write Maelstrom's history.edn: one op map per line."""
    _write_lines((op_to_edn(op) for op in ops), path)


def write_jsonl(ops: Iterable[Op], path: str | os.PathLike) -> None:
    """Write history.jsonl: one JSON object per op (see `op_to_json`)."""
    with open(path, "wb") as out:
        for op in ops:
            out.write(json_write.dumps(op_to_json(op)))
            out.write(b"\n")


def write_txt(ops: Iterable[Op], path: str | os.PathLike) -> None:
    """Write Jepsen's history.txt (see `op_to_txt`)."""
    _write_lines((op_to_txt(op) for op in ops), path)
