"""`maelstrom check` and the counterexample pictures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from maelstrom.checker import check
from maelstrom.checker.report import picture, render_html, render_svg
from maelstrom.commands.check import check as check_command
from maelstrom.edn import Keyword, loads
from maelstrom.history import read_history, write_jsonl

from corpus import CORPUS
STALE = CORPUS / "maelstrom-lin-kv" / "invalid" / "stale-reads-3n-partition.edn"
RAFT = CORPUS / "maelstrom-lin-kv" / "valid" / "raft-3n-partition.edn"
MINIMAL = CORPUS / "knossos-cas-register" / "bad" / "rethink-fail-minimal.edn"


def run(*args):
    return CliRunner().invoke(check_command, [str(a) for a in args])


def test_valid_lin_kv_history_exits_0_and_names_the_guessed_model():
    res = run(RAFT)
    assert res.exit_code == 0, res.output
    assert "model: lin-kv (guessed" in res.output
    assert "key 0: valid" in res.output and "overall: valid" in res.output


def test_invalid_history_exits_1_and_shows_the_failing_window(tmp_path):
    res = run(STALE, "--out", tmp_path)
    assert res.exit_code == 1
    assert "cannot linearize op 394: process 1 :ok :read 2" in res.output
    assert "last op known good: op 391" in res.output
    assert "register values reachable just before it: 4" in res.output
    assert "can't read 2 from register 4" in res.output
    results = loads((tmp_path / "results.edn").read_text())
    assert results[Keyword("valid?")] is False and results[Keyword("failures")] == [0]
    ET.fromstring((tmp_path / "linear-0.svg").read_text())  # well-formed SVG
    assert "can&#x27;t read 2 from register 4" in (tmp_path / "linear-0.html").read_text()


def test_cas_register_model_and_json_output():
    res = run(MINIMAL, "--json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["valid?"] is False and data["op"]["value"] == 3
    assert sorted(data["states"]) == [0, 4]


def test_explicit_model_and_store_directory(tmp_path):
    ops = read_history(RAFT)
    run_dir = tmp_path / "store" / "lin-kv" / "1"
    run_dir.mkdir(parents=True)
    write_jsonl(ops, run_dir / "history.jsonl")
    (tmp_path / "store" / "latest").symlink_to(run_dir)
    res = run(tmp_path / "store", "--model", "lin-kv")
    assert res.exit_code == 0 and "model: lin-kv\n" in res.output


def test_time_limit_exit_2(tmp_path):
    from test_checker import hard_rows
    rows = ["{:process %d, :type :%s, :f :%s, :value %s}" % (p, t, f, "nil" if v is None else v)
            for p, t, f, v in hard_rows()]
    (tmp_path / "h.edn").write_text("\n".join(rows))
    res = run(tmp_path / "h.edn", "--time-limit", "0.2")
    assert res.exit_code == 2 and "time limit" in res.output and "overall: UNKNOWN" in res.output


@pytest.mark.parametrize("content, name", [
    ("[{:process 0", "h.edn"), ("not json", "h.jsonl"), ("[{:process 0, :type :bogus, :f :read}]", "h.edn"),
])
def test_unreadable_histories_exit_254_without_traceback(tmp_path, content, name):
    (tmp_path / name).write_text(content)
    res = run(tmp_path / name)
    assert res.exit_code == 254
    assert "error:" in res.output and "Traceback" not in res.output


def test_missing_path_and_bad_time_limit_exit_254(tmp_path):
    assert run(tmp_path / "nope.edn").exit_code == 254
    assert run(RAFT, "--time-limit", "-1").exit_code == 254


def test_picture_data_is_computed_apart_from_drawing():
    lin = check(read_history(STALE))["results"][0]["linearizable"]
    pic = picture(lin)
    roles = {b.role for b in pic.bars}
    assert roles == {"culprit", "previous-ok", "concurrent"}
    culprit = next(b for b in pic.bars if b.role == "culprit")
    assert culprit.label == "read 2" and not culprit.open_ended
    assert all(b.open_ended for b in pic.bars if b.role == "concurrent")  # :info cas ops
    assert all(b.x1 > b.x0 for b in pic.bars)
    assert pic.states == ["4"]
    svg = render_svg(pic)
    assert svg.count("<rect") == len(pic.bars)
    assert "<svg" in render_html(pic)


def test_picture_of_a_valid_result_is_empty():
    pic = picture({"valid?": True})
    assert pic.bars == [] and "<svg" in render_svg(pic)


def test_out_writes_one_picture_per_key_with_unique_safe_names(tmp_path):
    from maelstrom.edn import Symbol
    from maelstrom.history import Op, write_edn
    keys = [1, "1", "a b", "a_b", "a%20b", Keyword("a"), [1, 2], True, 1.0, -3, "../x",
            "x" * 400, "x" * 399 + "y", float("nan"), float("nan"), Symbol("s")]
    ops = []
    for k in keys:  # write 1, then read 2: every key invalid
        for p, f, v in ((0, "write", 1), (1, "read", 2)):
            ops += [Op(len(ops), len(ops), "invoke", p, f, [k, v if f == "write" else None]),
                    Op(len(ops) + 1, len(ops) + 1, "ok", p, f, [k, v])]
    write_edn(ops, tmp_path / "h.edn")
    res = run(tmp_path / "h.edn", "--out", tmp_path / "out")
    assert res.exit_code == 1, res.output
    svgs = sorted((tmp_path / "out").glob("linear-*.svg"))
    htmls = sorted((tmp_path / "out").glob("linear-*.html"))
    assert len(svgs) == len(htmls) == len(keys)  # nothing overwritten
    # (the reports sit beside them: a timeline per key, named as its picture)
    assert (tmp_path / "out" / "timeline-%22a%20b%22.html").is_file()
    names = {p.name for p in svgs}
    # plain keys keep the documented linear-KEY.svg; anything else is percent-encoded
    assert {"linear-1.svg", "linear--3.svg", "linear-1.0.svg", "linear-true.svg", "linear-s.svg",
            "linear-%221%22.svg", "linear-%22a%20b%22.svg", "linear-%22a_b%22.svg",
            "linear-%22a%2520b%22.svg", "linear-%3Aa.svg", "linear-%5B1%202%5D.svg",
            "linear-%22..%2Fx%22.svg", "linear-%23%23NaN.svg", "linear-%23%23NaN~2.svg"} <= names
    assert all(len(p.name.encode()) < 255 and p.parent == tmp_path / "out" for p in svgs)
    # each picture is about its own key
    assert "key &quot;a b&quot;<" in (tmp_path / "out" / "linear-%22a%20b%22.svg").read_text()
    assert "key &quot;a_b&quot;<" in (tmp_path / "out" / "linear-%22a_b%22.svg").read_text()
    assert "key 1<" in (tmp_path / "out" / "linear-1.svg").read_text()
    assert "key &quot;1&quot;<" in (tmp_path / "out" / "linear-%221%22.svg").read_text()


def test_picture_names_are_injective_on_key_texts():
    from maelstrom.commands.check import picture_names
    from hypothesis import given, strategies as st

    @given(st.lists(st.one_of(st.text(max_size=300), st.integers(), st.floats(allow_nan=False)),
                    unique_by=lambda k: (type(k), k), max_size=12))
    def prop(keys):
        names = picture_names(keys)
        assert len(set(names.values())) == len(names)
        assert all("/" not in n and n not in (".", "..") and len(n) <= 200 for n in names.values())
    prop()
