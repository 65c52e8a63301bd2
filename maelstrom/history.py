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

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Op:
    index: int
    time: int
    type: str
    process: int | str
    f: str
    value: Any = None
    error: Any = None


# ---------------------------------------------------------------------------------------------
# Everything below converts between `Op` and the on-disk formats.

import json
import os
from pathlib import Path
from typing import Iterable

try:
    import orjson as _orjson
except ImportError:  # the bench works without it, just slower
    _orjson = None

from maelstrom import edn
from maelstrom.edn import Keyword, Tagged

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


def op_from_map(m: Any, position: int) -> Op:
    """An `Op` from a parsed op map (keys may be Keywords or str). `position` fills a missing
    :index and :time (so histories written without them still order correctly)."""
    if not isinstance(m, dict):
        raise HistoryError(f"op {position}: expected a map, got {edn.dumps(m)[:80]}")
    fields = {(_name(k) if isinstance(k, (Keyword, str)) else k): v for k, v in m.items()}
    type_ = _name(fields.get("type"))
    if type_ not in OP_TYPES:
        raise HistoryError(f"op {position}: :type must be one of :invoke :ok :fail :info, "
                           f"got {edn.dumps(fields.get('type'))}")
    process = _name(fields.get("process"))
    if isinstance(process, bool) or not isinstance(process, (int, str)):
        raise HistoryError(f"op {position}: :process must be an integer or a keyword, "
                           f"got {edn.dumps(fields.get('process'))}")
    f = _name(fields.get("f"))
    if f is None:
        raise HistoryError(f"op {position}: missing :f")
    if not isinstance(f, str):
        f = edn.dumps(f)
    index = fields.get("index", position)
    time = fields.get("time", position)
    if isinstance(index, bool) or not isinstance(index, int):
        raise HistoryError(f"op {position}: :index must be an integer")
    if isinstance(time, bool) or not isinstance(time, (int, float)):
        raise HistoryError(f"op {position}: :time must be a number")
    return Op(index=index, time=int(time), type=type_, process=process, f=f,
              value=fields.get("value"), error=fields.get("error"))


def _process_edn(process: int | str) -> str:
    return str(process) if isinstance(process, int) else ":" + str(process)


def _f_edn(f: str) -> str:
    return edn.dumps(Keyword(f)) if edn._KEYWORD_NAME.match(f) else edn.dumps(f)


def op_to_edn(op: Op) -> str:
    """One op as one line of Maelstrom's history.edn, e.g.
    `{:index 0, :time 1, :type :invoke, :process 0, :f :read, :value [0 nil]}` (+ `:error`)."""
    text = (f"{{:index {op.index}, :time {op.time}, :type :{op.type}, "
            f":process {_process_edn(op.process)}, :f {_f_edn(op.f)}, "
            f":value {edn.dumps(op.value, keyword_keys=False)}")
    if op.error is not None:
        text += f", :error {edn.dumps(op.error, keyword_keys=False)}"
    return text + "}"


def op_to_txt(op: Op) -> str:
    """One op as one line of Jepsen's history.txt: process, type, f, value[, error], tab-separated.
    Errors are printed like Clojure's `print` (strings without quotes), as Jepsen does."""
    parts = [_process_edn(op.process), ":" + op.type, _f_edn(op.f),
             edn.dumps(op.value, keyword_keys=False)]
    if op.error is not None:
        parts.append(edn.dumps(op.error, readably=False, keyword_keys=False))
    return "\t".join(parts)


# JSON has no keywords: a Keyword is written as ":name", and a string that starts with ":" gets a
# second ":" in front so that reading back is exact. Sets become {"#set": [...]}, tagged values
# {"#tag": tag, "value": v}. Map keys become strings (the one lossy step; op values rarely have
# non-string keys).
def _to_json_value(x: Any) -> Any:
    if isinstance(x, Keyword):
        return ":" + x.name
    if isinstance(x, str):
        return ":" + x if x.startswith(":") else x
    if isinstance(x, (list, tuple)):
        return [_to_json_value(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return {"#set": [_to_json_value(v) for v in x]}
    if isinstance(x, dict):
        return {(k.name if isinstance(k, Keyword) else str(k)): _to_json_value(v) for k, v in x.items()}
    if isinstance(x, Tagged):
        return {"#tag": x.tag, "value": _to_json_value(x.value)}
    if x is None or isinstance(x, (bool, int, float)):
        return x
    return str(x)


def _from_json_value(x: Any) -> Any:
    if isinstance(x, str):
        if x.startswith("::"):
            return x[1:]
        if x.startswith(":") and len(x) > 1:
            return Keyword(x[1:])
        return x
    if isinstance(x, list):
        return [_from_json_value(v) for v in x]
    if isinstance(x, dict):
        if set(x) == {"#set"} and isinstance(x["#set"], list):
            return frozenset(_hashable(_from_json_value(v)) for v in x["#set"])
        if set(x) == {"#tag", "value"}:
            return Tagged(x["#tag"], _from_json_value(x["value"]))
        return {k: _from_json_value(v) for k, v in x.items()}
    return x


def _hashable(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_hashable(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted(((k, _hashable(v)) for k, v in x.items()), key=repr))
    return x


def op_to_json(op: Op) -> dict:
    """One op as a JSON-ready dict with the field names of `Op` (error only when present)."""
    d = {"index": op.index, "time": op.time, "type": op.type, "process": op.process, "f": op.f,
         "value": _to_json_value(op.value)}
    if op.error is not None:
        d["error"] = _to_json_value(op.error)
    return d


def op_from_json(d: Any, position: int) -> Op:
    """Inverse of `op_to_json`; missing index/time are filled from `position`."""
    if not isinstance(d, dict):
        raise HistoryError(f"op {position}: expected a JSON object")
    m = dict(d)
    if isinstance(m.get("type"), str):
        m["type"] = m["type"].lstrip(":")
    if isinstance(m.get("process"), str):
        m["process"] = m["process"].lstrip(":")
    if isinstance(m.get("f"), str):
        m["f"] = m["f"].lstrip(":")
    m["value"] = _from_json_value(m.get("value"))
    m["error"] = _from_json_value(m.get("error"))
    return op_from_map(m, position)


def _json_dumps(obj: Any) -> str:
    if _orjson is not None:
        return _orjson.dumps(obj).decode()
    return json.dumps(obj, separators=(",", ":"))


def _json_loads(text: str) -> Any:
    return _orjson.loads(text) if _orjson is not None else json.loads(text)


# ---------------------------------------------------------------------------------------------
# Readers and writers

def parse_edn_history(text: str) -> list[Op]:
    """Ops from EDN text: one vector or list of op maps, or op maps one after another (one per
    line, as Maelstrom writes them). `;` comments are fine. Raises HistoryError."""
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
    _write_lines((_json_dumps(op_to_json(op)) for op in ops), path)


def write_txt(ops: Iterable[Op], path: str | os.PathLike) -> None:
    """Write Jepsen's history.txt (see `op_to_txt`)."""
    _write_lines((op_to_txt(op) for op in ops), path)
