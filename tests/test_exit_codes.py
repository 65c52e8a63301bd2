"""One exit-status rule for every `maelstrom` command, as Jepsen's: 0 valid, 1 invalid,
2 unknown, 254 any usage or bench error.

Each row runs the installed `maelstrom` script as a real process (click's standalone handling,
real pipes), so what is asserted is what a shell or CI job sees.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corpus import CORPUS

MAELSTROM = str(Path(sys.executable).parent / "maelstrom")
VALID = CORPUS / "maelstrom-lin-kv" / "valid" / "raft-3n-partition.edn"
INVALID = CORPUS / "maelstrom-lin-kv" / "invalid" / "stale-reads-3n-partition.edn"


def maelstrom(*args, cwd=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([MAELSTROM, *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, **kw)


def assert_exit(r: subprocess.CompletedProcess, code: int, message: str = "") -> None:
    assert r.returncode == code, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    assert message in r.stderr, r.stderr


# -- check: an empty history, or one without a single invocation, tested nothing --------------

@pytest.mark.parametrize("name, text, message", [
    ("empty.edn", "", "the history is empty; nothing to check"),
    ("empty.jsonl", "", "the history is empty; nothing to check"),
    ("blank.edn", "\n\n", "the history is empty; nothing to check"),
    ("nemesis-only.edn",
     "{:process :nemesis, :type :info, :f :start-partition, :value :majority}\n"
     "{:process :nemesis, :type :info, :f :stop-partition, :value nil}\n",
     "has 2 ops but no :invoke"),
    ("completions-only.edn", "{:process 0, :type :ok, :f :read, :value 1}\n",
     "has 1 ops but no :invoke"),
])
def test_check_of_a_history_without_invocations_is_an_error(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    r = maelstrom("check", path)
    assert_exit(r, 254, message)
    assert r.stdout == ""  # no verdict printed
    assert_exit(maelstrom("replay", path), 254, message)  # replay re-checks it the same way


def test_check_of_a_single_invocation_still_checks(tmp_path):
    path = tmp_path / "h.edn"
    path.write_text("{:process 0, :type :invoke, :f :read, :value nil}\n")
    r = maelstrom("check", path)
    assert_exit(r, 0)
    assert "overall: valid" in r.stdout
