"""The web app behind `maelstrom serve`: a store browsed in a browser (standard library only).

    /                          runs, newest first: verdict, workload, nodes, seed, duration;
                               ?invalid=1 keeps the runs that are not valid
    /run/<workload>/<run>/     one run (a sweep's kept run: /run/sweep/<time>/seed-N/):
                               verdict and key figures, the parts that failed, each
                               invalid key's counterexample and timeline, plots, messages.svg,
                               cluster.html, logs and files, and the command that replays it
    /run/<workload>/<run>/F    a file of that run (relative links between reports just work)

Only files inside the store are served (no `..`, no link out of it); anything unexpected on
disk (a run without results, a broken results.json) is shown as such, never a crash.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson

__all__ = ["RunInfo", "StoreApp", "make_server"]

TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8",
         ".json": "application/json", ".gz": "application/gzip"}
TEXT = {".log", ".txt", ".edn", ".jsonl", ".md"}
MAX_FILES_LISTED = 60
STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 12px; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
.valid { color: #1a7f37; } .invalid { color: #c62828; font-weight: bold; }
.unknown { color: #b26a00; } .none { color: #777; }
input.cmd { width: 100%; font-family: monospace; padding: 4px; line-height: 1.4; }
img { border: 1px solid #ddd; margin: 4px 4px 0 0; }
"""
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           b'<circle cx="8" cy="8" r="7" fill="#4e79a7"/></svg>')


@dataclass
class RunInfo:
    workload: str
    rel: str              # the run's directory in the store: lin-kv/<time>, sweep/<time>/seed-N
    path: Path
    verdict: str          # valid / invalid / unknown / none (no results yet)
    nodes: Any
    seed: Any
    duration: float | None   # seconds from the run's start to its results
    time_limit: Any          # seconds of workload asked for
    sim: bool
    nemesis: str

    @property
    def url(self) -> str:
        return f"/run/{quote(self.rel)}/"


def _verdict(v: Any) -> str:
    return {True: "valid", False: "invalid"}.get(v, "unknown") if v is not None else "none"


def _stamp_time(name: str) -> dt.datetime | None:
    m = re.match(r"(\d{8}T\d{6}\.\d{3})Z", name)
    if not m:
        return None
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S.%f").replace(
            tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def _load_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


class StoreApp:
    """Pages and files of the store at `root`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._cache: dict[Path, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    # -- reading the store ------------------------------------------------------------------
    def _results(self, run: Path) -> Any:
        path = run / "results.json"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        with self._lock:
            hit = self._cache.get(path)
        if hit is not None and hit[0] == mtime:
            return hit[1]
        data = _load_json(path)
        with self._lock:
            self._cache[path] = (mtime, data)
        return data

    def run_dir(self, parts: list[str]) -> Path | None:
        """The run directory `parts` names under the store: <workload>/<time>, or a sweep's
        kept run sweep/<time>/seed-N; None unless it is a real directory (no symbolic link on
        the way: not `latest`, `current`) holding options.json."""
        if len(parts) not in (2, 3) or any(p in ("", ".", "..") or p.startswith(".")
                                           or "/" in p or "\\" in p for p in parts):
            return None
        path = self.root
        for p in parts:
            path = path / p
            if path.is_symlink() or not path.is_dir():
                return None
        return path if (path / "options.json").is_file() else None

    def runs(self) -> list[RunInfo]:
        out = []
        for pattern in ("*/*/options.json", "*/*/*/options.json"):
            try:
                found = list(self.root.glob(pattern))
            except OSError:
                continue
            for opts in found:
                parts = list(opts.parent.relative_to(self.root).parts)
                run = self.run_dir(parts)
                if run is not None:
                    out.append(self.info(parts, run))
        # newest first: the second part is the run's (or the sweep's) UTC time
        out.sort(key=lambda r: (r.rel.split("/")[1][:23], r.rel), reverse=True)
        return out

    def info(self, parts: list[str], run: Path) -> RunInfo:
        opts = _load_json(run / "options.json")
        opts = opts if isinstance(opts, dict) else {}
        results = self._results(run)
        valid = results.get("valid?") if isinstance(results, dict) else None
        if isinstance(valid, str):
            valid = "unknown"
        workload = str(opts.get("workload") or parts[0])
        duration = None
        started = _stamp_time(run.name)
        if started is not None and isinstance(results, dict):
            try:
                done = dt.datetime.fromtimestamp((run / "results.json").stat().st_mtime,
                                                 dt.timezone.utc)
                duration = max((done - started).total_seconds(), 0.0)
            except OSError:
                pass
        nemesis = opts.get("nemesis")
        return RunInfo(workload, "/".join(parts), run, _verdict(valid), opts.get("node_count"),
                       opts.get("seed"), duration, opts.get("time_limit"), bool(opts.get("sim")),
                       ",".join(map(str, nemesis)) if isinstance(nemesis, list) else "")

    # -- pages ------------------------------------------------------------------------------
    def index_page(self, invalid_only: bool) -> str:
        runs = self.runs()
        shown = [r for r in runs if r.verdict in ("invalid", "unknown")] if invalid_only else runs
        rows = []
        for r in shown:
            rows.append(
                f'<tr class="run" data-verdict="{r.verdict}"><td><a class="run-link" '
                f'href="{r.url}">{escape(r.rel)}</a></td><td class="{r.verdict}">{r.verdict}'
                f'</td><td>{escape(r.workload)}</td><td>{escape(str(r.nodes))}</td>'
                f'<td>{escape(str(r.seed))}</td><td>{escape(str(r.time_limit))} s</td><td>'
                + (f"{r.duration:.1f} s" if r.duration is not None else "")
                + f'</td><td>{"sim" if r.sim else "processes"}</td>'
                f'<td>{escape(r.nemesis)}</td></tr>')
        toggle = ('<a href="/">all runs</a>' if invalid_only
                  else '<a id="only-invalid" href="/?invalid=1">only runs that are not valid</a>')
        return _page(f"store {self.root}", f"""
<h2>Runs in {escape(str(self.root))}</h2>
<p>{len(shown)} of {len(runs)} runs, newest first · {toggle}</p>
<table><tr><th>run</th><th>verdict</th><th>workload</th><th>nodes</th><th>seed</th>
<th>time limit</th><th>duration</th><th>backend</th><th>nemesis</th></tr>
{"".join(rows)}
</table>""")

    def run_page(self, parts: list[str], run: Path) -> str:
        from maelstrom.commands.replay import command_line, options_from_dict

        info = self.info(parts, run)
        workload = info.workload
        results = self._results(run)
        results = results if isinstance(results, dict) else {}
        parts = []
        for name, part in results.items():
            if isinstance(part, dict) and "valid?" in part and part["valid?"] is not True:
                v = part["valid?"]
                shown = {False: "false", None: "nil"}.get(v, v) if not isinstance(v, str) else v
                parts.append(f'<li><b>{escape(name)}</b>: <span class="{_verdict(v)}">'
                             f'{escape(str(shown))}</span></li>')
        stats = results.get("stats") if isinstance(results.get("stats"), dict) else {}
        perf = results.get("perf") if isinstance(results.get("perf"), dict) else {}
        lat = (perf.get("latency") or {}).get("all") if isinstance(perf.get("latency"),
                                                                    dict) else None
        net = results.get("net") if isinstance(results.get("net"), dict) else {}
        figures = [f"ops {stats.get('count', '?')} (ok {stats.get('ok-count', '?')}, "
                   f"fail {stats.get('fail-count', '?')}, info {stats.get('info-count', '?')})"]
        if isinstance(lat, dict):
            figures.append("latency ms " + ", ".join(f"{k} {v:.1f}" for k, v in lat.items()
                                                     if k != "count"
                                                     and isinstance(v, (int, float))))
        servers = (net.get("all") or {}) if isinstance(net.get("all"), dict) else {}
        if "msgs-per-op" in servers:
            figures.append(f"messages per op {servers['msgs-per-op']:.2f}")
        files = sorted(p.name for p in run.iterdir() if p.is_file())
        base = info.url
        keys = []
        for f in files:
            m = re.fullmatch(r"linear-(.+)\.html", f)
            if m:
                key = m.group(1)
                tl = f"timeline-{key}.html"
                keys.append(f'<li>key <code>{escape(unquote(key))}</code>: '
                            f'<a class="counterexample" href="{base}{quote(f)}">counterexample</a>'
                            + (f' · <a class="timeline" href="{base}{quote(tl)}">timeline</a>'
                               if tl in files else "") + "</li>")
        imgs = "".join(f'<a href="{base}{n}"><img src="{base}{n}" width="450" alt="{n}"></a>'
                       for n in ("latency-raw.png", "latency-quantiles.png", "rate.png")
                       if n in files)
        views = [f'<a href="{base}{n}">{label}</a>' for n, label in
                 (("messages.svg", "messages.svg (Lamport diagram)"),
                  ("cluster.html", "cluster view"), ("timeline.html", "timeline"))
                 if n in files]
        timelines = [f for f in files if f.startswith("timeline-")]
        tl_links = " ".join(f'<a href="{base}{quote(f)}">{escape(unquote(f[9:-5]))}</a>'
                            for f in timelines[:MAX_FILES_LISTED])
        if len(timelines) > MAX_FILES_LISTED:
            tl_links += f" (+{len(timelines) - MAX_FILES_LISTED} more)"
        other = [f for f in files if not f.startswith(("timeline-", "linear-"))
                 and not f.endswith(".png")]
        logs = [f"node-logs/{p.name}" for p in sorted((run / "node-logs").glob("*"))
                if p.is_file()] if (run / "node-logs").is_dir() else []
        file_links = " · ".join(f'<a href="{base}{quote(f)}">{escape(f)}</a>'
                                for f in other + logs)
        try:
            cmd = command_line(options_from_dict(_load_json(run / "options.json") or {}))
        except Exception:
            cmd = ""
        replay = f"maelstrom replay {run.resolve()}"
        return _page(f"{workload} {info.rel}", f"""
<p><a href="/">all runs</a> · <a href="/?invalid=1">runs that are not valid</a></p>
<h2>{escape(workload)} {escape(info.rel)}:
<span class="{info.verdict}" id="verdict">{info.verdict}</span></h2>
<p>nodes {escape(str(info.nodes))} · seed {escape(str(info.seed))} ·
{"sim" if info.sim else "processes"} · nemesis {escape(info.nemesis) or "none"} ·
time limit {escape(str(info.time_limit))} s
{f" · took {info.duration:.1f} s" if info.duration is not None else ""}</p>
<p>{escape(" · ".join(figures))}</p>
{"<h3>Not valid</h3><ul>" + "".join(parts) + "</ul>" if parts else ""}
{"<h3>Invalid keys</h3><ul>" + "".join(keys) + "</ul>" if keys else ""}
<h3>Replay</h3>
<p><input class="cmd" readonly value="{escape(replay)}" onclick="this.select()"></p>
{f'<p><input class="cmd" readonly value="{escape(cmd)}" onclick="this.select()"></p>'
   if cmd else ""}
<h3>Plots</h3><p>{imgs or "none"}</p>
<h3>Views</h3><p>{" · ".join(views) or "none"}</p>
{f"<h3>Timelines</h3><p>{tl_links}</p>" if timelines else ""}
<h3>Files and logs</h3><p>{file_links}</p>""")

    # -- files ------------------------------------------------------------------------------
    def file(self, run: Path, rel: str) -> Path | None:
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p in (".", "..") or "\\" in p for p in parts):
            return None
        path = run.joinpath(*parts)
        try:
            real = path.resolve(strict=True)
            if not real.is_relative_to(run.resolve()) or not real.is_file():
                return None
        except (OSError, RuntimeError):
            return None
        return real


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<link rel="icon" href="/favicon.svg"><style>{STYLE}</style></head>'
            f"<body>{body}\n</body></html>\n")


class _Handler(BaseHTTPRequestHandler):
    app: StoreApp
    server_version = "maelstrom-serve"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: no line per request
        pass

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        try:
            self._route(head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug must cost one page, not the server
            try:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                           f"error: {type(exc).__name__}: {exc}\n".encode(), head)
            except OSError:
                pass

    def _send(self, status: int, ctype: str, body: bytes, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, head: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        app = self.app
        if path == "/":
            invalid = parse_qs(url.query).get("invalid", [""])[0] not in ("", "0")
            self._send(200, TYPES[".html"], app.index_page(invalid).encode("utf-8"), head)
            return
        if path in ("/favicon.svg", "/favicon.ico"):
            self._send(200, TYPES[".svg"], FAVICON, head)
            return
        parts = path[5:].split("/") if path.startswith("/run/") else []
        run, rest = None, []
        for n in (3, 2):  # a sweep's kept run, else <workload>/<time>
            run = app.run_dir(parts[:n]) if len(parts) >= n else None
            if run is not None:
                rest = parts[n:]
                break
        if run is None:
            self._send(404, "text/plain; charset=utf-8", b"not found\n", head)
            return
        base = "/run/" + quote("/".join(parts[:len(parts) - len(rest)])) + "/"
        if not rest:
            self.send_response(301)
            self.send_header("Location", base)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if rest == [""]:
            page = app.run_page(parts[:len(parts) - 1], run)
            self._send(200, TYPES[".html"], page.encode("utf-8"), head)
            return
        file = app.file(run, "/".join(rest))
        if file is None:
            self._send(404, "text/plain; charset=utf-8", b"not found\n", head)
            return
        ctype = TYPES.get(file.suffix) or ("text/plain; charset=utf-8" if file.suffix in TEXT
                                           else "application/octet-stream")
        with open(file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if not head:
                shutil.copyfileobj(f, self.wfile, 1 << 16)


def make_server(root: str | os.PathLike, host: str = "127.0.0.1",
                port: int = 8080) -> ThreadingHTTPServer:
    """A server for the store at `root` (not started: call serve_forever). Port 0: any free."""
    handler = type("Handler", (_Handler,), {"app": StoreApp(root)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
