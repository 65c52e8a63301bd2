"""`maelstrom serve` (maelstrom/reports/serve_app.py) over HTTP: the run list, the filter, a
run's page and files, and what it refuses. The browser test is tests/test_serve_browser.py."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from maelstrom.reports import write_reports
from maelstrom.reports.serve_app import make_server
from maelstrom.runner import Runner, TestOptions
from workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RUN_PY = str(ROOT / "node" / "run.py")
STALE = f"{ROOT / 'tests' / 'nodes' / 'stale_reads.py'}:StaleReadServer"


def make_store(root: Path) -> dict:
    """A store with a valid run, then an invalid one (stale reads), each with its reports."""
    runs = {}
    for label, sim_node, seed in (("valid", None, 2), ("invalid", STALE, 1)):
        opts = TestOptions(workload="lin-kv", bin=RUN_PY, sim=True, sim_node=sim_node,
                           node_count=3, concurrency=6, latency=5.0, rate=50.0, time_limit=3.0,
                           nemesis=["partition"], nemesis_interval=1.0, seed=seed, quiet=True,
                           recovery_time=1.0, store=str(root))
        result = Runner(opts, WORKLOADS["lin-kv"]).run()
        assert result.results["valid?"] is (label == "valid")
        write_reports(result.store, result.history, result.results)
        runs[label] = result.store
    return runs


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    runs = make_store(root)
    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root, runs
    server.shutdown()
    server.server_close()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def run_links(html: bytes) -> list[str]:
    return re.findall(r'class="run-link" href="([^"]+)"', html.decode())


def test_run_list_newest_first_with_the_filter(served):
    base, root, runs = served
    status, ctype, body = get(base + "/")
    assert status == 200 and ctype.startswith("text/html")
    links = run_links(body)
    assert links == [f"/run/lin-kv/{runs['invalid'].name}/", f"/run/lin-kv/{runs['valid'].name}/"]
    text = body.decode()
    assert text.count('data-verdict="invalid"') == 1 and text.count('data-verdict="valid"') == 1
    _, _, only = get(base + "/?invalid=1")
    assert run_links(only) == [f"/run/lin-kv/{runs['invalid'].name}/"]


def test_run_page_shows_verdict_reports_and_replay(served):
    base, root, runs = served
    run = runs["invalid"]
    status, _, body = get(f"{base}/run/lin-kv/{run.name}/")
    page = body.decode()
    assert status == 200
    assert 'id="verdict">invalid<' in page
    assert f"maelstrom replay {run.resolve()}" in page
    assert "--sim-node" in page and "--seed 1" in page   # the test command too
    for name in ("latency-raw.png", "latency-quantiles.png", "rate.png", "messages.svg",
                 "cluster.html", "linear-0.html", "timeline-0.html", "bench.log",
                 "node-logs/n0.log"):
        assert f'href="/run/lin-kv/{run.name}/{name}"' in page, name
    # every file linked from the page is served, with its type
    for href in set(re.findall(r'href="(/run/[^"]+)"', page)):
        status, ctype, data = get(base + href)
        assert status == 200, href
        if href.endswith(".png"):
            assert ctype == "image/png" and data.startswith(b"\x89PNG")
        elif href.endswith(".svg"):
            assert ctype == "image/svg+xml"


def test_serve_refuses_what_is_not_a_run_file(served, tmp_path):
    base, root, runs = served
    (root / "secret.txt").write_text("no")
    name = runs["valid"].name
    for path in (f"/run/lin-kv/{name}/../../secret.txt", f"/run/lin-kv/{name}/%2e%2e/x",
                 f"/run/lin-kv/{name}/%2e%2e%2f%2e%2e%2fsecret.txt", "/run/lin-kv/latest/",
                 "/run/../secret.txt/", "/run/lin-kv/nosuch/", "/nothing",
                 f"/run/lin-kv/{name}/nosuch.png", f"/run/lin-kv/{name}/node-logs"):
        status, _, body = get(base + path)
        assert status == 404, path
        assert b"no" != body
    # a link inside the run that points out of it
    (runs["valid"] / "escape.txt").symlink_to(root / "secret.txt")
    assert get(f"{base}/run/lin-kv/{name}/escape.txt")[0] == 404
    # a run directory without results yet, or with a broken results.json, is listed as such
    broken = root / "lin-kv" / "20990101T000000.000Z"
    broken.mkdir()
    (broken / "options.json").write_text("{not json")
    status, _, body = get(base + "/")
    assert status == 200 and run_links(body)[0] == f"/run/lin-kv/{broken.name}/"
    assert 'data-verdict="none"' in body.decode()
    assert get(f"{base}/run/lin-kv/{broken.name}/")[0] == 200
    (broken / "results.json").write_text("[1,")
    assert get(f"{base}/run/lin-kv/{broken.name}/")[0] == 200


def test_a_sweeps_kept_runs_are_listed_and_served(served):
    import shutil

    base, root, runs = served
    kept = root / "sweep" / "20261130T000000.000Z" / "seed-7"
    shutil.copytree(runs["invalid"], kept)
    (root / "sweep" / "20261130T000000.000Z" / ".scratch").mkdir()  # hidden: never a run
    _, _, body = get(base + "/?invalid=1")
    assert "/run/sweep/20261130T000000.000Z/seed-7/" in run_links(body)
    status, _, page = get(base + "/run/sweep/20261130T000000.000Z/seed-7/")
    assert status == 200 and b'id="verdict">invalid<' in page
    assert b'href="/run/sweep/20261130T000000.000Z/seed-7/timeline-0.html"' in page
    status, ctype, data = get(base + "/run/sweep/20261130T000000.000Z/seed-7/rate.png")
    assert status == 200 and data.startswith(b"\x89PNG")
    assert get(base + "/run/sweep/20261130T000000.000Z/seed-7")[0] == 200  # redirected


def test_serve_command_listens_on_loopback(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "maelstrom", "serve", "--port", "0",
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        status, _, body = get(f"http://127.0.0.1:{m.group(1)}/")
        assert status == 200 and b"0 of 0 runs" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_command_usage_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "maelstrom", "serve", str(tmp_path / "nosuch")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 254 and "no such store directory" in r.stderr
