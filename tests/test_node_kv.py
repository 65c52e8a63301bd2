"""The lin-kv state machine: results, and at-most-once application of request ids."""

from __future__ import annotations

from node.kv import KEY_DOES_NOT_EXIST, KV, OK, PRECONDITION_FAILED, same_value


def entry(origin: str, rid: int, cmd: list, w: int | None = None) -> dict:
    return {"o": origin, "r": rid, "w": rid if w is None else w, "c": cmd}


def test_write_read_cas() -> None:
    kv = KV()
    assert kv.read(1) == (KEY_DOES_NOT_EXIST, "key does not exist")
    assert kv.apply(entry("n1", 1, ["cas", 1, 0, 1]))[0] == KEY_DOES_NOT_EXIST
    assert kv.apply(entry("n1", 2, ["write", 1, 3])) == OK
    assert kv.apply(entry("n1", 3, ["cas", 1, 4, 5]))[0] == PRECONDITION_FAILED
    assert kv.apply(entry("n1", 4, ["cas", 1, 3, 5])) == OK
    assert kv.read(1) == (0, 5)


def test_duplicate_request_applies_once_and_returns_first_result() -> None:
    kv = KV()
    kv.apply(entry("n1", 1, ["write", "k", 1], w=1))
    first = kv.apply(entry("n2", 7, ["cas", "k", 1, 2], w=7))
    assert first == OK
    kv.apply(entry("n1", 2, ["write", "k", 1], w=2))
    # The retried copy of n2's rid 7 must not apply again (it would now fail, or worse, succeed
    # twice); it returns the recorded result.
    assert kv.apply(entry("n2", 7, ["cas", "k", 1, 2], w=7)) == OK
    assert kv.read("k") == (0, 1)


def test_watermark_skips_finished_requests_and_prunes() -> None:
    kv = KV()
    kv.apply(entry("n1", 1, ["write", 0, 1], w=1))
    kv.apply(entry("n1", 2, ["write", 0, 2], w=1))
    kv.apply(entry("n1", 5, ["write", 0, 5], w=5))  # n1 no longer waits for anything below 5
    assert kv.apply(entry("n1", 2, ["write", 0, 2], w=1)) is None  # a stale copy: skipped
    assert kv.read(0) == (0, 5)
    assert set(kv._results["n1"]) == {5}
    # Other origins are unaffected.
    assert kv.apply(entry("n2", 2, ["write", 1, 9], w=1)) == OK


def test_same_value_is_json_equality() -> None:
    assert same_value(1, 1) and same_value(1, 1.0) and same_value([1, {"a": 2}], [1, {"a": 2}])
    assert not same_value(1, True) and not same_value(0, None) and not same_value("1", 1)
    assert not same_value([1], [1, 2]) and not same_value({"a": 1}, {"b": 1})
