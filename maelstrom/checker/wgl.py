"""Wing & Gong's linearizability search with Lowe's memoisation, for one register.

The history is a doubly linked list of events in history order: a *call* event per operation and
a *return* event per required (`:ok`) operation; optional operations (`:info`, never completed)
have no return, so they may be linearized at any point after their call, or never.

The search walks the list from the front. At a call it tries to linearize that operation next:
if the model allows it and the configuration (set of linearized ops, register value) has not
been seen before, it pushes a backtrack point, removes the op's events from the list ("lifts"
it) and starts again from the front. Reaching a return means that op can no longer be delayed
and nothing before it works: undo the last choice and try the call after it. The history is
linearizable when every required op is linearized; it is not when there is nothing left to undo.

What keeps it fast in Python:
- Values are small ints (model.Interner) and the set of linearized ops is an int bitset. Required
  ops are numbered in call order and the bitset is stored shifted by `base`, the number of leading
  ops that are all linearized, so it stays a few machine words however long the history is.
  Optional ops have their own (small) bitset. The memo holds (base, bits, optional bits, value).
- Ops that never change the register where they are legal (reads, cas x->x) are linearized as
  soon as they are legal with no backtrack alternative: putting such an op first never breaks an
  order that would have put it later (it is legal only in the current value, and it is minimal
  in real time, or the scan would have hit a return before it). If that configuration is already
  in the memo, the current one has failed too, so we backtrack at once.
- The event list lives in two int lists (next, prev); no objects are made per step.

For the counterexample the search remembers the return event furthest along the history at which
it got stuck, and up to `max_states` distinct register values it was stuck there with, each with
the ops it had tried there and the last required op it had linearized before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from maelstrom.checker.model import CAS, READ, WRITE
from maelstrom.checker.prepare import Call

VALID, INVALID, UNKNOWN = True, False, "unknown"


@dataclass(slots=True)
class StuckConfig:
    """One dead end at the culprit op: register value, the ops tried there (indexes into calls),
    and the last required op linearized before (index or None)."""

    state: int
    tried: list[int]
    previous_ok: int | None


@dataclass(slots=True)
class SearchResult:
    valid: bool | str               # True, False or "unknown"
    configs: int                    # memo size at the end: configurations explored
    cause: str | None = None        # why "unknown"
    culprit: int | None = None      # index into calls of the op that cannot be linearized
    stuck: list[StuckConfig] = field(default_factory=list)


def search(calls: list[Call], initial: int = 0, deadline: float | None = None,
           max_configs: int = 4_000_000, max_states: int = 32,
           clock: Callable[[], float] = time.monotonic) -> SearchResult:
    """Is this register history linearizable? `calls` must be in call order, with kind/a/b set
    (prepare.intern_calls). `deadline` is a `clock()` value after which the answer is "unknown";
    so is running past `max_configs` memo entries (bounded memory)."""
    n = len(calls)
    # Event nodes: 0 is the head sentinel, then events in history order, then the tail sentinel.
    events: list[tuple[int, int, int]] = []  # (position, 0 call / 1 return, call index)
    for i, c in enumerate(calls):
        events.append((c.call_pos, 0, i))
        if c.required:
            events.append((c.ret_pos, 1, i))
    # A return and a call at the same position cannot happen (one op per history line), but an
    # op's own call must precede its return: sort by (position, call-before-return).
    events.sort()
    size = len(events) + 2
    tail = size - 1
    nxt = list(range(1, size + 1))
    prv = list(range(-1, size - 1))
    node_call = [-1] * size   # call index if this node is a call, else -1
    node_ret = [-1] * size    # call index if this node is a return, else -1
    call_node = [0] * n
    ret_node = [0] * n        # 0: no return node (optional op)
    for node, (_, is_ret, i) in enumerate(events, 1):
        if is_ret:
            node_ret[node] = i
            ret_node[i] = node
        else:
            node_call[node] = i
            call_node[i] = node

    kind = [c.kind for c in calls]
    arg_a = [c.a for c in calls]
    arg_b = [c.b for c in calls]
    pure = [c.kind == READ or (c.kind == CAS and c.a == c.b) for c in calls]
    req_id = [-1] * n
    opt_id = [-1] * n
    n_req = n_opt = 0
    for i, c in enumerate(calls):
        if c.required:
            req_id[i] = n_req
            n_req += 1
        else:
            opt_id[i] = n_opt
            n_opt += 1

    state = initial
    base = 0       # required ops 0..base-1 are all linearized
    bits = 0       # linearized required ops with id >= base, bit (id - base)
    opt = 0        # linearized optional ops
    remaining = n_req
    stack: list[tuple] = []  # (call node, state, base, bits, opt, pure)
    memo: set[tuple[int, int, int, int]] = set()
    best = -1      # furthest return node we got stuck at
    stuck: dict[int, StuckConfig] = {}
    steps = 0
    node = nxt[0]

    while True:
        if remaining == 0:
            return SearchResult(VALID, len(memo))
        steps += 1
        if not steps & 0xFFF:
            if deadline is not None and clock() > deadline:
                return SearchResult(UNKNOWN, len(memo), cause="time limit exceeded")
            if len(memo) > max_configs:
                return SearchResult(UNKNOWN, len(memo),
                                    cause=f"search space exceeded {max_configs} configurations")
        i = node_call[node]
        dead_end = False
        if i >= 0:
            k = kind[i]
            if k == WRITE:
                new_state = arg_a[i]
            elif state == arg_a[i]:
                new_state = arg_b[i] if k == CAS else state
            else:
                node = nxt[node]
                continue
            r = req_id[i]
            if r >= 0:
                nbits = bits | (1 << (r - base))
                nbase = base
                if nbits & 1:
                    run = ((~nbits) & (nbits + 1)).bit_length() - 1  # trailing one bits
                    nbits >>= run
                    nbase += run
                nopt = opt
            else:
                nbits, nbase, nopt = bits, base, opt | (1 << opt_id[i])
            key = (nbase, nbits, nopt, new_state)
            if key not in memo:
                memo.add(key)
                stack.append((node, state, base, bits, opt, pure[i]))
                state, base, bits, opt = new_state, nbase, nbits, nopt
                if r >= 0:
                    remaining -= 1
                # lift: unlink the call node and, if any, the return node
                p, q = prv[node], nxt[node]
                nxt[p] = q
                prv[q] = p
                rn = ret_node[i]
                if rn:
                    p, q = prv[rn], nxt[rn]
                    nxt[p] = q
                    prv[q] = p
                node = nxt[0]
                continue
            if not pure[i]:
                node = nxt[node]
                continue
            dead_end = True  # a pure op leads to a known failure: so does this configuration
        elif node == tail:
            dead_end = True  # cannot happen while required ops remain; kept as a safe stop
        else:
            # A return: its op cannot be delayed further and nothing tried before it worked.
            if node >= best:
                if node > best:
                    best = node
                    stuck = {}
                if state not in stuck and len(stuck) < max_states:
                    stuck[state] = _stuck_config(state, node, nxt, node_call, stack, req_id)
            dead_end = True

        # Backtrack: undo choices until one that had an alternative (a non-pure op).
        assert dead_end
        while True:
            if not stack:
                culprit = node_ret[best] if best > 0 else None
                return SearchResult(INVALID, len(memo), culprit=culprit, stuck=list(stuck.values()))
            node, state, base, bits, opt, was_pure = stack.pop()
            i = node_call[node]
            if req_id[i] >= 0:
                remaining += 1
            # unlift in reverse order of lifting: return node first, then the call node
            rn = ret_node[i]
            if rn:
                nxt[prv[rn]] = rn
                prv[nxt[rn]] = rn
            nxt[prv[node]] = node
            prv[nxt[node]] = node
            if not was_pure:
                break
        node = nxt[node]


def _stuck_config(state: int, ret: int, nxt: list[int], node_call: list[int], stack: list,
                  req_id: list[int]) -> StuckConfig:
    """The dead end at return node `ret`: the calls still in the list before it were all tried."""
    tried = []
    node = nxt[0]
    while node != ret:
        i = node_call[node]
        if i >= 0:
            tried.append(i)
        node = nxt[node]
    previous = None
    for entry in reversed(stack):
        i = node_call[entry[0]]
        if req_id[i] >= 0:
            previous = i
            break
    return StuckConfig(state, tried, previous)
