"""Writing plain data as EDN text, as Jepsen writes it. Iterative: any nesting depth writes.

Results must look like Jepsen's, so str dict keys are written as keywords
(`{"valid?": True}` -> `{:valid? true}`) unless `keyword_keys=False`; tuples are EDN lists;
`Tagged` values are `#tag value` (no space before a collection or string, as Clojure prints
records: `#knossos.model.CASRegister{:value 0}`). Sets are written with their members sorted by
text, so output is deterministic. Whatever `read.py` reads, this writes back to the same value
(tests/test_edn.py checks the round trip).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

import edn_format

from maelstrom.edn.types import Char, Frozen, Keyword, Symbol, Tagged
from maelstrom.nested import rebuild

__all__ = ["dumps", "excerpt"]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_KEYWORD_NAME = re.compile(r"^[A-Za-z*+!\-_?<>=.$%&][A-Za-z0-9*+!\-_?<>=.$%&#'/:]*$")
# \formfeed and \backspace are Clojure's too, but edn_format (our general reader) does not read
# them: those two are written as \u000c and \u0008, which every reader takes.
_CHAR_NAMES = {"\n": "newline", "\r": "return", " ": "space", "\t": "tab"}
# Beyond this column `pretty` writes the rest of a value flat: a value nested thousands deep
# would otherwise be indented into a file of quadratic size.
_MAX_PRETTY_INDENT = 200


def _escape_char(m: re.Match) -> str:
    c = m.group(0)
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


def _string(s: str, readably: bool) -> str:
    if not readably:
        return s
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, s) + '"'


def _char(c: str) -> str:
    name = _CHAR_NAMES.get(c)
    if name is not None:
        return "\\" + name
    if len(c) == 1 and not 0x21 <= ord(c) <= 0x7e and ord(c) <= 0xffff:
        return f"\\u{ord(c):04x}"  # readers differ on raw non-ASCII characters; not on \uXXXX
    return "\\" + c


def _atom(x: Any, readably: bool) -> str | None:
    """The text of a scalar, or None if `x` is a collection (or a tagged value)."""
    if x is None:
        return "nil"
    if x is True:
        return "true"
    if x is False:
        return "false"
    t = type(x)
    if t is int or t is Keyword:
        return str(x) if t is int else ":" + x.name
    if t is str:
        return _string(x, readably)
    if t is float:
        if math.isnan(x):
            return "##NaN"
        if math.isinf(x):
            return "##Inf" if x > 0 else "##-Inf"
        return repr(x)
    if t is Frozen:
        return _atom(x.value, readably)
    if isinstance(x, (list, tuple, set, frozenset, dict, Tagged)):
        return None
    if isinstance(x, int):  # an int subclass (bools were handled above)
        return str(int(x))
    if isinstance(x, str):
        return _string(str(x), readably)
    if t is Decimal:
        return f"{x}M"
    if t is Fraction:
        return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)
    if t is Char:
        return _char(x.char) if readably else x.char
    if t is Symbol:
        return x.name
    if isinstance(x, _dt.datetime):
        return "#inst " + _string(x.isoformat(), True)
    if isinstance(x, uuid.UUID):
        return "#uuid " + _string(str(x), True)
    if isinstance(x, edn_format.Keyword):
        return ":" + x.name
    if isinstance(x, edn_format.Symbol):
        return x.name
    return _string(str(x), readably)  # anything else: its text, never a crash


def _is_map(x: Any) -> bool:
    return isinstance(x, dict)


def _tag_head(x: Tagged) -> str:
    # `#tag{...}`, `#tag[...]`, `#tag"..."` read back as written; before anything else (a number,
    # a keyword, a set) the tag needs a space, or it would run into the value: `#foo/bar 1`.
    v = x.value.value if type(x.value) is Frozen else x.value
    tight = isinstance(v, (dict, list, tuple)) or type(v) is str
    return "#" + x.tag + ("" if tight else " ")


class _Writer:
    """One call of `dumps`: the options and the memo of set texts."""

    def __init__(self, readably: bool, keyword_keys: bool) -> None:
        self.readably = readably
        self.kk = keyword_keys
        self.set_texts: dict[int, str] = {}  # id(set) -> its text (members sorted)

    def key_text(self, k: Any) -> str:
        if self.kk and type(k) is str and _KEYWORD_NAME.match(k):
            return ":" + k
        return self.flat_text(k)

    def flat_text(self, x: Any) -> str:
        a = _atom(x, self.readably)
        if a is not None:
            return a
        out: list[str] = []
        self.flat(x, out)
        return "".join(out)

    def flat(self, x: Any, out: list[str]) -> None:
        """Append the text of `x` to `out`. The stack holds values still to write and `_Text`
        pieces (brackets, separators) between them."""
        stack: list[Any] = [x]
        readably = self.readably
        while stack:
            v = stack.pop()
            if type(v) is _Text:
                out.append(v.s)
                continue
            if type(v) is Frozen:
                v = v.value
            a = _atom(v, readably)
            if a is not None:
                out.append(a)
                continue
            if type(v) is Tagged:
                out.append(_tag_head(v))
                stack.append(v.value)
                continue
            if isinstance(v, (set, frozenset)):
                out.append(self.set_text(v))
                continue
            if _is_map(v):
                out.append("{")
                stack.append(_CLOSE_MAP)
                items = list(v.items())
                for i in range(len(items) - 1, -1, -1):
                    k, val = items[i]
                    stack.append(val)
                    stack.append(_SPACE)
                    if self.kk and type(k) is str and _KEYWORD_NAME.match(k):
                        stack.append(_Text(":" + k))
                    else:
                        stack.append(k)
                    if i:
                        stack.append(_COMMA)
                continue
            opener, closer = ("[", _CLOSE_VEC) if isinstance(v, list) else ("(", _CLOSE_LIST)
            out.append(opener)
            stack.append(closer)
            for i in range(len(v) - 1, -1, -1):
                stack.append(v[i])
                if i:
                    stack.append(_SPACE)

    def set_text(self, s: Any) -> str:
        """A set's text, members sorted by their text. Sets nested inside it are done first
        (deepest first), so no call here ever waits on another: no recursion."""
        done = self.set_texts
        if id(s) in done:
            return done[id(s)]
        pending = []  # every set inside s, parents before children
        stack = [s]
        while stack:
            v = stack.pop()
            if type(v) is Frozen:
                v = v.value
            if isinstance(v, (set, frozenset)):
                if id(v) in done:
                    continue
                pending.append(v)
                stack.extend(v)
            elif _is_map(v):
                for k, val in v.items():
                    stack.append(k)
                    stack.append(val)
            elif isinstance(v, (list, tuple)):
                stack.extend(v)
            elif type(v) is Tagged:
                stack.append(v.value)
        for v in reversed(pending):  # children first
            if id(v) not in done:
                done[id(v)] = "#{" + " ".join(sorted(self.flat_text(m) for m in v)) + "}"
        return done[id(s)]

    def sorted_members(self, s: Any) -> list[Any]:
        self.set_text(s)  # memoises the texts of every set inside
        return [m for _, m in sorted(((self.flat_text(m), i), m) for i, m in enumerate(s))]

    # -- pretty ---------------------------------------------------------------------------
    def flat_lengths(self, x: Any) -> dict[int, int]:
        """id(collection) -> length of its flat text, for every collection inside x."""
        lengths: dict[int, int] = {}
        readably = self.readably

        def children(v: Any) -> list | None:
            if type(v) is Frozen:
                return [v.value]
            if _is_map(v):
                return [part for pair in v.items() for part in pair]
            if isinstance(v, (list, tuple)):
                return v
            if type(v) is Tagged:
                return [v.value]
            return None  # atoms, and sets (their text is computed whole)

        def leaf(v: Any) -> int:
            a = _atom(v, readably)
            return len(a) if a is not None else len(self.set_text(v))

        def build(v: Any, lens: list) -> int:
            if type(v) is Frozen:
                n = lens[0]
            elif type(v) is Tagged:
                n = len(_tag_head(v)) + lens[0]
            elif _is_map(v):
                n = 2 + max(0, 2 * (len(lens) // 2 - 1))
                for i, (k, _) in enumerate(v.items()):
                    kl = (len(":" + k) if self.kk and type(k) is str and _KEYWORD_NAME.match(k)
                          else lens[2 * i])
                    n += kl + 1 + lens[2 * i + 1]
            else:
                n = 2 + sum(lens) + max(0, len(lens) - 1)
            lengths[id(v)] = n
            return n

        rebuild(x, children, build, leaf)
        return lengths

    def pretty(self, x: Any, width: int) -> str:
        if _atom(x, self.readably) is not None:
            return self.flat_text(x)
        lengths = self.flat_lengths(x)
        out: list[str] = []
        stack: list[Any] = [(x, 0)]
        while stack:
            item = stack.pop()
            if type(item) is _Text:
                out.append(item.s)
                continue
            v, indent = item
            if type(v) is Frozen:
                v = v.value
            if isinstance(v, (set, frozenset)):
                size = len(self.set_text(v))
            else:
                size = lengths.get(id(v), 0)  # atoms are not in `lengths`: always flat
            if size == 0 or indent + size <= width or indent > _MAX_PRETTY_INDENT:
                self.flat(v, out)
                continue
            if type(v) is Tagged:
                head = _tag_head(v)
                out.append(head)
                stack.append((v.value, indent + len(head)))
                continue
            if _is_map(v):
                opener, closer, items = "{", "}", list(v.items())
            elif isinstance(v, (set, frozenset)):
                opener, closer, items = "#{", "}", [(None, m) for m in self.sorted_members(v)]
            else:
                opener, closer = ("[", "]") if isinstance(v, list) else ("(", ")")
                items = [(None, m) for m in v]
            inner = indent + len(opener)
            sep = _Text((",\n" if opener == "{" else "\n") + " " * inner)
            out.append(opener)
            stack.append(_Text(closer))
            for i in range(len(items) - 1, -1, -1):
                k, val = items[i]
                if opener == "{":
                    kt = self.key_text(k)
                    stack.append((val, inner + len(kt) + 1))
                    stack.append(_Text(kt + " "))
                else:
                    stack.append((val, inner))
                if i:
                    stack.append(sep)
        return "".join(out)


class _Text:
    """A piece of finished text on a writer's stack (kept apart from str values)."""

    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s


_SPACE, _COMMA = _Text(" "), _Text(", ")
_CLOSE_MAP, _CLOSE_VEC, _CLOSE_LIST = _Text("}"), _Text("]"), _Text(")")


def dumps(obj: Any, pretty: bool = False, width: int = 80, readably: bool = True,
          keyword_keys: bool = True) -> str:
    """`obj` as EDN text.

    None -> nil, bools, ints, floats (`##NaN`, `##Inf`), Decimal -> `1.5M`, Fraction -> `1/2`,
    str (escaped), Keyword -> `:kw`, Symbol, Char -> `\\a`, list -> `[...]`, tuple -> `(...)`,
    set/frozenset -> `#{...}`, dict -> `{k v, ...}` (str keys as keywords), Frozen -> its value,
    Tagged -> `#tag value`, datetime -> `#inst "..."`, UUID -> `#uuid "..."`. `pretty` breaks
    collections that do not fit in `width` columns over lines, one item a line.
    `readably=False` writes strings and characters bare (like Clojure's `print`, as Jepsen's
    history.txt does for errors). `keyword_keys=False` writes str keys as strings: use it for
    data read from EDN (op values), where keyword keys are already Keywords.
    """
    w = _Writer(readably, keyword_keys)
    if pretty:
        return w.pretty(obj, width)
    return w.flat_text(obj)


def excerpt(obj: Any, limit: int = 80) -> str:
    """`obj` as EDN, cut to about `limit` characters: for messages about values of any size."""
    text = dumps(obj, keyword_keys=False)
    return text if len(text) <= limit else text[:limit] + "..."
