"""Keys and register values compared as Jepsen compares them (Clojure's `=`), and histories
whose values are nested thousands deep checked like any other."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from maelstrom.checker import check
from maelstrom.commands.check import check as check_command
from maelstrom.edn import Keyword, dumps, frozen, loads
from maelstrom.history import Op, write_edn


def H(*rows):
    """A history from (process, type, f, value) rows, one position apart."""
    return [Op(i, i, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]


def write(p, key, v):
    return [(p, "invoke", "write", [key, v]), (p, "ok", "write", [key, v])]


def read(p, key, v):
    return [(p, "invoke", "read", [key, None]), (p, "ok", "read", [key, v])]


# Pairs of keys Python merges (1 == 1.0 == True, hash alike) and Clojure keeps apart.
DISTINCT_KEYS = [(1, 1.0), (1, True), (0, False), (1, "1"), (1.0, True), ([1], [True]),
                 ([1], [1.0]), ({"a": 1}, {"a": True}), (1, Decimal("1")), ("a", Keyword("a"))]


@pytest.mark.parametrize("a, b", DISTINCT_KEYS, ids=repr)
def test_keys_clojure_tells_apart_are_separate_registers(a, b):
    # invalid, though merged into one register it would look fine: key b was never written
    r = check(H(*write(0, a, 5), *read(1, b, 5)))
    assert r["valid?"] is False
    assert r["failures"] == [frozen(b)] and len(r["results"]) == 2
    assert r["results"][frozen(a)]["valid?"] is True
    # valid, though merged it would look stale: each key reads its own last write
    r = check(H(*write(0, a, 5), *write(0, b, 6), *read(1, a, 5), *read(1, b, 6)))
    assert r["valid?"] is True and len(r["results"]) == 2


def test_keys_clojure_calls_equal_are_one_register():
    # (= [1 2] '(1 2)): the EDN history below uses a vector and a list for the same key
    text = "\n".join([
        '{:index 0, :time 0, :type :invoke, :process 0, :f :write, :value [[1 2] 3]}',
        '{:index 1, :time 1, :type :ok, :process 0, :f :write, :value [[1 2] 3]}',
        '{:index 2, :time 2, :type :invoke, :process 1, :f :read, :value [(1 2) nil]}',
        '{:index 3, :time 3, :type :ok, :process 1, :f :read, :value [(1 2) 4]}'])
    from maelstrom.history import parse_edn_history
    r = check(parse_edn_history(text))
    assert list(r["results"]) == [frozen([1, 2])] and r["valid?"] is False
    assert dumps(list(r["results"])) == "[[1 2]]"


@pytest.mark.parametrize("written, read_back, valid", [
    (1, 1.0, False), (1, True, False), (0, False, False), (1.0, 1.0, True), (True, True, True),
    ([1, 2], [1, 2], True), ([1], [1.0], False), ({"a": [1]}, {"a": [True]}, False),
    (Decimal("1.0"), Decimal("1.00"), True), (Decimal("1.0"), 1.0, False), ("1", 1, False),
])
def test_register_values_are_compared_with_clojure_equality(written, read_back, valid):
    ops = H((0, "invoke", "write", written), (0, "ok", "write", written),
            (1, "invoke", "read", None), (1, "ok", "read", read_back))
    assert check(ops, "cas-register")["valid?"] is valid
    cas = H((0, "invoke", "write", written), (0, "ok", "write", written),
            (1, "invoke", "cas", [read_back, 9]), (1, "ok", "cas", [read_back, 9]))
    assert check(cas, "cas-register")["valid?"] is valid


def test_check_command_keeps_keys_apart_in_edn_histories(tmp_path):
    path = tmp_path / "h.edn"
    write_edn(H(*write(0, 1, 5), *write(0, 1.0, 6), *write(0, True, 7),
                *read(1, 1, 5), *read(1, 1.0, 6), *read(1, True, 7)), path)
    res = CliRunner().invoke(check_command, [str(path)])
    assert res.exit_code == 0, res.output
    for key in ("1", "1.0", "true"):
        assert f"key {key}: valid" in res.output


def _nest(depth, inner):
    for _ in range(depth):
        inner = [inner]
    return inner


@pytest.mark.parametrize("depth", [300, 1000, 10_000])
def test_check_command_on_values_nested_thousands_deep(tmp_path, depth):
    deep, other = _nest(depth, 1), _nest(depth, 2)
    valid = tmp_path / "valid.edn"
    write_edn(H(*write(0, deep, deep), *read(1, deep, deep), *read(2, 0, None)), valid)
    res = CliRunner().invoke(check_command, [str(valid), "--json"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith('{\n  "valid?": true,')  # (json can't load 1,000 deep)
    if depth < 900:
        assert json.loads(res.stdout)["valid?"] is True

    invalid = tmp_path / "invalid.edn"
    write_edn(H(*write(0, deep, deep), *read(1, deep, other)), invalid)
    out = tmp_path / "out"
    res = CliRunner().invoke(check_command, [str(invalid), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "INVALID" in res.output and "Traceback" not in res.output
    results = loads((out / "results.edn").read_text())
    assert results[Keyword("valid?")] is False
    assert frozen(results[Keyword("failures")][0]) == frozen(deep)
    pictures = sorted(p.name for p in out.iterdir() if p.name.startswith("linear-"))
    assert len(pictures) == 2 and all(len(p) < 255 for p in pictures)
