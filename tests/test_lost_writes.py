"""The lost-writes diagnostic (maelstrom/checker/lost_writes.py) on small lin-kv histories."""

from __future__ import annotations

from maelstrom.checker.lost_writes import lost_writes
from maelstrom.history import Op


def _history(*steps):
    """steps: (type, process, f, [key, value]) in order; times = indexes."""
    return [Op(index=i, time=i, type=t, process=p, f=f, value=v)
            for i, (t, p, f, v) in enumerate(steps)]


def test_a_read_of_an_older_value_after_an_acked_write_is_a_lost_write() -> None:
    h = _history(
        ("invoke", 0, "write", [7, 1]), ("ok", 0, "write", [7, 1]),
        ("invoke", 1, "write", [7, 2]), ("ok", 1, "write", [7, 2]),   # acked...
        ("invoke", 2, "read", [7, None]), ("ok", 2, "read", [7, 1]),  # ... and gone
    )
    r = lost_writes(h)
    assert r["count"] == 1
    assert r["examples"][0]["write"] == 2 and r["examples"][0]["read-value"] == 1


def test_linearizable_histories_and_ambiguous_values_accuse_nobody() -> None:
    fine = _history(
        ("invoke", 0, "write", [7, 1]), ("ok", 0, "write", [7, 1]),
        ("invoke", 1, "write", [7, 2]), ("ok", 1, "write", [7, 2]),
        ("invoke", 2, "read", [7, None]), ("ok", 2, "read", [7, 2]),
    )
    assert lost_writes(fine)["count"] == 0
    # Value 1 is also written by an op concurrent with the read: it may explain the read.
    ambiguous = _history(
        ("invoke", 0, "write", [7, 1]), ("ok", 0, "write", [7, 1]),
        ("invoke", 1, "write", [7, 2]), ("ok", 1, "write", [7, 2]),
        ("invoke", 3, "cas", [7, [2, 1]]),
        ("invoke", 2, "read", [7, None]), ("ok", 2, "read", [7, 1]),
        ("info", 3, "cas", [7, [2, 1]]),
    )
    assert lost_writes(ambiguous)["count"] == 0
    # A failed write is not acknowledged: nothing to lose.
    failed = _history(
        ("invoke", 0, "write", [7, 1]), ("ok", 0, "write", [7, 1]),
        ("invoke", 1, "write", [7, 2]), ("fail", 1, "write", [7, 2]),
        ("invoke", 2, "read", [7, None]), ("ok", 2, "read", [7, 1]),
    )
    assert lost_writes(failed)["count"] == 0


def test_other_keys_do_not_interfere() -> None:
    h = _history(
        ("invoke", 0, "write", [1, 1]), ("ok", 0, "write", [1, 1]),
        ("invoke", 1, "write", [2, 2]), ("ok", 1, "write", [2, 2]),
        ("invoke", 2, "read", [1, None]), ("ok", 2, "read", [1, 1]),
    )
    assert lost_writes(h)["count"] == 0
