"""The store: one directory per test run, laid out like Maelstrom's.

    store/<workload>/<timestamp>/
        history.edn  history.jsonl  history.txt   the history, three ways
        results.edn  results.json                 the analysis
        options.json                              the test's options (incl. the seed)
        messages.jsonl                            the network journal: one line per send/recv
        bench.log                                 the bench's own log (net logging, faults)
        node-logs/n0.log ...                      each node's stderr
        linear-KEY.svg, linear-KEY.html           an invalid run's counterexamples, per key
        *.png, messages.svg, timeline*.html, cluster.html   the reports (maelstrom/reports)
    store/current -> <workload>/<timestamp>       the test running (or the last one started)
    store/<workload>/latest -> <timestamp>        the last finished test (as Jepsen's store)
    store/latest -> <workload>/<timestamp>
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

from maelstrom import edn, history as hist, json_write
from maelstrom.edn import Frozen, Keyword, Tagged
from maelstrom.nested import rebuild

__all__ = ["Store", "to_json"]


def _children(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return x
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, (set, frozenset)):
        return list(x)
    if isinstance(x, (Tagged, Frozen)):
        return [x.value]
    return None


def _key(k: Any) -> str:
    return k if isinstance(k, str) else k.name if isinstance(k, Keyword) else edn.dumps(k)


def _build(x: Any, kids: list) -> Any:
    if isinstance(x, (list, tuple)):
        return kids
    if isinstance(x, dict):
        return {_key(k): v for k, v in zip(x, kids)}
    if isinstance(x, (set, frozenset)):
        return sorted(kids, key=lambda v: json_write.dumps(v))
    if isinstance(x, Tagged):
        return {"#tag": x.tag, "value": kids[0]}
    return kids[0]  # Frozen: its value


def _leaf(x: Any) -> Any:
    if isinstance(x, Keyword):
        return ":" + x.name
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return edn.dumps(x)  # symbols, characters, decimals, ratios...: their EDN text


def to_json(x: Any) -> Any:
    """Plain JSON data for results.json: keywords as ":name", sets as sorted lists, tagged
    values as {"#tag", "value"}, non-string map keys as their EDN text. Iterative: any depth."""
    return rebuild(x, _children, _build, _leaf)


def _dump_json(obj: Any) -> bytes:
    return json_write.dumps(obj, indent=True) + b"\n"


class Store:
    """A run directory under `root` (created at construction)."""

    def __init__(self, root: str | os.PathLike, workload: str,
                 now: _dt.datetime | None = None) -> None:
        self.root = Path(root)
        self.workload = workload
        stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
        base = self.root / workload
        base.mkdir(parents=True, exist_ok=True)
        path, n = base / stamp, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = base / f"{stamp}-{n}"
        self.path = path
        self.node_logs = path / "node-logs"
        self.node_logs.mkdir()
        self._link(self.root / "current", f"{workload}/{path.name}")

    def finish(self) -> None:
        """The run finished (not interrupted): point the `latest` links at it."""
        self._link(self.root / self.workload / "latest", self.path.name)
        self._link(self.root / "latest", f"{self.workload}/{self.path.name}")

    @staticmethod
    def _link(link: Path, target: str) -> None:
        tmp = link.with_name(f".{link.name}.{os.getpid()}")
        try:
            if tmp.is_symlink():
                tmp.unlink()
            tmp.symlink_to(target)
            os.replace(tmp, link)  # atomic: a concurrent reader never sees no link
        except OSError:
            pass  # a filesystem without symlinks still gets the run directory

    def file(self, name: str) -> Path:
        return self.path / name

    def write_options(self, options: dict) -> None:
        self.file("options.json").write_bytes(_dump_json(to_json(options)))

    def write_history(self, ops: list[hist.Op]) -> list[str]:
        """history.edn, .jsonl and .txt. Each is written whatever happens to the others;
        returns what could not be written ("file: why"), never raises."""
        return [p for p in (self._write("history.edn", hist.write_edn, ops),
                            self._write("history.jsonl", hist.write_jsonl, ops),
                            self._write("history.txt", hist.write_txt, ops)) if p]

    def write_results(self, results: dict) -> list[str]:
        """results.edn and results.json, each whatever happens to the other; returns what could
        not be written, never raises."""
        from maelstrom.checker import edn_ready  # Jepsen's EDN types for checker output

        def edn_text(_: Any, path: Path) -> None:
            path.write_text(edn.dumps(edn_ready(results), pretty=True) + "\n", encoding="utf-8")

        def json_text(_: Any, path: Path) -> None:
            path.write_bytes(_dump_json(to_json(results)))

        return [p for p in (self._write("results.edn", edn_text, None),
                            self._write("results.json", json_text, None)) if p]

    def write_counterexamples(self, workload: Any) -> list[str]:
        """For a lin-kv result with failing keys: `linear-KEY.svg` and `.html` per key, named
        and drawn as `maelstrom check --out` does. Returns what could not be written."""
        if not isinstance(workload, dict) or workload.get("valid?") is not False \
                or not isinstance(workload.get("results"), dict):
            return []
        from maelstrom.checker.report import picture, render_html, render_svg
        from maelstrom.commands.check import picture_names

        failures = list(workload.get("failures") or [])
        names = picture_names(failures)
        problems = []
        for key in failures:
            lin = workload["results"][key]["linearizable"]
            title = f"linearizability counterexample, key {edn.excerpt(key, 60)}"
            for ext, render in (("svg", render_svg), ("html", render_html)):
                def write(_: Any, path: Path, render: Any = render, lin: Any = lin,
                          title: str = title) -> None:
                    path.write_text(render(picture(lin, title=title)), encoding="utf-8")

                problem = self._write(f"linear-{names[key]}.{ext}", write, None)
                if problem:
                    problems.append(problem)
        return problems

    def _write(self, name: str, writer: Any, data: Any) -> str | None:
        try:
            writer(data, self.file(name))
        except Exception as exc:  # a bug or a full disk must not cost the other files
            return f"{name}: {type(exc).__name__}: {exc}"
        return None
