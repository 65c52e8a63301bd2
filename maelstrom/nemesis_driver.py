"""The runner's side of the nemeses: builds them from the options, applies each operation to
the network and the node host, records it in the history, and keeps what results report.

`maelstrom/nemesis.py` decides (sans-IO: when, what, whom); this module does it:
- partition: the grudge goes to the network (`Network.partition` / `heal`);
- pause: the host freezes the nodes (`host.pause` / `resume`);
- kill: the network drops what is delivered to the node (`Network.down`), the host kills it;
  at start the host runs a fresh one, and the node is sent `init` again from its own init
  client (c<i>, msg_id 1) and gets nothing else until it answers (`on_init_ok`), or until
  `init_timeout` has passed (an `init-timeout` fault, `check_reinit`);
- group targets: the cluster view is refreshed from the node logs just before a start
  (maelstrom/cluster_view.py), and what each target resolved to is kept (`hits`).

Ops are recorded as Jepsen's: an `:info` invocation when the operation starts, an `:info`
completion once its effect is applied; `step` returns the completion's time, so that nothing
recorded after it is stamped earlier.
"""

from __future__ import annotations

from typing import Any

from maelstrom.errors import BenchError
from maelstrom.nemesis import (KillNemesis, PartitionNemesis, PauseNemesis, is_group_target,
                               targets_for)

from orjson import dumps as _dumps  # a dependency of the bench

__all__ = ["NemesisDriver"]

_MAX_HITS = 100  # group-target hits listed in results


class NemesisDriver:
    """The nemeses of one run (`nemeses`, the partition one also as `partition`), applied
    through `runner` (its clock, network, host, history and log)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        opts = runner.opts
        targets = list(opts.nemesis_targets)
        self.view = None  # a ClusterView when a nemesis aims at group targets
        self.tail = None
        if any(is_group_target(t) for t in targets):
            from maelstrom.cluster_view import ClusterView

            self.view = ClusterView()
        nodes, interval, rng = runner.nodes, opts.nemesis_interval, runner.nemesis_rng
        self.partition = (PartitionNemesis(nodes, interval, rng,
                                           targets_for("partition", targets), view=self.view)
                          if "partition" in opts.nemesis else None)
        self.nemeses: list[Any] = [] if self.partition is None else [self.partition]
        # Each shares the nemesis generator: with the others off, one draws exactly as it
        # would alone; with several on, they interleave in (deterministic) event order.
        for name, cls in (("pause", PauseNemesis), ("kill", KillNemesis)):
            if name in opts.nemesis:
                self.nemeses.append(cls(nodes, interval, rng, targets_for(name, targets),
                                        view=self.view))
        self.counts: dict[str, int] = {}  # nemesis f -> completed ops
        self.kills = self.restarts = 0    # nodes killed / started again
        self.hits: list[dict] = []        # what group targets resolved to (the first 100)
        self.reinit: dict[str, float] = {}  # restarted node -> deadline of its init_ok

    def attach(self, host: Any, log_dir: Any) -> None:
        """The host is built: check it can do what the nemeses need; follow the node logs if
        a target needs the cluster's state."""
        for nem in self.nemeses:
            need = "pause" if isinstance(nem, PauseNemesis) else \
                "kill" if isinstance(nem, KillNemesis) else None
            if need is not None and not hasattr(host, need):
                raise BenchError(f"the {nem.start_f} nemesis needs a host that can {need} "
                                 f"nodes")
        if self.view is not None:
            from maelstrom.cluster_view import LogTail

            self.tail = LogTail(log_dir, self.runner.nodes, self.view,
                                flush=getattr(host, "flush_logs", None))

    # -- operations ----------------------------------------------------------------------
    def step(self, now: float, nem: Any, heal: bool = False) -> float:
        """One nemesis operation: its invocation at `now`, its completion once the effect is
        applied. Returns the completion's time: whatever the caller records next must not be
        stamped earlier (history times never go back against :index). A nemesis whose
        targets resolve to nothing now does nothing (and tries again shortly)."""
        runner = self.runner
        was_active = nem.active
        if heal:
            step = nem.stop()
        else:
            if self.tail is not None and not nem.active:
                self.tail.read()  # the cluster as the node logs say it is now
            step = nem.step(now)
            if step is None:
                return now
        f, inv, done, effect = step
        runner._op(now, "info", "nemesis", f, inv)
        aim = self._hit(now, f, nem.last_hit) if not heal and not was_active else ""
        if isinstance(nem, PauseNemesis):
            for node in effect:
                if f == "pause":
                    runner.host.pause(node)
                else:
                    runner.host.resume(node)
            runner.log(f"nemesis: {f} {' '.join(effect)}{aim}")
        elif isinstance(nem, KillNemesis):
            for node in effect:
                if f == "kill":
                    self._kill(node)
                else:
                    self._restart(now, node)
            runner.log(f"nemesis: {f} {' '.join(effect)}{aim}")
        else:
            if effect is None:
                runner.net.heal()
            else:
                runner.net.partition(effect)
            if effect is not None or was_active:
                runner.log(f"nemesis: {f} {'healed' if effect is None else nem.shape}{aim}")
            else:  # the final heal of a network already healed: recorded, said once
                runner.log(f"nemesis: {f} (final; the network was already healed)",
                           console=False)
        done_at = runner.clock.now()
        runner._op(done_at, "info", "nemesis", f, done)
        self.counts[f] = self.counts.get(f, 0) + 1
        return done_at

    def _hit(self, now: float, f: str, hit: dict | None) -> str:
        """Keep what a group target resolved to; the text bench.log adds."""
        if hit is None:
            return ""
        hit = {"time": int((now - self.runner.t0) * 1e9), "f": f, **hit}
        if len(self.hits) < _MAX_HITS:
            self.hits.append(hit)
        whom = (f"leader of group {hit['group']} in term {hit['term']}" if "term" in hit
                else f"voters of group {hit['group']}")
        return (f" -> {' '.join(hit['nodes'])} ({whom}"
                + (f", migration {hit['migration']} of slot {hit['slot']}"
                   if "migration" in hit else "") + ")")

    def _kill(self, node: str) -> None:
        """Kill a node: the host ends it, the network drops what is sent to it."""
        runner = self.runner
        self.kills += 1
        runner.net.down(node)
        self.reinit.pop(node, None)
        runner.pending_init.discard(node)
        runner.host.kill(node)
        if self.view is not None:
            self.view.forget(node)

    def _restart(self, now: float, node: str) -> None:
        """Start a killed node again and send it `init` as at the start (from its own init
        client, msg_id 1); it gets nothing else until it answers init_ok."""
        runner = self.runner
        cid = next(c for c, n in runner.init_clients.items() if n == node)
        self.restarts += 1
        runner.host.restart(node)
        runner.net.down(node, frozenset({cid}))
        runner.pending_init.add(node)
        self.reinit[node] = now + runner.opts.init_timeout
        msg = {"src": cid, "dest": node,
               "body": {"type": "init", "msg_id": 1, "node_id": node, "node_ids": runner.nodes}}
        runner.net.send(now, cid, node, _dumps(msg), msg)

    def on_init_ok(self, node: str) -> None:
        """`node` answered init: if it was restarted, traffic flows to it again."""
        if self.reinit.pop(node, None) is not None:
            self.runner.net.up(node)
            self.runner.log(f"node {node} initialised again after its restart", console=False)

    def check_reinit(self, now: float) -> None:
        """A restarted node that has not answered init in time is reported (once) and gets
        traffic again, like a node that never answered its first init."""
        runner = self.runner
        for node, deadline in list(self.reinit.items()):
            if now >= deadline:
                del self.reinit[node]
                runner.pending_init.discard(node)
                runner.net.up(node)
                runner._fault(node, "init-timeout",
                              reason=f"no init_ok within {runner.opts.init_timeout:g} s of "
                                     f"its restart")

    # -- results -------------------------------------------------------------------------
    def section(self) -> dict:
        """`nemesis`: how many of each nemesis op completed, with the kill nemesis how many
        nodes it killed and started again (`kills`, `restarts`), and what group targets
        resolved to. Nothing without a nemesis."""
        if not self.nemeses:
            return {}
        counts = dict(sorted(self.counts.items()))
        section: dict[str, Any] = {"valid?": True, "counts": counts}
        if any(isinstance(n, KillNemesis) for n in self.nemeses):
            section["kills"] = self.kills
            section["restarts"] = self.restarts
        if self.view is not None:
            section["targets-hit"] = self.hits
            section["deferred"] = sum(n.deferred for n in self.nemeses)
        return {"nemesis": section}
