"""The Python side of EDN values, and Clojure's equality on them.

Plain data stands for EDN: None, bool, int, float, Decimal (`1.5M`), Fraction (`1/2`), str,
lists (vectors and lists), dicts (maps), frozensets (sets), and these classes: `Keyword`,
`Symbol`, `Char`, `Tagged` (a tagged literal with no built-in meaning).

Python and Clojure disagree on equality: in Python 1 == 1.0 == True (and they hash alike), in
Clojure `(= 1 1.0)` and `(= 1 true)` are false. Jepsen compares keys and register values with
Clojure's `=`, so we must too. `frozen(x)` is the hashable form of a value whose Python
equality *is* Clojure's `=`: ints, strings, nil, keywords, symbols and characters as they are
(Python already keeps those apart), anything else a `Frozen` that compares by a canonical text in
which 1, 1.0, 1.0M and true differ, 1.0M and 1.00M do not, `[1 2]` and `(1 2)` do not (Clojure
compares sequences by their items), and maps and sets do not depend on order. The canonical text
is built without recursion, and comparing or hashing it never recurses either, whatever the
nesting depth. (NaN is equal only to itself, the same object, as in Clojure.)

Set members and map keys are always stored frozen (so `#{1 true 1.0}` keeps three members).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["EDNError", "Keyword", "Symbol", "Char", "Tagged", "Frozen", "frozen"]


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


class Char:
    """An EDN character such as `\\a` or `\\newline` (never equal to a one-letter string)."""

    __slots__ = ("char",)

    def __init__(self, char: str) -> None:
        self.char = char

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Char) and other.char == self.char

    def __hash__(self) -> int:
        return hash(("edn-char", self.char))

    def __repr__(self) -> str:
        return f"Char({self.char!r})"


class Tagged:
    """A tagged literal: `Tagged("knossos.model.CASRegister", {"value": 0})` is
    `#knossos.model.CASRegister{:value 0}`. Equal when the tags are and the values are `=`."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tagged) and other.tag == self.tag and frozen(other) == frozen(self)

    def __hash__(self) -> int:
        return hash(("edn-tagged", self.tag))

    def __repr__(self) -> str:
        from maelstrom.edn.write import excerpt
        return f"Tagged({self.tag!r}, {excerpt(self.value, 200)})"


class Frozen:
    """The hashable form of a value Python would compare differently from Clojure (see the
    module docstring). `value` is the value itself; `text` its canonical text."""

    __slots__ = ("value", "text", "_hash")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.text = _canon(value)
        self._hash = hash(self.text)

    def __eq__(self, other: object) -> bool:
        return type(other) is Frozen and other._hash == self._hash and other.text == self.text

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        from maelstrom.edn.write import excerpt
        return f"Frozen({excerpt(self.value, 200)})"


# Atoms whose Python equality is already Clojure's; frozen() leaves them alone.
_SELF_FROZEN = {int, str, type(None), Keyword, Symbol, Char}


def frozen(x: Any) -> Any:
    """The hashable form of plain data, whose `==` is Clojure's `=` (see the module docstring).
    Iterative: any nesting depth."""
    t = type(x)
    if t in _SELF_FROZEN or t is Frozen:
        return x
    if t is Fraction and x.denominator == 1:
        return x.numerator  # Clojure has no integral ratios: 4/2 is the long 2
    return Frozen(x)


class _Piece:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s


_SP, _CLOSE_SEQ, _CLOSE_MAP = _Piece(" "), _Piece("]"), _Piece("}")


def _canon_atom(x: Any) -> str | None:
    """The canonical text of a scalar; None for collections and tagged values. Every token is
    self-delimiting (strings and names are quoted), so texts of different values differ."""
    if x is None:
        return "nil"
    if x is True:
        return "true"
    if x is False:
        return "false"
    t = type(x)
    if t is int:
        return str(x)
    if t is str:
        return repr(x)
    if t is Keyword:
        return ":" + repr(x.name)
    if t is float:
        if x != x:
            return f"##NaN@{id(x)}"  # (= ##NaN ##NaN) is false, except for one and the same object
        if x == 0.0:
            return "0.0"  # (= 0.0 -0.0) is true
        return repr(x)
    if t is Frozen:
        return x.text
    if isinstance(x, (list, tuple, dict, set, frozenset, Tagged)):
        return None
    if isinstance(x, int):  # an int subclass (bools were handled above)
        return str(int(x))
    if t is Decimal:
        if x.is_nan():
            return f"##DecimalNaN@{id(x)}"
        return "0M" if x == 0 else f"{x.normalize()}M"  # (= 1.0M 1.00M) is true
    if t is Fraction:
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    if t is Symbol:
        return "'" + repr(x.name)
    if t is Char:
        return "\\" + repr(x.char)
    if isinstance(x, str):
        return repr(str(x))
    if isinstance(x, _dt.datetime):
        if x.tzinfo is not None:
            x = x.astimezone(_dt.timezone.utc)
        return "#inst" + repr(x.isoformat())
    if isinstance(x, uuid.UUID):
        return "#uuid" + repr(str(x))
    return "?" + repr(type(x).__name__) + repr(str(x))


def _member_text(m: Any) -> str:
    """The canonical text of a set member or map key (normally frozen already)."""
    a = _canon_atom(m)
    return a if a is not None else _canon(m)


def _canon(x: Any) -> str:
    a = _canon_atom(x)
    if a is not None:
        return a
    out: list[str] = []
    stack: list[Any] = [x]
    while stack:
        v = stack.pop()
        if type(v) is _Piece:
            out.append(v.s)
            continue
        a = _canon_atom(v)
        if a is not None:
            out.append(a)
        elif isinstance(v, (list, tuple)):
            out.append("[")
            stack.append(_CLOSE_SEQ)
            for i in range(len(v) - 1, -1, -1):
                stack.append(v[i])
                if i:
                    stack.append(_SP)
        elif isinstance(v, dict):
            # keys are distinct, so sorting by their text alone orders the entries
            entries = sorted((_member_text(k), i, val) for i, (k, val) in enumerate(v.items()))
            out.append("{")
            stack.append(_CLOSE_MAP)
            for n in range(len(entries) - 1, -1, -1):
                text, _, val = entries[n]
                stack.append(val)
                stack.append(_Piece(text + " "))
                if n:
                    stack.append(_SP)
        elif isinstance(v, (set, frozenset)):
            out.append("#{" + " ".join(sorted(_member_text(m) for m in v)) + "}")
        else:  # Tagged
            out.append("#" + repr(v.tag) + " ")
            stack.append(v.value)
    return "".join(out)
