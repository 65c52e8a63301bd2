"""Turn a failed search into a Knossos-shaped explanation, bounded in size.

For the op that cannot be linearized (the return furthest along the history at which the search
got stuck) it gives:
- `op`: that op (its completion, with the per-register value), and `previous-ok`: the last
  required op linearized before it on the way to the dead end;
- `concurrent`: the ops that could have gone next there and were tried;
- `states`: every register value the search reached just before it (up to a bound);
- `final-paths`: Knossos-like two-step paths, [previous op -> register value, tried op ->
  inconsistent], one per illegal attempt (up to a bound);
- `window`: all of those ops with their invoke/completion positions and times, for the picture.
"""

from __future__ import annotations

from typing import Any

from maelstrom.checker.model import Interner, explain, step
from maelstrom.checker.prepare import Call
from maelstrom.checker.wgl import SearchResult

MAX_CONCURRENT = 48
MAX_PATHS = 24


def op_dict(c: Call) -> dict[str, Any]:
    """The op as Knossos reports it: the completion (or the invoke if it never completed) with
    the per-register value."""
    src = c.completion if c.completion is not None and c.completion.type != "fail" else c.invoke
    d = {"process": c.process, "type": src.type, "f": c.f, "value": c.value,
         "index": src.index, "time": src.time}
    if src.error is not None:
        d["error"] = src.error
    return d


def window_entry(c: Call, role: str) -> dict[str, Any]:
    """An op as a bar in the picture: from its invoke to its completion (None: open-ended)."""
    done = c.completion
    return {"process": c.process, "f": c.f, "value": c.value, "role": role,
            "type": done.type if done is not None else "invoke",
            "invoke-index": c.invoke.index, "invoke-time": c.invoke.time,
            "complete-index": done.index if done is not None else None,
            "complete-time": done.time if done is not None else None}


def concurrent_with(calls: list[Call], target: int) -> list[int]:
    """Indexes of the ops whose real-time interval overlaps the target's (optional ops are open
    to the end of the history), nearest first in call order."""
    t = calls[target]
    end = t.ret_pos if t.ret_pos is not None else float("inf")
    out = []
    for i, c in enumerate(calls):
        if i == target or c.call_pos > end:
            continue
        if c.ret_pos is None or c.ret_pos > t.call_pos:
            out.append(i)
    # the ones invoked closest to the target matter most when the list is cut
    out.sort(key=lambda i: abs(calls[i].call_pos - t.call_pos))
    out = out[:MAX_CONCURRENT * 4]
    out.sort(key=lambda i: calls[i].call_pos)
    return out


def explain_failure(result: SearchResult, calls: list[Call], interner: Interner) -> dict[str, Any]:
    """The invalid-result fields (everything but `valid?`) for a failed search."""
    values = interner.values
    culprit = result.culprit
    out: dict[str, Any] = {}
    if culprit is None:
        return out
    out["op"] = op_dict(calls[culprit])
    if result.cause:
        out["cause"] = result.cause
    # Of the dead ends, the one whose last linearized op completed earliest: the latest point in
    # the history that is certainly fine.
    previous = min((s.previous_ok for s in result.stuck if s.previous_ok is not None),
                   key=lambda i: calls[i].ret_pos, default=None)
    out["previous-ok"] = op_dict(calls[previous]) if previous is not None else None

    concurrent = concurrent_with(calls, culprit)
    out["concurrent"] = [op_dict(calls[i]) for i in concurrent[:MAX_CONCURRENT]]
    if len(concurrent) > MAX_CONCURRENT:
        out["concurrent-omitted"] = len(concurrent) - MAX_CONCURRENT
    out["states"] = [values[s.state] for s in result.stuck]

    paths = []
    for s in result.stuck:
        head = {"op": op_dict(calls[s.previous_ok]) if s.previous_ok is not None else None,
                "model": {"value": values[s.state]}}
        for i in [culprit] + [t for t in s.tried if t != culprit]:
            c = calls[i]
            if step(s.state, c.kind, c.a, c.b) is None and len(paths) < MAX_PATHS:
                paths.append([head, {"op": op_dict(c),
                                     "model": {"inconsistent": explain(values[s.state], c.f, c.value)}}])
    out["final-paths"] = paths

    window = [window_entry(calls[culprit], "culprit")]
    if previous is not None and previous != culprit:
        window.append(window_entry(calls[previous], "previous-ok"))
    window += [window_entry(calls[i], "concurrent") for i in concurrent[:MAX_CONCURRENT]
               if i != previous]
    window.sort(key=lambda w: (w["invoke-index"], w["process"]))
    out["window"] = window
    return out
