"""The operator's keyed work queue: one reconcile per key at a time, bursts folded into one run."""

from __future__ import annotations

import time

from ecsk.controller.runtime.workqueue import WorkQueue


def drain(q: WorkQueue[str], wait: float) -> list[str]:
    """Every key that comes due within `wait` seconds, each marked done at once."""
    got: list[str] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if len(q) == 0:
            time.sleep(0.01)
            continue
        key = q.get()
        assert key is not None
        got.append(key)
        q.done(key)
    return got


def test_a_key_added_many_times_while_queued_runs_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    for _ in range(5):
        q.add("a")
    q.add("b")
    assert drain(q, 0.2) == ["a", "b"]


def test_a_key_added_while_processing_runs_again_after_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get() == "a"
    q.add("a")
    assert len(q) == 0  # not handed to a second worker while the first still runs it
    q.done("a")
    assert q.get() == "a"


def test_coalesced_adds_fold_a_burst_into_one_delayed_run() -> None:
    q: WorkQueue[str] = WorkQueue()
    start = time.monotonic()
    for _ in range(20):
        q.add_coalesced("svc", 0.1)
    assert q.get() == "svc"
    assert time.monotonic() - start >= 0.09
    q.done("svc")
    assert drain(q, 0.3) == []


def test_coalesced_add_after_the_run_schedules_a_new_one() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_coalesced("svc", 0.05)
    assert q.get() == "svc"
    q.add_coalesced("svc", 0.05)  # an event during the pass: another pass later
    q.done("svc")
    assert drain(q, 0.3) == ["svc"]


def test_a_coalesced_add_of_a_queued_key_is_a_no_op() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("svc")
    q.add_coalesced("svc", 0.05)
    assert drain(q, 0.3) == ["svc"]


def test_failures_back_off_exponentially_and_forget_resets() -> None:
    q: WorkQueue[str] = WorkQueue(max_backoff=60)
    assert [q.add_rate_limited("k") for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    q.forget("k")
    assert q.add_rate_limited("k") == 0.5


def test_a_later_timer_for_a_key_with_an_earlier_one_pending_is_dropped() -> None:
    """Every pass of a settled service asks for a wake-up an hour away (stopped-task expiry):
    stacking one timer per pass grew the operator's memory without bound."""
    q: WorkQueue[str] = WorkQueue()
    for _ in range(1000):
        q.add_after("svc", 3600)
    assert len(q) == 1


def test_an_earlier_timer_still_wins_over_a_pending_later_one() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("svc", 3600)
    started = time.monotonic()
    q.add_after("svc", 0.05)
    assert q.get() == "svc"
    assert time.monotonic() - started < 1.0


def test_urgent_keys_run_before_queued_ones() -> None:
    """A new service's first pass goes before the periodic passes of services already rolling out."""
    q: WorkQueue[str] = WorkQueue()
    for key in ("old-1", "old-2"):
        q.add(key)
    q.add("new", urgent=True)
    assert drain(q, 0.2) == ["new", "old-1", "old-2"]


def test_a_queued_key_made_urgent_runs_once_and_first() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add("b")
    q.add("b", urgent=True)
    assert drain(q, 0.2) == ["b", "a"]


def test_a_key_made_urgent_while_processing_runs_first_after_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get() == "a"
    q.add("other")
    q.add("a", urgent=True)
    assert len(q) == 1  # "other"; "a" is still being reconciled
    q.done("a")
    assert drain(q, 0.2) == ["a", "other"]
