"""JSON text for the store and the CLI, for data of any nesting depth and any integer size.

orjson writes almost everything, fast; it refuses data nested more than 254 deep and integers
beyond 64 bits, and a node's reply can hold either. Then the same text is written by an
iterative writer instead (same layout), so a history or a results file is never lost to them.
Input is JSON-ready data: dicts with str keys, lists/tuples, str, int, float, bool, None.
Non-finite floats are written as null, as orjson writes them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

__all__ = ["dumps"]

_encode_str = json.encoder.encode_basestring  # C; escapes '"', '\\' and control characters


def dumps(obj: Any, indent: bool = False) -> bytes:
    """`obj` as JSON (UTF-8): compact, or with `indent` two spaces a level (orjson's layouts)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0)
    except (orjson.JSONEncodeError, TypeError):
        return _dumps_iterative(obj, indent).encode("utf-8", "surrogatepass")


class _Text:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s


def _scalar(x: Any) -> str | None:
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, int):
        return str(int(x))
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else "null"
    if isinstance(x, str):
        return _encode_str(x)
    if isinstance(x, (dict, list, tuple)):
        return None
    return _encode_str(str(x))  # anything else: its text, never a crash


def _dumps_iterative(obj: Any, indent: bool) -> str:
    out: list[str] = []
    stack: list[Any] = [(obj, 0)]
    while stack:
        item = stack.pop()
        if type(item) is _Text:
            out.append(item.s)
            continue
        x, level = item
        s = _scalar(x)
        if s is not None:
            out.append(s)
            continue
        is_map = isinstance(x, dict)
        items = list(x.items()) if is_map else list(x)
        opener, closer = ("{", "}") if is_map else ("[", "]")
        if not items:
            out.append(opener + closer)
            continue
        if indent:
            pad = "\n" + "  " * (level + 1)
            sep, colon, end = "," + pad, ": ", "\n" + "  " * level + closer
        else:
            pad, sep, colon, end = "", ",", ":", closer
        out.append(opener + pad)
        stack.append(_Text(end))
        for i in range(len(items) - 1, -1, -1):
            if is_map:
                k, v = items[i]
                stack.append((v, level + 1))
                stack.append(_Text(_encode_str(k if isinstance(k, str) else str(k)) + colon))
            else:
                stack.append((items[i], level + 1))
            if i:
                stack.append(_Text(sep))
    return "".join(out)
