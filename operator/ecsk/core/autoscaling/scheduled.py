"""Scheduled actions: when one is due, and what it does to the target and the desired count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ecsk.core.autoscaling.models import ScheduledAction
from ecsk.core.common.schedules import parse_schedule


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def next_run(action: ScheduledAction, after: datetime, created: datetime | None = None) -> datetime | None:
    """The first run strictly after `after` inside [StartTime, EndTime], or None when none is left.

    `rate()` is anchored at the action's creation time (or StartTime), as AWS measures rates.
    StartTime/EndTime without a zone are UTC, as the AWS API takes them.
    """
    start = _aware(action.StartTime) if action.StartTime else None
    end = _aware(action.EndTime) if action.EndTime else None
    anchor = start or (_aware(created) if created else None)
    schedule = parse_schedule(action.Schedule, action.Timezone, anchor=anchor)
    after = _aware(after)
    if start and after < start:
        after = start - _tick()
    times = schedule.next_fire_times(after, 1)
    if not times or (end and times[0] > end):
        return None
    return times[0]


def _tick() -> timedelta:
    return timedelta(microseconds=1)


def due_run(
    action: ScheduledAction, last_run: datetime | None, now: datetime, created: datetime
) -> datetime | None:
    """The run to carry out now, if one fell in (last run or creation, now]; else None.

    Only the latest missed run matters: a scheduled action sets capacities, so replaying older
    ones would only be overwritten.
    """
    since = _aware(last_run) if last_run else _aware(created)
    now = _aware(now)
    moment = next_run(action, since, created)
    if moment is None or moment > now:
        return None
    while True:
        following = next_run(action, moment, created)
        if following is None or following > now:
            return moment
        moment = following


@dataclass(frozen=True)
class CapacityChange:
    min_capacity: int
    max_capacity: int
    desired: int


def apply_action(
    action: ScheduledAction, min_capacity: int, max_capacity: int, desired: int
) -> CapacityChange:
    """New min/max from ScalableTargetAction, and the desired count clamped into them (AWS)."""
    new_min = action.ScalableTargetAction.MinCapacity
    new_max = action.ScalableTargetAction.MaxCapacity
    lo = min_capacity if new_min is None else new_min
    hi = max_capacity if new_max is None else new_max
    if hi < lo:  # only one side given and it crosses the other: the given side wins
        if new_min is not None:
            hi = lo
        else:
            lo = hi
    return CapacityChange(lo, hi, max(lo, min(hi, desired)))
