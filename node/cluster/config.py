"""The `cluster.*` configuration (docs/design.md, decision 7), from the environment or a TOML file.

Keys (ADR-015 names `cluster.consensus`; the others are this lab's, issues 10 and 11):

  consensus           "raft" (default: node/server.py) or "gossip" (Redis Cluster's protocol:
                      node/rediscluster/)
  shards              number of shard groups, 1..16384; unset: derived from the node count
  replicas            voters per shard group, >= 1 (default 3; capped at the node count)
  meta_voters         voting members of the meta group, >= 1 (default 5; capped likewise)
  learners_per_shard  non-voting members per shard group, >= 0 (default 0)
  seeds               node ids a node's gossip member contacts first (default: the first
                      meta_voters ids of `init`, in natural order; node/cluster/health.py)
  bootstrap_nodes     how many of `init`'s node ids (natural order) form the initial layout;
                      the others start as spares that gossip discovers and the meta group
                      admits (default 0: all of them)
  replace_dead_after  seconds a shard voter must be held dead by the meta leader's gossip view
                      before the meta group is asked to replace it (default 10; 0: never)

Sources, in order of precedence:

1. the environment: key `cluster.x` is `FERRITE_CLUSTER_X` (`FERRITE_CLUSTER_SHARDS=3`). Values
   are text: numbers are ASCII decimal digits (surrounding spaces ignored), seeds a
   comma-separated list ("" is no seeds). Any other `FERRITE_CLUSTER_*` variable is an error.
2. the TOML file named by `FERRITE_CONFIG` (unset or empty: none), its `[cluster]` table, whose
   keys are the names above with TOML types: integers (not strings, floats or booleans),
   strings, an array of strings for seeds. Other tables of the file are not ours and are
   ignored; unknown keys in `[cluster]` are an error. Needs Python 3.11+ (tomllib); on 3.10 a
   file is a ConfigError that says to use the environment instead.
3. the defaults above.

Node ids (seeds) are 1-64 characters: ASCII letters, digits and `_ . : -`, starting with a
letter or digit; no repeats. Every error is a `ConfigError` naming the key and its source, e.g.
"FERRITE_CLUSTER_SHARDS='x': not a positive integer". The only IO is `read_file` (injectable).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping

__all__ = ["ClusterConfig", "ConfigError", "load_config",
           "CONSENSUS_PROTOCOLS", "ENV_PREFIX", "CONFIG_ENV", "MAX_SHARDS"]

ENV_PREFIX = "FERRITE_CLUSTER_"
CONFIG_ENV = "FERRITE_CONFIG"
CONSENSUS_PROTOCOLS = ("raft", "gossip")
MAX_SHARDS = 16384  # each shard group owns at least one of the 16384 slots
_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_DIGITS = re.compile(r"[0-9]+")


class ConfigError(ValueError):
    """A configuration the node cannot run with; the message names the key and its source."""


@dataclass(frozen=True)
class ClusterConfig:
    """The cluster configuration. Constructing one validates it (ConfigError)."""

    consensus: str = "raft"
    shards: int | None = None
    replicas: int = 3
    meta_voters: int = 5
    learners_per_shard: int = 0
    seeds: tuple[str, ...] | None = None
    bootstrap_nodes: int = 0
    replace_dead_after: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.seeds, list):
            object.__setattr__(self, "seeds", tuple(self.seeds))
        for key in _KEYS:
            problem = _check(key, getattr(self, key))
            if problem:
                raise ConfigError(f"cluster.{key} = {_show(getattr(self, key))}: {problem}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every key (seeds as a list or None)."""
        out = asdict(self)
        if self.seeds is not None:
            out["seeds"] = list(self.seeds)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterConfig:
        """The inverse of `to_dict` (missing keys take their defaults; unknown keys: error)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a cluster config is a dict, not {type(data).__name__}")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ConfigError(f"unknown cluster config keys {unknown}; known: {list(_KEYS)}")
        return cls(**data)


def _positive(value: Any, minimum: int = 1, maximum: int | None = None) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        return "not a positive integer" if minimum == 1 else "not a non-negative integer"
    if maximum is not None and value > maximum:
        return f"must be at most {maximum}"
    return None


def _check_consensus(value: Any) -> str | None:
    if not isinstance(value, str) or value not in CONSENSUS_PROTOCOLS:
        return f"not one of {', '.join(map(repr, CONSENSUS_PROTOCOLS))}"
    return None


def _check_seeds(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)):
        return "not a list of node ids"
    for node in value:
        if not isinstance(node, str) or not _NODE_ID.fullmatch(node):
            return (f"{_show(node)} is not a node id (1-64 of A-Z a-z 0-9 _ . : -, "
                    f"starting with a letter or digit)")
    if len(set(value)) != len(value):
        return "a node id repeats"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "consensus": _check_consensus,
    "shards": lambda v: None if v is None else _positive(v, 1, MAX_SHARDS),
    "replicas": _positive,
    "meta_voters": _positive,
    "learners_per_shard": lambda v: _positive(v, 0),
    "seeds": _check_seeds,
    "bootstrap_nodes": lambda v: _positive(v, 0),
    "replace_dead_after": lambda v: _positive(v, 0),
}
_KEYS = tuple(_CHECKS)


def _check(key: str, value: Any) -> str | None:
    return _CHECKS[key](value)


def _show(value: Any) -> str:
    """repr(value), cut to a readable length for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "...(" + str(len(text)) + " chars)"


def _from_env_text(key: str, text: str) -> Any:
    """An environment variable's text as the key's type (left unchecked if it does not parse)."""
    if key == "consensus":
        return text.strip()
    if key == "seeds":
        if not text.strip():
            return ()
        return tuple(part.strip() for part in text.split(","))
    stripped = text.strip()
    if _DIGITS.fullmatch(stripped):
        try:
            return int(stripped)
        except ValueError:  # more digits than int() converts (sys.set_int_max_str_digits)
            pass
    return text


def _read_path(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _parse_toml(path: str, data: bytes) -> Mapping[str, Any]:
    where = f"{CONFIG_ENV}={path!r}"
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise ConfigError(f"{where}: reading a TOML file needs Python 3.11 or later (tomllib); "
                          f"set {ENV_PREFIX}* environment variables instead") from None
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not UTF-8 text: {e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: invalid TOML: {e}") from None
    cluster = doc.get("cluster", {})
    if not isinstance(cluster, dict):
        raise ConfigError(f"{where}: 'cluster' must be a table ([cluster]), "
                          f"not {type(cluster).__name__}")
    return cluster


def _from_file(path: str, read_file: Callable[[str], bytes]) -> dict[str, Any]:
    try:
        data = read_file(path)
    except OSError as e:
        raise ConfigError(f"{CONFIG_ENV}={path!r}: cannot read the file: "
                          f"{e.strerror or e}") from None
    values: dict[str, Any] = {}
    for key, value in _parse_toml(path, data).items():
        if key not in _CHECKS:
            raise ConfigError(f"cluster.{key} in {path} ({CONFIG_ENV}): unknown key; "
                              f"known: {', '.join(_KEYS)}")
        problem = _check(key, value)
        if problem:
            raise ConfigError(f"cluster.{key} = {_show(value)} in {path} ({CONFIG_ENV}): "
                              f"{problem}")
        values[key] = value
    return values


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key not in _CHECKS or name != ENV_PREFIX + key.upper():
            known = ", ".join(ENV_PREFIX + k.upper() for k in _KEYS)
            raise ConfigError(f"{name}: unknown variable; known: {known}")
        text = environ[name]
        value = _from_env_text(key, text)
        problem = _check(key, value)
        if problem:
            raise ConfigError(f"{name}={_show(text)}: {problem}")
        values[key] = value
    return values


def load_config(environ: Mapping[str, str],
                read_file: Callable[[str], bytes] | None = None) -> ClusterConfig:
    """The cluster configuration from `environ` (e.g. os.environ) and the TOML file it names
    in FERRITE_CONFIG (read with `read_file`, default: from disk); the environment wins."""
    values: dict[str, Any] = {}
    path = environ.get(CONFIG_ENV, "")
    if path:
        values.update(_from_file(path, read_file or _read_path))
    values.update(_from_environ(environ))
    return ClusterConfig(**values)

