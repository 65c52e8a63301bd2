"""What the cluster is doing now, as the nodes' own logs say: each group's leader and the slot
moves in flight. The group-aware nemesis targets (maelstrom/nemesis.py) are resolved from it.

Both backends write every node's log to `node-logs/<node>.log` as it runs (the process backend
sends stderr there, the simulator writes each event at once), so one reader serves both:
`LogTail` reads what each file gained since the last call and feeds `ClusterView`, which is
sans-IO (fed events, asked questions). Events used (docs/cluster.md):

- `{"event": "role", "group": G, "term": T, "role": R, "node": N}`: N's role in group G;
- `{"event": "meta_epoch", "epoch": E, "moving": [[id, slot, from, to], ...], "groups":
  {"G": [voters...]}, ...}`: the slot moves in flight and each shard group's voters in the
  meta state of epoch E.

The leader of group G is the node whose latest role in G is `leader` in the highest term any
node of G has reported; if that term has no leader yet (an election is on), G has none. A node
the bench killed is forgotten until it reports again. The moves in flight are those of the
highest epoch any node applied, and so are the groups' voters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

__all__ = ["ClusterView", "LogTail"]

_ROLE = b'"role"'
_EPOCH = b'"meta_epoch"'


class ClusterView:
    """Leaders and moves in flight, from node events (`feed`)."""

    def __init__(self) -> None:
        self._roles: dict[Any, dict[str, tuple[int, str]]] = {}  # group -> node -> (term, role)
        self._epoch = -1
        self._moving: list[tuple[str, int, Any, Any]] = []
        self._voters: dict[Any, list[str]] = {}  # shard group -> voters

    def feed(self, event: Any) -> None:
        """One event from a node's log (anything else is ignored)."""
        if type(event) is not dict:
            return
        kind = event.get("event")
        if kind == "role":
            group, term, role, node = (event.get("group"), event.get("term"), event.get("role"),
                                       event.get("node"))
            if isinstance(term, int) and isinstance(role, str) and isinstance(node, str) \
                    and isinstance(group, (int, str)):
                self._roles.setdefault(group, {})[node] = (term, role)
        elif kind == "meta_epoch":
            epoch, moving = event.get("epoch"), event.get("moving")
            if isinstance(epoch, int) and epoch > self._epoch and isinstance(moving, list):
                self._epoch = epoch
                self._moving = [tuple(m) for m in moving
                                if isinstance(m, list) and len(m) == 4]
                groups = event.get("groups")
                if isinstance(groups, dict):
                    self._voters = {int(g): sorted(v) for g, v in groups.items()
                                    if isinstance(g, str) and g.isdigit()
                                    and isinstance(v, list)
                                    and all(isinstance(n, str) for n in v)}

    def forget(self, node: str) -> None:
        """`node` was killed: its roles are gone with its memory."""
        for roles in self._roles.values():
            roles.pop(node, None)

    def leader(self, group: Any) -> tuple[str, int] | None:
        """(node, term) of the group's leader now, or None if none is known."""
        roles = self._roles.get(group)
        if not roles:
            return None
        top = max(term for term, _ in roles.values())
        leaders = sorted(n for n, (term, role) in roles.items()
                         if term == top and role == "leader")
        return (leaders[0], top) if len(leaders) == 1 else None

    def voters(self, group: Any) -> list[str]:
        """The voters of shard group `group` by the latest meta state ([] if unknown)."""
        return list(self._voters.get(group, ()))

    def shard_groups(self) -> list[Any]:
        """Shard groups any node reported a role in (the meta group, 0, excluded)."""
        return sorted((g for g in self._roles if g != 0), key=repr)

    def moving(self) -> list[tuple[str, int, Any, Any]]:
        """(id, slot, from group, to group) of each slot move in flight, by id."""
        return sorted(self._moving, key=lambda m: str(m[0]))


class LogTail:
    """Feeds a ClusterView from the node logs in `log_dir`, reading only what was appended
    since the last `read()`. `flush`, if given, is called first (the simulator's buffered
    log files)."""

    def __init__(self, log_dir: Path, nodes: list[str], view: ClusterView,
                 flush: Any = None) -> None:
        self.log_dir = Path(log_dir)
        self.nodes = list(nodes)
        self.view = view
        self.flush = flush
        self._offset = {n: 0 for n in self.nodes}
        self._partial = {n: b"" for n in self.nodes}

    def read(self) -> None:
        if self.flush is not None:
            self.flush()
        feed = self.view.feed
        for node in self.nodes:
            try:
                with open(self.log_dir / f"{node}.log", "rb") as f:
                    f.seek(self._offset[node])
                    data = f.read()
            except OSError:
                continue
            if not data:
                continue
            self._offset[node] += len(data)
            lines = (self._partial[node] + data).split(b"\n")
            self._partial[node] = lines.pop()
            for line in lines:
                if _ROLE not in line and _EPOCH not in line:
                    continue
                try:
                    event = orjson.loads(line)
                except ValueError:
                    continue
                feed(event)
