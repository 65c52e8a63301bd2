"""Reading EDN text into plain data (see types.py for what stands for what).

Two readers. A fast one for the plain-data subset histories are made of (collections, keywords,
strings, integers, decimals, nil/true/false, comments): iterative, so any nesting depth reads.
Anything outside the subset, or anything malformed, makes it give up, and the `edn_format`
library reads the text instead; its reading is the reference (tests/test_edn.py checks that both
agree). edn_format is recursive: text it cannot read because it is nested too deeply is an
EDNError, never a RecursionError.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import edn_format

from maelstrom.edn.types import Char, EDNError, Keyword, Symbol, Tagged, frozen

__all__ = ["loads", "loads_all"]

# A tag is `#` followed by a symbol-ish name; `#{`, `#_`, `##Inf`, `#inst` and `#uuid` are not ours.
_TAG_RE = re.compile(r"#([A-Za-z][A-Za-z0-9.*+!\-_?$%&=<>/:]*)")
_BUILTIN_TAGS = {"inst", "uuid"}
_registered_tags: set[str] = set()


def _register_tags(text: str) -> None:
    # edn_format refuses unknown tags, so every tag that appears in the text gets a handler that
    # wraps the value. A `#` inside a string may register a spurious tag; that is harmless.
    for name in set(_TAG_RE.findall(text)):
        if name not in _registered_tags and name not in _BUILTIN_TAGS:
            edn_format.add_tag(name, lambda value, _name=name: _RawTagged(_name, value))
            _registered_tags.add(name)


class _RawTagged:
    __slots__ = ("tag", "value")

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value


def _plain(x: Any, hashable: bool = False) -> Any:
    """Convert edn_format's objects into our plain data. (Recursive, but only ever applied to
    what edn_format could build, which is shallower than what would exhaust the stack here.)"""
    if x is None or isinstance(x, (bool, int, float, Decimal)):
        return frozen(x) if hashable else x
    if isinstance(x, Fraction):
        x = x.numerator if x.denominator == 1 else x  # Clojure reads 2/1 as 2
        return frozen(x) if hashable else x
    if isinstance(x, edn_format.Char):
        return Char(str(x))
    if isinstance(x, str):
        return str(x)
    if isinstance(x, edn_format.Keyword):
        return Keyword(x.name)
    if isinstance(x, (edn_format.ImmutableList, tuple, list)):
        items = [_plain(v) for v in x]
        return frozen(items) if hashable else items
    if isinstance(x, (edn_format.ImmutableDict, dict)):
        d = {_plain(k, True): _plain(v) for k, v in x.items()}
        return frozen(d) if hashable else d
    if isinstance(x, frozenset):
        return frozenset(_plain(v, True) for v in x)
    if isinstance(x, edn_format.Symbol):
        return Symbol(x.name)
    if isinstance(x, _RawTagged):
        t = Tagged(x.tag, _plain(x.value))
        return frozen(t) if hashable else t
    if isinstance(x, edn_format.MetadataValue):
        return _plain(x.value, hashable)
    return x  # datetime, UUID: already plain


# The fast reader's tokens. Anything it does not know raises _Unsupported.
_ALL = r"\w.*+!\-?$%&=:#<>@"
_DELIM = r'(?=[ \t\n,\[\](){}";]|\Z)'
_TOKEN = re.compile(
    r'(?:[ \t\n,]|;[^\n]*(?:\n|\Z))*'  # whitespace and comments (one way to split them only)
    r'(?:(?P<open>[\[({]|\#\{)'
    r'|(?P<close>[\])}])'
    r'|"(?P<str>[^"\\]*(?:\\.[^"\\]*)*)"'
    r'|:(?P<kw>[' + _ALL + r']+(?:/[' + _ALL + r']+)?)' + _DELIM +
    r'|(?P<int>[+-]?(?:0|[1-9]\d*))' + _DELIM +
    r'|(?P<float>[+-]?\d+\.\d+(?:[eE][+-]?\d+)?)' + _DELIM +
    r'|(?P<sym>nil|true|false)' + _DELIM +
    r'|\#(?P<tag>(?!inst\b|uuid\b)[A-Za-z][\w.*+!\-?$%&=<>/:#\']*)'
    r'|(?P<end>\Z))')
_STRING_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPE_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.S)
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_SYMBOLS = {"nil": None, "true": True, "false": False}


class _Unsupported(Exception):
    pass


def _unescape(m: re.Match) -> str:
    e = m.group(1)
    if len(e) == 5:
        return chr(int(e[1:], 16))
    c = _STRING_ESCAPES.get(e)
    if c is None:
        raise _Unsupported
    return c


class _Tag:
    """A tag read, waiting for the value it applies to (`#t v`: the next value in `cur`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _apply_tags(cur: list[Any]) -> int:
    """The last value of `cur` just completed: wrap it in the tags right before it. Returns how
    many were applied."""
    v = cur.pop()
    n = 0
    while cur and type(cur[-1]) is _Tag:
        v = Tagged(cur.pop().name, v)
        n += 1
    cur.append(v)
    return n


def _fast_loads_all(text: str) -> list[Any]:
    """Top-level values of `text` if it is in the plain subset; raises _Unsupported otherwise."""
    match = _TOKEN.match
    pos = 0
    cur: list[Any] = []
    stack: list[tuple[list[Any], str]] = []
    tags = 0  # tags read and not yet applied to a value
    while True:
        m = match(text, pos)
        if m is None:
            raise _Unsupported
        pos = m.end()
        kind = m.lastgroup
        if kind == "int":
            cur.append(int(m.group("int")))
        elif kind == "kw":
            cur.append(Keyword(m.group("kw")))
        elif kind == "open":
            stack.append((cur, m.group("open")))
            cur = []
            continue
        elif kind == "close":
            if not stack or (cur and type(cur[-1]) is _Tag):
                raise _Unsupported
            items = cur
            cur, opener = stack.pop()
            if _CLOSERS[opener] != m.group("close"):
                raise _Unsupported
            if opener == "{":
                if len(items) % 2:
                    raise _Unsupported
                cur.append({frozen(items[i]): items[i + 1] for i in range(0, len(items), 2)})
            elif opener == "#{":
                cur.append(frozenset(frozen(v) for v in items))
            else:
                cur.append(items)
        elif kind == "sym":
            cur.append(_SYMBOLS[m.group("sym")])
        elif kind == "str":
            body = m.group("str")
            cur.append(_ESCAPE_RE.sub(_unescape, body) if "\\" in body else body)
        elif kind == "float":
            cur.append(float(m.group("float")))
        elif kind == "tag":
            cur.append(_Tag(m.group("tag")))
            tags += 1
            continue
        else:  # end of text
            if stack or tags:
                raise _Unsupported
            return cur
        if tags and len(cur) > 1 and type(cur[-2]) is _Tag:
            tags -= _apply_tags(cur)


def loads_all(text: str) -> list[Any]:
    """Every top-level EDN value in `text`, as plain Python data. Raises EDNError."""
    try:
        return _fast_loads_all(text)
    except (_Unsupported, ValueError):
        pass
    return _slow_loads_all(text)


def _slow_loads_all(text: str) -> list[Any]:
    """loads_all through edn_format only."""
    _register_tags(text)
    try:
        return [_plain(v) for v in edn_format.loads_all(text)]
    except RecursionError:
        raise EDNError("EDN nested too deeply for the general reader (tags, characters, "
                       "symbols or ratios nested hundreds deep)") from None
    except Exception as exc:  # edn_format raises EDNDecodeError, NotImplementedError, ValueError...
        raise EDNError(f"cannot parse EDN: {_describe(exc)}") from None


def loads(text: str) -> Any:
    """The first EDN value in `text` (None if there is none), as plain Python data."""
    values = loads_all(text)
    return values[0] if values else None


def _describe(exc: Exception) -> str:
    msg = str(exc) or type(exc).__name__
    return msg if len(msg) < 200 else msg[:200] + "..."
