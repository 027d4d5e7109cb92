"""Scheduled actions: when they run (time zone, start/end), what they do to min/max/desired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ecsk.core.autoscaling.models import ScheduledAction
from ecsk.core.autoscaling.scheduled import apply_action, due_run, next_run

REF = {
    "ServiceNamespace": "ecs",
    "ResourceId": "service/default/web",
    "ScalableDimension": "ecs:service:DesiredCount",
}
CREATED = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def action(schedule: str, **kw: Any) -> ScheduledAction:
    body = {
        **REF,
        "ScheduledActionName": "a",
        "Schedule": schedule,
        "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 8},
    }
    return ScheduledAction.model_validate({**body, **kw})


def test_at_in_a_time_zone() -> None:
    a = action("at(2026-03-02T09:00:00)", Timezone="Europe/Paris")
    assert next_run(a, CREATED) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert due_run(a, None, datetime(2026, 3, 2, 7, 59, tzinfo=UTC), CREATED) is None
    assert due_run(a, None, datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC), CREATED) == datetime(
        2026, 3, 2, 8, 0, tzinfo=UTC
    )
    # once it ran, it never runs again
    assert (
        due_run(a, datetime(2026, 3, 2, 8, 0, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), CREATED) is None
    )


def test_cron_respects_start_and_end_time() -> None:
    a = action("cron(0 8 * * ? *)", StartTime="2026-03-05T00:00:00Z", EndTime="2026-03-06T12:00:00Z")
    assert next_run(a, CREATED) == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    assert next_run(a, datetime(2026, 3, 5, 8, 0, tzinfo=UTC)) == datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
    assert next_run(a, datetime(2026, 3, 6, 8, 0, tzinfo=UTC)) is None


def test_rate_is_anchored_at_creation_and_only_the_latest_missed_run_fires() -> None:
    a = action("rate(5 minutes)")
    now = CREATED + timedelta(minutes=17)
    assert due_run(a, None, now, CREATED) == CREATED + timedelta(minutes=15)


def test_apply_action_clamps_desired() -> None:
    a = action("rate(5 minutes)")
    change = apply_action(a, 1, 4, desired=2)
    assert (change.min_capacity, change.max_capacity, change.desired) == (3, 8, 3)
    only_max = action("rate(5 minutes)", ScalableTargetAction={"MaxCapacity": 2})
    change = apply_action(only_max, 3, 10, desired=6)
    assert (change.min_capacity, change.max_capacity, change.desired) == (2, 2, 2)
