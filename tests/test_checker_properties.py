"""The fast checker against a brute-force one, on small generated histories (hypothesis).

Histories come from a real sequential execution of a register with random overlap, so they are
linearizable; corrupting a read value or moving a write outside its window may make them not.
Brute force decides; the fast checker must agree on every history.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings, strategies as st

from maelstrom.checker import check
from maelstrom.history import Op


def brute_force_linearizable(ops: list[Op]) -> bool:
    """Try every subset of optional ops and every order: Jepsen's semantics, written plainly."""
    pending: dict = {}
    calls = []  # (call_pos, ret_pos or None, f, value, required)
    for pos, op in enumerate(ops):
        if not isinstance(op.process, int):
            continue
        if op.type == "invoke":
            if op.process in pending:  # earlier invoke never completed
                calls.append(pending.pop(op.process) + (None, None))
            pending[op.process] = (pos, op)
        elif op.process in pending:
            call_pos, inv = pending.pop(op.process)
            calls.append((call_pos, inv, pos, op))
    calls += [p + (None, None) for p in pending.values()]
    required, optional = [], []
    for call_pos, inv, ret_pos, comp in calls:
        if comp is not None and comp.type == "fail":
            continue
        if comp is not None and comp.type == "ok":
            required.append((call_pos, ret_pos, inv.f, comp.value))
        else:
            optional.append((call_pos, None, inv.f, inv.value))

    def legal(order):
        state = None
        for i, (call_pos, _, f, value) in enumerate(order):
            # real time: nothing later in the order may have returned before this one was called
            for later in order[i + 1:]:
                if later[1] is not None and later[1] < call_pos:
                    return False
            if f == "write":
                state = value
            elif f == "cas":
                if state != value[0] or type(state) is not type(value[0]):
                    return False
                state = value[1]
            elif value is not None or f != "read":
                if state != value or type(state) is not type(value):
                    return False
            elif state is not None:  # an :ok read of nil reads the nil register
                return False
        return True

    for k in range(len(optional) + 1):
        for chosen in itertools.combinations(optional, k):
            if any(c[2] == "read" for c in chosen):
                continue  # optional reads constrain nothing
            for order in itertools.permutations(required + list(chosen)):
                if legal(order):
                    return True
    return False


@st.composite
def executions(draw, max_ops=7):
    """A history recorded from a real register: each op takes effect at one instant between
    its invoke and completion; some clients crash (:info) before or after the effect."""
    n = draw(st.integers(1, max_ops))
    procs = draw(st.integers(1, 3))
    specs = [(draw(st.sampled_from(["read", "write", "cas"])), draw(st.integers(0, 2)),
              draw(st.integers(0, 2))) for _ in range(n)]
    state = None
    history: list[Op] = []
    free = list(range(procs))
    next_proc = procs
    active: dict[int, list] = {}  # process -> [f, value, stage]
    todo = list(specs)
    while todo or active:
        choices = []
        if todo and free:
            choices.append("start")
        choices += [("step", p) for p in active]
        move = draw(st.sampled_from(choices))
        if move == "start":
            f, x, y = todo.pop()
            p = free.pop(draw(st.integers(0, len(free) - 1)))
            value = None if f == "read" else x if f == "write" else [x, y]
            history.append(Op(len(history), len(history), "invoke", p, f, value))
            active[p] = [f, value, "invoked"]
            continue
        p = move[1]
        f, value, stage = active[p]
        if stage == "invoked":
            outcome = draw(st.sampled_from(["apply", "apply", "apply", "crash"]))
            if outcome == "crash":  # crashed before taking effect
                history.append(Op(len(history), len(history), "info", p, f, value))
                del active[p]
                free.append(next_proc)
                next_proc += 1
                continue
            if f == "write":
                state = value
            elif f == "read":
                active[p][1] = state
            elif state == value[0]:
                state = value[1]
            else:
                active[p][2] = "failed"
                continue
            active[p][2] = "applied"
        else:
            kind = "fail" if stage == "failed" else draw(st.sampled_from(["ok", "ok", "ok", "info"]))
            history.append(Op(len(history), len(history), kind, p, f, active[p][1]))
            del active[p]
            if kind == "info":
                free.append(next_proc)
                next_proc += 1
            else:
                free.append(p)
    return history


@settings(max_examples=300, deadline=None)
@given(executions())
def test_histories_of_real_executions_are_linearizable(history):
    assert check(history, "cas-register")["valid?"] is True
    assert brute_force_linearizable(history)


@settings(max_examples=300, deadline=None)
@given(executions(), st.data())
def test_corrupted_read_agrees_with_brute_force(history, data):
    reads = [i for i, op in enumerate(history) if op.type == "ok" and op.f == "read"]
    if reads:
        i = data.draw(st.sampled_from(reads))
        op = history[i]
        history[i] = Op(op.index, op.time, op.type, op.process, op.f,
                        data.draw(st.sampled_from([None, 0, 1, 2, 3])))
    assert check(history, "cas-register")["valid?"] is brute_force_linearizable(history)


@settings(max_examples=300, deadline=None)
@given(executions(), st.data())
def test_write_moved_outside_its_window_agrees_with_brute_force(history, data):
    writes = [i for i, op in enumerate(history) if op.type == "invoke" and op.f == "write"]
    if writes:
        i = data.draw(st.sampled_from(writes))
        inv = history[i]
        j = next((k for k in range(i + 1, len(history)) if history[k].process == inv.process), None)
        if j is not None and history[j].type == "ok":
            done = history[j]
            rest = [op for k, op in enumerate(history) if k not in (i, j)]
            at = data.draw(st.integers(0, len(rest)))
            history = rest[:at] + [inv, done] + rest[at:]
    assert check(history, "cas-register")["valid?"] is brute_force_linearizable(history)


@st.composite
def arbitrary_histories(draw, completions=("ok", "ok", "fail", "info"), max_rows=12):
    """Any well-formed history: random invokes and completions of random ops."""
    rows: list[Op] = []
    in_flight: dict[int, tuple] = {}
    for _ in range(draw(st.integers(1, max_rows))):
        p = draw(st.integers(0, 3))
        if p in in_flight:
            f, value = in_flight.pop(p)
            kind = draw(st.sampled_from(completions))
            if f == "read" and kind == "ok":
                value = draw(st.sampled_from([None, 0, 1]))
            rows.append(Op(len(rows), len(rows), kind, p, f, value))
        else:
            f = draw(st.sampled_from(["read", "write", "cas"]))
            value = None if f == "read" else draw(st.integers(0, 1)) if f == "write" else \
                [draw(st.sampled_from([None, 0, 1])), draw(st.integers(0, 1))]
            in_flight[p] = (f, value)
            rows.append(Op(len(rows), len(rows), "invoke", p, f, value))
    return rows


@settings(max_examples=500, deadline=None)
@given(arbitrary_histories())
def test_arbitrary_small_histories_agree_with_brute_force(history):
    assert check(history, "cas-register")["valid?"] is brute_force_linearizable(history)


@settings(max_examples=500, deadline=None)
@given(arbitrary_histories(completions=("ok", "info", "info"), max_rows=14))
def test_histories_with_many_info_ops_agree_with_brute_force(history):
    # exercises the rules for optional ops: interchangeable twins, no optional op right before
    # a write, dominance of smaller optional sets in the memo
    assert check(history, "cas-register")["valid?"] is brute_force_linearizable(history)


@settings(max_examples=100, deadline=None)
@given(st.lists(executions(max_ops=5), min_size=1, max_size=4))
def test_lin_kv_is_the_conjunction_of_its_keys(per_key):
    ops: list[Op] = []
    for key, history in enumerate(per_key):
        for op in history:  # interleave keys by appending; processes kept apart per key
            ops.append(Op(len(ops), len(ops), op.type, op.process + 100 * key, op.f, [key, op.value]))
    result = check(ops, "lin-kv")
    expected = {k: brute_force_linearizable(h) for k, h in enumerate(per_key)}
    assert {k: r["valid?"] for k, r in result["results"].items()} == expected
