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
                  Keyword("s"): frozenset({1, (2, 3)})}
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
