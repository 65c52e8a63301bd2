"""Linearizability checking of register and key-value histories.

    check(ops, model="lin-kv" | "cas-register", time_limit=None) -> dict

The result is shaped like Jepsen's (str keys; `edn_ready` turns it into what results.edn holds):
- cas-register: `{"valid?": True | False | "unknown", "analyzer": "wgl", "configs": n, ...}` and,
  when invalid, the counterexample fields of counterexample.explain_failure; when unknown, `cause`.
- lin-kv: `{"valid?": ..., "results": {key: {"linearizable": <cas-register result>,
  "valid?": ...}}, "failures": [keys whose result is false]}`, like Maelstrom's `:workload`.

"valid?" merges as in Jepsen: any false -> false, else any unknown -> unknown, else true.
The search (wgl.py) runs per key (P-compositionality); when the history is large and has many
keys, keys are spread over worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

from maelstrom.checker.counterexample import explain_failure
from maelstrom.checker.prepare import (
    Call, HistoryShapeError, intern_calls, keyed_calls, looks_like_lin_kv, register_calls,
)
from maelstrom.checker.wgl import search
from maelstrom.edn import Keyword, Tagged
from maelstrom.history import Op

__all__ = ["check", "check_register", "guess_model", "merge_valid", "edn_ready", "MODELS"]

MODELS = ("lin-kv", "cas-register")
PARALLEL_MIN_CALLS = 20_000  # below this, starting worker processes costs more than it saves
DEFAULT_MAX_CONFIGS = 4_000_000


def merge_valid(values) -> bool | str:
    """Jepsen's merge of verdicts: false wins, then unknown, else true."""
    values = list(values)
    if any(v is False for v in values):
        return False
    if any(v != True for v in values):  # noqa: E712 - "unknown" is not True
        return "unknown"
    return True


def guess_model(ops: list[Op]) -> str:
    """"lin-kv" if client values look like [key value] pairs, else "cas-register"."""
    return "lin-kv" if looks_like_lin_kv(ops) else "cas-register"


def check_register(calls: list[Call], deadline: float | None = None,
                   max_configs: int = DEFAULT_MAX_CONFIGS) -> dict[str, Any]:
    """Check one register's calls (from prepare); the cas-register result dict."""
    interner = intern_calls(calls)
    result = search(calls, deadline=deadline, max_configs=max_configs)
    out: dict[str, Any] = {"valid?": result.valid, "analyzer": "wgl", "configs": result.configs}
    if result.valid is False:
        out.update(explain_failure(result, calls, interner))
    elif result.valid == "unknown":
        out["cause"] = result.cause
    return out


def _deadline(time_limit: float | None) -> float | None:
    return None if time_limit is None else time.monotonic() + time_limit


def _unknown(cause: str) -> dict[str, Any]:
    return {"valid?": "unknown", "analyzer": "wgl", "cause": cause}


def _check_keys(items: list[tuple[Any, list[Call]]], deadline: float | None,
                max_configs: int) -> list[tuple[Any, dict]]:
    return [(key, check_register(calls, deadline, max_configs)) for key, calls in items]


def _parallel(items: list[tuple[Any, list[Call]]], deadline: float | None, max_configs: int,
              workers: int) -> list[tuple[Any, dict]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Deal keys round-robin by size so each worker gets a similar share of the work.
    items = sorted(items, key=lambda kv: -len(kv[1]))
    chunks: list[list] = [[] for _ in range(workers)]
    for n, item in enumerate(items):
        chunks[n % workers].append(item)
    # time.monotonic() is system-wide on Linux, so the deadline means the same in the workers.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                      else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_check_keys, chunk, deadline, max_configs) for chunk in chunks if chunk]
        out = []
        for fut in futures:
            out.extend(fut.result())
    return out


def check(ops: list[Op], model: str = "lin-kv", time_limit: float | None = None, *,
          workers: int | None = None, max_configs: int = DEFAULT_MAX_CONFIGS) -> dict:
    """Maelstrom/Knossos-shaped result, str keys, e.g. for lin-kv:
    {"valid?": True|False|"unknown", "results": {key: {"linearizable": {...}, "valid?": ...}},
     "failures": [keys...]}  (shape of :workload in Maelstrom's results.edn).
    For model "cas-register" the single-register result {"valid?": ..., ...}.

    Non-client ops (the nemesis) are ignored. `:info` ops and invokes with no completion may take
    effect any time after their invoke, or never; `:fail` ops never. `time_limit` (seconds, for
    the whole check) turns a search that runs longer into "unknown" with a `cause`.
    `workers`: processes for lin-kv keys (default: up to 2 when the history is large).
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    deadline = _deadline(time_limit)
    try:
        if model == "cas-register":
            return check_register(register_calls(ops), deadline, max_configs)
        keyed = keyed_calls(ops)
    except HistoryShapeError as exc:
        out = _unknown(f"malformed history: {exc}")
        if model == "lin-kv":
            out.update({"results": {}, "failures": []})
        return out

    items = list(keyed.items())
    total = sum(len(calls) for _, calls in items)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if total >= PARALLEL_MIN_CALLS else 1
    workers = max(1, min(workers, len(items)))
    if workers > 1:
        checked = dict(_parallel(items, deadline, max_configs, workers))
    else:
        checked = dict(_check_keys(items, deadline, max_configs))

    results = {}
    for key, _ in items:  # keep first-appearance order
        lin = checked[key]
        results[key] = {"linearizable": lin, "valid?": lin["valid?"]}
    return {"valid?": merge_valid(r["valid?"] for r in results.values()),
            "results": results,
            "failures": [k for k, r in results.items() if r["valid?"] is False]}


# ---------------------------------------------------------------------------------------------
# EDN shape

_KEYWORD_FIELDS = {"type", "f", "analyzer"}


def edn_ready(result: Any, _field: str | None = None) -> Any:
    """The result with Jepsen's EDN types: op types, fs and "unknown" as keywords, register
    models as `#knossos.model.CASRegister{:value v}` / `#knossos.model.Inconsistent{:msg m}`.
    Write it with `maelstrom.edn.dumps(..., pretty=True)`."""
    if isinstance(result, dict):
        if _field == "model" and set(result) == {"value"}:
            return Tagged("knossos.model.CASRegister", {"value": result["value"]})
        if _field == "model" and set(result) == {"inconsistent"}:
            return Tagged("knossos.model.Inconsistent", {"msg": result["inconsistent"]})
        if _field in ("value", "error"):
            return result
        out = {}
        for k, v in result.items():
            if k in _KEYWORD_FIELDS and isinstance(v, str):
                out[k] = Keyword(v)
            elif k == "valid?" and v == "unknown":
                out[k] = Keyword("unknown")
            elif k == "process" and isinstance(v, str):
                out[k] = Keyword(v)
            else:
                out[k] = edn_ready(v, k if isinstance(k, str) else None)
        return out
    if isinstance(result, list) and _field not in ("value", "error"):
        return [edn_ready(v, _field) for v in result]
    return result
