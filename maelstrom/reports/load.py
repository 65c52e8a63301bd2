"""What the reports read from a run: its history, nemesis periods, journal and node events.

Every reader takes whatever is on disk: a missing file gives nothing, a line that is not what it
should be is skipped. Times are seconds since the workload started (the history's 0): journal
times are moved by the `workload-start` line, node log times by each node's `init` event (the
node got `init` at the journal's 0, give or take a client link, which has no latency).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from maelstrom import edn
from maelstrom.history import HistoryError, Op, read_history
from maelstrom.node_logs import log_events

__all__ = ["Call", "Period", "calls", "nemesis_periods", "keyed", "history_of", "journal_path",
           "journal_lines", "workload_start", "node_events", "open_maybe_gz", "key_text"]

# Nemesis ops that open / close a period, by kind (Jepsen's names; later nemeses follow them).
_OPENS = {"start-partition": "partition", "pause": "pause", "kill": "kill"}
_CLOSES = {"stop-partition": "partition", "resume": "pause", "start": "kill", "restart": "kill"}


@dataclass(frozen=True)
class Call:
    """One client op: invoke time and completion (None if it never completed), in seconds."""

    process: Any
    f: str
    value: Any            # the completion's value when there is one, else the invoke's
    start: float
    end: float | None
    type: str             # ok / fail / info (info also for an op that never completed)
    invoke_index: int
    complete_index: int | None
    error: Any = None


@dataclass(frozen=True)
class Period:
    kind: str             # partition / pause / kill / ...
    start: float
    end: float | None     # None: still on when the history ends
    detail: str


def history_of(run_dir: Path) -> list[Op]:
    try:
        return read_history(run_dir)
    except (HistoryError, OSError):
        return []


def calls(history: list[Op]) -> list[Call]:
    """Client ops (integer processes) paired invoke -> that process's next completion."""
    open_: dict[Any, Op] = {}
    out: list[Call] = []
    for op in history:
        if not isinstance(op.process, int) or isinstance(op.process, bool):
            continue
        if op.type == "invoke":
            if op.process in open_:  # an invoke without completion: the process moved on
                inv = open_.pop(op.process)
                out.append(Call(inv.process, str(inv.f), inv.value, inv.time / 1e9, None, "info",
                                inv.index, None))
            open_[op.process] = op
        elif op.process in open_:
            inv = open_.pop(op.process)
            value = op.value if op.type == "ok" else inv.value
            out.append(Call(inv.process, str(inv.f), value, inv.time / 1e9, op.time / 1e9,
                            op.type if op.type in ("ok", "fail", "info") else "info",
                            inv.index, op.index, op.error))
    for inv in open_.values():
        out.append(Call(inv.process, str(inv.f), inv.value, inv.time / 1e9, None, "info",
                        inv.index, None))
    out.sort(key=lambda c: c.invoke_index)
    return out


def nemesis_periods(history: list[Op]) -> list[Period]:
    """When each nemesis fault was on: from its opening op's invoke to its closing op."""
    on: dict[str, Period] = {}
    out: list[Period] = []
    for op in history:
        if op.process != "nemesis" or op.type != "info":
            continue
        f = str(op.f)
        t = op.time / 1e9
        kind = _OPENS.get(f) or (f[6:] if f.startswith("start-") else None)
        if kind is not None:
            if kind not in on:
                on[kind] = Period(kind, t, None, edn.excerpt(op.value, 80))
            continue
        kind = _CLOSES.get(f) or (f[5:] if f.startswith("stop-") else None)
        if kind is not None and kind in on:
            p = on.pop(kind)
            out.append(Period(kind, p.start, t, p.detail))
    out.extend(on.values())
    out.sort(key=lambda p: p.start)
    return out


def key_text(key: Any) -> str:
    """A key as results.json names it (store.to_json: strings as they are, else EDN text)."""
    return key if isinstance(key, str) else edn.dumps(key)


def keyed(history_calls: list[Call]) -> dict[Any, list[Call]] | None:
    """Calls per independent key when every client value is a [key value] pair (lin-kv and the
    workloads built on it), else None."""
    out: dict[Any, list[Call]] = {}
    for c in history_calls:
        v = c.value
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            return None
        try:
            key = edn.frozen(v[0])
        except Exception:
            return None
        out.setdefault(key, []).append(c)
    return out


def journal_path(run_dir: Path) -> Path | None:
    for name in ("messages.jsonl", "messages.jsonl.gz"):
        if (run_dir / name).is_file():
            return run_dir / name
    return None


def open_maybe_gz(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def journal_lines(run_dir: Path) -> Iterator[dict]:
    """The journal's lines as dicts (send / recv / workload-start / ...), bad lines skipped."""
    path = journal_path(run_dir)
    if path is None:
        return
    try:
        f = open_maybe_gz(path)
    except OSError:
        return
    with f:
        try:
            for line in f:
                try:
                    d = orjson.loads(line)
                except ValueError:
                    continue
                if type(d) is dict:
                    yield d
        except (OSError, EOFError, gzip.BadGzipFile):
            return  # a truncated compressed journal: what could be read


def workload_start(run_dir: Path, scan_lines: int = 200_000) -> float:
    """Journal seconds at which the workload (history time 0) started; 0 if not recorded."""
    for n, d in enumerate(journal_lines(run_dir)):
        if d.get("type") == "workload-start" and isinstance(d.get("time"), (int, float)):
            return d["time"] / 1e9
        if n >= scan_lines:
            break
    return 0.0


def node_events(log_dir: Path, start: float = 0.0, limit: int = 2_000_000) -> list[dict]:
    """Structured events (JSON objects with an `event`) from every node log in `log_dir`, each
    with `t` turned into workload seconds, `node` set (from the file name if missing) and `log`
    naming whose log it is (`node` may name a peer)."""
    out: list[dict] = []
    offsets: dict[str, float] = {}
    for node, e in log_events(Path(log_dir), (b'"event"',)):
        t = e.get("t")
        if not isinstance(e.get("event"), str) or not isinstance(t, (int, float)) \
                or isinstance(t, bool):
            continue
        if node not in offsets:
            # The first event is the node's start (init, at journal time ~0): a process node
            # logs its own monotonic clock, the simulator virtual time from 0.
            offsets[node] = t if e.get("event") == "init" or t > 1e4 else 0.0
        e["t"] = t - offsets[node] - start
        e.setdefault("node", node)
        e["log"] = node
        out.append(e)
        if len(out) >= limit:
            break
    out.sort(key=lambda e: e["t"])
    return out
