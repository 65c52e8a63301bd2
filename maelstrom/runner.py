"""The test runner: one loop that drives nodes, network, clients, generator and nemesis.

The loop is parameterised by a clock and a node host, so the same code runs real processes in
real time (`ProcessHost`, `RealClock`) and, with `sim`, in-process node cores in virtual time
(`maelstrom.hosts.sim.SimHost`, `VirtualClock`). Every decision draws from one seeded `random.Random`
tree: `seed` -> independent sub-generators for the schedule, the workload's operations, network
latencies, the nemesis and the network's extra faults, each derived in a fixed order so that
adding draws to one never shifts another. (The simulator seeds its nodes from the seed too.)

Phases (as Maelstrom's core.clj):
1. init: every node gets `init` from its own client (c0..c{N-1}); a node that does not answer
   `init_ok` within `init_timeout` is reported and the test goes on without it.
2. main: client operations staggered at `rate` per second overall (a uniformly random gap of
   0..2/rate between operations) on free worker threads, and the nemesis on its own schedule,
   until `time_limit`; then every outstanding operation completes or times out.
3. final (workloads with final operations, e.g. lin-kv's final reads): heal the network (a
   recorded stop-partition), resume paused nodes and start killed ones, wait `recovery_time`
   for recovery, run the final operations.

The nemeses' operations are applied by maelstrom/nemesis_driver.py.
4. stop the nodes, analyse, write the store.

Node faults (exited, hung on init, printed a line that is not a valid message, replied to a
request nobody sent, replied twice with different answers) are recorded with the node, the
offending line and its stderr tail; the test still runs to the end. Output the nodes wrote that
was still unread when the run stopped is checked the same way (`_after_stop`), and every file
of the store is written whatever happens to the others.
"""

from __future__ import annotations

import random
import sys
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from maelstrom.client import ClientPool, Completion, ReplyFault
from maelstrom.clock import RealClock, VirtualClock
from maelstrom.edn import excerpt
from maelstrom.history import Op
from maelstrom.nemesis_driver import NemesisDriver
from maelstrom.network import Network
from maelstrom.hosts.process import ProcessHost, stderr_tail
from maelstrom.results import (availability, client_completions, compose, perf, stats,
                               verdict_exit_code)
from maelstrom.store import Store

from orjson import dumps as _dumps, loads as _loads  # a dependency of the bench

__all__ = ["TestOptions", "Runner", "RunResult", "Interrupted"]

_MAX_FAULTS = 10  # recorded per node (all are counted)
_ENVELOPE_KEYS = frozenset({"src", "dest", "body", "id"})  # Maelstrom's Message schema
_LINE_EXCERPT = 300


@dataclass
class TestOptions:
    """Everything that defines a test run (what `maelstrom test` parsed)."""

    __test__ = False  # not a pytest test class, despite the name

    workload: str = "lin-kv"
    bin: str = ""
    args: list[str] = field(default_factory=list)
    node_count: int = 5
    time_limit: float = 60.0
    rate: float = 5.0
    concurrency: int = 5
    latency: float = 0.0
    latency_dist: str = "constant"
    nemesis: list[str] = field(default_factory=list)
    nemesis_interval: float = 10.0
    # Targets of the nemeses (Jepsen's shapes and group targets, maelstrom/nemesis.py);
    # empty: each nemesis's defaults.
    nemesis_targets: list[str] = field(default_factory=list)
    lose_unsynced: bool = False  # --sim: a killed node's disk loses what was not synced
    availability: float | str | None = None
    log_stderr: bool = False
    log_net_send: bool = False
    log_net_recv: bool = False
    seed: int = 0
    quiet: bool = False
    init_timeout: float = 10.0
    recovery_time: float | None = None  # None: 10 s with a nemesis, 0 without
    store: str = "store"
    # The deterministic simulator (maelstrom/hosts/sim.py) and its extra faults.
    sim: bool = False
    sim_node: str | None = None  # "module:Class" or "file.py:Class"; None: --bin's `Server`
    loss: float = 0.0            # probability a server-to-server message is lost
    duplicate: float = 0.0       # ... delivered twice
    reorder: float = 0.0         # ... held back by an extra 0..reorder_delay
    reorder_delay: float = 100.0  # ms
    invariants: bool = True      # --sim: check the Raft invariants (maelstrom/invariants.py)
    # The network journal: messages.jsonl.gz instead of messages.jsonl; at most this many MB.
    journal_gzip: bool = False
    journal_max_mb: float | None = None

    @property
    def nodes(self) -> list[str]:
        return [f"n{i}" for i in range(self.node_count)]

    @property
    def request_timeout(self) -> float:
        """Maelstrom's client timeout: max(10 x latency, 1000 ms), in seconds."""
        return max(10 * self.latency, 1000) / 1000.0

    def effective_recovery_time(self) -> float:
        if self.recovery_time is not None:
            return self.recovery_time
        return 10.0 if self.nemesis else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["nodes"] = self.nodes
        return d


@dataclass
class RunResult:
    results: dict
    store: Path
    exit_code: int
    history: list[Op]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; raised by Runner.run() once the store holds what ran until then
    (history, results marked "incomplete", journal, logs). `result` is that run's RunResult.
    A KeyboardInterrupt, so callers that do not look for it stop as before."""

    def __init__(self, result: RunResult) -> None:
        super().__init__()
        self.result = result


class _Journal:
    """A buffered binary sink for the network journal: plain or gzip-compressed (level 1, no
    time in the header, so a replay writes the same bytes); with `max_bytes`, the lines stop
    once that many bytes of them are written, and one last line says how many were left out
    (the net stats still count every message)."""

    def __init__(self, path: Path, compress: bool = False, max_bytes: int | None = None) -> None:
        import gzip
        import io

        self._raw = open(path, "wb", buffering=0 if compress else 1 << 20)
        self._f = io.BufferedWriter(gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                                  compresslevel=1, mtime=0), 1 << 20) \
            if compress else self._raw
        self._left = max_bytes
        self.omitted = 0  # lines left out by the cap
        self.write = self._f.write if max_bytes is None else self._capped

    def _capped(self, data: bytes) -> None:
        if len(data) <= self._left:
            self._left -= len(data)
            self._f.write(data)
        else:
            self._left = 0  # keep the order: nothing after the first line left out
            self.omitted += data.count(b"\n") or 1

    def close(self) -> None:
        if self.omitted:
            self._f.write(b'{"type":"journal-capped","omitted-lines":%d}\n' % self.omitted)
        self._f.close()
        self._raw.close()


class Runner:
    """Runs one test. `host_factory(opts, log_dir, log)` and `clock` select the backend
    (default: real processes in real time)."""

    def __init__(self, opts: TestOptions, workload_cls: type,
                 host_factory: Callable[..., Any] | None = None, clock: Any = None,
                 progress: Any = None) -> None:
        self.opts = opts
        self.nodes = opts.nodes
        self.clock = clock or (VirtualClock() if opts.sim else RealClock())
        self.progress = progress
        root = random.Random(opts.seed)
        # Sub-generators derived in a fixed order (see module docstring).
        self.sched_rng = random.Random(root.getrandbits(64))
        self.workload_rng = random.Random(root.getrandbits(64))
        self.net_rng = random.Random(root.getrandbits(64))
        self.nemesis_rng = random.Random(root.getrandbits(64))
        self.fault_rng = random.Random(root.getrandbits(64))
        self.workload = workload_cls(self.nodes, opts.concurrency, self.workload_rng)
        if host_factory is None:
            host_factory = self._sim_host if opts.sim else _process_host
        self.host_factory = host_factory
        self.history: list[Op] = []
        self.counts = {"ok": 0, "fail": 0, "info": 0}
        self.faults: list[dict] = []
        self._fault_counts: dict[str, int] = {}
        self._exited: list[str] = []  # nodes whose process ended or stdout closed, in order
        self._unread: dict[str, int] = {}  # node -> messages read only after the run stopped
        self._reading_after_stop = False
        self._all_exited_in_init = False
        self.t0 = 0.0
        self.phase = "setup"
        self._log_file = None

    # -- logging -------------------------------------------------------------------------
    def log(self, text: str, console: bool = True) -> None:
        """A line for bench.log and, unless --quiet (or `console` is false), stderr."""
        if self._log_file is not None:
            self._log_file.write(text + "\n")
        if console and not self.opts.quiet:
            if self.progress is not None:
                self.progress.clear()
            print(text, file=sys.stderr)

    # -- recording -----------------------------------------------------------------------
    def _op(self, now: float, type_: str, process: Any, f: str, value: Any,
            error: Any = None) -> None:
        h = self.history
        h.append(Op(len(h), int((now - self.t0) * 1e9), type_, process, f, value, error))

    def _completed(self, now: float, c: Completion) -> None:
        _, process, type_, f, value, error = c
        self.counts[type_] += 1
        self._op(now, type_, process, f, value, error)

    def _fault(self, node: str, kind: str, line: bytes | None = None, reason: str = "") -> None:
        n = self._fault_counts.get(node, 0) + 1
        self._fault_counts[node] = n
        if n > _MAX_FAULTS:
            return  # the first few are enough to debug; the count says how many there were
        fault: dict[str, Any] = {"node": node, "kind": kind}
        if self._reading_after_stop:
            reason += " (in output read after the test stopped)"
        if reason:
            fault["reason"] = reason
        if line is not None:
            text = line.decode("utf-8", "replace")
            fault["line"] = text if len(text) <= _LINE_EXCERPT else text[:_LINE_EXCERPT] + "..."
        self.faults.append(fault)
        self.log(f"node fault: {node} {kind}: {reason}"
                 + (f" in line {fault['line']!r}" if line is not None else ""))

    # -- the loop ------------------------------------------------------------------------
    def _check_line(self, node: str, line: bytes) -> Any:
        """The message in a node's stdout line if it is well formed; else None, and the line is
        reported as the node's fault (blank lines are ignored).

        The rules are Maelstrom's (process.clj parse-msg, net.clj's Message schema and
        validate-msg): a JSON object with exactly `src`, `dest`, `body` and an optional integer
        `id`; `src` and `dest` name a node or client of this test (any of them: a node may relay
        another's message, e.g. a client's request passed on unchanged); `body` an object
        (Maelstrom lets a missing body through as {}: here it is a fault)."""
        try:
            msg = _loads(line)
        except ValueError as exc:
            if line.strip():
                self._fault(node, "invalid-output", line, f"not JSON ({excerpt(str(exc), 120)})")
            return None
        if type(msg) is not dict:
            return self._fault(node, "invalid-output", line, "not a JSON object")
        src, dest, body = msg.get("src"), msg.get("dest"), msg.get("body")
        known = self.net.knows
        if type(src) is not str or not known(src):
            return self._fault(node, "invalid-output", line,
                               f"src is {excerpt(src)}, which is not a node or client of this "
                               f"test")
        if type(dest) is not str or not known(dest):
            return self._fault(node, "invalid-output", line,
                               f"dest {excerpt(dest)} is not a node or client of this test")
        if type(body) is not dict:
            return self._fault(node, "invalid-output", line, "body must be a JSON object")
        if len(msg) > 3:
            extra = [k for k in msg if k not in _ENVELOPE_KEYS]
            if extra:
                return self._fault(node, "invalid-output", line,
                                   f"unexpected key {excerpt(extra[0])}: a message has only "
                                   f"src, dest, body and an integer id")
            mid = msg.get("id")
            if type(mid) is not int:
                return self._fault(node, "invalid-output", line,
                                   f"id must be an integer, got {excerpt(mid)}")
        return msg

    def _on_line(self, now: float, node: str, line: bytes) -> None:
        msg = self._check_line(node, line)
        if msg is not None:
            # sent from the printing node's position, whatever its src says (a relay)
            self.net.send(now, node, msg["dest"], line, msg, msg["src"] != node)

    def _on_client_msg(self, now: float, src: str, dest: str, body: dict) -> None:
        init_node = self.init_clients.get(dest)
        if init_node is not None:
            # The answer to init_node's init, whoever printed it (a relay may pass it on).
            if body.get("type") == "init_ok" and body.get("in_reply_to") == 1:
                self.pending_init.discard(init_node)
                self.nemesis_driver.on_init_ok(init_node)
            elif body.get("in_reply_to") == 1 and init_node in self.pending_init:
                self.pending_init.discard(init_node)
                self._fault(init_node, "init-failed",
                            reason=f"answered init with {excerpt(body, 200)}")
            return
        res = self.pool.receive(now, dest, body)
        if res is None:
            return
        if type(res) is ReplyFault:
            self._fault(src, res.kind, None, res.reason)
            return
        self._completed(now, res)

    def _iterate(self, until: float, issuing: bool) -> float:
        """One turn of the loop: wait for the next event (at most until `until`), then handle
        everything that is due. Returns the time it finished at."""
        clock, net, host, pool = self.clock, self.net, self.host, self.pool
        now = clock.now()
        nxt = until
        d = net.next_due()
        if d is not None and d < nxt:
            nxt = d
        pool_due = pool.next_deadline()
        if pool_due is not None and pool_due < nxt:
            nxt = pool_due
        if issuing:
            if self.stagger and pool.free and self.next_op_at < nxt:
                nxt = self.next_op_at
            for nem in self.nemeses:
                if nem.next_at < nxt:
                    nxt = nem.next_at
        if self.progress is not None and self.progress.next_at < nxt:
            nxt = self.progress.next_at
        if self._flush_host is not None:
            self._flush_host()
        lines, exits = host.poll(nxt - now)
        now = clock.now()
        if lines:
            # _on_line's checks for a well-formed line, inlined (once per message); anything
            # else goes the slow way, which parses again and reports it.
            send, nodes, clients = net.send, self.node_set, net.clients
            for node, line in lines:
                try:
                    msg = _loads(line)
                except ValueError:
                    msg = None
                if type(msg) is dict and len(msg) == 3:
                    dest = msg.get("dest")
                    if msg.get("src") == node and type(dest) is str \
                            and (dest in nodes or dest in clients) \
                            and type(msg.get("body")) is dict:
                        send(now, node, dest, line, msg)
                        continue
                self._on_line(now, node, line)  # relayed, an id, or a fault
        if exits:
            for node in exits:
                if self.phase != "stopping":
                    self._node_ended(node)
        if host.overlong:
            for node, head in host.overlong:
                self._fault(node, "invalid-output", head, "line longer than 16 MiB")
            host.overlong.clear()
        d = net.next_due()
        if d is not None and d <= now:
            nodes = self.node_set
            deliver = self._deliver
            # A node's line was parsed by _on_line into an envelope nobody else holds: a host
            # that takes envelopes gets it (unless duplication may deliver it twice).
            give = self._give_envelopes
            for src, dest, raw, msg in net.due(now):
                if dest in nodes:
                    deliver(dest, raw, msg if give and src in nodes else None)
                else:
                    self._on_client_msg(now, src, dest, msg["body"])
        # Only the bench adds timeouts, never before this point of an iteration: if the earliest
        # one was not due, none is.
        if pool_due is not None and pool_due <= now:
            for c in pool.expire(now):
                self._completed(now, c)
        if issuing:
            for nem in self.nemeses:
                if nem.next_at <= now:
                    # later ops are stamped no earlier than the nemesis op's completion
                    now = self._nemesis_step(now, nem)
            if self.stagger and self.next_op_at <= now:
                self._issue(now)
        if self.nemesis_driver.reinit:
            self.nemesis_driver.check_reinit(now)
        if self.progress is not None and self.progress.next_at <= now:
            self.progress.update(now - self.t0, self)
        return now

    def _send_line(self, node: str, raw: bytes, msg: Any) -> None:
        """Delivery to a host that takes only bytes (`send`), e.g. real processes."""
        self.host.send(node, raw + b"\n")

    def _issue(self, now: float) -> None:
        pool = self.pool
        rng = self.sched_rng
        while pool.free and self.next_op_at <= now:
            free = pool.free
            base = self.next_op_at
            earliest_free = min(pool.workers[t].free_since for t in free)
            if earliest_free > base:
                base = earliest_free  # the op waited for a free worker (Jepsen's stagger)
            thread = free[rng.randrange(len(free))]
            f, value = self.workload.next_op(thread)
            self._invoke(now, thread, f, value)
            self.next_op_at = base + rng.random() * self.stagger

    def _invoke(self, now: float, thread: int, f: str, value: Any) -> None:
        cid, node, body = self.pool.invoke(now, thread, f, value)
        self.net.add_client(cid)
        self._op(now, "invoke", self.pool.workers[thread].process, f, value)
        msg = {"src": cid, "dest": node, "body": body}
        self.net.send(now, cid, node, _dumps(msg), msg)

    def _nemesis_step(self, now: float, nem: Any, heal: bool = False) -> float:
        """One nemesis operation (maelstrom/nemesis_driver.py); returns its completion time."""
        return self.nemesis_driver.step(now, nem, heal)

    # -- phases --------------------------------------------------------------------------
    def _init_nodes(self) -> None:
        self.phase = "init"
        now = self.clock.now()
        ids = self.nodes
        for cid, node in self.init_clients.items():
            self.net.add_client(cid)
            msg = {"src": cid, "dest": node,
                   "body": {"type": "init", "msg_id": 1, "node_id": node, "node_ids": ids}}
            self.net.send(now, cid, node, _dumps(msg), msg)
        deadline = now + self.opts.init_timeout
        while self.pending_init and now < deadline:
            now = self._iterate(deadline, issuing=False)
        for node in sorted(self.pending_init):
            self._fault(node, "init-timeout",
                        reason=f"no init_ok within {self.opts.init_timeout:g} s")

    def _main(self) -> None:
        self.phase = "main"
        opts = self.opts
        self.t0 = now = self.clock.now()
        # The journal counts from node start; mark where the history's time 0 is.
        self.journal.write(b'{"type":"workload-start","time":%d}\n' % int(now * 1e9))
        self.next_op_at = now
        for nem in self.nemeses:
            nem.next_at = now
        end = now + opts.time_limit
        iterate = self._iterate
        while now < end:
            now = iterate(end, True)
        self._drain()

    def _drain(self) -> None:
        now = self.clock.now()
        while self.pool.busy():
            now = self._iterate(now + 1.0, issuing=False)

    def _final(self) -> None:
        finals = deque(self.workload.final_ops())
        if not finals:
            return
        self.phase = "final"
        now = self.clock.now()
        for nem in self.nemeses:
            # The network is always healed (a recorded stop-partition, as Maelstrom's final
            # generator); paused nodes are resumed and killed ones started, if there are any.
            if nem is self.nemesis or nem.active:
                now = self._nemesis_step(now, nem, heal=True)
        recovery = self.opts.effective_recovery_time()
        if recovery > 0:
            self.log(f"Waiting {recovery:g} s for recovery...")
            end = now + recovery
            while now < end:
                now = self._iterate(end, issuing=False)
        pool = self.pool
        while finals or pool.busy():
            while finals and pool.free:
                f, value = finals.popleft()
                self._invoke(now, pool.free[0], f, value)
            now = self._iterate(now + 1.0, issuing=False)

    # -- whole run -----------------------------------------------------------------------
    def run(self) -> RunResult:
        opts = self.opts
        store = Store(opts.store, opts.workload)
        self.store = store
        store.write_options(opts.to_dict())
        self._log_file = open(store.file("bench.log"), "w", encoding="utf-8", buffering=1 << 16)
        self.journal = journal = _Journal(
            store.file("messages.jsonl.gz" if opts.journal_gzip else "messages.jsonl"),
            opts.journal_gzip, None if opts.journal_max_mb is None
            else int(opts.journal_max_mb * 1e6))
        self.net = Network(self.nodes, self.net_rng, opts.latency, opts.latency_dist,
                           journal=journal, log=self.log, log_send=opts.log_net_send,
                           log_recv=opts.log_net_recv, fault_rng=self.fault_rng,
                           loss=opts.loss, duplicate=opts.duplicate, reorder=opts.reorder,
                           reorder_delay_ms=opts.reorder_delay)
        self.node_set = frozenset(self.nodes)
        self.init_clients = {f"c{i}": node for i, node in enumerate(self.nodes)}
        self.pending_init = set(self.nodes)
        self.pool = ClientPool(opts.concurrency, self.nodes, self.workload,
                               opts.request_timeout, first_client=len(self.nodes))
        self.stagger = 2.0 / opts.rate if opts.rate > 0 else 0.0
        self.next_op_at = 0.0
        self.nemesis_driver = driver = NemesisDriver(self)
        self.nemesis, self.nemeses = driver.partition, driver.nemeses
        self.host = self.host_factory(opts, store.node_logs, self.log)
        driver.attach(self.host, store.node_logs)
        self._deliver = getattr(self.host, "deliver", None) or self._send_line
        self._flush_host = self.host.flush if getattr(self.host, "needs_flush", True) else None
        self._give_envelopes = not opts.duplicate
        codes: dict[str, int | None] = {}
        interrupted: str | None = None  # the phase Ctrl-C stopped
        try:
            self.host.start()
            self._init_nodes()
            if self._exited and len(self._exited) == len(self.nodes):
                # Nobody can answer: stop now rather than run the workload into timeouts.
                self._all_exited_in_init = True
                self.log("every node exited during init; stopping the test")
            else:
                self._main()
                self._final()
        except KeyboardInterrupt:
            interrupted = self.phase
        finally:
            self.phase = "stopping"
            if self.progress is not None:
                self.progress.clear()
            codes = self.host.stop()
            journal.close()
        if interrupted is not None:
            self.log(f"interrupted (Ctrl-C) during {interrupted}: writing what ran until then")
        self._after_stop(codes)
        problems = store.write_history(self.history)  # first: the cheapest and most precious
        try:
            results = self.analyse()
        except KeyboardInterrupt:  # Ctrl-C while checking: the rest of the analysis is kept
            interrupted = interrupted or "analysis"
            results = self.analyse(check_workload=False)
        if interrupted is not None:
            results["incomplete"] = True
            results["interrupted-during"] = interrupted
        if problems:  # never expected (the writers take any value); recorded, not hidden
            results["store"] = {"errors": problems}
        problems += store.write_results(results)
        problems += store.write_counterexamples(results.get("workload"))  # linear-KEY.svg
        for problem in problems:
            self.log(f"store: could not write {problem}")
        self._log_file.close()
        self._log_file = None
        result = RunResult(results, store.path, verdict_exit_code(results["valid?"]),
                           self.history)
        if interrupted is not None:
            raise Interrupted(result)
        store.finish()  # store/latest: finished runs only
        return result

    def _after_stop(self, codes: dict[str, int | None]) -> None:
        """What the nodes did that no poll returned before the run stopped: output still unread
        (checked like any other line, so faults in it are reported; the messages it holds are
        counted, never delivered) and ends not yet seen. Then every ended node's fault."""
        host = self.host
        lines, ended = host.unread() if hasattr(host, "unread") else ([], [])
        for node in ended:
            self._node_ended(node)
        for node in getattr(host, "held_open", ()):
            self._fault(node, "stdout-held-open", None, "its stdout stayed open after its "
                        "process group was killed: a process outside the group holds it")
        now = self.clock.now()
        self._reading_after_stop = True
        for node, line in lines:
            msg = self._check_line(node, line)
            if msg is None:
                continue
            self._unread[node] = self._unread.get(node, 0) + 1
            if msg["dest"] not in self.node_set:
                self._on_client_msg(now, node, msg["dest"], msg["body"])  # replies are checked
        run_code = getattr(host, "run_exit_code", None)
        for node in self._exited:
            early = run_code(node) if run_code is not None else codes.get(node)
            # early is None: the process kept running after its stdout closed (stopped by us)
            fault = {"node": node, "kind": "exited" if early is not None else "closed-stdout",
                     "exit-code": early if early is not None else codes.get(node),
                     "stderr-tail": stderr_tail(self.store.node_logs / f"{node}.log")}
            self._fault_counts[node] = self._fault_counts.get(node, 0) + 1
            self.faults.append(fault)
        for fault in self.faults:
            if "stderr-tail" not in fault:
                fault["stderr-tail"] = stderr_tail(self.store.node_logs / f"{fault['node']}.log",
                                                   500)

    def _node_ended(self, node: str) -> None:
        """The host says a node's process ended or its stdout closed (once per node)."""
        if node in self._exited:
            return
        self._exited.append(node)
        self.pending_init.discard(node)
        code = getattr(self.host, "exit_code", lambda _: None)(node)
        when = "before the test stopped" if self.phase == "stopping" else f"during {self.phase}"
        self.log(f"node {node} " + (f"exited with status {code}" if code is not None
                                    else "closed its stdout") + f" {when}")

    def analyse(self, check_workload: bool = True) -> dict:
        history = self.history
        if not check_workload:
            workload = {"valid?": "unknown", "error": "not checked: interrupted (Ctrl-C)"}
        else:
            try:
                workload = self.workload.check(history)
            except Exception as exc:  # a checker bug must not lose the run
                workload = {"valid?": "unknown", "error": f"{type(exc).__name__}: {exc}"}
        return compose({
            "perf": perf(history),
            "stats": stats(history),
            "availability": availability(history, self.opts.availability),
            "net": self.net.stats.result(len(client_completions(history))),
            "workload": workload,
            "nodes": {"valid?": not self.faults, "faults": self.faults,
                      "fault-counts": dict(sorted(self._fault_counts.items())),
                      "unread-at-stop": dict(sorted(self._unread.items())),
                      **({"all-exited-during-init": True} if self._all_exited_in_init
                         else {})},
            **self.nemesis_driver.section(),
            # What the host itself checked (the simulator: `invariants`).
            **(self.host.result_sections() if hasattr(self.host, "result_sections") else {}),
            # What cluster-mode nodes reported in their logs (maelstrom/cluster_check.py).
            **self._cluster_section(history),
        })

    def _cluster_section(self, history: list) -> dict:
        from maelstrom.cluster_check import check_cluster, events_from_logs, failover_report
        from maelstrom.gossip_report import gossip_report

        try:
            cluster = check_cluster(events_from_logs(self.store.node_logs), history)
            failover = failover_report(self.store.node_logs)
            gossip = gossip_report(self.store.node_logs, history,
                                   self.t0 + self.clock.log_origin)
        except Exception as exc:  # a checker bug must not lose the run
            return {"cluster": {"valid?": "unknown", "error": f"{type(exc).__name__}: {exc}"}}
        out = {} if cluster is None else {"cluster": cluster}
        if failover is not None:
            out["failover"] = failover
        if gossip is not None:
            out["gossip"] = gossip
        return out


    def _sim_host(self, opts: TestOptions, log_dir: Path, log: Callable[[str], None]) -> Any:
        from maelstrom.hosts.sim import SimHost  # only the simulator needs it

        return SimHost.for_options(opts, self.clock, log_dir, log)


def _process_host(opts: TestOptions, log_dir: Path, log: Callable[[str], None]) -> ProcessHost:
    # Each node's $FERRITE_DATA_DIR: <run>/data/<node>, kept across its restarts.
    return ProcessHost(opts.bin, opts.args, opts.nodes, log_dir, log_stderr=opts.log_stderr,
                       echo=log, data_dir=Path(log_dir).parent / "data")
