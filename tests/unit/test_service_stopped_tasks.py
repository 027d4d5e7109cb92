"""A service's stopped tasks in status: newest first, kept for the task retention (ECS: about an
hour), a first full record never overwritten, a minimal one replaced by the pod's final state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ecsk.controller.services.reconcile import MAX_STOPPED_TASKS, _stopped_tasks


def rec(tid: str, minutes_ago: float, **kw: Any) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"taskId": tid, "stoppedAt": at.strftime("%Y-%m-%dT%H:%M:%SZ"), **kw}


def test_retention_order_and_next_expiry() -> None:
    kept, expiry = _stopped_tasks([rec("old", 61), rec("b", 30)], [rec("c", 1)], retention=3600)
    assert [r["taskId"] for r in kept] == ["c", "b"]
    assert expiry is not None and 29 * 60 < expiry <= 30 * 60 + 1  # "b" expires in ~30 minutes
    assert _stopped_tasks([], [], retention=3600) == ([], None)


def test_first_full_record_wins_but_a_minimal_one_is_replaced() -> None:
    replaced = rec("a", 2, podName="web-a", stopCode="EssentialContainerExited")
    minimal = rec("b", 2, stopCode="ServiceSchedulerInitiated")
    later = [
        rec("a", 1, podName="web-a", stopCode="UserInitiated"),
        rec("b", 1, podName="web-b", containers=[1]),
    ]
    kept, _ = _stopped_tasks([replaced, minimal], later, retention=3600)
    by_id = {r["taskId"]: r for r in kept}
    assert by_id["a"]["stopCode"] == "EssentialContainerExited"
    assert by_id["b"]["podName"] == "web-b" and by_id["b"]["containers"] == [1]


def test_bounded() -> None:
    kept, _ = _stopped_tasks([], [rec(str(i), i / 100) for i in range(MAX_STOPPED_TASKS + 5)], retention=3600)
    assert len(kept) == MAX_STOPPED_TASKS and kept[0]["taskId"] == "0"
