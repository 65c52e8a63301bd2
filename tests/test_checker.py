"""maelstrom.checker: verdicts on real histories, Jepsen's op semantics, counterexamples, limits."""

from __future__ import annotations

import glob
import os

import pytest

from maelstrom.checker import check, edn_ready, guess_model, merge_valid
from maelstrom.edn import Keyword, Tagged, dumps
from maelstrom.history import Op, read_history

from corpus import CORPUS


def _files(*parts):
    return sorted(glob.glob(str(CORPUS.joinpath(*parts, "*.edn"))))


@pytest.mark.parametrize("path", _files("knossos-cas-register", "good"), ids=os.path.basename)
def test_knossos_good_histories_are_linearizable(path):
    assert check(read_history(path), "cas-register", time_limit=30)["valid?"] is True


@pytest.mark.parametrize("path", _files("knossos-cas-register", "bad"), ids=os.path.basename)
def test_knossos_bad_histories_are_not(path):
    result = check(read_history(path), "cas-register", time_limit=30)
    assert result["valid?"] is False
    assert result["op"]["type"] == "ok" and (result["states"] or result["cause"])


@pytest.mark.parametrize("path", _files("maelstrom-lin-kv", "valid"), ids=os.path.basename)
def test_maelstrom_valid_histories_are_linearizable(path):
    ops = read_history(path)
    assert guess_model(ops) == "lin-kv"
    result = check(ops, "lin-kv", time_limit=30)
    assert result["valid?"] is True and result["failures"] == []


@pytest.mark.parametrize("path", _files("maelstrom-lin-kv", "invalid"), ids=os.path.basename)
def test_maelstrom_invalid_histories_are_not(path):
    result = check(read_history(path), "lin-kv", time_limit=30)
    assert result["valid?"] is False and result["failures"]


def test_stale_read_counterexample_matches_jepsens_report():
    # Jepsen's results.edn for this run names read 2 (index 394) after read 4 (index 391).
    result = check(read_history(CORPUS / "maelstrom-lin-kv" / "invalid" / "stale-reads-3n-partition.edn"))
    assert result["failures"] == [0]
    lin = result["results"][0]["linearizable"]
    assert (lin["op"]["index"], lin["op"]["value"], lin["op"]["process"]) == (394, 2, 1)
    assert (lin["previous-ok"]["index"], lin["previous-ok"]["value"]) == (391, 4)
    assert lin["states"] == [4]
    msgs = {p[1]["model"]["inconsistent"] for p in lin["final-paths"]}
    assert "can't read 2 from register 4" in msgs
    # the pending :info cas ops Jepsen lists are among the concurrent ops
    assert {347, 316, 491, 109} <= {op["index"] for op in lin["concurrent"]}
    text = dumps(edn_ready(result), pretty=True)
    assert "#knossos.model.Inconsistent{:msg \"can't read 2 from register 4\"}" in text
    assert ":type :ok" in text and ":failures [0]" in text


def H(*rows):
    """A cas-register history from (process, type, f, value) rows."""
    return [Op(i, i, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]


def test_ok_ops_take_effect_inside_their_window():
    # write 1 completes before the read starts: the read must see 1
    assert check(H((0, "invoke", "write", 1), (0, "ok", "write", 1),
                   (1, "invoke", "read", None), (1, "ok", "read", None)), "cas-register")["valid?"] is False
    # overlapping: either order works
    assert check(H((0, "invoke", "write", 1), (1, "invoke", "read", None),
                   (1, "ok", "read", None), (0, "ok", "write", 1)), "cas-register")["valid?"] is True


def test_ok_read_of_nil_reads_the_initial_register():
    assert check(H((1, "invoke", "read", None), (1, "ok", "read", None)), "cas-register")["valid?"] is True
    assert check(H((0, "invoke", "write", 2), (0, "ok", "write", 2),
                   (1, "invoke", "read", None), (1, "ok", "read", 3)), "cas-register")["valid?"] is False


def test_failed_ops_never_take_effect():
    rows = [(0, "invoke", "write", 1), (0, "fail", "write", 1),
            (1, "invoke", "read", None), (1, "ok", "read", 1)]
    assert check(H(*rows), "cas-register")["valid?"] is False
    rows[1] = (0, "info", "write", 1)
    assert check(H(*rows), "cas-register")["valid?"] is True


def test_info_and_pending_ops_may_take_effect_later_or_never():
    base = [(0, "invoke", "cas", [None, 5])]
    later = [(1, "invoke", "read", None), (1, "ok", "read", None),
             (2, "invoke", "read", None), (2, "ok", "read", 5)]
    assert check(H(*base, *later), "cas-register")["valid?"] is True          # pending, took effect
    assert check(H(*base, (0, "info", "cas", [None, 5]), *later), "cas-register")["valid?"] is True
    # ... but only once, and never before its invoke
    assert check(H(*later[2:], *base), "cas-register")["valid?"] is False
    never = [(1, "invoke", "read", None), (1, "ok", "read", None)] * 2
    assert check(H(*base, (0, "info", "cas", [None, 5]), *never), "cas-register")["valid?"] is True
    flip = later + [(3, "invoke", "read", None), (3, "ok", "read", None)]
    assert check(H(*base, *flip), "cas-register")["valid?"] is False


def test_cas_needs_the_expected_value():
    ok = [(0, "invoke", "write", 1), (0, "ok", "write", 1), (0, "invoke", "cas", [1, 2]),
          (0, "ok", "cas", [1, 2]), (1, "invoke", "read", None), (1, "ok", "read", 2)]
    assert check(H(*ok), "cas-register")["valid?"] is True
    stale = ok[:2] + [(1, "invoke", "write", 3), (1, "ok", "write", 3)] + ok[2:]
    result = check(H(*stale), "cas-register")
    assert result["valid?"] is False
    assert result["op"]["f"] == "cas" and result["states"] == [3]
    assert "can't CAS 3 from 1 to 2" in {p[1]["model"]["inconsistent"] for p in result["final-paths"]}
    never_set = ok[:2] + [(0, "invoke", "cas", [7, 2]), (0, "ok", "cas", [7, 2])]
    result = check(H(*never_set), "cas-register")
    assert result["valid?"] is False and result["op"]["value"] == [7, 2]
    assert result["states"] == [1]  # the search found it, with the state before it


def test_values_of_different_types_are_different():
    rows = [(0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "read", None), (1, "ok", "read", True)]
    assert check(H(*rows), "cas-register")["valid?"] is False
    rows[3] = (1, "ok", "read", 1.0)
    assert check(H(*rows), "cas-register")["valid?"] is False


def K(*rows):
    return [Op(i, i * 10, t, p, f, v) for i, (p, t, f, v) in enumerate(rows)]


def test_lin_kv_checks_each_key_alone_and_ignores_the_nemesis():
    ops = K((0, "invoke", "write", [1, 5]), ("nemesis", "info", "start-partition", Keyword("one")),
            (0, "ok", "write", [1, 5]), (1, "invoke", "read", [2, None]), (1, "ok", "read", [2, 5]),
            (2, "invoke", "read", [1, None]), (2, "ok", "read", [1, 5]),
            (3, "invoke", "cas", [3, [0, 1]]), (3, "fail", "cas", [3, [0, 1]]))
    result = check(ops)
    assert result["valid?"] is False and result["failures"] == [2]
    assert list(result["results"]) == [1, 2, 3]
    assert result["results"][1]["valid?"] is True and result["results"][3]["valid?"] is True
    assert result["results"][2]["linearizable"]["op"]["value"] == 5


def test_guess_model():
    assert guess_model(K((0, "invoke", "read", [0, None]), (0, "ok", "read", [0, 3]))) == "lin-kv"
    assert guess_model(K((0, "invoke", "cas", [1, 2]), (0, "ok", "cas", [1, 2]))) == "cas-register"
    assert guess_model(K((0, "invoke", "write", 3), (0, "ok", "write", 3))) == "cas-register"


def test_merge_valid():
    assert merge_valid([True, "unknown", False]) is False
    assert merge_valid([True, "unknown"]) == "unknown"
    assert merge_valid([]) is True


def hard_rows(n=18):
    """n pending writes of distinct values and n overlapping reads that each need a different
    one; then write 100 and write 101 complete in turn and a read sees 100. Invalid, but every
    value read was written in time, so only an exhaustive search (2^n sets of reads) shows it."""
    rows = [(p, "invoke", "write", p) for p in range(n)]
    rows += [(100 + i, "invoke", "read", None) for i in range(n)]
    rows += [(100 + i, "ok", "read", (i * 7) % n) for i in range(n)]
    rows += [(300, "invoke", "write", 100), (300, "ok", "write", 100),
             (300, "invoke", "write", 101), (300, "ok", "write", 101),
             (200, "invoke", "read", None), (200, "ok", "read", 100)]
    return rows


def test_hard_history_is_invalid_when_small():
    result = check(H(*hard_rows(6)), "cas-register")
    assert result["valid?"] is False and result["op"]["value"] == 100 and result["states"] == [101]


def test_a_value_nobody_wrote_is_invalid_without_an_exhaustive_search():
    rows = hard_rows()[:-1] + [(200, "ok", "read", 999)]
    result = check(H(*rows), "cas-register", time_limit=30)
    assert result["valid?"] is False and result["op"]["value"] == 999
    assert "no operation that could set" in result["cause"]


def test_time_limit_gives_unknown_with_a_cause_and_returns_promptly():
    import time
    start = time.monotonic()
    result = check(H(*hard_rows()), "cas-register", time_limit=0.3)
    assert time.monotonic() - start < 5
    assert result["valid?"] == "unknown" and "time limit" in result["cause"]


def test_memory_bound_gives_unknown():
    result = check(H(*hard_rows()), "cas-register", max_configs=1000)
    assert result["valid?"] == "unknown" and "1000 configurations" in result["cause"]


@pytest.mark.parametrize("ops", [
    [Op(0, 0, "invoke", 0, "frobnicate", [0, 1]), Op(1, 1, "ok", 0, "frobnicate", [0, 1])],
    [Op(0, 0, "invoke", 0, "cas", [0, 5]), Op(1, 1, "ok", 0, "cas", [0, 5])],
    [Op(0, 0, "invoke", 0, "read", 7), Op(1, 1, "ok", 0, "read", 7)],
])
def test_malformed_lin_kv_ops_give_unknown_not_a_crash(ops):
    result = check(ops, "lin-kv")
    assert result["valid?"] == "unknown" and "malformed" in result["cause"]


def test_unknown_model_is_a_value_error():
    with pytest.raises(ValueError):
        check([], "queue")


def test_completions_without_invokes_and_reused_processes_are_handled():
    ops = H((0, "ok", "write", 3),                       # no invoke: ignored
            (1, "invoke", "write", 1), (1, "invoke", "read", None), (1, "ok", "read", 1))
    assert check(ops, "cas-register")["valid?"] is True


def test_parallel_and_serial_agree():
    ops = []
    for key in range(6):
        for j in range(5):
            ops += [Op(0, 0, "invoke", j, "write", [key, j]), Op(0, 0, "ok", j, "write", [key, j])]
        ops += [Op(0, 0, "invoke", 9, "read", [key, None]), Op(0, 0, "ok", 9, "read", [key, 4 if key != 3 else 0])]
    serial = check(ops, workers=1)
    parallel = check(ops, workers=2)
    assert serial == parallel and serial["failures"] == [3]


def test_edn_ready_writes_unknown_and_tags():
    result = edn_ready({"valid?": "unknown", "cause": "time limit exceeded",
                        "final-paths": [[{"op": None, "model": {"value": 1}}]]})
    assert result["valid?"] == Keyword("unknown")
    assert result["final-paths"][0][0]["model"] == Tagged("knossos.model.CASRegister", {"value": 1})


from hypothesis import given, settings, strategies as st  # noqa: E402

_anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3),
              st.sampled_from([Keyword("x"), 1.5])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.integers(0, 2), inner, max_size=2)),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds(lambda t, p, f, v: Op(0, 0, t, p, f, v),
                          st.sampled_from(["invoke", "ok", "fail", "info"]),
                          st.one_of(st.integers(0, 3), st.just("nemesis"), st.just(True)),
                          st.sampled_from(["read", "write", "cas", "add"]), _anything),
                max_size=12),
       st.sampled_from(["lin-kv", "cas-register"]))
def test_any_ops_give_a_verdict_never_an_exception(ops, model):
    result = check(ops, model, time_limit=5)
    assert result["valid?"] in (True, False, "unknown")
    dumps(edn_ready(result))


def test_keys_that_outgrow_the_easy_budget_are_searched_in_worker_processes(monkeypatch):
    import maelstrom.checker as checker
    ops = []
    for key in range(3):
        for p, t, f, v in hard_rows(8):
            ops.append(Op(len(ops), len(ops), t, p + 1000 * key, f, [key, v]))
    serial = check(ops, workers=1)
    monkeypatch.setattr(checker, "EASY_CONFIGS", 5)  # every key is "hard": all go to workers
    calls = []
    real = checker._parallel_search
    monkeypatch.setattr(checker, "_parallel_search",
                        lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    parallel = check(ops, workers=2)
    assert calls == [3]
    assert parallel == serial and serial["failures"] == [0, 1, 2]
