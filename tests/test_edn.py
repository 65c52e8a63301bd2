"""maelstrom.edn: reading Jepsen's EDN into plain data and writing it back."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from maelstrom import edn
from maelstrom.edn import EDNError, Keyword, Symbol, Tagged


def test_keyword_is_interned_hashable_and_prints_with_colon():
    assert Keyword("valid?") is Keyword(":valid?")
    assert str(Keyword("valid?")) == ":valid?"
    assert {Keyword("a"): 1}[Keyword("a")] == 1
    assert Keyword("a") != "a"


@pytest.mark.parametrize("obj, text", [
    (None, "nil"), (True, "true"), (False, "false"), (-12, "-12"), (1.5, "1.5"),
    ("a\"b\\c\nd", '"a\\"b\\\\c\\nd"'), ("\x01", '"\\u0001"'),
    (Keyword("ok"), ":ok"), ([1, None], "[1 nil]"), ((1, 2), "(1 2)"),
    (frozenset({2, 1}), "#{1 2}"), ({"valid?": True}, "{:valid? true}"),
    ({1: "x"}, '{1 "x"}'), ({"has space": 1}, '{"has space" 1}'),
    (Tagged("knossos.model.CASRegister", {"value": 0}), "#knossos.model.CASRegister{:value 0}"),
    (float("inf"), "##Inf"), (Symbol("foo"), "foo"),
])
def test_dumps_scalars_and_collections(obj, text):
    assert edn.dumps(obj) == text


def test_dumps_keyword_keys_off_keeps_string_keys_as_strings():
    assert edn.dumps({"n0": frozenset({"n1"})}, keyword_keys=False) == '{"n0" #{"n1"}}'


def test_dumps_not_readably_prints_strings_bare():
    assert edn.dumps([Keyword("temporarily-unavailable"), "not a leader"], readably=False) == \
        "[:temporarily-unavailable not a leader]"


def test_pretty_breaks_long_maps_one_entry_a_line_and_reads_back():
    obj = {"valid?": False, "results": {0: {"linearizable": {"valid?": False, "op": list(range(30))}}}}
    text = edn.dumps(obj, pretty=True, width=40)
    assert "\n" in text
    assert max(len(line) for line in text.splitlines() if "op" not in line) <= 60
    back = edn.loads(text)
    assert back[Keyword("results")][0][Keyword("linearizable")][Keyword("op")] == list(range(30))


def test_loads_comments_lists_sets_tags():
    text = """; a comment
    ({:type :invoke, :value [0 nil], :s #{1 [2 3]}} ; trailing
     #knossos.model.CASRegister{:value 4} #inst "2020-01-01")"""
    value = edn.loads(text)
    assert isinstance(value, list)
    op, reg, _inst = value
    assert op == {Keyword("type"): Keyword("invoke"), Keyword("value"): [0, None],
                  Keyword("s"): frozenset({1, edn.frozen([2, 3])})}
    assert reg == Tagged("knossos.model.CASRegister", {Keyword("value"): 4})


def test_loads_all_returns_every_top_level_value():
    assert edn.loads_all("{:a 1}\n{:a 2}\n") == [{Keyword("a"): 1}, {Keyword("a"): 2}]
    assert edn.loads("") is None


@pytest.mark.parametrize("bad", ["{:a", "{:a 1 :b}", "[1 2", ")", '"unterminated', "#{1 1}x]"])
def test_bad_input_raises_edn_error_only(bad):
    with pytest.raises(EDNError):
        edn.loads_all(bad)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.text(max_size=8), st.sampled_from([Keyword("a"), Keyword("valid?"), Keyword("x-y")]))
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.integers(0, 5), inner, max_size=3)),
    max_leaves=12)


@given(_values)
def test_round_trip_through_text(value):
    assert edn.loads(edn.dumps(value, keyword_keys=False)) == value
    assert edn.loads(edn.dumps(value, keyword_keys=False, pretty=True, width=10)) == value


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes_the_reader(text):
    try:
        edn.loads_all(text)
    except EDNError:
        pass


_texts = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
              st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: round(f, 3)),
              st.text(max_size=6), st.sampled_from([Keyword("a"), Keyword("ns/b"), Keyword("x?")])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.frozensets(st.integers(0, 9), max_size=3),
                            st.dictionaries(st.one_of(st.integers(0, 5), st.tuples(st.integers(0, 2))),
                                            inner, max_size=3)),
    max_leaves=10)


@given(st.lists(_texts, max_size=3), st.sampled_from([" ", "\n", ", ", " ; note\n", "\t"]))
def test_fast_reader_agrees_with_edn_format(values, sep):
    from maelstrom.edn import _fast_loads_all, _slow_loads_all
    text = sep.join(edn.dumps(v, keyword_keys=False) for v in values)
    assert _fast_loads_all(text) == _slow_loads_all(text)


@pytest.mark.parametrize("text", ["#inst \"2020-01-01\"", "\\a", "1/2", "foo", "1.5M", "#_ 1 2",
                                  "##Inf", "{:a 1 :b}", "[1 2", "[1 2)", '"\\x41"', "007", ":a/b/c"])
def test_fast_reader_leaves_everything_else_to_edn_format(text):
    from maelstrom.edn import _Unsupported, _fast_loads_all, _slow_loads_all
    with pytest.raises(_Unsupported):
        _fast_loads_all(text)
    try:
        expected = _slow_loads_all(text)
    except EDNError:
        with pytest.raises(EDNError):
            edn.loads_all(text)
    else:
        assert edn.loads_all(text) == expected


# -- Clojure's equality (frozen), the writer's round trip, any nesting depth -------------------

from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

from maelstrom.edn import Char, frozen


def test_frozen_equality_is_clojures():
    distinct = [1, 1.0, True, Decimal("1"), "1", Keyword("1"), Symbol("x1"), Char("1"),
                [1], [True], [1.0], ["1"], {Keyword("a"): 1}, {Keyword("a"): 1.0},
                frozenset({1}), frozenset({edn.frozen(True)}), None, False, 0, Fraction(1, 2), 0.5]
    keys = [frozen(v) for v in distinct]
    assert len(set(keys)) == len(distinct)
    for a, b in [([1, 2], (1, 2)),                                  # (= [1 2] '(1 2))
                 (Decimal("1.0"), Decimal("1.00")), (0.0, -0.0),    # (= 1.0M 1.00M), (= 0.0 -0.0)
                 ({1: "a", 2: "b"}, {2: "b", 1: "a"}), (Fraction(4, 2), 2),
                 (Tagged("t", [1]), Tagged("t", (1,)))]:
        assert frozen(a) == frozen(b) and hash(frozen(a)) == hash(frozen(b)), (a, b)
    nan = float("nan")
    assert frozen(nan) == frozen(nan) and frozen(nan) != frozen(float("nan"))
    assert Tagged("t", 1) != Tagged("t", True) and Tagged("t", [1]) == Tagged("t", [1])


def test_sets_and_maps_keep_members_clojure_tells_apart():
    s = edn.loads("#{1 true 1.0 [1] [true] (1) \"1\" :1}")
    assert len(s) == 7  # [1] and (1) are one value
    m = edn.loads("{1 :a true :b 1.0 :c [1] :d [true] :e}")
    assert len(m) == 5
    assert edn.dumps(m) == "{1 :a, true :b, 1.0 :c, [1] :d, [true] :e}"


def test_tagged_values_are_written_so_they_read_back():
    assert edn.dumps(Tagged("foo/bar", 1)) == "#foo/bar 1"
    assert edn.loads("#foo/bar 1") == Tagged("foo/bar", 1)
    assert edn.dumps(Tagged("t", Keyword("k"))) == "#t :k"
    assert edn.dumps(Tagged("t", frozenset({2}))) == "#t #{2}"
    # before a collection or a string no space, as Clojure prints records
    assert edn.dumps(Tagged("r", {"v": 0})) == "#r{:v 0}"
    assert edn.dumps(Tagged("r", [0])) == "#r[0]"
    assert edn.dumps(Tagged("r", "s")) == '#r"s"'
    long = Tagged("foo/bar", list(range(40)))
    assert edn.loads(edn.dumps({"x": Tagged("foo/bar", 7), "y": long}, pretty=True, width=20)) == \
        {Keyword("x"): Tagged("foo/bar", 7), Keyword("y"): long}


@pytest.mark.parametrize("value, text", [
    (Char("a"), "\\a"), (Char("\n"), "\\newline"), (Char(" "), "\\space"), (Char("\x01"), "\\u0001"),
    (Decimal("1.50"), "1.50M"), (Fraction(1, 2), "1/2"), (Symbol("ns/sym"), "ns/sym"),
    (datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc), '#inst "2020-01-02T03:04:05+00:00"'),
    (UUID(int=5), '#uuid "00000000-0000-0000-0000-000000000005"'), (float("-inf"), "##-Inf"),
])
def test_every_literal_the_reader_returns_is_written_back_as_itself(value, text):
    assert edn.dumps(value) == text
    assert frozen(edn.loads(text)) == frozen(value)


_names = st.from_regex(r"\A[a-z][a-z0-9*!_?<>=-]{0,6}(/[a-z][a-z0-9]{0,4})?\Z")
_any_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30),
    st.floats(allow_nan=False), st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.fractions().filter(lambda f: f.denominator != 1), st.text(max_size=8),
    _names.map(Keyword), _names.filter(lambda n: n not in ("nil", "true", "false")).map(Symbol),
    st.characters(max_codepoint=0xffff, exclude_categories=("Cs",)).map(Char), st.uuids(),
    st.datetimes(timezones=st.just(timezone.utc)))
_any_value = st.recursive(
    _any_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner),
        st.frozensets(inner.map(frozen), max_size=3),
        st.dictionaries(inner.map(frozen), inner, max_size=3),
        st.tuples(_names, inner).map(lambda p: Tagged(*p))),
    max_leaves=14)


@given(_any_value)
def test_write_then_read_gives_the_same_value(value):
    for text in (edn.dumps(value, keyword_keys=False),
                 edn.dumps(value, keyword_keys=False, pretty=True, width=12)):
        assert frozen(edn.loads(text)) == frozen(value), text


def _nest(depth, make):
    x = 0
    for _ in range(depth):
        x = make(x)
    return x


@pytest.mark.parametrize("make", [lambda x: [x], lambda x: {"k": x}, lambda x: frozenset({frozen(x)}),
                                  lambda x: {frozen(x): 1}, lambda x: [x, 1.5],
                                  lambda x: Tagged("t", x), lambda x: Tagged("r", {"v": x})])
def test_any_nesting_depth_reads_writes_and_compares(make):
    depth = 5000
    value = _nest(depth, make)
    text = edn.dumps(value, keyword_keys=False)
    back = edn.loads(text)
    assert frozen(back) == frozen(value) != frozen(_nest(depth - 1, make))
    assert edn.dumps(back, keyword_keys=False) == text
    pretty = edn.dumps(value, keyword_keys=False, pretty=True)
    assert frozen(edn.loads(pretty)) == frozen(value)
    assert len(pretty) < 3 * len(text) + 250 * 250  # flat beyond a bounded indent
    assert edn.excerpt(value, 20).endswith("...")


def test_deep_exotic_edn_is_a_clear_error_and_still_writes():
    # characters, symbols, ratios... are read by edn_format, which recurses
    value = _nest(3000, lambda x: [Char("a"), x])
    text = edn.dumps(value)
    assert text.startswith("[\\a [\\a ") and text.rstrip("]").endswith(" 0")
    assert frozen(value) != frozen(_nest(2999, lambda x: [Char("a"), x]))
    with pytest.raises(EDNError, match="nested too deeply"):
        edn.loads(text)
