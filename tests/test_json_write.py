"""maelstrom.json_write: orjson's text, and the same text for what orjson refuses."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, strategies as st

from maelstrom import json_write
from maelstrom.json_write import _dumps_iterative

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(max_size=6),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=12)


@given(_json)
def test_the_fallback_writes_what_orjson_writes(value):
    for indent in (False, True):
        text = _dumps_iterative(value, indent)
        assert json.loads(text) == value
        if indent:  # same layout, character for character (floats aside: repr vs shortest)
            assert text.count("\n") == orjson.dumps(value, option=orjson.OPT_INDENT_2).count(b"\n")
    assert json.loads(json_write.dumps(value)) == value


def _nest(depth):
    x = [1]
    for _ in range(depth):
        x = {"k": [x]}
    return x


@pytest.mark.parametrize("value", [_nest(200), [2**64, -2**70], {"a": float("nan")}])
def test_what_orjson_refuses_is_still_written(value):
    with pytest.raises((orjson.JSONEncodeError, TypeError)):
        orjson.dumps({"deeper": value, "big": 2**64})
    for indent in (False, True):
        text = json_write.dumps({"v": value, "big": 2**64}, indent)
        back = json.loads(text)
        assert back["big"] == 2**64


def test_ten_thousand_deep_is_written_without_recursion():
    text = json_write.dumps(_nest(10_000)).decode()
    assert text.startswith('{"k":[{"k":[') and text.count("[") == 10_001
