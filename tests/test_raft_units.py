"""Unit tests of the Raft core's small pure modules: log, quorum, progress, read index, load."""

from __future__ import annotations

import pytest

from node.raft import quorum
from node.raft.load import LoadMeter
from node.raft.log import RaftLog
from node.raft.progress import PROBE, REPLICATE, Progress
from node.raft.read_index import ReadIndexQueue
from node.raft.timing import DEFAULT, from_spec


def make_log(terms: list[int]) -> RaftLog:
    log = RaftLog()
    for i, t in enumerate(terms, 1):
        log.append(t, f"e{i}")
    return log


def test_log_matches_and_up_to_date() -> None:
    log = make_log([1, 1, 2])
    assert log.matches(0, 0) and log.matches(3, 2) and not log.matches(3, 1)
    assert not log.matches(4, 2)
    assert log.is_up_to_date(3, 2) and log.is_up_to_date(1, 3) and not log.is_up_to_date(5, 1)


def test_append_after_keeps_matching_entries_and_truncates_conflicts() -> None:
    log = make_log([1, 1, 2, 2])
    # Matching entries are kept, the rest appended; a stale shorter message truncates nothing.
    assert log.append_after(1, [[1, "e2"]], committed=0) == 2
    assert log.last_index == 4
    # A conflict at 3 truncates 3.. and appends.
    assert log.append_after(2, [[3, "x3"], [3, "x4"], [3, "x5"]], committed=2) == 5
    assert [log.term(i) for i in range(1, 6)] == [1, 1, 3, 3, 3]
    assert log.data(3) == "x3"


def test_append_after_never_truncates_committed_entries() -> None:
    log = make_log([1, 1, 2])
    with pytest.raises(AssertionError):
        log.append_after(1, [[3, "bad"]], committed=2)


@pytest.mark.parametrize("terms, index, committed, hint", [
    ([1, 1, 2], 5, 0, (4, None)),          # too short: ask for our next index
    ([1, 2, 2, 2], 4, 0, (2, 2)),          # conflicting term 2 starts at 2
    ([1, 2, 2, 2], 4, 2, (3, 2)),          # but never at or below commit
    ([1, 1, 1], 3, 0, (1, 1)),
])
def test_conflict_hint(terms, index, committed, hint) -> None:
    assert make_log(terms).conflict_hint(index, committed) == hint


def test_last_index_of_term() -> None:
    log = make_log([1, 1, 3, 3, 5])
    assert log.last_index_of_term(3, 10) == 4
    assert log.last_index_of_term(3, 3) == 3
    assert log.last_index_of_term(2, 10) == 0
    assert log.last_index_of_term(1, 10) == 2
    assert log.last_index_of_term(5, 0) == 0


def test_quorum_value_and_votes() -> None:
    assert quorum.majority(3) == 2 and quorum.majority(4) == 3 and quorum.majority(5) == 3
    assert quorum.quorum_value([9, 5, 7], 3) == 7
    assert quorum.quorum_value([9, 5, 7, 1, 0], 5) == 5
    assert quorum.quorum_value([9], 3) == 0  # missing voters count as 0
    assert quorum.vote_result({"a": True, "b": True}, 3) == quorum.VOTE_WON
    assert quorum.vote_result({"a": True, "b": False}, 3) == quorum.VOTE_PENDING
    assert quorum.vote_result({"a": True, "b": False, "c": False}, 3) == quorum.VOTE_LOST


def test_progress_window_and_acks() -> None:
    pr = Progress(next_index=5)
    assert pr.state == PROBE and pr.window_open(4)
    pr.inflight.append((1, 0.0))
    assert not pr.window_open(4)  # probing: one at a time
    pr.match = 6
    pr.become_replicate()
    assert pr.state == REPLICATE and pr.next == 7 and not pr.inflight
    pr.inflight.extend([(2, 0.0), (3, 0.0), (4, 0.0)])
    assert not pr.window_open(3) and pr.window_open(4)
    pr.ack(3)
    assert list(pr.inflight) == [(4, 0.0)] and pr.acked_seq == 3
    pr.ack(2)  # late ack: nothing moves back
    assert pr.acked_seq == 3
    # Urgent: read states, or commit news covering entries the follower forwarded.
    pr.sent_commit, pr.owed = 10, 12
    assert not pr.urgent(10) and pr.urgent(11)
    pr.read_states.append(["r", 3])
    assert pr.urgent(10)


def test_read_index_queue_confirms_in_order() -> None:
    q = ReadIndexQueue()
    q.add(1, "n1", "a")
    q.add(1, "n2", "b")
    q.add(3, "n1", "c")
    assert q.highest_seq == 3
    assert q.confirm(2) == [("n1", "a"), ("n2", "b")]
    assert q.confirm(2) == [] and len(q) == 1
    assert q.confirm(3) == [("n1", "c")]


def test_load_meter() -> None:
    m = LoadMeter(bucket=0.1)
    for k in range(50):
        m.add(1.01 + k * 0.001)
    assert m.rate(1.07) == pytest.approx(500.0)
    assert m.rate(1.15) == pytest.approx(500.0)  # previous bucket still counts
    assert m.rate(1.35) == 0.0                    # two quiet buckets later: idle


def test_timing_spec() -> None:
    t = from_spec("max_inflight=3, election_timeout=0.5")
    assert t.max_inflight == 3 and t.election_timeout == 0.5
    assert t.heartbeat_interval == DEFAULT.heartbeat_interval
    with pytest.raises(ValueError):
        from_spec("no_such_thing=1")
    with pytest.raises(ValueError):
        from_spec("max_inflight=lots")
