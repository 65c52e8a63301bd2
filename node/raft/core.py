"""A sans-IO Raft core for one group: Figure 2 of the Raft paper, plus PreVote and CheckQuorum
(thesis 9.6), ReadIndex (thesis 6.4), fast backtracking, batching and pipelining.

Rules of this module:
- No IO, no clock, no global randomness. Time arrives as the `now` argument of every call; the
  only randomness is the `rng` the caller passes (election timeouts).
- Inputs: `step(now, src, body)` for a message from a peer, `tick(now)` when `next_deadline()`
  is due, `propose(now, data)` and `read_index(now, ctx)` from the local state machine.
- Outputs collect until the caller takes them, in this order of handling:
  `take_persist()` (make durable), `take_messages()` (send only after that is synced),
  `take_committed()` (apply), `take_read_states()` (serve once applied >= index).
- Durability (docs/storage.md; etcd's `Ready`): `take_persist()` returns the records of what
  changed since the last call: entries appended or overwritten, the hard state (term, vote,
  commit, and whether we may vote yet). The driver must have them on disk before it sends any
  message taken in the same turn: a vote is granted, an append acknowledged, a term left only
  once durable. (A leader counts its own log in the commit index before syncing: harmless,
  since the commit reaches nobody, and no client, before the sync.) `restore()` rebuilds a
  core from them after a restart.
- `step` first settles the term (what every role does alike), then hands the message to the
  role's own step function; only the `become_*` methods change role.
- Entry data and read contexts are opaque JSON values; `None` data is the leader's no-op.

Wire messages (bodies; every one carries `group` and `term`):
  raft_prevote / raft_vote        {last_index, last_term, ts}    (prevote term = candidate's term + 1)
  raft_prevote_ok / raft_vote_ok  {granted, ts?}
  raft_append      {prev_index, prev_term, entries: [[term, data]...], commit, seq, ts?, rtt?,
                    reads?, notice?}   (notice: no entries, commit news only, never acknowledged)
  raft_append_ack  {ack_term, seq, success, match | reject, hint_index, hint_term, ts?, props?,
                    reads?}
  raft_forward     {props?, reads?}                               (follower -> leader)
  raft_snapshot    {index, snap_term, config, state, commit, seq, ts?}   (InstallSnapshot,
                    whole: the entries a follower needs are compacted; answered by an ack)
`reads` on raft_append are confirmed [ctx, index] pairs; on the ack/forward, contexts to confirm.
`props` are proposals forwarded to the leader. `ts` is the requester's clock, echoed in the
answer (a round-trip sample); `rtt` is a leader's measured quorum round trip, sent only when it
stretches timeouts (node/raft/round_trips.py).

Quiet groups: a leader idle for `Timing.quiesce_after`, all of whose voters hold its whole log
and commit index, marks its next AppendEntries `quiet`; a follower that gets one stops its
election timer and says so in its ack (`quiet`), and the leader stops heartbeating it (and
CheckQuorum, once every voter is quiet). Any activity wakes the group: a proposal or read at the
leader (normal AppendEntries follow, which restart followers' timers), or at a quiet follower,
which restarts its own timer as it forwards (so a dead quiet leader is found out by the first
request that needs it). Idle groups then cost nothing. Only timers change: no safety rule.

An acknowledgement names the exact message it answers: `ack_term` and `seq` are the term and
sequence number of that AppendEntries (`term` is the sender's own term, as on every message).
A leader's `seq` restarts each term, so an ack is taken only if `ack_term` is the leader's
current term and `seq` is one it sent that follower; anything else (a late answer to an older
term's message, possibly from the same leader) proves nothing about the current term and is
ignored for replication progress, commit, ReadIndex and CheckQuorum alike.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from node.raft import quorum
from node.raft.load import LoadMeter
from node.raft.log import RaftLog
from node.raft.membership import CONFIG_KEY, Membership, config_of
from node.raft.progress import PROBE, REPLICATE, Progress
from node.raft.read_index import ReadIndexQueue
from node.raft.round_trips import RoundTrips
from node.raft.timing import DEFAULT, Timing

__all__ = ["RaftCore", "FOLLOWER", "PRE_CANDIDATE", "CANDIDATE", "LEADER", "MESSAGE_TYPES"]

FOLLOWER = "follower"
PRE_CANDIDATE = "pre-candidate"
CANDIDATE = "candidate"
LEADER = "leader"

MESSAGE_TYPES = frozenset({
    "raft_prevote", "raft_prevote_ok", "raft_vote", "raft_vote_ok",
    "raft_append", "raft_append_ack", "raft_forward", "raft_timeout_now", "raft_snapshot",
})

_INF = float("inf")
_ANSWERS = frozenset({"raft_append_ack", "raft_prevote_ok", "raft_vote_ok"})


class RaftCore:
    """One member of one Raft group. Instantiate once per group a node belongs to."""

    def __init__(self, *, group: Any, node_id: str, voters: list[str], rng: random.Random,
                 now: float, timing: Timing = DEFAULT, learners: list[str] = (),
                 log: Callable[[dict], None] | None = None, joining: bool = False) -> None:
        self.group = group
        self.id = node_id
        # Learners (thesis 4.2.1) receive the log and never vote: no election timer, never in a
        # quorum (commit, ReadIndex, CheckQuorum, votes, round-trip measures). The membership
        # in force is the latest configuration in the log (node/raft/membership.py); this is
        # the one before any: index 0 of `_configs`.
        learners = sorted(set(learners) - set(voters))
        initial = Membership(tuple(sorted(set(voters) | (set() if node_id in learners
                                                        else {node_id}))), tuple(learners))
        self._configs: list[tuple[int, Membership]] = [(0, initial)]
        # A core that joins a running group starts with an empty log (maybe where this node
        # was a member before, and voted then) and catches up from index 1, through older
        # configurations in which it may have been a voter. Until its log reaches the
        # configuration it was given (the group's now), it neither campaigns nor votes; then
        # it votes only in later terms.
        self._joining = joining
        self._set_membership(initial)
        self.timing = timing
        self._rng = rng
        self._log_event = log

        # Figure 2 state (persisted through take_persist(): see the module docstring).
        self.term = 0
        self.voted_for: str | None = None
        self.log = RaftLog()
        self.commit = 0
        # Invariant: applied <= commit.
        self.applied = 0

        self.role = FOLLOWER
        self.lead: str | None = None
        self._election_deadline = _INF
        self._last_leader_contact = -_INF
        self._votes: dict[str, bool] = {}
        self._quiet = False           # follower: our leader went quiet; no election timer
        # Votes are granted only in terms above this (see _joining).
        self._vote_floor = _INF if joining else -1

        # Timeouts that follow the network (node/raft/round_trips.py).
        self._rtts = RoundTrips(timing.rtt_sample_ttl)
        self._leader_rtt = 0.0        # the quorum round trip our leader advertised
        self._resend_timeout = timing.resend_timeout

        # Leader state.
        self._progress: dict[str, Progress] = {}
        self._reads = ReadIndexQueue()
        self._seq = 0                 # sequence number of the last AppendEntries sent this term
        self._active_after_seq = 0    # CheckQuorum: acks of later seqs show a live follower
        self._check_quorum_at = _INF
        self._flush_at = _INF         # when held AppendEntries go out
        self._hb_slack = 0.0          # during tick(): heartbeats due this soon go out now
        self._last_commit_log = -_INF

        # Follower state: proposals and read contexts waiting to go to the leader.
        self._fwd_props: list = []
        self._fwd_reads: list = []
        self._fwd_flush_at = _INF
        self._fwd_sent = 0            # standalone forwards since the last AppendEntries

        # Busy: batch for fewer messages; idle: send eagerly for latency (Timing.busy_rate).
        self._load = LoadMeter()
        self._busy = False

        # Test oracles only (maelstrom/invariants.py): told of every input stepped, message
        # sent, ReadIndex read registered and confirmed, and the end of every call (_after).
        # None in production.
        self.observer: Any = None

        self._messages: list[tuple[str, dict]] = []
        self._read_states: list[tuple[Any, int]] = []
        # The hard state last handed out by take_persist() (None: never).
        self._persisted_hs: tuple | None = None
        # Snapshot: [index, term, config entry, state] of the latest one (ours or installed);
        # records of new ones for take_persist; one installed for the state machine to take.
        self.snapshot: list | None = None
        self._snap_records: list[list] = []
        self._install: tuple[int, Any] | None = None
        # next_deadline(), cached: timers change only inside the public inputs below (step,
        # tick, propose, read_index, become_*), which clear it first thing.
        self._deadline: float | None = None

        self.become_follower(now, 0, None)

    # ----------------------------------------------------------------------------------------
    # Public inputs

    def step(self, now: float, src: str, m: dict) -> None:
        """Handle one Raft message `m` (a body with a type in MESSAGE_TYPES) from peer `src`."""
        self._deadline = None
        if src not in self._peer_set:
            return
        if self.observer is not None:
            self.observer.on_step(self, src, m)
        t = m["type"]
        term = m["term"]
        if t in _ANSWERS and src in self._voter_set:
            ts = m.get("ts")
            if type(ts) is float:
                self._rtts.add(src, now, now - ts)
        if term > self.term:
            if t in ("raft_prevote", "raft_vote") and self._in_lease(now) \
                    and not m.get("transfer"):
                # Thesis 9.6: a node that hears from a live leader ignores would-be leaders,
                # so a partitioned-then-healed node cannot disrupt a working cluster.
                if self.observer is not None:
                    self.observer.after_input(self)
                return
            if t == "raft_prevote" or (t == "raft_prevote_ok" and m["granted"]):
                pass  # a pre-vote carries a future term; it does not move ours
            else:
                self.become_follower(now, term, src if t == "raft_append" else None)
        elif term < self.term:
            if t == "raft_append":
                # A deposed leader: our higher term in the answer makes it step down.
                self._send(src, _echo(m, {"type": "raft_append_ack", "ack_term": term,
                                          "seq": m["seq"], "success": False,
                                          "reject": m["prev_index"], "hint_index": 0,
                                          "hint_term": None}))
            elif t == "raft_prevote":
                self._send(src, _echo(m, {"type": "raft_prevote_ok", "granted": False}))
            if self.observer is not None:
                self.observer.after_input(self)
            return

        if t == "raft_prevote" or t == "raft_vote":
            self._handle_vote_request(now, src, m, t == "raft_prevote")
        elif self.role == LEADER:
            self._step_leader(now, src, m)
        elif self.role == FOLLOWER:
            self._step_follower(now, src, m)
        else:
            self._step_candidate(now, src, m)
        self._after(now)

    def tick(self, now: float, heartbeat_slack: float = 0.0) -> None:
        """Fire every timer due at or before `now`. A leader also sends the heartbeats due
        within `heartbeat_slack`: a node hosting many groups ticks them together, so that
        their heartbeats to one peer leave in one turn and share one envelope."""
        self._deadline = None
        if self.role == LEADER:
            if self._transfer_to is not None:
                self._maybe_timeout_now(now)
            if now >= self._check_quorum_at:
                self._check_quorum(now)
            if self.role == LEADER and not self._quiescing \
                    and now - self._last_activity >= self.timing.quiesce_after \
                    and self._can_quiesce():
                self._quiescing = True
                self._flush_at = now
                self._emit({"event": "quiesce", "term": self.term})
            if self.role == LEADER:
                t = self.timing
                self._hb_slack = heartbeat_slack
                soon = now + heartbeat_slack
                for peer, pr in self._progress.items():
                    if pr.inflight and now >= pr.inflight[0][1] + self._resend_timeout:
                        pr.become_probe()
                        self._flush_at = now
                    elif (pr.voter and not pr.quiet
                          and soon >= pr.last_sent_at + t.heartbeat_interval
                          and pr.window_open(self._max_inflight())):
                        self._flush_at = now
        elif now >= self._election_deadline:
            self.become_pre_candidate(now)
        self._after(now)
        self._hb_slack = 0.0

    def propose(self, now: float, data: Any) -> bool:
        """Propose `data` for the log: appended if we lead, forwarded if we know a leader.

        Returns False (nothing happened) when no leader is known. A forwarded proposal may be
        lost; callers retry, so entry data must make duplicates harmless.
        """
        self._deadline = None
        if self.role == LEADER:
            if self._transfer_to is not None:
                return False  # leadership is being handed over: the new leader takes it
            self._append(now, [data])
        elif self.lead is not None and self.role == FOLLOWER:
            self._wake_follower(now)
            self._load.add(now, len(self.voters))
            self._fwd_props.append(data)
            self._schedule_forward(now)
        else:
            return False
        self._after(now)
        return True

    def read_index(self, now: float, ctx: Any) -> bool:
        """Ask for a read index for context `ctx`; it arrives through take_read_states().

        Returns False when no leader is known. Requests may be lost; callers retry.
        """
        self._deadline = None
        if self.role == LEADER:
            self._register_read(now, self.id, ctx)
        elif self.lead is not None and self.role == FOLLOWER:
            self._wake_follower(now)
            self._load.add(now, len(self.voters))
            self._fwd_reads.append(ctx)
            self._schedule_forward(now)
        else:
            return False
        self._after(now)
        return True

    def change_membership(self, now: float, voters: list[str], learners: list[str] = ()) -> bool:
        """Leader only: start moving the group to `voters` + `learners` (thesis 4.3).

        A change of voters goes through the joint configuration: the leader appends
        C_old,new now and C_new once C_old,new commits. A change of learners alone is one
        entry. Returns False (nothing appended) unless we lead, our no-op has committed, and
        no other change is in flight; the caller retries. A leader not in C_new steps down
        once C_new commits."""
        self._deadline = None
        if self.role != LEADER or self._change_in_flight() or not voters:
            return False
        current = self.membership
        new_voters = tuple(sorted(set(voters)))
        if new_voters == current.voters:
            target = Membership(new_voters, tuple(learners))
        else:
            target = Membership(new_voters, tuple(learners), old=current.voters)
        if target == current:
            return False
        self._append(now, [target.to_entry()])
        self._after(now)
        return True

    def transfer_leadership(self, now: float, target: str) -> bool:
        """Leader only: hand leadership to voter `target` (thesis 3.10). Once its log has caught
        up, it is told to campaign at once (`raft_timeout_now`), and it wins unless a vote
        finds a more up-to-date log. Proposals are refused meanwhile; the transfer is
        abandoned after an election timeout."""
        self._deadline = None
        if self.role != LEADER or target == self.id or target not in self._voter_set:
            return False
        self._activity(now)
        self._transfer_to = target
        self._transfer_until = now + self._timeout_base(now)
        self._maybe_timeout_now(now)
        self._after(now)
        return True

    def campaign_by(self, when: float) -> None:
        """Move our election timer forward to `when` at the latest (a voter only)."""
        self._deadline = None
        if not self.is_learner and self.role != LEADER and when < self._election_deadline:
            self._election_deadline = when

    @property
    def membership_settled(self) -> bool:
        """No configuration change in flight: the latest one is committed and not joint."""
        return not self.membership.joint and self._configs[-1][0] <= self.commit

    def match_of(self, peer: str) -> int | None:
        """Leader: the highest log index known to be on `peer` (None: not a member we track)."""
        pr = self._progress.get(peer)
        return None if pr is None else pr.match

    def next_deadline(self) -> float:
        """Earliest time at which tick() has work."""
        d = self._deadline
        if d is None:
            d = self._deadline = self._compute_deadline()
        return d

    def _compute_deadline(self) -> float:
        if self.role == LEADER:
            t = self.timing
            resend, heartbeat = self._resend_timeout, t.heartbeat_interval
            max_inflight = self._max_inflight()
            d = min(self._check_quorum_at, self._flush_at, self._transfer_until)
            # (Progress.window_open, inlined: this runs after every call into the core.)
            for pr in self._progress.values():
                inflight = pr.inflight
                if inflight:
                    x = inflight[0][1] + resend
                    if x < d:
                        d = x
                if pr.voter and not pr.quiet and ((not inflight) if pr.state == PROBE
                                                  else len(inflight) < max_inflight):
                    # A closed window waits for acks or the resend timeout, not the heartbeat.
                    x = pr.last_sent_at + heartbeat
                    if x < d:
                        d = x
            return d
        d, f = self._election_deadline, self._fwd_flush_at
        return f if f < d else d  # min(d, f)

    # ----------------------------------------------------------------------------------------
    # Public outputs

    def take_messages(self) -> list[tuple[str, dict]]:
        """(dest, body) pairs to send, in order; clears them."""
        out, self._messages = self._messages, []
        return out

    def take_committed(self) -> list[tuple[int, Any]]:
        """(index, data) of entries newly committed, in log order; marks them applied."""
        if self.applied >= self.commit:
            return []
        lo, hi = self.applied + 1, self.commit
        self.applied = hi
        # Configuration entries are the core's own business: the state machine sees None.
        return [(i, None if type(d) is dict and CONFIG_KEY in d else d)
                for i, d in zip(range(lo, hi + 1), self.log.data_range(lo, hi))]

    def hard_state(self) -> tuple:
        """(term, voted_for, commit, joining, vote_floor or None): what must survive a crash
        besides the log."""
        floor = self._vote_floor
        return (self.term, self.voted_for, self.commit, self._joining,
                None if floor == _INF else floor)

    def take_persist(self) -> list[list]:
        """Records of what changed since the last call (docs/storage.md), to be made durable
        before any message taken in the same turn is sent:
        ["e", group, lo, [[term, data]...]]  entries lo.. (replacing any from lo on)
        ["h", group, term, vote, commit, joining, vote_floor]"""
        out, self._snap_records = self._snap_records, []
        log = self.log
        lo = log.dirty_from
        if lo is not None:
            log.dirty_from = None
            lo = max(lo, log.snapshot_index + 1)  # (entries since compacted are in the "s")
            if lo <= log.last_index:
                out.append(["e", self.group, lo, log.entries(lo, log.last_index)])
        hs = self.hard_state()
        if hs != self._persisted_hs:
            self._persisted_hs = hs
            out.append(["h", self.group, *hs])
        return out

    def restore(self, now: float, hard_state: list | tuple, entries: list,
                lo: int = 1, snapshot: list | None = None) -> None:
        """After a restart: take back the persisted hard state, snapshot and log (entries lo..;
        the log is empty before). The state machine takes the snapshot (take_install) and
        replays the entries after it up to `commit`."""
        term, vote, commit, joining, floor = hard_state
        self._deadline = None
        if snapshot is not None:
            self._take_snapshot(snapshot, keep=False)
        self.log.restore_entries(lo, entries)
        self.log.dirty_from = None
        self.term = term
        self.voted_for = vote
        self.commit = max(self.commit, min(commit, self.log.last_index))
        self._joining = bool(joining)
        self._vote_floor = _INF if floor is None else floor
        self._sync_configs(now, lo)
        self._set_membership(self._configs[-1][1], now)
        self._persisted_hs = self.hard_state()
        self.restored = True  # (test oracles: maelstrom/invariants.py)
        self.become_follower(now, term, None)
        self._emit({"event": "restored", "term": term, "vote": vote, "commit": self.commit,
                    "last_index": self.log.last_index, "joining": self._joining})

    def compact(self, index: int, state: Any) -> None:
        """The state machine's `state` after applying entries up to `index` (<= applied):
        forget those entries; followers that need them get the snapshot instead."""
        if index <= self.log.snapshot_index or index > self.applied:
            return
        config = self._config_at(index).to_entry()
        snap = [index, self.log.term(index), config, state]
        self.snapshot = snap
        self.log.compact(index)
        self._snap_records.append(["s", self.group, *snap, True])
        self._emit({"event": "snapshot", "term": self.term, "index": index})

    def take_install(self) -> tuple[int, Any] | None:
        """(index, state) of a snapshot the state machine must load (installed from the
        leader, or restored): then it applies entries from index + 1; clears it."""
        out, self._install = self._install, None
        return out

    def _config_at(self, index: int) -> Membership:
        m = self._configs[0][1]
        for i, c in self._configs:
            if i <= index:
                m = c
        return m

    def _take_snapshot(self, snap: list, keep: bool) -> None:
        """Make `snap` our latest snapshot: the log up to its index is compacted (kept after
        it if `keep`, else emptied) and the state machine must load it."""
        index, term, config, state = snap
        self.snapshot = [index, term, config, state]
        if keep:
            self.log.compact(index)
        else:
            self.log.reset(index, term)
        m = config_of(config)
        configs = self._configs
        del configs[1:]
        if m is not None:
            configs.append((index, m))
        if index > self.commit:
            self.commit = index
        self.applied = index
        self._install = (index, state)

    def take_read_states(self) -> list[tuple[Any, int]]:
        """(ctx, read_index) of confirmed reads of this node; clears them."""
        out, self._read_states = self._read_states, []
        return out

    # ----------------------------------------------------------------------------------------
    # Role changes

    def become_follower(self, now: float, term: int, lead: str | None) -> None:
        self._deadline = None
        changed = term != self.term or self.role != FOLLOWER or lead != self.lead
        if term != self.term:
            self.term = term
            self.voted_for = None
        if lead != self.lead:
            # Forwards queued for another leader are dropped; the caller re-proposes on change.
            self._fwd_props, self._fwd_reads, self._fwd_flush_at = [], [], _INF
            self._fwd_sent = 0
        self.role = FOLLOWER
        self.lead = lead
        self._quiet = False
        if lead is not None:
            self._last_leader_contact = now
        self._reset_leader_state()
        self._reset_election_timer(now)
        if changed:
            self._emit({"event": "role", "role": FOLLOWER, "term": term, "leader": lead,
                        "commit": self.commit, "last_index": self.log.last_index})

    def become_pre_candidate(self, now: float) -> None:
        """Start a pre-vote: ask whether we could win term + 1, without changing our term."""
        self._deadline = None
        self.role = PRE_CANDIDATE
        self.lead = None
        self._fwd_props, self._fwd_reads, self._fwd_flush_at = [], [], _INF
        self._fwd_sent = 0
        self._votes = {self.id: True}
        self._reset_election_timer(now)
        self._emit({"event": "role", "role": PRE_CANDIDATE, "term": self.term,
                    "last_index": self.log.last_index})
        if self.membership.vote_result(self._votes) == quorum.VOTE_WON:
            self.become_candidate(now)
            return
        msg = {"type": "raft_prevote", "term": self.term + 1, "last_index": self.log.last_index,
               "last_term": self.log.last_term, "ts": now}
        for peer in self._voter_peers:
            self._send(peer, msg, term=False)

    def become_candidate(self, now: float, transfer: bool = False) -> None:
        self._deadline = None
        self.role = CANDIDATE
        self.term += 1
        self.voted_for = self.id
        self.lead = None
        self._votes = {self.id: True}
        self._reset_election_timer(now)
        self._emit({"event": "role", "role": CANDIDATE, "term": self.term,
                    "last_index": self.log.last_index})
        if self.membership.vote_result(self._votes) == quorum.VOTE_WON:
            self.become_leader(now)
            return
        msg = {"type": "raft_vote", "last_index": self.log.last_index,
               "last_term": self.log.last_term, "ts": now}
        if transfer:
            msg["transfer"] = True  # voters grant past their lease: the leader asked for it
        for peer in self._voter_peers:
            self._send(peer, msg)

    def become_leader(self, now: float) -> None:
        self._deadline = None
        self.role = LEADER
        self.lead = self.id
        self._election_deadline = _INF
        self._reset_leader_state()
        nxt = self.log.last_index + 1
        self._progress = {p: Progress(nxt, p in self._voter_set) for p in self.peers}
        self._voter_progress = [(p, pr) for p, pr in self._progress.items() if pr.voter]
        self._adapt_leader_timeouts(now)
        self._last_activity = now
        self._check_quorum_at = now + self._timeout_base(now)
        self._emit({"event": "role", "role": LEADER, "term": self.term,
                    "commit": self.commit, "last_index": self.log.last_index})
        # A no-op in the new term lets the leader commit (and learn) everything before it (5.4.2).
        self._append(now, [None])
        self._flush_at = now

    # ----------------------------------------------------------------------------------------
    # Per-role step functions (the term is already settled: m["term"] == self.term, except
    # for granted pre-vote answers, which carry term + 1)

    def _step_follower(self, now: float, src: str, m: dict) -> None:
        if m["type"] == "raft_timeout_now":
            # Our leader hands over leadership: campaign now, no pre-vote, past the lease.
            if src == self.lead and self.id in self._voter_set:
                self._emit({"event": "timeout_now", "term": self.term, "from": src})
                self.become_candidate(now, transfer=True)
            return
        if m["type"] == "raft_append" or m["type"] == "raft_snapshot":
            self.lead = src
            self._last_leader_contact = now
            rtt = m.get("rtt")
            self._leader_rtt = rtt if type(rtt) is float and rtt > 0.0 else 0.0
            self._reset_election_timer(now)
            if m["type"] == "raft_append":
                self._handle_append(now, src, m)
            else:
                self._handle_snapshot(now, src, m)

    def _step_candidate(self, now: float, src: str, m: dict) -> None:
        t = m["type"]
        if t == "raft_append" or t == "raft_snapshot":
            # Someone won this term.
            self.become_follower(now, self.term, src)
            self._step_follower(now, src, m)
        elif src not in self._voter_set:
            return  # a learner's answer counts for nothing
        elif t == "raft_prevote_ok" and self.role == PRE_CANDIDATE:
            if m["term"] != self.term + 1 and m["granted"]:
                return
            self._votes[src] = bool(m["granted"])
            result = self.membership.vote_result(self._votes)
            if result == quorum.VOTE_WON:
                self.become_candidate(now)
            elif result == quorum.VOTE_LOST:
                self.become_follower(now, self.term, None)
        elif t == "raft_vote_ok" and self.role == CANDIDATE:
            self._votes[src] = bool(m["granted"])
            result = self.membership.vote_result(self._votes)
            if result == quorum.VOTE_WON:
                self.become_leader(now)
            elif result == quorum.VOTE_LOST:
                self.become_follower(now, self.term, None)

    def _step_leader(self, now: float, src: str, m: dict) -> None:
        t = m["type"]
        if t == "raft_append_ack":
            self._handle_append_ack(now, src, m)
        elif t == "raft_forward":
            # Not a sign of life for CheckQuorum: a forward answers no message of ours, so it
            # may have been sent any time this term (see _handle_append_ack).
            self._take_forwarded(now, src, m)

    # ----------------------------------------------------------------------------------------
    # Elections

    def _in_lease(self, now: float) -> bool:
        if self.lead is None:
            return False
        return self.role == LEADER or now - self._last_leader_contact < self._timeout_base(now)

    def _handle_vote_request(self, now: float, src: str, m: dict, pre: bool) -> None:
        # Whoever asks, if its log is up to date (thesis 4.2.3: a server votes even for a
        # candidate outside its latest configuration; the candidate counts votes by its own).
        can_vote = m["term"] > self._vote_floor and (
            self.voted_for == src
            or (self.voted_for is None and self.lead is None)
            or (pre and m["term"] > self.term))
        granted = can_vote and self.log.is_up_to_date(m["last_index"], m["last_term"])
        if pre:
            # A granted pre-vote answers in the asked term; a refusal in ours.
            reply = {"type": "raft_prevote_ok", "term": m["term"] if granted else self.term,
                     "granted": granted}
            self._send(src, _echo(m, reply), term=False)
            return
        if granted:
            self.voted_for = src
            self._reset_election_timer(now)
        self._send(src, _echo(m, {"type": "raft_vote_ok", "granted": granted}))

    def _timeout_base(self, now: float) -> float:
        """Election timeout base, lease window and CheckQuorum period: Timing.election_timeout,
        or more on a network whose quorum round trip (ours or our leader's) is slow."""
        t = self.timing
        rtt = self._rtts.quorum_rtt(len(self.voters), now)
        if self._leader_rtt > rtt:
            rtt = self._leader_rtt
        base = t.rtt_timeout_factor * rtt
        if base <= t.election_timeout:
            return t.election_timeout
        return base if base < t.max_election_timeout else t.max_election_timeout

    def _reset_election_timer(self, now: float) -> None:
        if self.is_learner:
            self._election_deadline = _INF  # a learner never campaigns
            return
        et = self._timeout_base(now)
        self._election_deadline = now + et + self._rng.random() * et

    def _adapt_leader_timeouts(self, now: float) -> None:
        """A leader's resend timeout and advertised round trip, from its measurements."""
        t = self.timing
        rtt = self._rtts.quorum_rtt(len(self.voters), now)
        self._resend_timeout = max(t.resend_timeout, 1.5 * rtt)
        # Followers need our measure only when it stretches their timeouts.
        self._advertised_rtt = rtt if t.rtt_timeout_factor * rtt > t.election_timeout else 0.0
        self._slow_inflight = min(int(rtt / t.heartbeat_interval), t.max_slow_inflight) \
            if self._advertised_rtt else 0

    def _check_quorum(self, now: float) -> None:
        active = [p for p, pr in self._voter_progress if pr.recent_active]
        active.append(self.id)
        if not self.membership.has_quorum(active):
            self._emit({"event": "check_quorum_failed", "term": self.term,
                        "active": len(active)})
            self.become_follower(now, self.term, None)
            return
        for pr in self._progress.values():
            pr.recent_active = False
        self._adapt_leader_timeouts(now)
        self._check_quorum_at = now + self._timeout_base(now)
        # Only answers to messages sent from now on show a follower active in the next period.
        self._active_after_seq = self._seq

    # ----------------------------------------------------------------------------------------
    # Replication, follower side

    def _handle_append(self, now: float, src: str, m: dict) -> None:
        prev_index = m["prev_index"]
        prev_term = m["prev_term"]
        entries = m["entries"]
        if prev_index < self.commit:
            # A late (pipelined or duplicated) message: everything up to commit matches already.
            skip = self.commit - prev_index
            entries = entries[skip:]
            prev_index = self.commit
            prev_term = self.log.term(prev_index)
        if m.get("notice"):
            # Commit news (and reads) only: entries up to prev_index match the leader's, so
            # its commit applies up to there. Never acknowledged.
            if self.log.matches(prev_index, prev_term):
                new_commit = min(m["commit"], prev_index)
                if new_commit > self.commit:
                    self.commit = new_commit
                    self._maybe_log_commit(now)
            for ctx, index in m.get("reads") or ():
                self._read_states.append((ctx, index))
            if self._quiet:
                self._election_deadline = _INF  # (a notice does not wake a quiet follower)
            return
        ack: dict[str, Any] = {"type": "raft_append_ack", "ack_term": m["term"], "seq": m["seq"]}
        if m.get("quiet") is True:
            self._quiet = True        # the leader goes quiet: so do we (no election timer)
            self._election_deadline = _INF
            ack["quiet"] = True
        elif self._quiet:
            self._quiet = False       # (our timer was reset by _step_follower)
        ts = m.get("ts")
        if ts is not None:
            ack["ts"] = ts
        if self.log.matches(prev_index, prev_term):
            last_new = self.log.append_after(prev_index, entries, self.commit)
            if entries:
                self._sync_configs(now, prev_index + 1)
            leader_commit = m["commit"]
            if leader_commit > self.commit:
                new_commit = min(leader_commit, last_new)
                if new_commit > self.commit:
                    self.commit = new_commit
                    self._maybe_log_commit(now)
            ack["success"] = True
            ack["match"] = last_new
        else:
            hint_index, hint_term = self.log.conflict_hint(prev_index, self.commit)
            ack["success"] = False
            ack["reject"] = prev_index
            ack["hint_index"] = hint_index
            ack["hint_term"] = hint_term
        reads = m.get("reads")
        if reads:
            for ctx, index in reads:
                self._read_states.append((ctx, index))
        # Forwarded proposals and reads ride on the ack when there are any.
        if self._fwd_props:
            ack["props"] = self._fwd_props
            self._fwd_props = []
        if self._fwd_reads:
            ack["reads"] = self._fwd_reads
            self._fwd_reads = []
        self._fwd_flush_at = _INF
        self._fwd_sent = 0
        self._send(src, ack)

    def _handle_snapshot(self, now: float, src: str, m: dict) -> None:
        """InstallSnapshot: the leader compacted entries we lack."""
        index, term = m["index"], m["snap_term"]
        if index > self.commit:
            keep = self.log.matches(index, term)
            self._take_snapshot([index, term, m["config"], m["state"]], keep)
            self._snap_records.append(["s", self.group, index, term, m["config"], m["state"],
                                       keep])
            self._sync_configs(now, index + 1)
            if not keep:
                self._set_membership(self._configs[-1][1], now)
            self._emit({"event": "snapshot_installed", "term": self.term, "index": index,
                        "from": src})
        ack = _echo(m, {"type": "raft_append_ack", "ack_term": m["term"], "seq": m["seq"],
                        "success": True, "match": self.commit})
        # (commit >= index now: every entry up to our commit matches the leader's log)
        self._send(src, ack)

    def _schedule_forward(self, now: float) -> None:
        t = self.timing
        self._busy = self._load.rate(now) >= t.busy_rate
        if self._fwd_sent >= (t.forward_window if self._busy else t.idle_forward_window):
            at = now + t.forward_max_hold  # normally the ack to the next AppendEntries carries it
        else:
            at = now + t.forward_flush_delay
        if at < self._fwd_flush_at:
            self._fwd_flush_at = at

    def _flush_forwards(self) -> None:
        self._fwd_flush_at = _INF
        if self.lead is None or self.role != FOLLOWER or not (self._fwd_props or self._fwd_reads):
            self._fwd_props, self._fwd_reads = [], []
            return
        msg: dict[str, Any] = {"type": "raft_forward"}
        if self._fwd_props:
            msg["props"] = self._fwd_props
            self._fwd_props = []
        if self._fwd_reads:
            msg["reads"] = self._fwd_reads
            self._fwd_reads = []
        self._fwd_sent += 1
        self._send(self.lead, msg)

    # ----------------------------------------------------------------------------------------
    # Replication, leader side

    def _reset_leader_state(self) -> None:
        self._progress = {}
        self._voter_progress: list[tuple[str, Progress]] = []  # the voters' _progress items
        self._reads.clear()
        self._seq = 0
        self._quiescing = False       # we told (or are telling) our followers we go quiet
        self._last_activity = -_INF   # (set when we take office)
        self._transfer_to: str | None = None  # leadership being handed to this voter
        self._transfer_until = _INF
        self._active_after_seq = 0    # acks of later seqs count as activity for CheckQuorum
        self._advertised_rtt = 0.0    # our quorum round trip, told to followers when slow
        self._slow_inflight = 0       # in-flight window on a slow network (_max_inflight)
        self._check_quorum_at = _INF
        self._flush_at = _INF

    def _append(self, now: float, items: list) -> None:
        self._activity(now)
        self._load.add(now, len(items))
        log = self.log
        for data in items:
            index = log.append(self.term, data)
            if type(data) is dict and CONFIG_KEY in data:
                m = config_of(data)
                if m is not None:  # in force from the moment it is in the log
                    self._configs.append((index, m))
                    self._set_membership(m, now)
        self._maybe_commit(now)
        self._schedule_flush(now)

    def _schedule_flush(self, now: float) -> None:
        at = now + self.timing.append_flush_delay
        if at < self._flush_at:
            self._flush_at = at

    def _take_forwarded(self, now: float, src: str, m: dict) -> None:
        props = m.get("props")
        if props:
            self._append(now, props)
            pr = self._progress.get(src)  # (appending may have changed the membership)
            if pr is not None:
                pr.owed = self.log.last_index
        reads = m.get("reads")
        if reads:
            for ctx in reads:
                self._register_read(now, src, ctx)

    def _handle_append_ack(self, now: float, src: str, m: dict) -> None:
        pr = self._progress[src]
        seq = m["seq"]
        if not self._answers_this_term(pr, m):
            # Forwarded requests riding on it are still requests to us (their sender is in
            # our term), but the ack itself proves nothing about this term.
            self._take_forwarded(now, src, m)
            return
        if seq > self._active_after_seq:
            pr.recent_active = True
        pr.ack(seq)
        if self._quiescing and m.get("quiet") is True and not pr.quiet:
            pr.quiet = True
            if all(p.quiet for _, p in self._voter_progress):
                self._check_quorum_at = _INF  # nobody heartbeats: nothing to check
        if m["success"]:
            match = m["match"]
            if match > pr.match:
                pr.match = match
                self._maybe_commit(now)
            if pr.state == PROBE:
                pr.become_replicate()
            elif pr.next <= pr.match:
                pr.next = pr.match + 1
        else:
            rejected = m["reject"]
            stale = rejected <= pr.match if pr.state == REPLICATE else rejected != pr.next - 1
            if not stale:
                hint_term = m["hint_term"]
                nxt = m["hint_index"]
                if hint_term is not None:
                    found = self.log.last_index_of_term(hint_term, rejected)
                    if found:
                        nxt = found + 1
                pr.become_probe()
                pr.next = max(pr.match + 1, min(nxt, rejected))
        if self.role != LEADER:
            # The commit above took C_new, which leaves us out: we stepped down. Forwarded
            # requests riding on the ack are dropped (their origins retry with the next leader).
            return
        self._take_forwarded(now, src, m)
        self._confirm_reads(now)
        self._schedule_flush(now)
        if self._transfer_to == src:
            self._maybe_timeout_now(now)

    def _can_quiesce(self) -> bool:
        """Nothing in flight: every voter holds our whole log and knows our commit index."""
        if self._reads or self._transfer_to is not None or not self.membership_settled:
            return False
        last = self.log.last_index
        return all(pr.match == last and pr.sent_commit >= self.commit and not pr.inflight
                   for _, pr in self._voter_progress)

    def _activity(self, now: float) -> None:
        """Leader: something to do. A quiet group wakes: heartbeats and CheckQuorum resume
        (with a fresh period: silence while quiet was no sign of trouble)."""
        self._last_activity = now
        if self._quiescing:
            self._quiescing = False
            for pr in self._progress.values():
                pr.quiet = False
            self._check_quorum_at = now + self._timeout_base(now)
            self._active_after_seq = self._seq
            self._flush_at = min(self._flush_at, now)
            self._emit({"event": "wake", "term": self.term})

    def reprobe(self, now: float, peer: str) -> None:
        """Leader: `peer` was started again (gossip saw a new incarnation of it). Learn where
        its log stands now: learners get no idle heartbeats and a quiet group none at all, so
        without this a restarted member could wait for the next entry to be found out."""
        pr = self._progress.get(peer)
        if self.role != LEADER or pr is None:
            return
        pr.become_probe()
        self._flush_at = min(self._flush_at, now)

    def _wake_follower(self, now: float) -> None:
        """A request at a quiet follower: run our election timer again, so that if the leader
        is gone, we find out (its next AppendEntries resets the timer as usual)."""
        if self._quiet:
            self._quiet = False
            self._reset_election_timer(now)

    def _maybe_timeout_now(self, now: float) -> None:
        target = self._transfer_to
        if target is None:
            return
        pr = self._progress.get(target)
        if now >= self._transfer_until or pr is None:
            self._emit({"event": "transfer_abandoned", "term": self.term, "to": target})
            self._transfer_to = None
            return
        if pr.match == self.log.last_index:
            self._send(target, {"type": "raft_timeout_now"})

    def _answers_this_term(self, pr: Progress, m: dict) -> bool:
        """Whether ack `m` answers an AppendEntries we sent this follower in this term.

        Our seq restarts each term, so a late answer to an older term's message (even one of
        ours, from when we led before) can carry a seq we use again now: only `ack_term`, the
        term of the message answered, tells them apart."""
        return m.get("ack_term") == self.term and 0 < m["seq"] <= pr.sent_seq

    def _maybe_commit(self, now: float) -> None:
        m = self.membership
        if m.old is None:  # the usual case, inlined: this runs on every ack
            matches = [pr.match for _, pr in self._voter_progress]
            if self.id in self._voter_set:
                matches.append(self.log.last_index)
            index = quorum.quorum_value(matches, len(m.voters))
        else:
            values = {p: pr.match for p, pr in self._voter_progress}
            values[self.id] = self.log.last_index
            index = m.quorum_value(values)
        # 5.4.2: only entries of the current term are committed by counting replicas.
        if index > self.commit and self.log.term(index) == self.term:
            self.commit = index
            self._maybe_log_commit(now)
            self._confirm_reads(now)
            if self._configs[-1][0] <= index and len(self._configs) > 1:
                self._config_committed(now)

    def _config_committed(self, now: float) -> None:
        """The latest configuration is committed: finish a joint change, or step down if a
        change left us out of the voters."""
        m = self.membership
        if m.joint:
            self._append(now, [Membership(m.voters, m.learners).to_entry()])
        elif self.id not in m.voters and self.role == LEADER:
            self._emit({"event": "removed_leader_steps_down", "term": self.term})
            self.become_follower(now, self.term, None)

    def _change_in_flight(self) -> bool:
        """A configuration change is not finished (or we cannot know yet: our no-op has not
        committed, so an earlier leader's change may still be in flight)."""
        return (self._configs[-1][0] > self.commit or self.membership.joint
                or self.log.term(self.commit) != self.term)

    def _sync_configs(self, now: float, lo: int) -> None:
        """Entries from `lo` on may have changed (a follower's log): the membership in force
        is again the latest configuration in the log."""
        configs = self._configs
        log = self.log
        while len(configs) > 1 and (configs[-1][0] >= lo or configs[-1][0] > log.last_index):
            configs.pop()
        for i in range(lo, log.last_index + 1):
            d = log.data(i)
            if type(d) is dict and CONFIG_KEY in d:
                m = config_of(d)
                if m is not None:
                    configs.append((i, m))
        if self._joining and len(configs) > 1 and configs[-1][1] == configs[0][1]:
            # Our log has reached the configuration we were given: caught up with the group.
            self._joining = False
            self._vote_floor = self.term
            self._emit({"event": "joined", "term": self.term})
            self._set_membership(configs[-1][1], now)
        elif configs[-1][1] != self.membership:
            self._set_membership(configs[-1][1], now)

    def _set_membership(self, m: Membership, now: float | None = None) -> None:
        self.membership = m
        self.voters = list(m.all_voters)
        self.learners = list(m.learners)
        # Learners, nodes a change removed, and joining nodes never campaign.
        self.is_learner = self.id not in m.all_voters or self._joining
        self.peers = [n for n in m.members if n != self.id]
        self._peer_set = frozenset(self.peers)
        self._voter_peers = [v for v in self.voters if v != self.id]
        self._voter_set = frozenset(self.voters)
        if now is None:
            return  # (construction)
        self._deadline = None
        self._emit({"event": "membership", "term": self.term, "voters": list(m.voters),
                    "learners": list(m.learners), "old": list(m.old) if m.old else None})
        if self.role == LEADER:
            nxt = self.log.last_index + 1
            for p in self.peers:
                if p not in self._progress:
                    self._progress[p] = Progress(nxt, False)
            for p in [p for p in self._progress if p not in self._peer_set]:
                del self._progress[p]
            for p, pr in self._progress.items():
                pr.voter = p in self._voter_set
            self._voter_progress = [(p, pr) for p, pr in self._progress.items() if pr.voter]
            if self._transfer_to is not None and self._transfer_to not in self._voter_set:
                self._transfer_to = None
        elif self.is_learner:
            self._election_deadline = _INF
        elif self._election_deadline == _INF:
            self._reset_election_timer(now)

    def _register_read(self, now: float, origin: str, ctx: Any) -> None:
        # The next AppendEntries to go out carries seq + 1: acks of it prove we still lead.
        self._activity(now)
        self._load.add(now)
        self._reads.add(self._seq + 1, origin, ctx)
        if self.observer is not None:
            self.observer.read_registered(self, origin, ctx)
        self._confirm_reads(now)
        self._schedule_flush(now)

    def _confirm_reads(self, now: float) -> None:
        if not self._reads or self.log.term(self.commit) != self.term:
            return  # not before our no-op commits: only then is our commit index current
        # The leader itself acknowledges everything it sends.
        values = {p: pr.acked_seq for p, pr in self._voter_progress}
        values[self.id] = _INF
        q = self.membership.quorum_value(values)
        for origin, ctx in self._reads.confirm(q):
            if self.observer is not None:
                self.observer.read_confirmed(self, origin, ctx, self.commit)
            if origin == self.id:
                self._read_states.append((ctx, self.commit))
            else:
                pr = self._progress.get(origin)
                if pr is not None:
                    pr.read_states.append([ctx, self.commit])
                    self._schedule_flush(now)

    def _needs_send(self, now: float, pr: Progress) -> bool:
        if pr.next <= self.log.last_index or pr.sent_commit < self.commit or pr.read_states:
            return True
        if pr.sent_seq < self._reads.highest_seq:
            return True
        if pr.state == PROBE:
            return True  # learn where the follower stands
        if not pr.voter or pr.quiet:
            return False  # learners and quiet followers have no election timer to reset
        # Same expression as next_deadline(): (a + b) - a >= b can fail in floating point.
        return now + self._hb_slack >= pr.last_sent_at + self.timing.heartbeat_interval

    def _flush(self, now: float) -> None:
        self._flush_at = _INF
        max_inflight = self._max_inflight()
        commit = self.commit
        gap = 0.0
        if self._busy:
            t = self.timing
            gap = min(t.busy_round_ops / max(self._load.rate(now), 1.0), t.max_append_gap)
        for peer, pr in self._progress.items():
            if pr.window_open(max_inflight):
                if not self._needs_send(now, pr):
                    continue
                if pr.state == REPLICATE and now < pr.last_sent_at + gap:
                    # Busy: let this follower's next round gather more (Timing.busy_round_ops).
                    self._flush_at = min(self._flush_at, pr.last_sent_at + gap)
                    continue
            elif pr.state == REPLICATE and pr.urgent(min(commit, pr.match)) \
                    and pr.match >= self.log.snapshot_index:  # (else no term to anchor on)
                # The window is closed but this follower's clients wait on news we hold:
                # send it as a notice, which needs no ack and so costs one message.
                self._send_notice(peer, pr)
                continue
            else:
                continue
            self._send_append(now, peer, pr)

    def _send_notice(self, peer: str, pr: Progress) -> None:
        """An AppendEntries without entries, anchored at the follower's known match, carrying
        commit news and confirmed reads. Not acknowledged, not in flight, no new seq."""
        msg: dict[str, Any] = {"type": "raft_append", "prev_index": pr.match,
                               "prev_term": self.log.term(pr.match), "entries": [],
                               "commit": self.commit, "seq": 0, "notice": True}
        if self._advertised_rtt:
            msg["rtt"] = self._advertised_rtt
        if pr.read_states:
            msg["reads"] = pr.read_states
            pr.read_states = []
        # The follower can apply the commit only up to where its log is known to match.
        pr.sent_commit = max(pr.sent_commit, min(self.commit, pr.match))
        self._send(peer, msg)

    def _send_snapshot(self, now: float, peer: str, pr: Progress) -> None:
        index, term, config, state = self.snapshot
        self._seq += 1
        msg: dict[str, Any] = {"type": "raft_snapshot", "index": index, "snap_term": term,
                               "config": config, "state": state, "commit": self.commit,
                               "seq": self._seq, "ts": now}
        pr.become_probe()
        pr.next = index + 1
        pr.inflight.append((self._seq, now))
        pr.sent_seq = self._seq
        pr.last_sent_at = now
        self._send(peer, msg)

    def _send_append(self, now: float, peer: str, pr: Progress) -> None:
        log = self.log
        prev = pr.next - 1
        if prev < log.snapshot_index and self.snapshot is not None:
            self._send_snapshot(now, peer, pr)
            return
        hi = min(log.last_index, prev + self.timing.max_batch_entries)
        entries = log.entries(pr.next, hi) if hi >= pr.next else []
        self._seq += 1
        msg: dict[str, Any] = {"type": "raft_append", "prev_index": prev, "prev_term": log.term(prev),
                               "entries": entries, "commit": self.commit, "seq": self._seq,
                               "ts": now}
        if self._advertised_rtt:
            msg["rtt"] = self._advertised_rtt
        if self._quiescing:
            msg["quiet"] = True
        if pr.read_states:
            msg["reads"] = pr.read_states
            pr.read_states = []
        if entries and pr.state == REPLICATE:
            pr.next = hi + 1  # optimistic: pipelining sends the next batch before this is acked
        pr.inflight.append((self._seq, now))
        pr.sent_seq = self._seq
        pr.sent_commit = self.commit
        pr.last_sent_at = now
        self._send(peer, msg)

    # ----------------------------------------------------------------------------------------
    # Plumbing

    def _max_inflight(self) -> int:
        t = self.timing
        n = t.max_inflight if self._busy else t.idle_max_inflight
        # A slow network: keep about a round trip's worth of heartbeats in flight, so that a
        # read registered now goes out with the next heartbeat, not after the last one's ack.
        return n if self._slow_inflight < n else self._slow_inflight

    def _after(self, now: float) -> None:
        """End of every public call: release held messages that are due."""
        self._busy = self._load.rate(now) >= self.timing.busy_rate
        if self.role == LEADER:
            if now >= self._flush_at:
                self._flush(now)
        elif now >= self._fwd_flush_at:
            self._flush_forwards()
        if self.observer is not None:
            self.observer.after_input(self)

    def _send(self, dest: str, body: dict, term: bool = True) -> None:
        body["group"] = self.group
        if term:
            body["term"] = self.term
        self._messages.append((dest, body))
        if self.observer is not None:
            self.observer.on_send(self, dest, body)

    def _maybe_log_commit(self, now: float) -> None:
        # Commit advances thousands of times a second under load: log it at most twice a second.
        if now - self._last_commit_log >= 0.5:
            self._last_commit_log = now
            self._emit({"event": "commit", "term": self.term, "commit": self.commit,
                        "role": self.role})

    def _emit(self, event: dict) -> None:
        if self._log_event is not None:
            event["group"] = self.group
            self._log_event(event)


def _echo(request: dict, answer: dict) -> dict:
    """`answer` with the requester's clock from `request` echoed (a round-trip sample)."""
    ts = request.get("ts")
    if ts is not None:
        answer["ts"] = ts
    return answer
