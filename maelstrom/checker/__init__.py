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

import multiprocessing
import os
import time
from typing import Any, Callable

from maelstrom.checker.counterexample import explain_failure
from maelstrom.checker.prepare import (
    Call, HistoryShapeError, intern_calls, keyed_calls, looks_like_lin_kv, register_calls,
)
from maelstrom.checker.model import Interner
from maelstrom.checker.wgl import SearchResult, search
from maelstrom.edn import Keyword, Tagged
from maelstrom.history import Op
from maelstrom.nested import rebuild

__all__ = ["check", "check_register", "guess_model", "merge_valid", "edn_ready", "MODELS"]

MODELS = ("lin-kv", "cas-register")
PARALLEL_MIN_CALLS = 20_000  # below this, starting worker processes costs more than it saves
EASY_CONFIGS = 20_000        # configurations a key may explore before it is worth a worker
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
    return _result(search(calls, deadline=deadline, max_configs=max_configs), calls, interner)


def _result(found: SearchResult, calls: list[Call], interner: Interner) -> dict[str, Any]:
    out: dict[str, Any] = {"valid?": found.valid, "analyzer": "wgl", "configs": found.configs}
    if found.valid is False:
        out.update(explain_failure(found, calls, interner))
    elif found.valid == "unknown":
        out["cause"] = found.cause
    return out


def _tell(progress: Callable[[int, int, int], None] | None, found: list[SearchResult],
          total: int) -> None:
    if progress is not None:
        progress(len(found), total, sum(1 for r in found if r.valid is False))


def _deadline(time_limit: float | None) -> float | None:
    return None if time_limit is None else time.monotonic() + time_limit


def _unknown(cause: str) -> dict[str, Any]:
    return {"valid?": "unknown", "analyzer": "wgl", "cause": cause}


# Worker processes are forked with the per-key calls already in memory (this global), so only
# key numbers go out and small SearchResults come back: nothing big is pickled.
_FORKED_CALLS: list[list[Call]] = []


def _search_keys(indexes: list[int], deadline: float | None,
                 max_configs: int) -> list[tuple[int, SearchResult]]:
    return [(i, search(_FORKED_CALLS[i], deadline=deadline, max_configs=max_configs))
            for i in indexes]


def _parallel_search(per_key: list[list[Call]], deadline: float | None, max_configs: int,
                     workers: int) -> list[SearchResult]:
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED_CALLS
    # Deal keys out by size, largest first, so workers get similar shares.
    order = sorted(range(len(per_key)), key=lambda i: -len(per_key[i]))
    chunks: list[list[int]] = [order[w::workers] for w in range(workers)]
    _FORKED_CALLS = per_key
    try:
        # time.monotonic() is system-wide on Linux: the deadline means the same in the workers.
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_search_keys, chunk, deadline, max_configs)
                       for chunk in chunks if chunk]
            found: list[SearchResult | None] = [None] * len(per_key)
            for fut in futures:
                for i, res in fut.result():
                    found[i] = res
    finally:
        _FORKED_CALLS = []
    return found  # type: ignore[return-value]


def check(ops: list[Op], model: str = "lin-kv", time_limit: float | None = None, *,
          workers: int | None = None, max_configs: int = DEFAULT_MAX_CONFIGS,
          progress: Callable[[int, int, int], None] | None = None) -> dict:
    """Maelstrom/Knossos-shaped result, str keys, e.g. for lin-kv:
    {"valid?": True|False|"unknown", "results": {key: {"linearizable": {...}, "valid?": ...}},
     "failures": [keys...]}  (shape of :workload in Maelstrom's results.edn).
    For model "cas-register" the single-register result {"valid?": ..., ...}.

    Non-client ops (the nemesis) are ignored. `:info` ops and invokes with no completion may take
    effect any time after their invoke, or never; `:fail` ops never. `time_limit` (seconds, for
    the whole check) turns a search that runs longer into "unknown" with a `cause`.
    `workers`: processes for lin-kv keys (default: up to 2 when the history is large; only keys
    whose search outgrows EASY_CONFIGS go to workers). `max_configs` bounds the configurations
    explored per key: past it the key is "unknown" rather than running out of memory.
    `progress(keys done, keys, keys found not linearizable)` is called as lin-kv keys finish.
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

    keys = list(keyed)
    per_key = [keyed[k] for k in keys]
    interners = [intern_calls(calls) for calls in per_key]
    total = sum(len(calls) for calls in per_key)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if total >= PARALLEL_MIN_CALLS else 1
    workers = max(1, min(workers, len(keys)))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # Most keys are easy and a worker process costs more than their whole search: search
        # every key here with a small memo budget first, and farm out only the keys that need
        # more (if there are several of them).
        found = []
        for calls in per_key:
            found.append(search(calls, deadline=deadline,
                                max_configs=min(EASY_CONFIGS, max_configs)))
            _tell(progress, found, len(per_key))
        hard = [i for i, res in enumerate(found) if res.out_of_configs and EASY_CONFIGS < max_configs]
        if len(hard) > 1:
            again = _parallel_search([per_key[i] for i in hard], deadline, max_configs,
                                     min(workers, len(hard)))
        else:
            again = [search(per_key[i], deadline=deadline, max_configs=max_configs) for i in hard]
        for i, res in zip(hard, again):
            found[i] = res
        _tell(progress, found, len(per_key))
    else:
        found = []
        for calls in per_key:
            found.append(search(calls, deadline=deadline, max_configs=max_configs))
            _tell(progress, found, len(per_key))

    results = {}
    for key, calls, interner, res in zip(keys, per_key, interners, found):
        lin = _result(res, calls, interner)
        results[key] = {"linearizable": lin, "valid?": lin["valid?"]}
    return {"valid?": merge_valid(r["valid?"] for r in results.values()),
            "results": results,
            "failures": [k for k, r in results.items() if r["valid?"] is False]}


# ---------------------------------------------------------------------------------------------
# EDN shape

_KEYWORD_FIELDS = {"type", "f", "analyzer"}
_DATA_FIELDS = {"value", "error", "states", "failures"}  # the history's own values: kept as they are


def edn_ready(result: Any) -> Any:
    """The result with Jepsen's EDN types: op types, fs and "unknown" as keywords, register
    models as `#knossos.model.CASRegister{:value v}` / `#knossos.model.Inconsistent{:msg m}`.
    Values from the history (op values, errors, register states, keys) are left as they are.
    Iterative: results holding values nested any depth convert. Write it with
    `maelstrom.edn.dumps(..., pretty=True)`."""
    return rebuild((None, result), _ready_children, _ready_build, _ready_leaf)


# edn_ready works on (field name, value) pairs: what a value becomes depends on its field.
def _is_model(field: Any, value: dict) -> bool:
    return field == "model" and set(value) in ({"value"}, {"inconsistent"})


def _ready_children(pair: tuple) -> list | None:
    field, value = pair
    if field in _DATA_FIELDS:
        return None
    if isinstance(value, dict):
        if _is_model(field, value):
            return None
        if field == "results":  # lin-kv: key -> that key's result (keys are data)
            return [(None, r) for r in value.values()]
        return [(k if isinstance(k, str) else None, v) for k, v in value.items()]
    if isinstance(value, list):
        return [(field, v) for v in value]
    return None


def _ready_build(pair: tuple, kids: list) -> Any:
    value = pair[1]
    return dict(zip(value, kids)) if isinstance(value, dict) else kids


def _ready_leaf(pair: tuple) -> Any:
    field, value = pair
    if field in _DATA_FIELDS:
        return value
    if isinstance(value, dict) and _is_model(field, value):
        if "value" in value:
            return Tagged("knossos.model.CASRegister", {"value": value["value"]})
        return Tagged("knossos.model.Inconsistent", {"msg": value["inconsistent"]})
    if isinstance(value, str) and (field in _KEYWORD_FIELDS or field == "process"
                                   or (field == "valid?" and value == "unknown")):
        return Keyword(value)
    return value
