#!/usr/bin/env python3
"""Time to render every report (maelstrom/reports) of a 60 s, 9-node run.

Runs, in the simulator, with reports off:
  lin-kv:          maelstrom test -w lin-kv --bin node/run.py --sim --node-count 9
                   --time-limit 60 --nemesis partition --concurrency 2n --rate 100 --latency 10
                   --seed SEED --no-reports
  slot-migration:  the same with -w slot-migration and FERRITE_CLUSTER_SHARDS=3
then renders the reports of each in a fresh process (so matplotlib's import is counted) and
prints the seconds per artefact, its size, and the journal's size. With --screenshots DIR it
also adds a small invalid run (stale reads) to the store, serves the store and takes headless
Chromium screenshots of `maelstrom serve`'s run list, the invalid key's timeline and the
slot-migration run's cluster view (docs/img/ uses these).

    python scripts/bench_reports.py [--seed 1] [--store DIR] [--screenshots docs/img]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMON = ["--bin", str(ROOT / "node" / "run.py"), "--sim", "--node-count", "9", "--time-limit",
          "60", "--nemesis", "partition", "--concurrency", "2n", "--rate", "100", "--latency",
          "10", "--no-reports", "--quiet"]
RENDER = """
import json, sys, time
t0 = time.perf_counter()
from maelstrom.reports import write_reports
r = write_reports(sys.argv[1])
print(json.dumps({"total": time.perf_counter() - t0, "seconds": r.seconds,
                  "written": r.written, "errors": r.errors}))
"""
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars"]


def maelstrom(args: list[str], env: dict | None = None) -> Path:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "maelstrom", *args], capture_output=True,
                       text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    line = next((x for x in r.stdout.splitlines() if x.startswith("Results in ")), None)
    if line is None:
        sys.exit(f"run failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    run = Path(line.split("Results in ", 1)[1].split(" (seed")[0])
    print(f"  ran in {time.perf_counter() - t0:.1f} s: {run} "
          f"({'valid' if r.returncode == 0 else 'exit ' + str(r.returncode)})")
    return run


def render(run: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", RENDER, str(run)], capture_output=True, text=True,
                       cwd=ROOT, check=True)
    return json.loads(r.stdout)


def report(label: str, run: Path) -> None:
    journal = run / "messages.jsonl"
    lines = sum(1 for _ in open(journal, "rb"))
    out = render(run)
    print(f"  journal: {journal.stat().st_size / 1e6:.1f} MB, {lines} lines; "
          f"history: {(run / 'history.jsonl').stat().st_size / 1e6:.1f} MB")
    print(f"  {'artefact':<24} {'seconds':>8}  size")
    sizes = {}
    for name in out["written"]:
        kind = "timelines" if name.startswith("timeline") else name
        sizes[kind] = sizes.get(kind, 0) + (run / name).stat().st_size
    for name, sec in out["seconds"].items():
        size = sizes.get(name)
        n = sum(1 for w in out["written"] if w.startswith("timeline")) if name == "timelines" \
            else None
        print(f"  {name:<24} {sec:8.2f}  " + (f"{size / 1e3:.0f} KB" if size else "")
              + (f" ({n} pages)" if n else ""))
    print(f"  {'total (fresh process, incl. imports)':<24} {out['total']:8.2f}")
    if out["errors"]:
        print(f"  ERRORS: {out['errors']}")


def screenshots(store: Path, slot_run: Path, dest: Path) -> None:
    from maelstrom.reports import write_reports
    from maelstrom.reports.serve_app import make_server
    import threading

    stale = maelstrom(["test", "-w", "lin-kv", "--bin", str(ROOT / "node" / "run.py"), "--sim",
                       "--sim-node", f"{ROOT}/tests/nodes/stale_reads.py:StaleReadServer",
                       "--node-count", "3", "--concurrency", "2n", "--latency", "5", "--rate",
                       "50", "--time-limit", "3", "--nemesis", "partition",
                       "--nemesis-interval", "1", "--seed", "1", "--quiet", "--store",
                       str(store)])
    write_reports(stale)
    server = make_server(store, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    dest.mkdir(parents=True, exist_ok=True)
    shots = [("serve.png", f"{base}/", (1100, 420)),
             ("serve-run.png", f"{base}/run/lin-kv/{stale.name}/", (1100, 760)),
             ("timeline.png", f"{base}/run/lin-kv/{stale.name}/timeline-0.html#culprit",
              (900, 700)),
             ("cluster-view.png", f"{base}/run/slot-migration/{slot_run.name}/cluster.html",
              (1300, 800))]
    # Selenium rather than `chromium --screenshot`, which does not scroll to a #fragment.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in CHROMIUM[1:] + [f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            for name, url, (w, h) in shots:
                driver.set_window_size(w, h)
                # the viewport, not the window, is w x h
                dw, dh = driver.execute_script(
                    "return [window.outerWidth - window.innerWidth,"
                    " window.outerHeight - window.innerHeight]")
                driver.set_window_size(w + dw, h + dh)
                driver.get(url)
                driver.save_screenshot(str(dest / name))
                print(f"  {dest / name}: {(dest / name).stat().st_size / 1e3:.0f} KB")
        finally:
            driver.quit()
    server.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--screenshots", type=Path, default=None)
    args = ap.parse_args()
    store = args.store or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    print("lin-kv, 9 nodes, 60 s, partitions, rate 100 (simulator):")
    run = maelstrom(["test", "-w", "lin-kv", *COMMON, "--seed", str(args.seed), "--store",
                     str(store)])
    report("lin-kv", run)
    print("slot-migration, 9 nodes, 3 shard groups, 60 s, partitions, rate 100 (simulator):")
    slot = maelstrom(["test", "-w", "slot-migration", *COMMON, "--seed", str(args.seed),
                      "--store", str(store)], env={"FERRITE_CLUSTER_SHARDS": "3"})
    report("slot-migration", slot)
    if args.screenshots:
        print("screenshots:")
        screenshots(store, slot, args.screenshots)
    print(f"store: {store}")


if __name__ == "__main__":
    main()
