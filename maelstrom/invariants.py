"""Raft invariants, checked after every step of every in-process Raft core (a test oracle).

The simulator (`maelstrom test --sim`, on by default) and the randomized Raft tests attach one
`RaftInvariants` to every `RaftCore` they drive (`core.observer`); the core then reports each
input it steps, each message it sends, each ReadIndex read it registers and confirms as leader,
and the end of each call. From that alone, never from the core's own bookkeeping, this module
checks:

- election safety: at most one leader per group and term;
- terms and commit indexes never go back (per node and group);
- state-machine safety: every node commits the same entry (term and data) at each index;
- ReadIndex: a leader confirms a read only once a majority (itself included) answered
  AppendEntries that it sent *in its current term, after the read arrived*;
- durability across restarts (docs/storage.md): a node grants its vote in a term to one
  candidate only, as the grants that arrive show (a restarted node that forgot its vote grants
  another), and a core restored after a restart (`restored`) starts at no lower term than one
  its node's messages delivered before carried (messages leave only once their state is
  synced, so a delivered message proves its term durable).

For the last rule, which message an acknowledgement answers is taken from causality, not from
the ack's fields: an ack is caused by the AppendEntries its sender was stepping when it sent it,
and messages are recognised on arrival by their content (a hash of their canonical JSON). If two
different sends have identical content, an ack to it may answer either: it counts only if every
candidate qualifies (exactly what a leader can know from the bytes). This is what catches a
leader that takes a late answer to an older term's message as an answer to the current one.

A violation is recorded (first `MAX_VIOLATIONS`) with the trail of the last `TRAIL` events; the
oracle never raises into the core, so a node that swallows exceptions cannot hide it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

__all__ = ["RaftInvariants", "MAX_VIOLATIONS", "TRAIL"]

MAX_VIOLATIONS = 10
TRAIL = 40
# Recorded sends and ack causes kept for recognising late messages (oldest dropped first).
_MAX_REMEMBERED = 2_000_000

_SORT = orjson.OPT_SORT_KEYS
_LEADER = "leader"


def _key(body: dict) -> int:
    return hash(orjson.dumps(body, option=_SORT))


class _LeaderView:
    """What the oracle knows about one core's current leadership (one term)."""

    __slots__ = ("term", "regs", "best")

    def __init__(self, term: int) -> None:
        self.term = term
        self.regs: dict[tuple, deque] = {}  # (origin, ctx key) -> events of registrations
        self.best: dict[str, int] = {}      # peer -> latest event of a send it answered


class RaftInvariants:
    """The oracle; one per simulated cluster. `violations` lists what it found."""

    def __init__(self) -> None:
        self.violations: list[dict] = []
        self.events = 0            # every observed call: the order of what happened
        self.reads_confirmed = 0
        self.steps = 0
        self._trail: deque = deque(maxlen=TRAIL)
        self._leaders: dict[tuple, str] = {}          # (group, term) -> node
        # Per core (by id: a node removed from a group and added again starts a new core with
        # an empty log, a new incarnation of its membership):
        self._last: dict[int, tuple[int, int]] = {}    # core -> (term, commit)
        self._committed: dict[Any, list] = {}          # group -> [(term, data)], index 1 at [1]
        self._checked: dict[int, int] = {}             # core -> commit checked up to
        self._sends: dict[tuple, list] = {}   # (leader, dest, group, key) -> [(term, event)]
        self._acks: dict[tuple, list] = {}    # (follower, dest, group, key) -> [(term, event)]
        self._stepping: dict[int, tuple] = {}  # core -> (src, key) of the input now stepped
        self._views: dict[int, _LeaderView] = {}
        self.attached = 0          # cores observed
        self._grants: dict[tuple, str] = {}  # (voter, group, term) -> candidate it granted
        self._durable: dict[tuple, int] = {}  # (node, group) -> highest term delivered

    # -- attaching -----------------------------------------------------------------------
    def attach(self, core: Any) -> None:
        """Observe `core` from now on (idempotent)."""
        if core.observer is not self:
            core.observer = self
            self.attached += 1
            # A key for this core's life (id() is reused once a removed core is collected).
            core.oracle_key = self.attached
            self._committed.setdefault(core.group, [None])
            if getattr(core, "restored", False):
                floor = self._durable.get((core.id, core.group), 0)
                if core.term < floor:
                    self._violation(core, f"restarted at term {core.term}, below term {floor} "
                                          f"of a message it had sent")
            else:
                # A new core (the node joined the group, maybe again after its removal): its
                # terms start afresh, bound by nothing the node's earlier core of the group sent.
                self._durable[(core.id, core.group)] = core.term

    @property
    def ok(self) -> bool:
        return not self.violations

    def result(self) -> dict:
        """The `:invariants` section of a run's results."""
        return {"valid?": self.ok, "checked-steps": self.steps,
                "reads-confirmed": self.reads_confirmed, "violations": self.violations}

    # -- hooks called by RaftCore ----------------------------------------------------------
    def on_step(self, core: Any, src: str, m: dict) -> None:
        self.events += 1
        t = m.get("type")
        key = _key(m)
        self._stepping[core.oracle_key] = (src, key)
        self._trail.append((self.events, core.id, core.group, "recv", src, t, m.get("term"),
                            m.get("seq"), m.get("ack_term"), core.role, core.term))
        term = m.get("term")
        if t != "raft_prevote" and t != "raft_prevote_ok" and type(term) is int:
            if term > self._durable.get((src, core.group), 0):
                self._durable[(src, core.group)] = term
            if t == "raft_vote_ok" and m.get("granted") is True:
                holder = self._grants.setdefault((src, core.group, term), core.id)
                if holder != core.id:
                    self._violation(core, f"{src} granted its vote in term {term} to {holder} "
                                          f"and to {core.id}")
        if t == "raft_append_ack":
            causes = self._acks.get((src, core.id, core.group, key))
            if not causes:
                return
            view = self._view(core)
            if view is None:
                return
            # The ack proves contact in this term after `first` only if every send it may
            # answer is of this term; then its earliest candidate send is what it proves.
            first = None
            for term, event in causes:
                if term != view.term:
                    return
                if first is None or event < first:
                    first = event
            if first > view.best.get(src, 0):
                view.best[src] = first

    def on_send(self, core: Any, dest: str, body: dict) -> None:
        self.events += 1
        t = body.get("type")
        self._trail.append((self.events, core.id, core.group, "send", dest, t, body.get("term"),
                            body.get("seq"), body.get("ack_term"), core.role, core.term))
        if t == "raft_append":
            if core.role == _LEADER:
                k = (core.id, dest, core.group, _key(body))
                self._remember(self._sends, k, (core.term, self.events))
        elif t == "raft_append_ack":
            stepping = self._stepping.get(core.oracle_key)
            if stepping is None or stepping[0] != dest:
                return
            causes = self._sends.get((dest, core.id, core.group, stepping[1]))
            if causes:
                k = (core.id, dest, core.group, _key(body))
                for c in causes:
                    self._remember(self._acks, k, c)

    def read_registered(self, core: Any, origin: str, ctx: Any) -> None:
        self.events += 1
        view = self._view(core)
        if view is None:
            self._violation(core, "read registered by a core that is not leader")
            return
        view.regs.setdefault((origin, _key_of(ctx)), deque()).append(self.events)

    def read_confirmed(self, core: Any, origin: str, ctx: Any, index: int) -> None:
        self.events += 1
        self.reads_confirmed += 1
        view = self._view(core)
        regs = view.regs.get((origin, _key_of(ctx))) if view is not None else None
        if not regs:
            self._violation(core, f"read {ctx!r} of {origin} confirmed but never registered "
                                  f"in term {core.term}")
            return
        registered = regs.popleft()
        answered = sorted(p for p, ev in view.best.items() if ev > registered)
        membership = core.membership  # a majority of every voter set (both, while joint)
        if not membership.has_quorum([core.id] + answered):
            self._violation(core, f"read {ctx!r} of {origin} confirmed at index {index} in term "
                                  f"{core.term} with answers from {[core.id] + answered} only: "
                                  f"a majority of {list(membership.voters)}"
                                  + (f" and of {list(membership.old)}" if membership.old else "")
                                  + " must answer AppendEntries sent this term after the read "
                                  f"arrived (event {registered})")

    def after_input(self, core: Any) -> None:
        """The end of one call into `core`: check its state."""
        self.steps += 1
        self._stepping.pop(core.oracle_key, None)
        node, group, term, commit = core.id, core.group, core.term, core.commit
        last = self._last.get(core.oracle_key)
        if last is not None:
            if term < last[0]:
                self._violation(core, f"term went back from {last[0]} to {term}")
            if commit < last[1]:
                self._violation(core, f"commit went back from {last[1]} to {commit}")
        self._last[core.oracle_key] = (term, commit)
        if core.role == _LEADER:
            holder = self._leaders.setdefault((group, term), node)
            if holder != node:
                self._violation(core, f"two leaders in term {term}: {holder} and {node}")
            view = self._views.get(core.oracle_key)
            if view is None or view.term != term:
                self._views[core.oracle_key] = _LeaderView(term)
        else:
            self._views.pop(core.oracle_key, None)
        checked = self._checked.get(core.oracle_key, 0)
        if commit > checked:
            committed = self._committed.setdefault(group, [None])
            log = core.log
            # Entries compacted into a snapshot (installed from a leader, or restored after a
            # restart) are not in the log to compare: the check resumes after them.
            lo = max(checked, getattr(log, "snapshot_index", 0))
            for i in range(lo + 1, commit + 1):
                entry = (log.term(i), log.data(i))
                if i < len(committed):
                    if committed[i] != entry:
                        self._violation(core, f"committed {entry!r} at index {i}, others "
                                              f"committed {committed[i]!r}")
                        break
                else:
                    committed.append(entry)
            self._checked[core.oracle_key] = commit

    # -- internals -------------------------------------------------------------------------
    def _view(self, core: Any) -> _LeaderView | None:
        if core.role != _LEADER:
            return None
        view = self._views.get(core.oracle_key)
        if view is None or view.term != core.term:
            view = self._views[core.oracle_key] = _LeaderView(core.term)
        return view

    @staticmethod
    def _remember(table: dict, key: tuple, value: tuple) -> None:
        entries = table.get(key)
        if entries is None:
            if len(table) >= _MAX_REMEMBERED:
                del table[next(iter(table))]
            table[key] = [value]
        elif value not in entries:
            entries.append(value)

    def _violation(self, core: Any, what: str) -> None:
        if len(self.violations) >= MAX_VIOLATIONS:
            return
        self.violations.append({
            "node": core.id, "group": core.group, "term": core.term, "event": self.events,
            "what": what,
            "trail": [list(e) for e in self._trail],
        })


def _key_of(ctx: Any) -> Any:
    try:
        hash(ctx)
        return (type(ctx).__name__, ctx)
    except TypeError:
        return orjson.dumps(ctx, option=_SORT)
