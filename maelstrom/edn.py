"""EDN in and out, as plain Python data.

Reading goes through the `edn_format` library; its result is converted to plain Python:
vectors and lists -> list, maps -> dict, sets -> frozenset, keywords -> `Keyword`, symbols ->
`Symbol`, tagged literals with no built-in meaning -> `Tagged`. (Collections that must be hashable,
i.e. set members and map keys, become tuples; that is the only place a tuple appears.)

Writing is our own (`dumps`), because results must look like Jepsen's: str dict keys are written
as keywords (`{"valid?": True}` -> `{:valid? true}`), tuples as EDN lists, and `Tagged` values as
`#tag value`. `dumps(..., pretty=True)` indents like Clojure's pprint for results.edn.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import edn_format

__all__ = ["Keyword", "Symbol", "Tagged", "EDNError", "dumps", "frozen", "loads", "loads_all"]


class EDNError(ValueError):
    """The text is not EDN we can read (syntax error, odd map, unreadable literal)."""


class Keyword:
    """An EDN keyword such as `:valid?`. Interned: equal keywords are the same object."""

    __slots__ = ("name", "_hash")
    _interned: dict[str, "Keyword"] = {}

    def __new__(cls, name: str) -> "Keyword":
        if name.startswith(":"):
            name = name[1:]
        kw = cls._interned.get(name)
        if kw is None:
            kw = object.__new__(cls)
            object.__setattr__(kw, "name", name)
            object.__setattr__(kw, "_hash", hash(("edn-keyword", name)))
            cls._interned[name] = kw
        return kw

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError("Keyword is immutable")

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Keyword) and other.name == self.name)

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: "Keyword") -> bool:
        return self.name < other.name

    def __str__(self) -> str:
        return ":" + self.name

    def __repr__(self) -> str:
        return f"Keyword({self.name!r})"

    def __reduce__(self):  # pickling (multiprocessing) must keep interning
        return (Keyword, (self.name,))


class Symbol:
    """An EDN symbol (rare in histories; kept so it writes back unchanged)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Symbol) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("edn-symbol", self.name))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Symbol({self.name!r})"


class Tagged:
    """A tagged literal: `Tagged("knossos.model.CASRegister", {"value": 0})` is
    `#knossos.model.CASRegister{:value 0}`."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tagged) and (other.tag, other.value) == (self.tag, self.value)

    def __hash__(self) -> int:
        return hash(("edn-tagged", self.tag))

    def __repr__(self) -> str:
        return f"Tagged({self.tag!r}, {self.value!r})"


# ---------------------------------------------------------------------------------------------
# Reading

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
    """Convert edn_format's objects into our plain data (see the module docstring)."""
    if x is None or isinstance(x, (bool, int, float, Decimal, Fraction)):
        return x
    if isinstance(x, str):  # also edn_format.Char, a str subclass
        return str(x)
    if isinstance(x, edn_format.Keyword):
        return Keyword(x.name)
    if isinstance(x, (edn_format.ImmutableList, tuple, list)):
        items = [_plain(v, hashable) for v in x]
        return tuple(items) if hashable else items
    if isinstance(x, (edn_format.ImmutableDict, dict)):
        d = {_plain(k, True): _plain(v, hashable) for k, v in x.items()}
        return tuple(sorted(d.items(), key=repr)) if hashable else d
    if isinstance(x, frozenset):
        return frozenset(_plain(v, True) for v in x)
    if isinstance(x, edn_format.Symbol):
        return Symbol(x.name)
    if isinstance(x, _RawTagged):
        return Tagged(x.tag, _plain(x.value, hashable))
    if isinstance(x, edn_format.MetadataValue):
        return _plain(x.value, hashable)
    return x  # datetime, UUID: already plain


# A fast reader for the plain-data subset of EDN that histories are made of (collections,
# keywords, strings, integers, decimals, nil/true/false, comments). edn_format's lexer is slow
# (about 0.15 ms per history line); this is several times faster. Anything outside the subset,
# or anything malformed, makes it give up, and edn_format reads the text instead: edn_format's
# reading is the reference (tests/test_edn.py checks that both agree).
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


def frozen(x: Any) -> Any:
    """The hashable form of plain data, as set members and map keys get it: lists become
    tuples, maps sorted tuples of pairs."""
    if isinstance(x, list):
        return tuple(frozen(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted(((k, frozen(v)) for k, v in x.items()), key=repr))
    return x


def _fast_loads_all(text: str) -> list[Any]:
    """Top-level values of `text` if it is in the plain subset; raises _Unsupported otherwise."""
    match = _TOKEN.match
    pos = 0
    cur: list[Any] = []
    stack: list[tuple[list[Any], str]] = []
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
        elif kind == "close":
            if not stack:
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
        else:  # end of text
            if stack:
                raise _Unsupported
            return cur


def loads_all(text: str) -> list[Any]:
    """Every top-level EDN value in `text`, as plain Python data. Raises EDNError."""
    try:
        return _fast_loads_all(text)
    except (_Unsupported, RecursionError, ValueError):
        pass
    return _slow_loads_all(text)


def _slow_loads_all(text: str) -> list[Any]:
    """loads_all through edn_format only."""
    _register_tags(text)
    try:
        return [_plain(v) for v in edn_format.loads_all(text)]
    except RecursionError:
        raise EDNError("EDN nested too deeply") from None
    except Exception as exc:  # edn_format raises EDNDecodeError, NotImplementedError, ValueError...
        raise EDNError(f"cannot parse EDN: {_describe(exc)}") from None


def loads(text: str) -> Any:
    """The first EDN value in `text` (None if there is none), as plain Python data."""
    values = loads_all(text)
    return values[0] if values else None


def _describe(exc: Exception) -> str:
    msg = str(exc) or type(exc).__name__
    return msg if len(msg) < 200 else msg[:200] + "..."


# ---------------------------------------------------------------------------------------------
# Writing

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_KEYWORD_NAME = re.compile(r"^[A-Za-z*+!\-_?<>=.$%&][A-Za-z0-9*+!\-_?<>=.$%&#'/:]*$")


def _escape_char(m: re.Match) -> str:
    c = m.group(0)
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


def _string(s: str, readably: bool) -> str:
    if not readably:
        return s
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, s) + '"'


def _key(k: Any, readably: bool, keyword_keys: bool = True) -> str:
    if keyword_keys and isinstance(k, str) and _KEYWORD_NAME.match(k):
        return ":" + k
    return _atom_or_flat(k, readably, keyword_keys)


def _atom(x: Any, readably: bool) -> str | None:
    """The text of a scalar, or None if `x` is a collection."""
    if x is None:
        return "nil"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, Keyword):
        return ":" + x.name
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "##NaN"
        if math.isinf(x):
            return "##Inf" if x > 0 else "##-Inf"
        return repr(x)
    if isinstance(x, str):
        return _string(x, readably)
    if isinstance(x, Decimal):
        return f"{x}M"
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    if isinstance(x, (Symbol, edn_format.Symbol)):
        return x.name
    if isinstance(x, edn_format.Keyword):
        return ":" + x.name
    if isinstance(x, (list, tuple, set, frozenset, dict, Tagged)):
        return None
    return _string(str(x), readably)  # anything else: its text, never a crash


def _entries(x: Any) -> tuple[str, str, list[tuple[str | None, Any]]]:
    """Open bracket, close bracket, and items ((key text or None, value)) of a collection."""
    if isinstance(x, dict):
        return "{", "}", list(x.items())
    if isinstance(x, list):
        return "[", "]", [(None, v) for v in x]
    if isinstance(x, tuple):
        return "(", ")", [(None, v) for v in x]
    # sets: sorted by text so output is deterministic
    return "#{", "}", [(None, v) for v in sorted(x, key=lambda v: _atom_or_flat(v, True))]


def _atom_or_flat(x: Any, readably: bool, kk: bool = True) -> str:
    a = _atom(x, readably)
    if a is not None:
        return a
    if isinstance(x, Tagged):
        return f"#{x.tag}{_atom_or_flat(x.value, readably, kk)}"
    opener, closer, items = _entries(x)
    if opener == "{":
        body = ", ".join(f"{_key(k, readably, kk)} {_atom_or_flat(v, readably, kk)}"
                         for k, v in items)
    else:
        body = " ".join(_atom_or_flat(v, readably, kk) for _, v in items)
    return opener + body + closer


def _pretty(x: Any, indent: int, width: int, readably: bool, kk: bool) -> str:
    flat = _atom_or_flat(x, readably, kk)
    if indent + len(flat) <= width or _atom(x, readably) is not None:
        return flat
    if isinstance(x, Tagged):
        head = f"#{x.tag}"
        return head + _pretty(x.value, indent + len(head), width, readably, kk)
    opener, closer, items = _entries(x)
    inner = indent + len(opener)
    parts = []
    for k, v in items:
        if opener == "{":
            kt = _key(k, readably, kk)
            parts.append(kt + " " + _pretty(v, inner + len(kt) + 1, width, readably, kk))
        else:
            parts.append(_pretty(v, inner, width, readably, kk))
    sep = (",\n" if opener == "{" else "\n") + " " * inner
    return opener + sep.join(parts) + closer


def dumps(obj: Any, pretty: bool = False, width: int = 80, readably: bool = True,
          keyword_keys: bool = True) -> str:
    """`obj` as EDN text.

    None -> nil, bools, ints, floats, str (escaped), Keyword -> `:kw`, list -> `[...]`,
    tuple -> `(...)`, set/frozenset -> `#{...}`, dict -> `{k v, ...}` (str keys as keywords),
    Tagged -> `#tag value`. `pretty` breaks collections that do not fit in `width` columns over
    lines, one item a line. `readably=False` writes strings without quotes (like Clojure's
    `print`, as Jepsen's history.txt does for errors). `keyword_keys=False` writes str keys as
    strings: use it for data read from EDN (op values), where keyword keys are already Keywords.
    """
    if pretty:
        return _pretty(obj, 0, width, readably, keyword_keys)
    return _atom_or_flat(obj, readably, keyword_keys)
