"""Wing & Gong's linearizability search with Lowe's memoisation, for one register.

Required (`:ok`) ops sit in a doubly linked list of call and return events in history order.
Optional ops (`:info`, never completed) have no return: they may take effect at any point after
their call, or never; their calls sit in a second list, in call order.

The search walks the main list from the front. At a call it tries to linearize that op next:
if the model allows it and the configuration (linearized ops, register value) is new, it pushes
a backtrack point, unlinks ("lifts") the op's events and starts again from the front. At the
first return in the list, every required candidate has been tried, so it tries the optional ops
called before that return. When those are exhausted too, the op of that return cannot be delayed
any further: undo the last choice and try the next candidate after it. The history is
linearizable once every required op is linearized; it is not when nothing is left to undo.

Pruning, each of which keeps at least one shortest successful continuation whenever there is
one (so the search stays exact; tests/test_checker_properties.py checks it against brute force):
- Pure ops (reads, cas x->x) are linearized as soon as they are legal, with no alternative kept:
  such an op is legal only in the current value and changes nothing, and it is minimal in real
  time (else the scan would have met a return first), so moving it to the front of any valid
  continuation keeps that continuation valid. If that configuration already failed, so does this
  one. (An optional pure op might as well never happen: it is dropped.)
- An optional op is never linearized right before a write: dropping it from such an order leaves
  the order valid. So it is linearized only if some op that could go right after it reads its
  value (a read of it, or a cas from it), and the next op must not be a write: the `after` flag
  marks "the last op was optional", and is part of the memo key.
- Identical optional ops are interchangeable: they are used in call order.
- The memo counts a configuration as seen if one with the same required set, value and flag, or
  with the flag clear, was seen with a subset of its optional ops: that one had every option this
  one has (the extra optional ops could still happen later, or never).
- An op needing a value no op could have set before it completes (`_impossible`) makes the
  history invalid without an exhaustive search.

Representation: values are small ints (model.Interner); the set of linearized required ops is an
int bitset stored shifted by `base`, the count of leading required ops all linearized, so it stays
a few machine words however long the history; optional ops have their own bitset. The lists live
in two int arrays (next, prev); no objects are made per step.

For the counterexample the search remembers the return furthest along the history at which it got
stuck, and up to `max_states` distinct register values it was stuck there with, each with the ops
it had tried there and the last required op linearized before.
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
    out_of_configs: bool = False    # "unknown" because max_configs was reached
    culprit: int | None = None      # index into calls of the op that cannot be linearized
    stuck: list[StuckConfig] = field(default_factory=list)


EXPLAIN_BUDGET = 50_000  # configurations spent looking for a better explanation


def search(calls: list[Call], initial: int = 0, deadline: float | None = None,
           max_configs: int = 4_000_000, max_states: int = 32,
           clock: Callable[[], float] = time.monotonic) -> SearchResult:
    """Is this register history linearizable? `calls` must be in call order, with kind/a/b set
    (prepare.intern_calls). `deadline` is a `clock()` value after which the answer is "unknown";
    so is exploring more than `max_configs` configurations (this bounds memory too)."""
    impossible = _impossible(calls, initial)
    if impossible is None:
        return _search(calls, initial, deadline, max_configs, max_states, clock)
    # Some op needs a value nothing could have set in time: invalid for sure, with no search.
    # A short search usually still finds a dead end with the register values reachable before
    # it, which explains more; if it does not finish, report the op found here.
    found = _search(calls, initial, deadline, min(max_configs, EXPLAIN_BUDGET), max_states, clock)
    if found.valid is INVALID:
        return found
    return SearchResult(INVALID, found.configs, culprit=impossible,
                        cause="no operation that could set the value it needs was invoked "
                              "before it completed")


def _search(calls: list[Call], initial: int, deadline: float | None, max_configs: int,
            max_states: int, clock: Callable[[], float]) -> SearchResult:
    n = len(calls)
    kind = [c.kind for c in calls]
    arg_a = [c.a for c in calls]
    arg_b = [c.b for c in calls]
    pure = [c.kind == READ or (c.kind == CAS and c.a == c.b) for c in calls]

    # Main list: calls and returns of required ops, in history order (an op's call sorts before
    # its return). Optional list: calls of optional ops, in call order. An optional op that is
    # pure may as well never happen: it is left out.
    events: list[tuple[int, int, int]] = []  # (position, 0 call / 1 return, call index)
    optional: list[tuple[int, int]] = []      # (position, call index)
    req_id = [-1] * n
    opt_id = [-1] * n
    n_req = n_opt = 0
    for i, c in enumerate(calls):
        if c.required:
            events.append((c.call_pos, 0, i))
            events.append((c.ret_pos, 1, i))
            req_id[i] = n_req
            n_req += 1
        elif not pure[i]:
            optional.append((c.call_pos, i))
            opt_id[i] = n_opt
            n_opt += 1
    events.sort()
    optional.sort()
    # Identical optional ops are interchangeable: use them in call order (a later one only once
    # the earlier ones are linearized), which spares the search their permutations.
    twin_prev = [-1] * n
    last_twin: dict[tuple[int, int, int], int] = {}
    for _, i in optional:
        twin = (kind[i], arg_a[i], arg_b[i])
        twin_prev[i] = last_twin.get(twin, -1)
        last_twin[twin] = opt_id[i]

    # Node numbers: 0 main head, 1..E main events, E+1 main tail, E+2 optional head,
    # E+3..E+2+K optional calls, E+3+K optional tail.
    n_events = len(events)
    tail = n_events + 1
    opt_head = n_events + 2
    opt_tail = opt_head + n_opt + 1
    size = opt_tail + 1
    nxt = list(range(1, size + 1))
    prv = list(range(-1, size - 1))
    nxt[tail] = tail
    prv[opt_head] = opt_head
    node_call = [-1] * size   # call index if this node is a call, else -1
    node_ret = [-1] * size    # call index if this node is a return, else -1
    node_pos = [0] * size
    node_pos[opt_tail] = float("inf")
    ret_node = [0] * n        # 0: no return node (optional op)
    for node, (pos, is_ret, i) in enumerate(events, 1):
        node_pos[node] = pos
        if is_ret:
            node_ret[node] = i
            ret_node[i] = node
        else:
            node_call[node] = i
    for node, (pos, i) in enumerate(optional, opt_head + 1):
        node_pos[node] = pos
        node_call[node] = i

    state = initial
    base = 0       # required ops 0..base-1 are all linearized
    bits = 0       # linearized required ops with id >= base, bit (id - base)
    opt = 0        # linearized optional ops
    after = 0      # 1 if the last op linearized was optional: the next one must not be a write
    remaining = n_req
    # (call node, state, base, bits, opt, after, pure, bounding return node)
    stack: list[tuple] = []
    # Memo of configurations seen. With optional ops, a configuration is also "seen" if one with
    # the same required set and value but a subset of its optional ops was: that one has every
    # option this one has (the extra optional ops can still happen later, or never).
    # The `after` flag is part of the key, and a configuration with it unset has every option of
    # the same one with it set.
    memo: dict[tuple[int, int, int, int], list[int]] = {}
    configs = 0
    best_pos = -1   # position of the furthest return we got stuck at
    best = 0
    stuck: dict[int, StuckConfig] = {}
    steps = 0
    node = nxt[0]
    bound = 0       # while scanning optional calls: the first return in the main list

    while True:
        if remaining == 0:
            return SearchResult(VALID, configs)
        steps += 1
        if not steps & 0xFFF:
            if deadline is not None and clock() > deadline:
                return SearchResult(UNKNOWN, configs, cause="time limit exceeded")
            if configs > max_configs:
                return SearchResult(UNKNOWN, configs, out_of_configs=True,
                                    cause=f"search space exceeded {max_configs} configurations")
        i = node_call[node]
        if i >= 0 and (node < tail or node_pos[node] < node_pos[bound]):
            if twin_prev[i] >= 0 and not (opt >> twin_prev[i]) & 1:
                node = nxt[node]
                continue
            k = kind[i]
            if k == WRITE:
                if after:
                    node = nxt[node]
                    continue
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
                nafter = 0
            else:
                # Only if an op that could go next observes the value it leaves (see `after`).
                scan = nxt[0]
                while scan != bound:
                    j = node_call[scan]
                    if j >= 0 and kind[j] != WRITE and arg_a[j] == new_state:
                        break
                    scan = nxt[scan]
                else:
                    scan = nxt[opt_head]
                    while node_pos[scan] < node_pos[bound]:
                        j = node_call[scan]
                        if j != i and kind[j] == CAS and arg_a[j] == new_state:
                            break
                        scan = nxt[scan]
                    else:
                        node = nxt[node]
                        continue
                nbits, nbase, nopt = bits, base, opt | (1 << opt_id[i])
                nafter = 1
            key = (nbase, nbits, new_state, nafter)
            masks = memo.get(key)
            fresh = True
            if n_opt == 0:
                if masks is None:
                    memo[key] = [0]
                else:
                    fresh = False
            else:
                if nafter:
                    weaker = memo.get((nbase, nbits, new_state, 0))
                    if weaker is not None:
                        for m in weaker:
                            if m & nopt == m:
                                fresh = False
                                break
                if fresh and masks is not None:
                    for m in masks:
                        if m & nopt == m:
                            fresh = False
                            break
                if fresh:
                    if masks is None:
                        memo[key] = [nopt]
                    else:
                        masks[:] = [m for m in masks if m & nopt != nopt]
                        masks.append(nopt)
            if fresh:
                configs += 1
                stack.append((node, state, base, bits, opt, after, pure[i], bound))
                state, base, bits, opt, after = new_state, nbase, nbits, nopt, nafter
                # lift: unlink the call node and, if any, the return node
                p, q = prv[node], nxt[node]
                nxt[p] = q
                prv[q] = p
                if r >= 0:
                    remaining -= 1
                    rn = ret_node[i]
                    p, q = prv[rn], nxt[rn]
                    nxt[p] = q
                    prv[q] = p
                node = nxt[0]
                continue
            if not pure[i]:
                node = nxt[node]
                continue
            # A pure op leads to a configuration known to fail: so does this one. Fall through.
        elif node < tail and node_ret[node] >= 0:
            # The first return in the main list: required calls are exhausted; now try the
            # optional ops called before it.
            bound = node
            node = nxt[opt_head]
            continue
        elif node != tail:
            # Optional calls exhausted too: the op of return `bound` cannot be delayed further
            # and nothing tried before it worked. Remember the furthest such dead end.
            pos = node_pos[bound]
            if pos >= best_pos:
                if pos > best_pos:
                    best_pos, best = pos, bound
                    stuck = {}
                if state not in stuck and len(stuck) < max_states:
                    stuck[state] = _stuck_config(state, bound, nxt, node_call, node_pos,
                                                 opt_head, stack, req_id)

        # Backtrack: undo choices until one that had an alternative (a non-pure op).
        while True:
            if not stack:
                culprit = node_ret[best] if best > 0 else None
                return SearchResult(INVALID, configs, culprit=culprit, stuck=list(stuck.values()))
            node, state, base, bits, opt, after, was_pure, bound = stack.pop()
            i = node_call[node]
            # unlift in reverse order of lifting: return node first, then the call node
            if req_id[i] >= 0:
                remaining += 1
                rn = ret_node[i]
                nxt[prv[rn]] = rn
                prv[nxt[rn]] = rn
            nxt[prv[node]] = node
            prv[nxt[node]] = node
            if not was_pure:
                break
        node = nxt[node]


def _impossible(calls: list[Call], initial: int) -> int | None:
    """The required op that completes first among those that need a register value no op could
    have set by then (no write or cas to it invoked before it completes), or None. Such an op
    alone makes the history invalid; finding it this way spares an exhaustive search."""
    first_set: dict[int, int] = {initial: -1}  # value -> first call position of an op setting it
    for c in calls:
        v = c.a if c.kind == WRITE else c.b if c.kind == CAS else None
        if v is not None and v not in first_set:
            first_set[v] = c.call_pos
    found = None
    for i, c in enumerate(calls):
        if c.required and c.kind != WRITE:
            when = first_set.get(c.a)
            if (when is None or when > c.ret_pos) and (found is None or
                                                       c.ret_pos < calls[found].ret_pos):
                found = i
    return found


def _stuck_config(state: int, ret: int, nxt: list[int], node_call: list[int], node_pos: list,
                  opt_head: int, stack: list, req_id: list[int]) -> StuckConfig:
    """The dead end at return node `ret`: the calls still listed before it were all tried."""
    tried = []
    node = nxt[0]
    while node != ret:
        i = node_call[node]
        if i >= 0:
            tried.append(i)
        node = nxt[node]
    node = nxt[opt_head]
    while node_pos[node] < node_pos[ret]:
        tried.append(node_call[node])
        node = nxt[node]
    previous = None
    for entry in reversed(stack):
        i = node_call[entry[0]]
        if req_id[i] >= 0:
            previous = i
            break
    return StuckConfig(state, tried, previous)
