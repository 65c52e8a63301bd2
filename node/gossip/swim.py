"""A sans-IO SWIM member with Lifeguard's refinements, as HashiCorp memberlist has them.

Rules of this module:
- No IO, no clock, no global randomness: time arrives as `now`, randomness from the `rng` the
  caller passes (probe order, intermediaries, push-pull partners).
- Inputs: `step(now, src, body)` for a `gossip_*` message, `tick(now)` when `next_deadline()`
  is due, `set_local_state(dict)` for this member's soft state. Outputs: `take_messages()`.
  Nothing is sent before the first `tick`.
- Anything a peer sends is checked before use; a malformed message or update is dropped with a
  `gossip_bad_message` event and never raises. Misuse of the API (oversized soft state) raises.

State rules (SWIM 4.2 and memberlist). Each member's view of member m is (state, incarnation);
an update (s, i) replaces the view (s0, i0) iff i > i0, or i == i0 and s outranks s0 in
alive < suspect < dead. Hence: suspect(i) overrides alive(i) but not alive(i + 1); a member's
refutation alive(i + 1) beats suspect(i); dead(i) is final for incarnation i (only i + 1 or
more brings the member back, e.g. after a restart); stale updates change nothing.
Incarnations only grow. Only m itself raises its incarnation: when it hears any claim that it
is suspect or dead at its incarnation or above (or an alive claim above it, from an earlier
life) it refutes with alive(claim + 1). A member never holds itself suspect or dead.
Soft state rides on alive updates with a version: at the same incarnation, a higher version
replaces the soft state and changes nothing else.

Wire messages (bodies). `updates` = piggybacked updates, at most max_updates_per_message:
  gossip_ping     {seq, updates}            probe; answered by an ack to the sender
  gossip_ack      {seq, updates}            answer to a ping (relayed by an intermediary)
  gossip_ping_req {seq, target, wait,       ask an intermediary to ping target for us, and to
                   updates}                 nack if target has not answered within wait seconds
  gossip_nack     {seq, updates}            intermediary: target did not answer in time
  gossip_push     {updates}                 one-way: membership news on the gossip timer
  gossip_sync     {entries, reply}          full state (chunks of sync_chunk entries); reply:
                                            answer with yours (join, push-pull)
An update is ["alive", member, incarnation, version, soft?] or ["suspect" | "dead", member,
incarnation, accuser]; soft (a JSON object) is left out when empty.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any, Callable

from node.gossip.awareness import Awareness
from node.gossip.broadcasts import Broadcasts
from node.gossip.suspicion import Suspicion, suspicion_bounds
from node.gossip.timing import DEFAULT, Timing

__all__ = ["Swim", "ALIVE", "SUSPECT", "DEAD", "MESSAGE_TYPES", "supersedes"]

ALIVE = "alive"
SUSPECT = "suspect"
DEAD = "dead"
_RANK = {ALIVE: 0, SUSPECT: 1, DEAD: 2}

PING = "gossip_ping"
ACK = "gossip_ack"
PING_REQ = "gossip_ping_req"
NACK = "gossip_nack"
PUSH = "gossip_push"
SYNC = "gossip_sync"
MESSAGE_TYPES = frozenset({PING, ACK, PING_REQ, NACK, PUSH, SYNC})

_INF = float("inf")


def supersedes(state: str, inc: int, old_state: str, old_inc: int) -> bool:
    """Whether an update (state, inc) replaces the view (old_state, old_inc)."""
    return inc > old_inc or (inc == old_inc and _RANK[state] > _RANK[old_state])


@dataclass(slots=True)
class Member:
    state: str
    incarnation: int
    version: int = 0          # soft-state version, ordered within one incarnation
    soft: dict | None = None


@dataclass(slots=True)
class _Probe:
    target: str
    seq: int
    indirect_at: float        # direct ack missed by then: ping-req through k others
    end: float                # end of this protocol period: no ack by then -> suspect
    acked: bool = False
    indirect_sent: bool = False
    expected_nacks: int = 0
    nacks: int = 0


@dataclass(slots=True)
class _Relay:                 # a ping we send for another member's ping-req
    requester: str
    seq: int                  # the requester's sequence number
    nack_at: float
    expires: float
    nacked: bool = False


def _valid_update(u: Any) -> bool:
    if type(u) is not list or not 4 <= len(u) <= 5:
        return False
    state, node, inc, extra = u[0], u[1], u[2], u[3]
    if type(state) is not str or state not in _RANK or type(node) is not str \
            or type(inc) is not int or inc < 0:
        return False
    if state == ALIVE:
        return type(extra) is int and extra >= 0 and (len(u) == 4 or type(u[4]) is dict)
    return type(extra) is str and len(u) == 4


class Swim:
    """One member of a SWIM group. `members()` includes this member, always alive."""

    def __init__(self, node_id: str, seeds: list[str], rng: random.Random, now: float,
                 timing: Timing = DEFAULT, log: Callable[[dict], None] | None = None,
                 incarnation: int = 0) -> None:
        self.id = node_id
        self.timing = timing
        self._rng = rng
        self._log_event = log
        self._members: dict[str, Member] = {node_id: Member(ALIVE, incarnation, 0, None)}
        self._live = 1                          # members not known dead, this one included
        self._awareness = Awareness(timing.awareness_max)
        self._broadcasts = Broadcasts()
        self._suspicions: dict[str, Suspicion] = {}
        self._out: list[tuple[str, dict]] = []
        self._seq = 0
        self._order: list[str] = []             # probe order: a shuffled round of members
        self._order_index = 0
        self._probe: _Probe | None = None
        self._probe_at = now + rng.uniform(0.0, timing.probe_interval)  # stagger members
        self._relays: dict[int, _Relay] = {}
        self._seeds = [s for s in dict.fromkeys(seeds) if s != node_id]
        self._joined = not self._seeds
        self._join_at = now
        self._push_pull_at = (now + rng.uniform(0.5, 1.5) * timing.push_pull_interval
                              if timing.push_pull_interval > 0 else _INF)
        self._reconnect_at = (now + rng.uniform(0.0, timing.reconnect_interval)
                              if timing.reconnect_interval > 0 else _INF)
        self._gossip_at = now + rng.uniform(0.0, timing.gossip_interval)
        self._soft_pending: dict | None = None
        self._soft_at = now
        self._behind = False    # the message being handled holds an outdated view of us
        self._broadcasts.put(self._entry(node_id))    # announce ourselves

    # --- queries -------------------------------------------------------------------------

    @property
    def incarnation(self) -> int:
        return self._members[self.id].incarnation

    @property
    def awareness(self) -> int:
        """Lifeguard's local health score: 0 healthy .. awareness_max - 1."""
        return self._awareness.score

    def members(self) -> dict[str, tuple[str, int]]:
        """Every member known, this one included: {member: (state, incarnation)}."""
        return {n: (m.state, m.incarnation) for n, m in self._members.items()}

    def alive(self) -> list[str]:
        return sorted(n for n, m in self._members.items() if m.state == ALIVE)

    def suspect(self) -> list[str]:
        return sorted(n for n, m in self._members.items() if m.state == SUSPECT)

    def dead(self) -> list[str]:
        return sorted(n for n, m in self._members.items() if m.state == DEAD)

    def soft_state(self, node: str) -> dict | None:
        """The latest soft state `node` announced that reached us (ours: the latest set)."""
        m = self._members.get(node)
        return None if m is None else m.soft

    def pending_updates(self) -> dict[str, tuple[list, int]]:
        """Updates still to be piggybacked: {member: (update, times sent)}."""
        return self._broadcasts.pending()

    def retransmit_limit(self) -> int:
        return self.timing.retransmit_mult * max(1, math.ceil(math.log10(self._live + 1)))

    # --- inputs --------------------------------------------------------------------------

    def set_local_state(self, state: dict) -> None:
        """This member's soft state, gossiped with its alive updates (at most one new version
        per soft_state_interval). Raises ValueError if it is not a JSON object or too big."""
        if type(state) is not dict:
            raise ValueError("soft state must be a dict")
        try:
            text = json.dumps(state, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"soft state is not JSON: {exc}") from None
        if len(text.encode()) > self.timing.max_soft_state_bytes:
            raise ValueError(f"soft state is {len(text)} bytes, more than "
                             f"max_soft_state_bytes ({self.timing.max_soft_state_bytes})")
        copy = json.loads(text)
        me = self._members[self.id]
        self._soft_pending = None if copy == (me.soft or {}) else copy

    def step(self, now: float, src: str, body: dict) -> None:
        """Handle one `gossip_*` message from `src`."""
        kind = body.get("type") if type(body) is dict else None
        if type(kind) is not str or kind not in MESSAGE_TYPES or type(src) is not str:
            return self._bad(src, "type")
        if kind == SYNC:
            entries = body.get("entries")
            if type(entries) is not list:
                return self._bad(src, "entries")
            self._behind = False
            for e in entries:
                self._apply(now, e, src, sync=True)
            if body.get("reply") is True:
                self._send_state(src, reply=False)
            elif self._behind:
                self._out.append((src, {"type": PUSH, "updates": [self._entry(self.id)]}))
            self._joined = True
            return
        seq, updates = body.get("seq", 0 if kind == PUSH else None), body.get("updates", [])
        if type(seq) is not int or type(updates) is not list:
            return self._bad(src, "seq/updates")
        if kind == PING_REQ:
            wait = body.get("wait")
            if type(body.get("target")) is not str or type(wait) not in (int, float) \
                    or not 0 <= wait <= self.timing.probe_interval * self.timing.awareness_max:
                return self._bad(src, "target/wait")
        self._behind = False
        for u in updates:
            self._apply(now, u, src)
        # The sender still suspects (or buried) an incarnation of ours we have already refuted,
        # and the refutation may have finished spreading: tell it our current one directly.
        mine = [self._entry(self.id)] if self._behind else []
        if kind == PING:
            # Buddy on the way back: if we think the pinger suspect or dead, say so first.
            return self._send(src, {"type": ACK, "seq": seq}, self._claim(src) + mine)
        if mine:
            self._out.append((src, {"type": PUSH, "updates": mine}))
        if kind == ACK:
            self._on_ack(now, seq)
        elif kind == NACK:
            p = self._probe
            if p is not None and p.seq == seq and p.indirect_sent:
                p.nacks += 1
        elif kind == PING_REQ:
            target = body["target"]
            if target == self.id:     # asked to ping ourselves: we are evidently up
                return self._send(src, {"type": ACK, "seq": seq})
            own = self._next_seq()
            t = self.timing
            self._relays[own] = _Relay(src, seq, now + body["wait"],
                                       now + max(body["wait"] * 2, t.probe_interval))
            self._send(target, {"type": PING, "seq": own}, self._claim(target))

    def tick(self, now: float) -> None:
        """Fire every timer due at or before `now`."""
        t = self.timing
        p = self._probe
        if p is not None:
            if not p.acked and not p.indirect_sent and now >= p.indirect_at:
                self._ping_req(now, p)
            if now >= p.end:
                self._end_probe(now, p)
        if self._probe is None and now >= self._probe_at:
            self._start_probe(now)
        if self._suspicions:
            for node in [n for n, s in self._suspicions.items() if s.deadline <= now]:
                self._declare_dead(now, node)
        if self._relays:
            for seq, r in list(self._relays.items()):
                if not r.nacked and now >= r.nack_at:
                    r.nacked = True
                    self._send(r.requester, {"type": NACK, "seq": r.seq})
                if now >= r.expires:
                    del self._relays[seq]
        if not self._joined and now >= self._join_at:
            for seed in self._seeds:
                self._send_state(seed, reply=True)
            self._join_at = now + t.join_retry
        if now >= self._gossip_at:
            self._gossip_at = now + t.gossip_interval
            if t.gossip_nodes > 0 and self._broadcasts.has_news():
                peers = [n for n, m in self._members.items() if m.state != DEAD and n != self.id]
                for dest in self._rng.sample(peers, min(t.gossip_nodes, len(peers))):
                    self._send(dest, {"type": PUSH})
        if now >= self._push_pull_at:
            peers = [n for n, m in self._members.items() if m.state == ALIVE and n != self.id]
            if peers:
                self._send_state(self._rng.choice(peers), reply=True)
            self._push_pull_at = now + t.push_pull_interval * max(
                1.0, self._live / t.push_pull_scale_nodes)
        if now >= self._reconnect_at:
            dead = [n for n, m in self._members.items() if m.state == DEAD]
            if dead:
                target = self._rng.choice(dead)
                self._send(target, {"type": PING, "seq": self._next_seq()}, self._claim(target))
            self._reconnect_at = now + t.reconnect_interval
        if self._soft_pending is not None and now >= self._soft_at:
            me = self._members[self.id]
            me.soft, me.version = self._soft_pending, me.version + 1
            self._soft_pending = None
            self._soft_at = now + t.soft_state_interval
            self._broadcasts.put(self._entry(self.id), news=False)

    def next_deadline(self) -> float:
        p = self._probe
        if p is None:
            d = self._probe_at
        else:
            d = p.end if p.acked or p.indirect_sent else min(p.indirect_at, p.end)
        if self._suspicions:
            d = min(d, min(s.deadline for s in self._suspicions.values()))
        for r in self._relays.values():
            d = min(d, r.expires if r.nacked else r.nack_at)
        if not self._joined:
            d = min(d, self._join_at)
        d = min(d, self._push_pull_at, self._reconnect_at, self._gossip_at)
        if self._soft_pending is not None:
            d = min(d, self._soft_at)
        return d

    def take_messages(self) -> list[tuple[str, dict]]:
        out, self._out = self._out, []
        return out

    # --- probing -------------------------------------------------------------------------

    def _next_target(self) -> str | None:
        """Round-robin over a shuffled list of members, reshuffled each round (SWIM 4.3)."""
        for _ in range(2):
            while self._order_index < len(self._order):
                node = self._order[self._order_index]
                self._order_index += 1
                m = self._members.get(node)
                if m is not None and m.state != DEAD:
                    return node
            self._order = [n for n, m in self._members.items()
                           if n != self.id and m.state != DEAD]
            self._rng.shuffle(self._order)
            self._order_index = 0
        return None

    def _start_probe(self, now: float) -> None:
        t, scale = self.timing, self._awareness.scale
        target = self._next_target()
        if target is None:
            self._probe_at = now + scale(t.probe_interval)
            return
        seq = self._next_seq()
        self._probe = _Probe(target, seq, now + scale(t.probe_timeout),
                             now + scale(t.probe_interval))
        self._send(target, {"type": PING, "seq": seq}, self._claim(target))

    def _ping_req(self, now: float, p: _Probe) -> None:
        others = [n for n, m in self._members.items()
                  if m.state == ALIVE and n != self.id and n != p.target]
        chosen = self._rng.sample(others, min(self.timing.indirect_checks, len(others)))
        wait = round(max(0.0, p.end - now) * self.timing.nack_ratio, 4)
        for node in chosen:
            self._send(node, {"type": PING_REQ, "seq": p.seq, "target": p.target, "wait": wait})
        p.indirect_sent = True
        p.expected_nacks = len(chosen)

    def _on_ack(self, now: float, seq: int) -> None:
        p = self._probe
        if p is not None and p.seq == seq and not p.acked:
            p.acked = True
            self._health(-1)
        relay = self._relays.pop(seq, None)
        if relay is not None:
            self._send(relay.requester, {"type": ACK, "seq": relay.seq})

    def _end_probe(self, now: float, p: _Probe) -> None:
        self._probe = None
        self._probe_at = p.end
        if p.acked:
            return
        # Lifeguard: missing nacks mean the intermediaries could not answer us either, so the
        # fault may be ours; with no intermediary to ask, any failure counts against us.
        self._health(p.expected_nacks - p.nacks if p.expected_nacks else 1)
        m = self._members.get(p.target)
        if m is not None and m.state != DEAD:
            self._apply(now, [SUSPECT, p.target, m.incarnation, self.id], self.id)

    # --- state rules ---------------------------------------------------------------------

    def _apply(self, now: float, u: Any, src: str, sync: bool = False) -> None:
        """Merge one update (from `src`'s message; `sync`: from a full state exchange)."""
        if not _valid_update(u):
            return self._bad(src, "update")
        state, node, inc = u[0], u[1], u[2]
        if node == self.id:
            return self._about_self(u)
        m = self._members.get(node)
        if m is None:
            self._members[node] = m = Member(DEAD, -1)   # placeholder: anything supersedes it
            self._order.insert(self._rng.randint(self._order_index, len(self._order)), node)
        elif sync and state == DEAD:
            # A full state may carry old news: suspect rather than kill outright (memberlist's
            # mergeState), so that a live member gets its suspicion period to refute.
            state, u = SUSPECT, [SUSPECT, node, inc, src]
        if state == ALIVE:
            if inc > m.incarnation:
                m.version, m.soft = u[3], (u[4] if len(u) == 5 else None)
                self._change(m, node, ALIVE, inc, src)
                self._broadcasts.put(u)
            elif inc == m.incarnation and m.state != DEAD and u[3] > m.version:
                m.version, m.soft = u[3], (u[4] if len(u) == 5 else None)
                self._broadcasts.put(u, news=False)
        elif state == SUSPECT and inc == m.incarnation and m.state == SUSPECT:
            s = self._suspicions.get(node)
            if s is not None and s.confirm(u[3]):
                self._broadcasts.put(u)   # pass the confirmation on, so others count it too
        elif supersedes(state, inc, m.state, m.incarnation):
            self._change(m, node, state, inc, u[3])
            self._broadcasts.put(u)
            if state == SUSPECT:
                t = self.timing
                lo, hi = suspicion_bounds(t.suspicion_mult, t.suspicion_max_mult, self._live,
                                          t.probe_interval)
                k = t.suspicion_mult - 2
                if self._live - 2 < k:
                    k = 0
                self._suspicions[node] = Suspicion(now, lo, hi, k, u[3])

    def _change(self, m: Member, node: str, state: str, inc: int, source: str) -> None:
        was = m.state if m.incarnation >= 0 else None
        if m.state == DEAD and state != DEAD:
            self._live += 1
            if was is not None and node not in self._order[self._order_index:]:
                self._order.insert(self._rng.randint(self._order_index, len(self._order)), node)
        elif state == DEAD and m.state != DEAD:
            self._live -= 1
        m.state, m.incarnation = state, inc
        if state != SUSPECT:
            self._suspicions.pop(node, None)
        self._emit({"event": "gossip_member", "node": node, "state": state,
                    "incarnation": inc, "was": was, "from": source})

    def _about_self(self, u: list) -> None:
        me = self._members[self.id]
        state, inc = u[0], u[2]
        if state == ALIVE:
            # Our own alive news at a newer incarnation or version than ours is from an
            # earlier life of this member (a restart): outbid it.
            if inc > me.incarnation or (inc == me.incarnation and u[3] > me.version):
                self._refute(u)
        elif inc >= me.incarnation:
            self._refute(u)
        else:
            self._behind = True

    def _refute(self, u: list) -> None:
        me = self._members[self.id]
        old = me.incarnation
        me.incarnation = max(old, u[2]) + 1
        if u[0] == ALIVE:
            me.version = max(me.version, u[3])
        self._health(+1)
        self._broadcasts.put(self._entry(self.id))
        self._emit({"event": "gossip_refute", "incarnation": me.incarnation, "was": old,
                    "claim": u[0], "claim_incarnation": u[2],
                    "by": u[3] if u[0] != ALIVE else None})

    def _declare_dead(self, now: float, node: str) -> None:
        m = self._members[node]
        self._apply(now, [DEAD, node, m.incarnation, self.id], self.id)

    def _health(self, delta: int) -> None:
        if self._awareness.apply(delta):
            self._emit({"event": "gossip_health", "score": self._awareness.score})

    # --- output --------------------------------------------------------------------------

    def _entry(self, node: str) -> list:
        """Our view of `node` as an update."""
        m = self._members[node]
        if m.state == ALIVE:
            return [ALIVE, node, m.incarnation, m.version, m.soft] if m.soft else \
                [ALIVE, node, m.incarnation, m.version]
        return [m.state, node, m.incarnation, self.id]

    def _claim(self, node: str) -> list[list]:
        """What we hand `node` with a ping or ack: our claim that it is dead (always: that is how
        a live member declared dead learns it and comes back) or suspect (Lifeguard's buddy
        system, when on). Empty if it is alive to us."""
        m = self._members.get(node)
        if m is None or m.state == ALIVE or (m.state == SUSPECT and not self.timing.buddy):
            return []
        return [[m.state, node, m.incarnation, self.id]]

    def _send(self, dest: str, body: dict, head: list[list] = ()) -> None:
        head = list(head)
        room = self.timing.max_updates_per_message - len(head)
        skip = {u[1] for u in head}
        body["updates"] = head + self._broadcasts.take(room, self.retransmit_limit(), skip)
        self._out.append((dest, body))

    def _send_state(self, dest: str, reply: bool) -> None:
        entries = [self._entry(n) for n in self._members]
        chunk = max(1, self.timing.sync_chunk)
        for i in range(0, len(entries), chunk):
            self._out.append((dest, {"type": SYNC, "entries": entries[i:i + chunk],
                                     "reply": reply and i == 0}))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _bad(self, src: Any, why: str) -> None:
        self._emit({"event": "gossip_bad_message", "src": src, "why": why})

    def _emit(self, event: dict) -> None:
        if self._log_event is not None:
            self._log_event(event)
