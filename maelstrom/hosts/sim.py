"""The deterministic simulator: the node's sans-IO cores in one process, in virtual time.

`SimHost` is a node host for the runner (the same interface as `ProcessHost`: start, send,
flush, poll, stop, pause/resume, kill/restart) over in-process node objects with the interface
`node/run.py` drives:

    node = NodeClass(seed=..., log=callable(dict)[, disk=MemDisk])
    node.receive(now_s, envelope_dict) -> [envelope_dict, ...]
    node.tick(now_s) -> [envelope_dict, ...]
    node.next_deadline() -> float | None

(An item of the returned lists may also be `bytes`: one raw output line, passed on unchanged,
the way a process may print anything; the runner validates it like any other line.)

Time is a `VirtualClock`. `poll(timeout)` hands back the lines nodes produced since the last
poll without moving time; when there are none it advances the clock to the earliest of
`now + timeout` (the runner's next event) and the nodes' timers, and fires those timers. So
time jumps from event to event and a 60 s test takes as long as its events take to compute.

Determinism: the runner's generators decide everything on the bench side; node seeds come from
`node_seeds(seed, n)`; timers that fall due together fire in node order; a node's output keeps
its order. Nothing reads the wall clock. Same options and seed -> byte-identical history.edn and
messages.jsonl (tests/test_sim.py checks this across PYTHONHASHSEED values).

Messages cross the host boundary as JSON text, exactly as with real processes: the runner
validates node output the same way, and no dict is shared between nodes. To parse each line
once, the runner may hand `deliver()` the envelope it parsed from a node's line (a fresh object
nobody else holds) along with the text; without one, the host parses the text itself.

Kill and restart (the kill nemesis): a killed node's object is dropped with its timers, inbox
and whatever it held in memory; only its disk survives. If the class takes a `disk` argument,
each node gets one `MemDisk` (node/storage/memdisk.py) for the whole run: a kill calls
`disk.crash(lose_unsynced)` (with `--lose-unsynced`, records not yet synced are lost, but for a
random prefix), and a restart builds a new object, with a new seed, on the same disk. A node
class whose `hold_sync` is true gets `sync()` after every call, before its output leaves, as
node/run.py does.

Which class: `--sim-node module:Class` (or `path/to/file.py:Class`); by default the `--bin` file
itself is imported as a module (not run) and its `Server` attribute is used, so
`--bin node/run.py` simulates `node.server.Server`, the object run.py drives.
"""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import random
import sys
import traceback
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable

from maelstrom.errors import BenchError
from maelstrom.invariants import RaftInvariants

from orjson import dumps as _dumps, loads as _loads  # a dependency of the bench

__all__ = ["SimHost", "load_node_class", "node_seeds", "TIMER_RETRY"]

# What a node object may raise without taking the bench down: reported as the node exiting.
_NODE_ERRORS = (Exception, SystemExit)

# Generation-0 collection threshold while a simulation runs. A run allocates millions of
# short-lived dicts; the default (700) makes the collector a noticeable share of the run time.
_GC_THRESHOLD = 50_000

# A node whose timer is still due right after tick() would stop virtual time; it is ticked
# again no sooner than this much later.
TIMER_RETRY = 0.001

_INF = float("inf")
_node_index = attrgetter("index")


def node_seeds(seed: int, count: int) -> list[int]:
    """The seed of each simulated node. A string seed hashes through SHA-512, the same in every
    process (unlike hash()), and keeps these draws apart from the runner's generators."""
    rng = random.Random(f"ferrite-sim-nodes/{seed}")
    return [rng.getrandbits(64) for _ in range(count)]


def load_node_class(bin_path: str | None, spec: str | None) -> type:
    """The node class to simulate: `spec` ("module:Class" or "file.py:Class") if given, else
    the `Server` attribute of the `bin_path` file imported as a module. BenchError if neither
    gives a class with receive/tick/next_deadline."""
    if spec:
        target, sep, attr = spec.rpartition(":")
        if not sep or not target or not attr:
            raise BenchError(f"--sim-node {spec}: expected module:Class or file.py:Class")
        module = _import_file(target) if target.endswith(".py") or "/" in target \
            else _import_module(target)
        where = f"--sim-node {spec}"
    else:
        if not bin_path:
            raise BenchError("--sim needs --bin (a file whose module has a Server class) "
                             "or --sim-node module:Class")
        attr = "Server"
        _require_binding(bin_path, attr)
        module = _import_file(bin_path)
        where = f"--bin {bin_path} (imported for --sim)"
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise BenchError(f"{where}: no class {attr!r} in {module.__name__}")
    for method in ("receive", "tick", "next_deadline"):
        if not callable(getattr(cls, method, None)):
            raise BenchError(f"{where}: {attr} has no {method}() (not a sans-IO node)")
    return cls


def _require_binding(path_text: str, name: str) -> None:
    """BenchError unless the file binds `name` at module level. Checked on the source before
    importing, because an ordinary node script would start serving stdin when imported."""
    try:
        tree = ast.parse(Path(path_text).read_bytes(), filename=path_text)
    except (OSError, SyntaxError, ValueError) as exc:
        raise BenchError(f"--bin {path_text}: --sim imports it as Python, but it is not "
                         f"readable Python source ({type(exc).__name__}); use --sim-node") \
            from None
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            return
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name) == name for a in stmt.names):
            return
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            return
    raise BenchError(f"--bin {path_text}: defines or imports no {name} at module level, so "
                     f"--sim cannot find its sans-IO node class; use --sim-node module:Class")


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise BenchError(f"cannot import {name}: {type(exc).__name__}: {exc}") from None


def _import_file(path_text: str) -> Any:
    path = Path(path_text).resolve()
    if not path.is_file():
        raise BenchError(f"{path_text}: no such file")
    # One module per file, named after its path, so two runs in one process share it and
    # differently named files never collide.
    name = "_maelstrom_sim_" + "".join(c if c.isalnum() else "_" for c in str(path))
    if name in sys.modules:
        return sys.modules[name]
    # SourceFileLoader: a node script need not end in .py
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # SystemExit too: a script that runs on import
        del sys.modules[name]
        raise BenchError(f"{path_text}: importing it failed: {type(exc).__name__}: {exc}") \
            from None
    return module


class _SimNode:
    __slots__ = ("id", "index", "obj", "log", "paused", "inbox", "crashed", "last_tick", "seed",
                 "deadline", "stale", "down", "disk", "incarnation", "sync")

    def __init__(self, node_id: str, index: int, seed: int) -> None:
        self.id = node_id
        self.index = index  # position in SimHost.nodes
        self.seed = seed
        self.obj: Any = None
        self.log: Any = None
        self.paused = False
        self.inbox: list[tuple[bytes, Any]] = []  # (line, parsed envelope or None)
        self.crashed = False
        self.last_tick = -1.0
        # next_deadline(), asked only when time is about to move and the node was called since
        # (`stale`, and then in SimHost._stale): a sans-IO node's timers change only when it is
        # called.
        self.deadline: float | None = None
        self.stale = False
        self.down = False      # killed, not restarted yet
        self.disk: Any = None  # a MemDisk if the node class takes one (outlives the object)
        self.incarnation = 0   # restarts so far
        self.sync: Any = None  # obj.sync, if the object wants it called after each step


class SimHost:
    """Runs node objects in virtual time; see the module docstring."""

    def __init__(self, node_cls: type, node_ids: list[str], clock: Any, log_dir: Path,
                 seed: int, log_stderr: bool = False,
                 echo: Callable[[str], None] | None = None, invariants: bool = False,
                 lose_unsynced: bool = False) -> None:
        if not getattr(clock, "virtual", False):
            raise ValueError("the simulator needs a VirtualClock")
        self.node_cls = node_cls
        self.clock = clock
        self.log_dir = Path(log_dir)
        self.log_stderr = log_stderr
        self.echo = echo
        self.nodes = [_SimNode(n, i, s)
                      for i, (n, s) in enumerate(zip(node_ids, node_seeds(seed, len(node_ids))))]
        # Per node (by index): its timer if it is running and has one, else infinity; so the
        # earliest timer is min(_due). Kept up to date by _refresh, _crash, pause and resume.
        self._due = [_INF] * len(self.nodes)
        self._stale: list[_SimNode] = []  # nodes called since their timer was last read
        self._by_id = {n.id: n for n in self.nodes}
        self._out: list[tuple[str, bytes]] = []
        self._exits: list[str] = []
        self.overlong: list[tuple[str, bytes]] = []  # never filled: lines are whole here
        self.steps = 0  # receive() + tick() calls, for benchmarks
        self._gc_threshold: tuple[int, ...] | None = None
        # The Raft invariant oracle, attached to the cores of nodes that expose raft_cores().
        self.invariants = RaftInvariants() if invariants else None
        self.seed = seed
        self.lose_unsynced = lose_unsynced
        self._disk_rng = random.Random(f"ferrite-sim-disks/{seed}")  # what a crash keeps
        self._extra: dict = {}  # constructor arguments from the node's configure()

    @classmethod
    def for_options(cls, opts: Any, clock: Any, log_dir: Path,
                    log: Callable[[str], None]) -> "SimHost":
        """The host for a runner's TestOptions (`bin`, `sim_node`, `seed`, `nodes`)."""
        node_cls = load_node_class(opts.bin, opts.sim_node)
        return cls(node_cls, opts.nodes, clock, log_dir, opts.seed,
                   log_stderr=opts.log_stderr, echo=log,
                   invariants=getattr(opts, "invariants", False),
                   lose_unsynced=getattr(opts, "lose_unsynced", False))

    def result_sections(self) -> dict:
        """Sections for the run's results: `invariants` when the oracle watched any core."""
        inv = self.invariants
        if inv is None or not inv.attached:
            return {}
        if inv.violations and self.echo is not None:
            for v in inv.violations:
                self.echo(f"invariant violated: {v['node']} group {v['group']}: {v['what']}")
        return {"invariants": inv.result()}

    def _watch(self, node: _SimNode) -> None:
        """Attach the oracle to any core the node has (cores may appear at any step)."""
        cores = getattr(node.obj, "raft_cores", None)
        if cores is None:
            return
        try:
            found = cores()
        except _NODE_ERRORS:
            return
        inv = self.invariants
        for core in found.values():
            if core.observer is not inv:
                inv.attach(core)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(max(_GC_THRESHOLD, self._gc_threshold[0]), *self._gc_threshold[1:])
        # A node class may read its configuration from the environment, as the process it
        # stands for would (node.server.Server.configure: FERRITE_CLUSTER_*, FERRITE_CONFIG).
        configure = getattr(self.node_cls, "configure", None)
        extra: dict = {}
        if callable(configure):
            try:
                extra = dict(configure(os.environ))
            except Exception as exc:
                raise BenchError(f"the node's configuration: {exc}") from None
        self._extra = extra
        disk_cls = _disk_class(self.node_cls)
        for node in self.nodes:
            node.log = open(self.log_dir / f"{node.id}.log", "wb", buffering=1 << 16)
            if disk_cls is not None:
                node.disk = disk_cls()
            self._construct(node)

    def _construct(self, node: _SimNode) -> None:
        """Build the node's object (at start and at each restart)."""
        kwargs = dict(self._extra)
        if node.disk is not None:
            kwargs["disk"] = node.disk
        try:
            node.obj = self.node_cls(seed=node.seed, log=self._logger(node), **kwargs)
        except _NODE_ERRORS:
            self._crash(node, "constructor")
            return
        node.sync = node.obj.sync if getattr(node.obj, "hold_sync", False) is True \
            and callable(getattr(node.obj, "sync", None)) else None
        node.stale = True
        self._stale.append(node)

    def flush_logs(self) -> None:
        """Write the node logs' buffers out (a reader of the files sees every event so far)."""
        for node in self.nodes:
            if node.log is not None:
                node.log.flush()

    def stop(self) -> dict[str, int | None]:
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None
        codes: dict[str, int | None] = {}
        for node in self.nodes:
            codes[node.id] = 1 if node.crashed else 0
            if node.log is not None:
                node.log.close()
                node.log = None
        return codes

    def _logger(self, node: _SimNode) -> Callable[[dict], None]:
        clock = self.clock

        def log(event: dict) -> None:
            # As run.py logs, with virtual time in "t".
            try:
                event["t"] = round(clock.now(), 6)
                line = _dumps(event)
            except Exception:
                line = repr(event).encode()
            if node.log is not None:
                node.log.write(line + b"\n")
            if self.log_stderr and self.echo is not None:
                self.echo(f"{node.id} stderr: {line.decode('utf-8', 'replace')}")
        return log

    def _crash(self, node: _SimNode, where: str) -> None:
        """A node object raised: log the traceback like a dying process's stderr and report
        the node as exited; it gets nothing more."""
        node.crashed = True
        node.deadline = None
        self._due[node.index] = _INF
        text = f"{where} raised:\n{traceback.format_exc()}"
        if node.log is not None:
            node.log.write(text.encode("utf-8", "replace"))
        if self.log_stderr and self.echo is not None:
            self.echo(f"{node.id} stderr: {text}")
        self._exits.append(node.id)

    # -- traffic -------------------------------------------------------------------------
    def send(self, node_id: str, data: bytes) -> None:
        """Deliver complete lines to a node now (or hold them if it is paused)."""
        node = self._by_id.get(node_id)
        if node is None or node.crashed or node.down:
            return
        for line in data.split(b"\n"):
            if node.crashed:
                break
            if line.strip():
                self._take_line(node, line, None)

    def deliver(self, node_id: str, line: bytes, message: Any = None) -> None:
        """Deliver one message line to a node now (or hold it if it is paused). `message`, if
        given, is `line` already parsed, an object the caller gives away: the node gets it."""
        node = self._by_id.get(node_id)
        if node is None or node.crashed or node.down:
            return
        if message is None or node.paused:
            self._take_line(node, line, message)
        else:
            self._receive(node, message)

    def _take_line(self, node: _SimNode, line: bytes, message: Any) -> None:
        if node.paused:
            node.inbox.append((line, message))
            return
        if message is None:
            try:
                message = _loads(line)
            except ValueError:
                return  # the runner only sends what it parsed; nothing to do
        self._receive(node, message)

    def _receive(self, node: _SimNode, message: Any) -> None:
        self.steps += 1
        try:
            out = node.obj.receive(self.clock.now(), message)
            if node.sync is not None:
                node.sync()
        except _NODE_ERRORS:
            self._crash(node, "receive()")
            return
        if self.invariants is not None:
            self._watch(node)
        if not node.stale:
            node.stale = True
            self._stale.append(node)
        if out:
            self._collect(node, out)

    def _collect(self, node: _SimNode, out: Any) -> None:
        if not out:
            return
        emit = self._out.append
        nid = node.id
        if type(out) is not list:
            try:
                out = list(out)
            except TypeError:
                emit((nid, repr(out).encode()))  # the runner reports it as invalid output
                return
        try:  # the usual case: every item is a dict orjson takes
            self._out.extend([(nid, _dumps(e)) for e in out])
            return
        except Exception:
            pass  # item by item, below
        for envelope in out:
            if type(envelope) is bytes:
                emit((nid, envelope))  # a raw output line, as a process may print anything
                continue
            try:
                emit((nid, _dumps(envelope)))
            except Exception:
                emit((nid, repr(envelope).encode()))

    needs_flush = False  # the runner may skip flush()

    def flush(self) -> None:
        """Nothing to do: send() delivers at once."""

    def poll(self, timeout: float) -> tuple[list[tuple[str, bytes]], list[str]]:
        """Lines produced since the last poll; if none, advance virtual time to the earliest of
        `now + timeout` and the nodes' timers, and fire the timers that are due."""
        if self._out or self._exits:
            return self._take()
        clock = self.clock
        now = clock.now()
        target = now + max(timeout, 0.0)
        stale = self._stale
        if stale:
            if len(stale) > 1:
                stale.sort(key=_node_index)  # node order, as everywhere
            for node in stale:
                self._refresh(node)
            stale.clear()
        due_at = min(self._due)  # the earliest timer of a running node
        if due_at <= target:
            clock.advance_to(due_at)
            self._fire(clock.now())
            return self._take()
        clock.advance_to(target)
        return [], []

    def _take(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        out, self._out = self._out, []
        exits, self._exits = self._exits, []
        return out, exits

    def unread(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """After stop(): the output and exits no poll() returned (the runner checks them)."""
        return self._take()

    def _refresh(self, node: _SimNode) -> None:
        """Re-read the node's next timer (after it was called)."""
        node.stale = False
        node.deadline = None
        self._due[node.index] = _INF
        if node.crashed or node.down:
            return
        try:
            d = node.obj.next_deadline()
        except _NODE_ERRORS:
            self._crash(node, "next_deadline()")
            return
        if d is None:
            return
        if type(d) is not float:
            try:
                d = float(d)
            except (TypeError, ValueError):
                self._crash(node, "next_deadline() (not a number)")
                return
        if d <= node.last_tick:  # still due after being ticked at that time: retry later
            d = node.last_tick + TIMER_RETRY
        node.deadline = d
        if not node.paused:
            self._due[node.index] = d

    def _fire(self, now: float) -> None:
        for node in self.nodes:  # node order: ties fire the same way every run
            d = node.deadline
            if d is None or d > now or node.paused or node.crashed or node.down:
                continue
            node.last_tick = now
            self.steps += 1
            try:
                out = node.obj.tick(now)
                if node.sync is not None:
                    node.sync()
            except _NODE_ERRORS:
                self._crash(node, "tick()")
                continue
            if self.invariants is not None:
                self._watch(node)
            self._collect(node, out)
            if not node.stale:
                node.stale = True
                self._stale.append(node)

    # -- faults --------------------------------------------------------------------------
    def pause(self, node_id: str) -> None:
        """Freeze a node: no timers fire, messages to it wait in its inbox."""
        node = self._by_id.get(node_id)
        if node is not None and not node.down:
            node.paused = True
            self._due[node.index] = _INF

    def resume(self, node_id: str) -> None:
        """Unfreeze a node: it gets its held messages now, in arrival order, and its overdue
        timers fire at the next poll."""
        node = self._by_id.get(node_id)
        if node is None or not node.paused:
            return
        node.paused = False
        if node.deadline is not None:
            self._due[node.index] = node.deadline
        inbox, node.inbox = node.inbox, []
        for line, message in inbox:
            if node.crashed:
                break
            self._take_line(node, line, message)

    def kill(self, node_id: str) -> bool:
        """Kill a node: drop its object (timers, inbox, memory); its disk crashes, losing what
        was not synced if `lose_unsynced`. Output it produced before is still sent. False if
        it was already down."""
        node = self._by_id.get(node_id)
        if node is None or node.down:
            return False
        node.down = True
        node.obj = None
        node.sync = None
        node.paused = False
        node.inbox = []
        node.deadline = None
        self._due[node.index] = _INF
        lost = 0
        if node.disk is not None:
            lost = node.disk.crash(self.lose_unsynced, self._disk_rng)
        self._mark(node, "killed" + (f"; {lost} unsynced records lost" if lost else ""))
        return True

    def restart(self, node_id: str) -> bool:
        """Start a killed (or crashed) node again: a new object, with a new seed, on the same
        disk. The runner then sends it `init`. False if it was running."""
        node = self._by_id.get(node_id)
        if node is None or not (node.down or node.crashed):
            return False
        node.incarnation += 1
        node.seed = random.Random(
            f"ferrite-sim-nodes/{self.seed}/{node.id}/{node.incarnation}").getrandbits(64)
        node.down = node.crashed = False
        node.last_tick = -1.0
        self._mark(node, f"restarted (incarnation {node.incarnation})")
        self._construct(node)
        return True

    def _mark(self, node: _SimNode, what: str) -> None:
        """A line in the node's log saying what the bench did to it (not JSON: log readers
        skip it)."""
        line = f"=== maelstrom: {node.id} {what} at {self.clock.now():.6f} ===\n"
        if node.log is not None:
            node.log.write(line.encode())
        if self.log_stderr and self.echo is not None:
            self.echo(f"{node.id} stderr: {line.rstrip()}")


def _disk_class(node_cls: type) -> Any:
    """MemDisk if the node class takes a `disk` argument by name, else None (other classes
    are built as before)."""
    try:
        params = inspect.signature(node_cls.__init__).parameters
    except (TypeError, ValueError):
        return None
    if "disk" not in params:
        return None
    try:
        from node.storage.memdisk import MemDisk
    except ImportError:
        return None
    return MemDisk
