"""Relayed messages, as Jepsen's Maelstrom allows them: a node may print a message whose `src`
is another node or a client of the test (Maelstrom's demo Raft passes a client's request on to
the leader unchanged). The bench routes it from the node that printed it (partitions and
latency apply to that node), journals it with `via`, and calls only an unknown `src` or `dest`
a fault.

The node is tests/nodes/relay_kv.py: n0 serves everything, n1 and n2 relay client requests to
n0 unchanged, and n0 answers the client directly. Each test runs in the simulator (long, exact)
and with real processes (short).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import maelstrom.nemesis_driver as nemesis_driver_module
from maelstrom.cli import main
from maelstrom.edn import Keyword
from maelstrom.history import read_history
from maelstrom.nemesis import PartitionNemesis

RELAY_KV = Path(__file__).parent / "nodes" / "relay_kv.py"
NODES = 3
CONCURRENCY = 2 * NODES
LIN_KV = ["-w", "lin-kv", "--node-count", str(NODES), "--concurrency", "2n", "--latency", "5"]
SIM = ["--sim", "--time-limit", "10", "--rate", "60"]
PROCESS = ["--time-limit", "2", "--rate", "40"]


def run(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    result = CliRunner().invoke(main, ["test", "--store", str(tmp_path / "store"), "--quiet",
                                       *args], catch_exceptions=False)
    return result.exit_code, result.output, tmp_path / "store" / "latest"


def results(store: Path) -> dict:
    return json.loads((store / "results.json").read_text())


def journal(store: Path) -> list[dict]:
    return [json.loads(line) for line in (store / "messages.jsonl").read_text().splitlines()]


def node_of(process: int) -> str:
    """The node a client process talks to (worker thread t -> node t mod n)."""
    return f"n{process % CONCURRENCY % NODES}"


BACKENDS = pytest.mark.parametrize("backend", [SIM, PROCESS], ids=["sim", "process"])


@BACKENDS
def test_a_relaying_lin_kv_runs_to_the_end_with_no_node_fault(tmp_path, backend):
    code, out, store = run(tmp_path, *LIN_KV, *backend, "--bin", str(RELAY_KV), "--nemesis",
                           "partition", "--nemesis-interval", "0.5", "--recovery-time", "0.5",
                           "--seed", "3")
    r = results(store)
    assert r["nodes"] == {"valid?": True, "faults": [], "fault-counts": {},
                          "unread-at-stop": r["nodes"]["unread-at-stop"]}
    assert r["workload"]["valid?"] is True      # judged by the checker alone
    assert code == 0 and r["valid?"] is True, out
    ops = read_history(store / "history.edn")
    ok_by_node = {node_of(op.process) for op in ops
                  if op.type == "ok" and isinstance(op.process, int)}
    assert ok_by_node == {"n0", "n1", "n2"}     # clients of the relays were served too
    relayed = [e for e in journal(store) if "via" in e]
    sent = [e for e in relayed if e["type"] == "send"]
    assert sent and {e["via"] for e in sent} == {"n1", "n2"}
    for e in sent:  # the client's message, passed on unchanged but for dest
        assert e["message"]["src"].startswith("c") and e["message"]["dest"] == "n0"
        assert e["message"]["body"]["type"] in ("read", "write", "cas")
    delivered = [e for e in relayed if e["type"] == "recv"]
    assert delivered
    # n0 answers every relayed request it got to the client directly: src n0, dest the client
    answers = {(e["message"]["dest"], e["message"]["body"].get("in_reply_to"))
               for e in journal(store) if e["type"] == "send" and e["message"]["src"] == "n0"}
    assert {(e["message"]["src"], e["message"]["body"]["msg_id"]) for e in delivered} <= answers
    # relays cross between servers: counted as server traffic
    assert r["net"]["servers"]["msg-count"] >= len(sent)


class CutRelayFromLeader(PartitionNemesis):
    """Cuts n1 from n0 (both ways) at the first nemesis step; n2 stays connected to both."""

    def start(self):
        self.partitioned, self.shape = True, "cut-n1-n0"
        grudge = {"n0": frozenset({"n1"}), "n1": frozenset({"n0"})}
        return "start-partition", Keyword("cut-n1-n0"), [Keyword("isolated"), dict(grudge)], grudge


@BACKENDS
@pytest.mark.parametrize("cut", [True, False], ids=["cut", "connected"])
def test_a_relayed_message_obeys_partitions(tmp_path, monkeypatch, backend, cut):
    """With n1 cut from n0, the requests n1 relays for its clients never reach n0 (the printed
    src is a client, which no partition names: routing by src would deliver them); n2's do.
    Without the cut, n1's clients are served: the test can fail."""
    monkeypatch.setattr(nemesis_driver_module, "PartitionNemesis", CutRelayFromLeader)
    nemesis = ["--nemesis", "partition", "--nemesis-interval", "10000"] if cut else []
    code, out, store = run(tmp_path, *LIN_KV, *backend, "--bin", str(RELAY_KV), *nemesis,
                           "--recovery-time", "0", "--seed", "5")
    ops = read_history(store / "history.edn")
    nemesis_ops = [op for op in ops if op.process == "nemesis"]
    if cut:  # one start, at the test's start; one final heal
        assert [op.f for op in nemesis_ops] == ["start-partition"] * 2 + ["stop-partition"] * 2
        main_phase = ops[nemesis_ops[1].index + 1:nemesis_ops[2].index]
    else:
        main_phase = ops
    done = [op for op in main_phase if op.type != "invoke" and isinstance(op.process, int)]
    by_node = {n: [op for op in done if node_of(op.process) == n] for n in ("n0", "n1", "n2")}
    assert all(by_node.values()), {n: len(v) for n, v in by_node.items()}
    assert any(op.type == "ok" for op in by_node["n2"])
    n1_ok = [op for op in by_node["n1"] if op.type == "ok"]
    entries = journal(store)
    relayed_ids = {e["id"] for e in entries if e.get("via") == "n1" and e["type"] == "send"}
    delivered = {e["id"]: e["time"] for e in entries
                 if e.get("via") == "n1" and e["type"] == "recv"}
    assert relayed_ids
    if cut:
        assert n1_ok == []
        assert all(op.error == Keyword("net-timeout") for op in by_node["n1"])
        # partitions apply at delivery: only what lands after the final heal gets through
        heal = _final_heal_ns(entries, ops)
        assert all(t >= heal - 1 for t in delivered.values())  # (ns rounding)
        assert results(store)["nodes"]["faults"] == []
    else:
        assert n1_ok and set(delivered) == relayed_ids


def _final_heal_ns(entries: list[dict], ops: list) -> int:
    """The final heal's time on the journal's clock (node start, not workload start): its
    invocation, after which the network is healed."""
    start = next(e["time"] for e in entries if e["type"] == "workload-start")
    heal = [op for op in ops if op.process == "nemesis" and op.f == "stop-partition"][0]
    return start + heal.time


@pytest.mark.parametrize("backend", [
    [*SIM, "--sim-node", f"{RELAY_KV}:UnknownSrcServer"],
    [*PROCESS, "--bin", str(RELAY_KV), "unknown-src"]], ids=["sim", "process"])
def test_a_relay_with_an_unknown_src_is_still_a_fault(tmp_path, backend):
    code, out, store = run(tmp_path, *LIN_KV, *backend, "--seed", "2")
    assert code == 1, out
    faults = results(store)["nodes"]["faults"]
    assert faults and {f["node"] for f in faults} <= {"n1", "n2"}  # the relays, never n0
    for fault in faults:
        assert fault["kind"] == "invalid-output"
        assert fault["reason"] == 'src is "x9", which is not a node or client of this test'
        assert json.loads(fault["line"])["src"] == "x9"
    # nothing with that src reached the network
    assert not [e for e in journal(store) if e.get("message", {}).get("src") == "x9"]
