"""The reports (maelstrom/reports, docs/reports.md): each artefact is opened and checked against
what the run itself recorded (history, journal, node logs, results), on a small invalid lin-kv
run (a node that serves stale reads) and a small slot-migration run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from maelstrom.history import read_history
from maelstrom.reports import PLOTS, ReportOptions, write_reports
from maelstrom.reports.load import calls, key_text, keyed, nemesis_periods
from maelstrom.reports.plots import HEIGHT, WIDTH
from maelstrom.runner import Runner, TestOptions
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
STALE = f"{ROOT / 'tests' / 'nodes' / 'stale_reads.py'}:StaleReadServer"
SVG = "{http://www.w3.org/2000/svg}"


def stale_run(store: Path):
    """3 nodes serving stale reads under partitions: invalid on this seed (key 0)."""
    opts = TestOptions(workload="lin-kv", bin=RUN_PY, sim=True, sim_node=STALE, node_count=3,
                       concurrency=6, latency=5.0, rate=50.0, time_limit=3.0,
                       nemesis=["partition"], nemesis_interval=1.0, seed=1, quiet=True,
                       store=str(store))
    return Runner(opts, WORKLOADS["lin-kv"]).run()


@pytest.fixture(scope="module")
def invalid_run(tmp_path_factory):
    result = stale_run(tmp_path_factory.mktemp("stale"))
    assert result.results["valid?"] is False  # the premise: a counterexample to link
    report = write_reports(result.store, result.history, result.results)
    assert report.errors == []
    return result, report


@pytest.fixture(scope="module")
def slot_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FERRITE_CLUSTER_SHARDS", "2")
    try:
        opts = TestOptions(workload="slot-migration", bin=RUN_PY, sim=True, node_count=6,
                           concurrency=12, latency=5.0, rate=50.0, time_limit=6.0,
                           nemesis=["partition"], nemesis_interval=2.0, recovery_time=2.0,
                           seed=1, quiet=True, store=str(tmp_path_factory.mktemp("slots")))
        result = Runner(opts, WORKLOADS["slot-migration"]).run()
    finally:
        mp.undo()
    report = write_reports(result.store)  # everything from what the directory holds
    assert report.errors == []
    return result, report


def node_log_events(run_dir: Path) -> list[dict]:
    out = []
    for path in sorted((run_dir / "node-logs").glob("*.log")):
        for line in path.read_bytes().splitlines():
            if line.startswith(b"{"):
                try:
                    out.append(orjson.loads(line))
                except ValueError:
                    pass
    return out


class _Elements(HTMLParser):
    """Start tags with their attributes, for counting classes and links."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(path: Path) -> list[tuple[str, dict]]:
    p = _Elements()
    p.feed(path.read_text(encoding="utf-8"))
    return p.tags


def with_class(tags, cls: str) -> list[dict]:
    return [a for _, a in tags if cls in (a.get("class") or "").split()]


# -- plots ---------------------------------------------------------------------------------

def test_plots_decode_at_their_size(invalid_run):
    import matplotlib.image as mpimg

    result, report = invalid_run
    for name in PLOTS:
        assert name in report.written
        pixels = mpimg.imread(result.store / name)
        assert pixels.shape[:2] == (HEIGHT, WIDTH), name
        # not blank: a plot has more than a handful of colours
        flat = pixels.reshape(-1, pixels.shape[2])
        assert len({tuple(px) for px in flat[::97]}) > 10, name


def test_nemesis_periods_pair_opening_and_closing_ops(invalid_run):
    result, _ = invalid_run
    periods = nemesis_periods(result.history)
    starts = [op for op in result.history if op.f == "start-partition" and op.process == "nemesis"]
    assert periods and all(p.kind == "partition" for p in periods)
    assert all(p.end is None or p.end >= p.start for p in periods)
    # each period opens at a start-partition invocation (every second op is its completion)
    assert {p.start for p in periods} <= {op.time / 1e9 for op in starts}


# -- messages.svg --------------------------------------------------------------------------

def journal_sends(run_dir: Path):
    sends, recvs = [], set()
    for line in (run_dir / "messages.jsonl").read_bytes().splitlines():
        d = orjson.loads(line)
        if d["type"] == "send":
            sends.append(d)
        elif d["type"] == "recv":
            recvs.add(d["id"])
    return sends, recvs


def test_message_diagram_holds_the_first_messages_of_the_journal(invalid_run, tmp_path):
    result, _ = invalid_run
    limit = 300
    report = write_reports(result.store, result.history, result.results,
                           ReportOptions(messages=limit, plots=False))
    assert "messages.svg" in report.written
    root = ET.parse(result.store / "messages.svg").getroot()
    groups = [g for g in root.iter(f"{SVG}g") if "msg" in g.get("class", "").split()]
    sends, recvs = journal_sends(result.store)
    first = sends[:limit]
    assert len(groups) == limit
    assert [(g.get("data-src"), g.get("data-dest"), g.get("data-type")) for g in groups] == \
        [(d.get("via") or d["message"]["src"], d["message"]["dest"],
          d["message"]["body"]["type"]) for d in first]
    lost = [g for g in groups if "lost" in g.get("class").split()]
    assert len(lost) == sum(1 for d in first if d["id"] not in recvs)
    assert lost, "the partitions of this run drop messages among the first 300"
    # arrows start in their sender's column: the column headers name every end
    columns = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "column"}
    assert {g.get("data-src") for g in groups} | {g.get("data-dest") for g in groups} == columns
    assert {"n0", "n1", "n2"} <= columns and any(c.startswith("c") for c in columns)
    # the partition is drawn
    assert any(g.get("class") == "nemesis" for g in root.iter(f"{SVG}g"))


def test_message_diagram_window(invalid_run):
    result, _ = invalid_run
    write_reports(result.store, result.history, result.results,
                  ReportOptions(messages=10_000, window=(1.0, 1.5), plots=False))
    root = ET.parse(result.store / "messages.svg").getroot()
    sent = [float(g.get("data-sent")) for g in root.iter(f"{SVG}g")
            if "msg" in g.get("class", "").split()]
    start = next(orjson.loads(line)["time"] for line in
                 (result.store / "messages.jsonl").read_bytes().splitlines()
                 if b"workload-start" in line) / 1e9
    sends, _ = journal_sends(result.store)
    expected = [d for d in sends if 1.0 <= d["time"] / 1e9 - start <= 1.5]
    assert len(sent) == len(expected) > 0
    assert all(1.0 <= t <= 1.5 for t in sent)


# -- timelines -----------------------------------------------------------------------------

@pytest.mark.parametrize("run", ["invalid_run", "slot_run"])
def test_one_timeline_per_key_with_every_op(run, request):
    from maelstrom.reports import timeline_names

    result, report = request.getfixturevalue(run)
    by_key = keyed(calls(result.history))
    assert by_key
    names = timeline_names([], list(by_key))
    assert sorted(n for n in report.written if n.startswith("timeline-")) == \
        sorted(f"timeline-{n}.html" for n in names.values())
    for key, ops in by_key.items():
        page = result.store / f"timeline-{names[key_text(key)]}.html"
        tags = elements(page)
        boxes = with_class(tags, "op")
        assert len(boxes) == len(ops)
        assert Counter(b["class"].split()[1] for b in boxes) == Counter(c.type for c in ops)
        assert sorted(int(b["data-index"]) for b in boxes) == sorted(c.invoke_index for c in ops)


def test_counterexample_and_timeline_link_each_other(invalid_run):
    result, _ = invalid_run
    failing = result.results["workload"]["failures"]
    assert failing
    for key in failing:
        lin = result.results["workload"]["results"][key]["linearizable"]
        culprit = next(w for w in lin["window"] if w["role"] == "culprit")
        tags = elements(result.store / f"timeline-{key}.html")
        marked = with_class(tags, "culprit")
        assert [int(a["data-index"]) for a in marked] == [culprit["invoke-index"]]
        links = [a["href"] for t, a in tags if t == "a"]
        assert f"linear-{key}.html" in links and "cluster.html" in links
        back = [a["href"] for t, a in elements(result.store / f"linear-{key}.html") if t == "a"]
        assert f"timeline-{key}.html" in back


# -- cluster view --------------------------------------------------------------------------

def test_cluster_view_of_a_slot_migration_run(slot_run):
    result, report = slot_run
    assert "cluster.html" in report.written
    events = node_log_events(result.store)
    moves = {e["mig"] for e in events if e.get("event", "").startswith("slot_")} | \
        {e["id"] for e in events if e.get("event", "").startswith("migration_")}
    epochs = {e["epoch"] for e in events if e.get("event") == "meta_epoch"}
    leaders = [e for e in events if e.get("event") == "role" and e.get("role") == "leader"]
    assert moves and len(epochs) > 1 and leaders  # the premise: a run with moves
    tags = elements(result.store / "cluster.html")
    assert len(with_class(tags, "migration")) == len(moves)
    assert len(with_class(tags, "epoch")) == len(epochs)
    assert len(with_class(tags, "leader")) == len(leaders)
    groups = {a["data-group"] for a in with_class(tags, "leader")}
    assert groups == {str(e["group"]) for e in leaders}
    assert len(groups) == 3  # the meta group and two shard groups


def test_cluster_view_marks_the_counterexample(invalid_run):
    result, _ = invalid_run
    tags = elements(result.store / "cluster.html")
    marks = with_class(tags, "counterexample")
    assert len(marks) == len(result.results["workload"]["failures"])
    hrefs = [a["href"] for t, a in tags if t == "a"]
    for key in result.results["workload"]["failures"]:
        assert f"timeline-{key}.html" in hrefs


def test_reports_from_the_directory_alone_match(invalid_run, tmp_path):
    """Rendered later from disk (results.json, history.jsonl): the same pages."""
    result, _ = invalid_run
    before = {n: (result.store / n).read_text() for n in ("cluster.html", "timeline-0.html")}
    report = write_reports(result.store, options=ReportOptions(plots=False))
    assert report.errors == []
    assert {n: (result.store / n).read_text() for n in before} == before


# -- bad input -----------------------------------------------------------------------------

def test_reports_never_crash_on_bad_input(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert write_reports(empty).written == []
    junk = tmp_path / "junk"
    (junk / "node-logs").mkdir(parents=True)
    (junk / "history.jsonl").write_text("not json\n")
    (junk / "results.json").write_text("[1, 2")
    (junk / "messages.jsonl").write_bytes(
        b'{"type":"send","time":"x"}\n\xff\xfe\n{"type":"recv"}\n')
    (junk / "node-logs" / "n0.log").write_bytes(
        b'{"event":"role","role":"leader","t":"soon"}\n{"event":3,"t":1}\n'
        b'{"event":"slot_fence","mig":[1],"t":1}\n{"event":"meta_epoch","epoch":{},"t":2}\n'
        b'Traceback (most recent call last):\n')
    report = write_reports(junk)
    assert report.errors == []
    assert report.written == ["cluster.html"]
    (junk / "messages.jsonl.gz").write_bytes(b"\x1f\x8b truncated")
    (junk / "messages.jsonl").unlink()
    assert write_reports(junk).errors == []


def test_history_with_no_keys_gets_one_timeline(tmp_path):
    """A history whose values are not [key value] pairs: one timeline of every op."""
    (tmp_path / "history.jsonl").write_text(
        '{"index":0,"time":0,"type":"invoke","process":0,"f":"echo","value":"a"}\n'
        '{"index":1,"time":1000000,"type":"ok","process":0,"f":"echo","value":"a"}\n'
        '{"index":2,"time":2000000,"type":"invoke","process":1,"f":"echo","value":"b"}\n')
    report = write_reports(tmp_path, options=ReportOptions(plots=False))
    assert report.written == ["timeline.html"]
    boxes = with_class(elements(tmp_path / "timeline.html"), "op")
    assert [b["class"] for b in boxes] == ["op ok", "op info"]
    assert read_history(tmp_path)  # the fixture itself is a readable history


# -- the commands that write them ------------------------------------------------------------

def maelstrom_cli(*args: str, cwd: Path | None = None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "maelstrom", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


STALE_FLAGS = ["test", "--sim", "--bin", RUN_PY, "--sim-node", STALE, "-w", "lin-kv",
               "--node-count", "3", "--concurrency", "2n", "--latency", "5", "--rate", "50",
               "--time-limit", "3", "--nemesis", "partition", "--nemesis-interval", "1",
               "--seed", "1", "--quiet"]


def test_test_command_writes_reports_and_check_out_too(tmp_path):
    r = maelstrom_cli(*STALE_FLAGS, "--store", str(tmp_path / "a"), "--diagram-messages", "40")
    assert r.returncode == 1, r.stderr
    run = (tmp_path / "a" / "latest").resolve()
    names = {p.name for p in run.iterdir()}
    assert set(PLOTS) | {"messages.svg", "cluster.html", "timeline-0.html",
                         "linear-0.html"} <= names
    root = ET.parse(run / "messages.svg").getroot()
    assert sum(1 for g in root.iter(f"{SVG}g") if "msg" in g.get("class", "").split()) == 40
    # check --out of that run: the same reports, from its history, journal and node logs
    out = tmp_path / "out"
    r = maelstrom_cli("check", str(run), "--out", str(out))
    assert r.returncode == 1
    assert set(PLOTS) | {"messages.svg", "cluster.html", "timeline-0.html",
                         "linear-0.html"} <= {p.name for p in out.iterdir()}
    assert "wrote 1 timeline page (" in r.stdout
    assert 'href="timeline-0.html"' in (out / "linear-0.html").read_text()
    # the history file of a run: its directory's journal and logs are found too
    r = maelstrom_cli("check", str(run / "history.edn"), "--out", str(tmp_path / "out2"))
    assert {"messages.svg", "cluster.html"} <= {p.name for p in (tmp_path / "out2").iterdir()}
    # --no-reports: none of them; a bad window: a usage error before anything runs
    r = maelstrom_cli(*STALE_FLAGS, "--store", str(tmp_path / "b"), "--no-reports")
    assert r.returncode == 1
    names = {p.name for p in (tmp_path / "b" / "latest").resolve().iterdir()}
    assert not names & (set(PLOTS) | {"messages.svg", "cluster.html", "timeline-0.html"})
    r = maelstrom_cli(*STALE_FLAGS, "--store", str(tmp_path / "c"), "--diagram-window", "5:1")
    assert r.returncode == 254 and "TO is before FROM" in r.stderr
    r = maelstrom_cli(*STALE_FLAGS, "--store", str(tmp_path / "c"), "--journal-max-mb", "0")
    assert r.returncode == 254 and "--journal-max-mb must be a positive" in r.stderr
    assert not (tmp_path / "c").exists()


# -- the journal: compressed, capped -------------------------------------------------------

def test_journal_compressed_and_capped(tmp_path):
    import gzip

    from maelstrom.commands.replay import compare_runs

    def run(**kw):
        opts = TestOptions(workload="lin-kv", bin=RUN_PY, sim=True, node_count=3,
                           concurrency=6, latency=5.0, rate=50.0, time_limit=3.0, seed=4,
                           quiet=True, store=str(tmp_path / "store"), **kw)
        return Runner(opts, WORKLOADS["lin-kv"]).run()

    full = run()
    small = run(journal_gzip=True, journal_max_mb=0.2)
    again = run(journal_gzip=True, journal_max_mb=0.2)
    assert not (small.store / "messages.jsonl").exists()
    whole = (full.store / "messages.jsonl").read_bytes()
    text = gzip.decompress((small.store / "messages.jsonl.gz").read_bytes())
    kept, last = text[:text.rindex(b"\n", 0, len(text) - 1) + 1], text.splitlines()[-1]
    assert len(kept) <= 200_000 < len(whole)
    assert whole.startswith(kept)  # the first lines, unchanged
    assert orjson.loads(last) == {"type": "journal-capped",
                                  "omitted-lines": whole.count(b"\n") - kept.count(b"\n")}
    # the same seed writes the same compressed bytes, so a replay can compare them
    assert compare_runs(small.store, again.store) == []
    assert small.results["net"] == full.results["net"]  # the stats still count every message
    report = write_reports(small.store, options=ReportOptions(plots=False, messages=50))
    assert "messages.svg" in report.written and report.errors == []


def test_cluster_view_gossip_lanes():
    """While some node's SWIM view holds a member suspect or dead, that member's lane shows it
    (dead beats suspect), with who held it so."""
    from maelstrom.reports import cluster_view

    def member(t, log, node, state):
        return {"event": "gossip_member", "t": t, "log": log, "node": node, "state": state}

    events = [member(0.5, "n0", "n1", "alive"), member(1.0, "n0", "n1", "suspect"),
              member(2.0, "n2", "n1", "dead"), member(3.0, "n0", "n1", "alive"),
              member(4.0, "n2", "n1", "alive"), member(5.0, "n1", "n2", "suspect")]
    data = cluster_view.build(events)
    assert data["gossip_members"] == ["n1", "n2"]
    assert data["gossip"]["n1"] == [
        {"start": 1.0, "end": 2.0, "state": "suspect", "observers": {"n0"}},
        {"start": 2.0, "end": 4.0, "state": "dead", "observers": {"n0", "n2"}}]
    assert data["gossip"]["n2"] == [{"start": 5.0, "end": None, "state": "suspect",
                                     "observers": {"n1"}}]
    page = cluster_view.render(data, [], [], 6.0)
    tags = re.findall(r'<g class="gossip" data-member="(\w+)" data-state="(\w+)">', page)
    assert tags == [("n1", "suspect"), ("n1", "dead"), ("n2", "suspect")]


def test_cluster_view_membership_marks_once_per_change():
    """Every member logs a configuration and a finished request: one mark each."""
    from maelstrom.reports import cluster_view

    events = []
    for node, t in (("n0", 1.0), ("n1", 1.1), ("n2", 1.2)):
        events.append({"event": "membership", "t": t, "node": node, "group": 1,
                       "voters": ["n0", "n2"], "learners": ["n3"], "old": None})
        events.append({"event": "membership_done", "t": t + 0.5, "node": node,
                       "id": "n0:7"})
    events.append({"event": "membership", "t": 0.9, "node": "n0", "group": 1,
                   "voters": ["n0", "n2"], "learners": [], "old": ["n0", "n1", "n2"]})  # joint
    data = cluster_view.build(sorted(events, key=lambda e: e["t"]))
    assert [(c["t"], c["voters"]) for c in data["configs"]] == [(1.0, ["n0", "n2"])]
    assert [d["t"] for d in data["members_done"]] == [1.5]
