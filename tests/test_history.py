"""maelstrom.history: reading and writing histories in every format we accept."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from maelstrom.edn import Keyword
from maelstrom.history import (
    HistoryError, Op, op_to_edn, op_to_txt, parse_edn_history, parse_jsonl_history, read_history,
    write_edn, write_jsonl, write_txt,
)

from corpus import CORPUS
LIN_KV = sorted(glob.glob(str(CORPUS / "maelstrom-lin-kv" / "*" / "*.edn")))
KNOSSOS = sorted(glob.glob(str(CORPUS / "knossos-cas-register" / "*" / "*.edn")))


def _strip_sets(line: str) -> str:
    # Clojure writes sets in hash order, we write them sorted: compare without set bodies.
    import re
    return re.sub(r"#\{[^}]*\}", "#{}", line)


@pytest.mark.parametrize("path", LIN_KV, ids=os.path.basename)
def test_maelstrom_history_edn_lines_are_reproduced_exactly(path):
    ops = read_history(path)
    lines = Path(path).read_text().splitlines()
    assert len(ops) == len(lines)
    for op, line in zip(ops, lines):
        assert _strip_sets(op_to_edn(op)) == _strip_sets(line)


@pytest.mark.parametrize("path", LIN_KV, ids=os.path.basename)
def test_history_txt_matches_jepsen_reference(path):
    name = os.path.basename(path)[:-4]
    reference = (CORPUS / "maelstrom-lin-kv" / "reference" / name / "history.txt").read_text()
    ops = read_history(path)
    assert [_strip_sets(op_to_txt(op)) for op in ops] == \
        [_strip_sets(line) for line in reference.splitlines()]


def test_maelstrom_op_fields_follow_the_op_conventions():
    ops = read_history(CORPUS / "maelstrom-lin-kv" / "valid" / "raft-3n-partition.edn")
    assert ops[0] == Op(0, 109234630, "info", "nemesis", "start-partition", Keyword("one"))
    assert ops[1] == Op(1, 163825855, "invoke", 3, "cas", [0, [3, 0]])
    assert ops[7].error == [Keyword("temporarily-unavailable"), "not a leader"]


@pytest.mark.parametrize("path", KNOSSOS, ids=os.path.basename)
def test_knossos_histories_read_with_positions_for_index_and_time(path):
    ops = read_history(path)
    assert ops and [op.index for op in ops] == list(range(len(ops)))
    assert all(op.type in ("invoke", "ok", "fail", "info") for op in ops)
    if "time" not in Path(path).read_text():
        assert [op.time for op in ops] == list(range(len(ops)))


def _ops():
    values = st.one_of(st.none(), st.integers(-5, 5), st.lists(st.integers(0, 5), max_size=2),
                       st.sampled_from([Keyword("one"), "str", ":colon", "::x"]))
    op = st.builds(lambda i, t, ty, p, f, v, e: Op(i, t, ty, p, f, v, e),
                   st.integers(0, 10**6), st.integers(0, 10**15),
                   st.sampled_from(["invoke", "ok", "fail", "info"]),
                   st.one_of(st.integers(0, 50), st.just("nemesis")),
                   st.sampled_from(["read", "write", "cas", "start-partition"]),
                   values, st.one_of(st.none(), st.just([Keyword("net-timeout"), "x y"])))
    return st.lists(op, max_size=6)


@given(_ops())
def test_edn_and_jsonl_round_trip(ops):
    assert parse_edn_history("\n".join(op_to_edn(op) for op in ops)) == ops
    from maelstrom import json_write
    from maelstrom.history import op_to_json
    assert parse_jsonl_history("\n".join(json_write.dumps(op_to_json(op)).decode()
                                         for op in ops)) == ops


def test_writers_and_store_directories(tmp_path):
    ops = read_history(CORPUS / "maelstrom-lin-kv" / "invalid" / "stale-reads-3n-partition.edn")
    run = tmp_path / "store" / "lin-kv" / "20260101T000000"
    run.mkdir(parents=True)
    write_jsonl(ops, run / "history.jsonl")
    assert read_history(run) == ops
    os.symlink(run, tmp_path / "store" / "latest")
    assert read_history(tmp_path / "store") == ops
    write_edn(ops, run / "history.edn")  # EDN preferred when both exist
    assert read_history(tmp_path / "store" / "latest") == ops
    write_txt(ops, run / "history.txt")
    assert (run / "history.txt").read_text().count("\n") == len(ops)


def test_edn_vector_list_and_comments():
    text = """; header
    [{:process 0, :type :invoke, :f :read, :value nil} ; pending
     {:process 0, :type :ok, :f :read, :value 3}]"""
    ops = parse_edn_history(text)
    assert [(o.index, o.time, o.type, o.value) for o in ops] == [(0, 0, "invoke", None), (1, 1, "ok", 3)]
    assert parse_edn_history("(" + text.split("[", 1)[1].rsplit("]", 1)[0] + ")") == ops


@pytest.mark.parametrize("text, fragment", [
    ("[{:process 0, :type :weird, :f :read}]", ":type"),
    ("[{:process nil, :type :ok, :f :read}]", ":process"),
    ("[{:process 0, :type :ok}]", ":f"),
    ("[1 2]", "expected a map"),
    ("[{:process 0", "cannot parse"),
])
def test_bad_edn_histories_raise_history_error(text, fragment):
    with pytest.raises(HistoryError, match=fragment):
        parse_edn_history(text)


def test_bad_paths_and_json_raise_history_error(tmp_path):
    with pytest.raises(HistoryError, match="no such file"):
        read_history(tmp_path / "missing.edn")
    with pytest.raises(HistoryError, match="no history"):
        read_history(tmp_path)
    (tmp_path / "h.jsonl").write_text('{"type": "ok"\n')
    with pytest.raises(HistoryError, match="line 1"):
        read_history(tmp_path / "h.jsonl")


@pytest.mark.parametrize("path", LIN_KV, ids=os.path.basename)
def test_maelstrom_fast_path_reads_what_edn_format_reads(path):
    from maelstrom import edn
    from maelstrom.history import _parse_maelstrom_lines, op_from_map
    text = Path(path).read_text()
    fast = _parse_maelstrom_lines(text)
    assert fast is not None
    assert fast == [op_from_map(m, i) for i, m in enumerate(edn._slow_loads_all(text))]


def test_lines_outside_the_maelstrom_shape_fall_back_to_the_general_reader():
    from maelstrom.history import _parse_maelstrom_lines
    text = ('{:index 0, :time 5, :type :invoke, :process 0, :f :read, :value [0 nil]}\n'
            '; a comment\n'
            '{:index 1, :time 6, :type :ok, :process 0, :f :read, :value [0 #{1}]}\n')
    assert _parse_maelstrom_lines(text) is None
    ops = parse_edn_history(text)
    assert ops[1].value == [0, frozenset({1})] and ops[0].time == 5
    shared = parse_edn_history(text.replace("; a comment\n", "").replace("#{1}", "nil"))
    shared[0].value.append("mutated")  # values parsed once are copied per op
    assert shared[1].value == [0, None]


def _same_ops(a, b):
    from maelstrom.edn import frozen  # Python's == recurses; frozen forms compare iteratively
    key = lambda op: (op.index, op.time, op.type, op.process, op.f, frozen(op.value), frozen(op.error))
    return [key(op) for op in a] == [key(op) for op in b]


def _deep(depth, bottom=1):
    x = bottom
    for _ in range(depth):
        x = [x]
    return x


@pytest.mark.parametrize("depth", [300, 1000, 10_000])
def test_writers_take_values_nested_any_depth(tmp_path, depth):
    # what a node's reply can put in a history: deeply nested, big integers, maps
    ops = [Op(0, 0, "invoke", 0, "read", [0, None]),
           Op(1, 5, "ok", 0, "read", [0, _deep(depth)]),
           Op(2, 6, "invoke", 1, "write", [1, {"k": _deep(depth, 2**70)}]),
           Op(3, 7, "info", 1, "write", [1, {"k": _deep(depth, 2**70)}], _deep(depth, "e"))]
    write_edn(ops, tmp_path / "history.edn")
    write_jsonl(ops, tmp_path / "history.jsonl")
    write_txt(ops, tmp_path / "history.txt")
    assert _same_ops(read_history(tmp_path / "history.edn"), ops)
    assert (tmp_path / "history.txt").read_text().count("\n") == len(ops)
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(lines) == len(ops) and lines[1].startswith('{"index":1,') and "1180591620717411303424" in lines[2]
    if depth <= 1000:  # orjson reads JSON up to 1,024 levels
        back = read_history(tmp_path / "history.jsonl")
        assert _same_ops(back[:2], ops[:2])
    else:
        with pytest.raises(HistoryError, match="line 2"):
            read_history(tmp_path / "history.jsonl")


def test_jsonl_sets_are_written_in_a_fixed_order():
    import subprocess
    import sys
    code = ("from maelstrom.history import Op, op_to_json; from maelstrom import json_write;"
            "print(json_write.dumps(op_to_json(Op(0, 0, 'info', 'nemesis', 'start-partition', "
            "frozenset(['n%d' % i for i in range(20)])))).decode())")
    texts = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
             for seed in range(4)}
    assert len(texts) == 1 and '"n0","n1","n10"' in texts.pop()
