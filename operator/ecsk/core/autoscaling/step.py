"""Step scaling as Application Auto Scaling does it, as pure functions of numbers and times.

The controller samples the service's utilization, turns samples into CloudWatch-style datapoints,
evaluates the alarm, and, while it is in ALARM, asks `step_decision` what the new desired count
is. Everything that decides a number lives here so it can be tested without a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ecsk.core.autoscaling.models import MetricAlarm, StepAdjustment, StepScalingPolicyConfiguration

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


def breaching(value: float, alarm: MetricAlarm) -> bool:
    op, t = alarm.ComparisonOperator, alarm.Threshold
    if op == "GreaterThanOrEqualToThreshold":
        return value >= t
    if op == "GreaterThanThreshold":
        return value > t
    if op == "LessThanThreshold":
        return value < t
    return value <= t


def aggregate(values: Sequence[float], statistic: str) -> float:
    """One CloudWatch statistic over the samples of a period."""
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    if statistic == "Sum":
        return float(sum(values))
    if statistic == "SampleCount":
        return float(len(values))
    return sum(values) / len(values)


def datapoints(
    samples: Sequence[tuple[datetime, float]], alarm: MetricAlarm, now: datetime
) -> list[float | None]:
    """The last EvaluationPeriods datapoints, oldest first; None where a period has no sample."""
    period = timedelta(seconds=alarm.Period)
    out: list[float | None] = []
    for i in range(alarm.EvaluationPeriods, 0, -1):
        start, end = now - i * period, now - (i - 1) * period
        values = [v for t, v in samples if start < t <= end]
        out.append(aggregate(values, alarm.Statistic) if values else None)
    return out


def alarm_state(points: Sequence[float | None], alarm: MetricAlarm) -> AlarmState:
    """M out of N: ALARM when DatapointsToAlarm (default all) of the periods breach.

    Missing data is treated as missing (CloudWatch's default TreatMissingData): with too few
    datapoints to decide, the alarm is INSUFFICIENT_DATA and no scaling happens, as in AWS.
    """
    needed = alarm.DatapointsToAlarm or alarm.EvaluationPeriods
    present = [p for p in points if p is not None]
    breaches = sum(1 for p in present if breaching(p, alarm))
    if breaches >= needed:
        return "ALARM"
    if len(present) < needed:
        return "INSUFFICIENT_DATA"
    return "OK"


def select_step(steps: Sequence[StepAdjustment], breach: float) -> StepAdjustment | None:
    """The step whose interval holds `metric - threshold`.

    AWS: above the threshold the lower bound is inclusive and the upper exclusive; below it the
    lower bound is exclusive and the upper inclusive (so a step ending at 0 catches exactly 0
    only for a below-threshold alarm).
    """
    for step in steps:
        if breach >= 0:
            if step.lower <= breach < step.upper:
                return step
        elif step.lower < breach <= step.upper:
            return step
    return None


def adjusted_capacity(current: int, adjustment: int, config: StepScalingPolicyConfiguration) -> int:
    """The new capacity before min/max clamping, with AWS's rounding for percentages.

    PercentChangeInCapacity: the change is rounded toward zero, but a change between -1 and 1
    (exclusive, not 0) becomes -1 or 1; MinAdjustmentMagnitude then raises a smaller change.
    """
    kind = config.AdjustmentType
    if kind == "ExactCapacity":
        return adjustment
    if kind == "ChangeInCapacity":
        return current + adjustment
    raw = current * adjustment / 100.0
    change = 0 if raw == 0 else (int(math.copysign(1, raw)) if abs(raw) < 1 else int(raw))
    magnitude = config.MinAdjustmentMagnitude
    if magnitude and change != 0 and abs(change) < magnitude:
        change = int(math.copysign(magnitude, change))
    return current + change


@dataclass(frozen=True)
class LastActivity:
    """The policy's previous scaling, as the cooldown needs it."""

    at: datetime
    from_capacity: int
    to_capacity: int


@dataclass(frozen=True)
class StepDecision:
    desired: int
    reason: str
    changed: bool


def step_decision(
    *,
    config: StepScalingPolicyConfiguration,
    alarm: MetricAlarm,
    metric: float,
    current: int,
    min_capacity: int,
    max_capacity: int,
    now: datetime,
    last: LastActivity | None = None,
) -> StepDecision:
    """What one invocation of a step policy (its alarm being in ALARM) does.

    Cooldown (AWS): after a scale-out, another scale-out inside the cooldown only happens if it
    is larger, and the capacity the first one added counts toward it; after a scale-in, the
    policy does not scale in again until the cooldown ends.
    """
    breach = metric - alarm.Threshold
    step = select_step(config.StepAdjustments, breach)
    if step is None:
        return StepDecision(current, f"no step adjustment covers a breach of {breach:g}", False)
    in_cooldown = last is not None and now < last.at + timedelta(seconds=config.cooldown)
    base = current
    if in_cooldown and last is not None:
        if last.to_capacity < last.from_capacity:  # scale-in cooldown blocks scale-in
            target = adjusted_capacity(current, step.ScalingAdjustment, config)
            if target < current:
                return StepDecision(current, "scale-in blocked by the policy's cooldown", False)
        else:  # scale-out cooldown: the capacity already added counts toward this one
            base = last.from_capacity
    target = adjusted_capacity(base, step.ScalingAdjustment, config)
    desired = max(min_capacity, min(max_capacity, target))
    if in_cooldown and last is not None and last.to_capacity > last.from_capacity and desired <= current:
        return StepDecision(current, "no larger scale-out than the previous one, inside its cooldown", False)
    reason = f"step [{_bound(step.lower)}, {_bound(step.upper)}) for breach {breach:g}"
    return StepDecision(desired, reason, desired != current)


def _bound(value: float) -> str:
    return "" if math.isinf(value) else f"{value:g}"
