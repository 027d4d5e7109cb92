"""Application Auto Scaling shapes: AWS JSON pastes in, AWS's rules (and wording) apply."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ecsk.core.autoscaling.models import (
    ScalableTarget,
    ScalingPolicy,
    ScheduledAction,
    parse_resource_id,
)

REF = {
    "ServiceNamespace": "ecs",
    "ResourceId": "service/default/web",
    "ScalableDimension": "ecs:service:DesiredCount",
}


def policy(**extra: Any) -> dict[str, Any]:
    return {**REF, "PolicyName": "cpu50", **extra}


def test_register_scalable_target_cli_json() -> None:
    t = ScalableTarget.model_validate(
        {**REF, "MinCapacity": 1, "MaxCapacity": 10, "RoleARN": "arn:aws:iam::1:role/x"}
    )
    assert t.cluster_and_service == ("default", "web")
    assert t.to_aws()["MaxCapacity"] == 10


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"MinCapacity": 5, "MaxCapacity": 2}, "Maximum capacity cannot be less than minimum capacity"),
        ({"ServiceNamespace": "ec2", "MinCapacity": 1, "MaxCapacity": 2}, "ServiceNamespace"),
        (
            {"ResourceId": "service/web", "MinCapacity": 1, "MaxCapacity": 2},
            "service/<cluster-name>/<service-name>",
        ),
        ({"ScalableDimension": "ecs:service:Count", "MinCapacity": 1, "MaxCapacity": 2}, "ScalableDimension"),
        ({"MinCapacity": 1, "MaxCapacity": 2, "MinCapcity": 1}, "Extra inputs are not permitted"),
    ],
)
def test_scalable_target_rules(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScalableTarget.model_validate({**REF, **patch})


def test_target_tracking_policy_as_the_aws_cli_prints_it() -> None:
    p = ScalingPolicy.model_validate(
        policy(
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 75.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                "ScaleOutCooldown": 60,
                "DisableScaleIn": False,
            },
        )
    )
    cfg = p.TargetTrackingScalingPolicyConfiguration
    assert cfg is not None and cfg.scale_in_cooldown == 300 and cfg.scale_out_cooldown == 60


@pytest.mark.parametrize(
    ("tt", "message"),
    [
        ({"TargetValue": 50}, "Exactly one of PredefinedMetricSpecification"),
        (
            {
                "TargetValue": 50,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"},
            },
            "ResourceLabel is required",
        ),
        (
            {
                "TargetValue": 0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            },
            "TargetValue must be between",
        ),
    ],
)
def test_target_tracking_rules(tt: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScalingPolicy.model_validate(
            policy(PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration=tt)
        )


def test_policy_type_needs_its_configuration() -> None:
    with pytest.raises(ValidationError, match="StepScalingPolicyConfiguration is required"):
        ScalingPolicy.model_validate(policy(PolicyType="StepScaling"))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [
                {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 5, "ScalingAdjustment": 2},
            ],
            "must not overlap",
        ),
        (
            [
                {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2},
            ],
            "must not have gaps",
        ),
        (
            [
                {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
                {"MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
            ],
            "Only one step adjustment can have a null lower",
        ),
        (
            [{"MetricIntervalLowerBound": 10, "MetricIntervalUpperBound": 5, "ScalingAdjustment": 1}],
            "greater than",
        ),
    ],
)
def test_step_adjustment_rules(steps: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScalingPolicy.model_validate(
            policy(
                PolicyType="StepScaling",
                StepScalingPolicyConfiguration={
                    "AdjustmentType": "ChangeInCapacity",
                    "StepAdjustments": steps,
                },
            )
        )


def test_min_adjustment_magnitude_only_with_percent() -> None:
    with pytest.raises(ValidationError, match="only supported with PercentChangeInCapacity"):
        ScalingPolicy.model_validate(
            policy(
                PolicyType="StepScaling",
                StepScalingPolicyConfiguration={
                    "AdjustmentType": "ChangeInCapacity",
                    "MinAdjustmentMagnitude": 2,
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
                },
            )
        )


def test_scheduled_action_cli_json_and_schedule_errors() -> None:
    a = ScheduledAction.model_validate(
        {
            **REF,
            "ScheduledActionName": "morning",
            "Schedule": "cron(0 8 ? * MON-FRI *)",
            "Timezone": "Europe/Paris",
            "ScalableTargetAction": {"MinCapacity": 4, "MaxCapacity": 20},
        }
    )
    assert a.ScalableTargetAction.MinCapacity == 4
    with pytest.raises(ValidationError, match="Invalid rate expression"):
        ScheduledAction.model_validate(
            {
                **REF,
                "ScheduledActionName": "x",
                "Schedule": "rate(1 minutes)",
                "ScalableTargetAction": {"MinCapacity": 1},
            }
        )
    with pytest.raises(ValidationError, match="Invalid timezone"):
        ScheduledAction.model_validate(
            {
                **REF,
                "ScheduledActionName": "x",
                "Schedule": "rate(5 minutes)",
                "Timezone": "Mars/Olympus",
                "ScalableTargetAction": {"MinCapacity": 1},
            }
        )
    with pytest.raises(ValidationError, match="EndTime must be after StartTime"):
        ScheduledAction.model_validate(
            {
                **REF,
                "ScheduledActionName": "x",
                "Schedule": "rate(5 minutes)",
                "StartTime": "2026-01-02T00:00:00Z",
                "EndTime": "2026-01-01T00:00:00Z",
                "ScalableTargetAction": {"MinCapacity": 1},
            }
        )


def test_parse_resource_id() -> None:
    assert parse_resource_id("service/prod/api") == ("prod", "api")
    with pytest.raises(ValueError, match="Unsupported resource ID"):
        parse_resource_id("table/x")
