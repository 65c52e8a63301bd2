"""Overriding timing constants from text, "name=value,name=value" ($FERRITE_TIMING for the Raft
node, $FERRITE_GOSSIP_TIMING for gossip mode; experiments and tests). One parser for every
frozen dataclass of constants (node/raft/timing.py, node/gossip/timing.py,
node/rediscluster/timing.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["with_overrides", "from_environ"]


def with_overrides(base: Any, spec: str, what: str = "timing", positive: bool = False) -> Any:
    """`base` (a dataclass instance) with the fields named in `spec` replaced. Fields typed int
    or bool parse as such, the rest as float. ValueError on an unknown name, a value that does
    not parse, or (with `positive`) a number that is not > 0."""
    fields = {f.name: f for f in dataclasses.fields(base)}
    changes: dict = {}
    for item in filter(None, (x.strip() for x in spec.split(","))):
        name, _, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if name not in fields:
            raise ValueError(f"unknown {what} constant {name!r}; known: {', '.join(fields)}")
        kind = fields[name].type
        if kind in (bool, "bool"):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{what} {name}={text!r}: must be true or false")
            changes[name] = text.lower() in ("true", "1")
            continue
        kind = int if kind in (int, "int") else float
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{what} {name}={text!r}: not a {kind.__name__}") from None
        if positive and not value > 0:
            raise ValueError(f"{what} {name}={text!r}: must be positive")
        changes[name] = value
    return dataclasses.replace(base, **changes)


def from_environ(environ: Any, name: str, parse: Any) -> Any:
    """`parse(text)` of the environment variable `name`, or None if it is unset or empty; a
    ValueError from `parse` becomes a ConfigError naming the variable (the node stops at start)."""
    from node.cluster.config import ConfigError

    spec = environ.get(name, "")
    if not spec:
        return None
    try:
        return parse(spec)
    except ValueError as exc:
        raise ConfigError(f"{name}={spec!r}: {exc}") from None
