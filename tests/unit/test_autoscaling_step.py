"""Step scaling: which step applies, AWS's rounding, MinAdjustmentMagnitude, cooldown, alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecsk.core.autoscaling.models import MetricAlarm, StepScalingPolicyConfiguration
from ecsk.core.autoscaling.step import (
    LastActivity,
    adjusted_capacity,
    alarm_state,
    datapoints,
    select_step,
    step_decision,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# AWS's documented example: threshold 50, +10%..+20% -> +1, >= +20% -> +2 (here in points).
STEPS = [
    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
    {"MetricIntervalLowerBound": 10, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 2},
    {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 4},
]


def config(
    kind: str = "ChangeInCapacity", steps: list[dict[str, Any]] | None = None, **kw: Any
) -> StepScalingPolicyConfiguration:
    return StepScalingPolicyConfiguration.model_validate(
        {"AdjustmentType": kind, "StepAdjustments": steps or STEPS, **kw}
    )


def alarm(**kw: Any) -> MetricAlarm:
    base = {
        "MetricName": "CPUUtilization",
        "Threshold": 50,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 2,
        "Period": 60,
    }
    return MetricAlarm.model_validate({**base, **kw})


@pytest.mark.parametrize(("breach", "adjust"), [(0, 1), (9.9, 1), (10, 2), (19.99, 2), (20, 4), (500, 4)])
def test_select_step_above_threshold(breach: float, adjust: int) -> None:
    step = select_step(config().StepAdjustments, breach)
    assert step is not None and step.ScalingAdjustment == adjust


def test_select_step_below_threshold_bounds_are_upper_inclusive() -> None:
    steps = config(
        steps=[
            {"MetricIntervalUpperBound": -10, "ScalingAdjustment": -2},
            {"MetricIntervalLowerBound": -10, "MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
        ]
    ).StepAdjustments
    assert select_step(steps, -10).ScalingAdjustment == -2  # type: ignore[union-attr]
    assert select_step(steps, -5).ScalingAdjustment == -1  # type: ignore[union-attr]
    assert select_step(steps, 5) is None


@pytest.mark.parametrize(
    ("kind", "current", "adjust", "magnitude", "want"),
    [
        ("ChangeInCapacity", 4, 2, None, 6),
        ("ChangeInCapacity", 4, -3, None, 1),
        ("ExactCapacity", 4, 9, None, 9),
        ("PercentChangeInCapacity", 10, 25, None, 12),  # 2.5 rounds down to 2
        ("PercentChangeInCapacity", 2, 10, None, 3),  # 0.2 -> at least 1
        ("PercentChangeInCapacity", 2, -10, None, 1),  # -0.2 -> -1
        ("PercentChangeInCapacity", 10, -25, None, 8),  # -2.5 rounds up to -2
        ("PercentChangeInCapacity", 10, 10, 3, 13),  # 1 raised to the minimum magnitude 3
        ("PercentChangeInCapacity", 10, 50, 3, 15),  # 5 is already above it
    ],
)
def test_adjusted_capacity(kind: str, current: int, adjust: int, magnitude: int | None, want: int) -> None:
    extra = {"MinAdjustmentMagnitude": magnitude} if magnitude else {}
    assert adjusted_capacity(current, adjust, config(kind, **extra)) == want


def test_decision_clamps_to_max_and_names_the_step() -> None:
    d = step_decision(
        config=config(), alarm=alarm(), metric=95, current=3, min_capacity=1, max_capacity=5, now=T0
    )
    assert d.desired == 5 and d.changed and "breach 45" in d.reason


def test_scale_out_cooldown_counts_added_capacity_and_allows_only_larger() -> None:
    last = LastActivity(T0, from_capacity=2, to_capacity=3)  # a +1 step ran a minute ago
    now = T0 + timedelta(seconds=60)
    same = step_decision(
        config=config(),
        alarm=alarm(),
        metric=55,
        current=3,
        min_capacity=1,
        max_capacity=20,
        now=now,
        last=last,
    )
    assert not same.changed and same.desired == 3
    larger = step_decision(
        config=config(),
        alarm=alarm(),
        metric=75,
        current=3,
        min_capacity=1,
        max_capacity=20,
        now=now,
        last=last,
    )
    assert larger.desired == 6  # 2 (before the first scale-out) + 4, not 3 + 4
    after = step_decision(
        config=config(),
        alarm=alarm(),
        metric=55,
        current=3,
        min_capacity=1,
        max_capacity=20,
        now=T0 + timedelta(seconds=301),
        last=last,
    )
    assert after.desired == 4


def test_scale_in_cooldown_blocks_further_scale_in() -> None:
    cfg = config(steps=[{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}], Cooldown=120)
    low = alarm(ComparisonOperator="LessThanThreshold", Threshold=20)
    last = LastActivity(T0, from_capacity=5, to_capacity=4)
    blocked = step_decision(
        config=cfg,
        alarm=low,
        metric=5,
        current=4,
        min_capacity=1,
        max_capacity=10,
        now=T0 + timedelta(seconds=60),
        last=last,
    )
    assert not blocked.changed and "cooldown" in blocked.reason
    later = step_decision(
        config=cfg,
        alarm=low,
        metric=5,
        current=4,
        min_capacity=1,
        max_capacity=10,
        now=T0 + timedelta(seconds=121),
        last=last,
    )
    assert later.desired == 3


def test_alarm_needs_its_datapoints() -> None:
    a = alarm(EvaluationPeriods=3, DatapointsToAlarm=2, Period=60)
    samples = [
        (T0 + timedelta(seconds=s), v) for s, v in [(10, 80), (40, 70), (70, 30), (130, 90), (170, 60)]
    ]
    points = datapoints(samples, a, T0 + timedelta(seconds=180))
    assert points == [75.0, 30.0, 75.0]
    assert alarm_state(points, a) == "ALARM"
    assert alarm_state([None, None, 90.0], a) == "INSUFFICIENT_DATA"
    assert alarm_state([10.0, 20.0, 90.0], a) == "OK"
