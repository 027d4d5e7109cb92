"""Application Auto Scaling shapes for ECS services (pure pydantic, PascalCase as the AWS API).

`aws application-autoscaling register-scalable-target | put-scaling-policy |
put-scheduled-action --cli-input-json` documents paste into the `spec` of ScalableTarget,
ScalingPolicy and ScheduledAction unchanged. Only what ECS services use is accepted: the service
namespace `ecs` and the dimension `ecs:service:DesiredCount`; anything else is refused instead of
silently ignored. Errors use Application Auto Scaling's wording where we know it.

A step scaling policy is triggered by a CloudWatch alarm in AWS (a separate `put-metric-alarm`
resource); ecsk keeps the alarm next to the policy in `Alarm`, with PutMetricAlarm's field names.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecsk.core.common.schedules import ScheduleError, parse_schedule, resolve_timezone
from ecsk.core.models.errors import ValidationIssue, model_issues, refuse

SERVICE_NAMESPACE = "ecs"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"
DEFAULT_COOLDOWN = 300
"""Seconds; ScaleInCooldown, ScaleOutCooldown and Cooldown all default to 300 for ECS."""

_RESOURCE_ID = re.compile(r"service/([^/]+)/([^/]+)")

_PredefinedMetricType = Literal[
    "ECSServiceAverageCPUUtilization",
    "ECSServiceAverageMemoryUtilization",
    "ECSServiceAverageCPUUtilizationHighResolution",
    "ECSServiceAverageMemoryUtilizationHighResolution",
    "ALBRequestCountPerTarget",
]
_AdjustmentType = Literal["ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"]
_AggregationType = Literal["Average", "Minimum", "Maximum"]
_Statistic = Literal["Average", "Minimum", "Maximum", "SampleCount", "Sum"]
_ComparisonOperator = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]


class AasModel(BaseModel):
    """Strict about unknown names, as the AWS API is (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")

    def to_aws(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_resource_id(resource_id: str) -> tuple[str, str]:
    """`service/<cluster>/<service>` -> (cluster, service)."""
    m = _RESOURCE_ID.fullmatch(resource_id or "")
    if not m:
        raise ValueError(
            f"Unsupported resource ID '{resource_id}' for service namespace ecs: "
            "expected service/<cluster-name>/<service-name>"
        )
    return m.group(1), m.group(2)


class _TargetRef(AasModel):
    """The three fields that name a scalable target, shared by every kind."""

    ServiceNamespace: Literal["ecs"]
    ResourceId: str = Field(json_schema_extra={"maxLength": 1600, "pattern": r"^service/[^/]+/[^/]+$"})
    ScalableDimension: Literal["ecs:service:DesiredCount"]

    @model_validator(mode="after")
    def _resource_id(self) -> _TargetRef:
        parse_resource_id(self.ResourceId)
        return self

    @property
    def cluster_and_service(self) -> tuple[str, str]:
        return parse_resource_id(self.ResourceId)


class SuspendedState(AasModel):
    DynamicScalingInSuspended: bool | None = None
    DynamicScalingOutSuspended: bool | None = None
    ScheduledScalingSuspended: bool | None = None


_SuspendedState = SuspendedState  # a field has the same name as its type


class ScalableTarget(_TargetRef):
    """RegisterScalableTarget input."""

    MinCapacity: int | None = Field(default=None, ge=0)
    MaxCapacity: int | None = Field(default=None, ge=0)
    RoleARN: str | None = None
    SuspendedState: _SuspendedState | None = None
    Tags: dict[str, str] | None = None

    @model_validator(mode="after")
    def _capacities(self) -> ScalableTarget:
        if self.MinCapacity is None or self.MaxCapacity is None:
            raise refuse(
                "autoscaling.capacity-required",
                "MinCapacity and MaxCapacity are required to register a new scalable target",
            )
        if self.MaxCapacity < self.MinCapacity:
            raise refuse(
                "autoscaling.capacity-order", "Maximum capacity cannot be less than minimum capacity"
            )
        return self

    @property
    def min_capacity(self) -> int:
        return int(self.MinCapacity or 0)

    @property
    def max_capacity(self) -> int:
        return int(self.MaxCapacity or 0)


class MetricDimension(AasModel):
    Name: str
    Value: str


class PredefinedMetricSpecification(AasModel):
    PredefinedMetricType: _PredefinedMetricType
    ResourceLabel: str | None = Field(default=None, json_schema_extra={"maxLength": 1023})

    @model_validator(mode="after")
    def _label(self) -> PredefinedMetricSpecification:
        if self.PredefinedMetricType == "ALBRequestCountPerTarget" and not self.ResourceLabel:
            raise refuse(
                "autoscaling.resource-label",
                "ResourceLabel is required for the predefined metric type ALBRequestCountPerTarget",
            )
        if self.PredefinedMetricType != "ALBRequestCountPerTarget" and self.ResourceLabel:
            raise refuse(
                "autoscaling.resource-label",
                f"ResourceLabel is only valid for ALBRequestCountPerTarget, not {self.PredefinedMetricType}",
            )
        return self


_PredefinedMetricSpecification = PredefinedMetricSpecification  # a field has the same name as its type


class CustomizedMetricSpecification(AasModel):
    """A CloudWatch metric; its values come from `ecsk load --metric` (see core.autoscaling.external)."""

    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[MetricDimension] | None = None
    Statistic: _Statistic | None = None
    Unit: str | None = None
    Metrics: list[dict[str, Any]] | None = None


_CustomizedMetricSpecification = CustomizedMetricSpecification  # a field has the same name as its type


class TargetTrackingScalingPolicyConfiguration(AasModel):
    TargetValue: float
    PredefinedMetricSpecification: _PredefinedMetricSpecification | None = None
    CustomizedMetricSpecification: _CustomizedMetricSpecification | None = None
    ScaleOutCooldown: int | None = Field(default=None, ge=0)
    ScaleInCooldown: int | None = Field(default=None, ge=0)
    DisableScaleIn: bool | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> TargetTrackingScalingPolicyConfiguration:
        if (self.PredefinedMetricSpecification is None) == (self.CustomizedMetricSpecification is None):
            raise refuse(
                "autoscaling.one-metric",
                "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification "
                "must be specified",
            )
        if not 8.515920e-109 <= self.TargetValue <= 1.174271e108:
            raise refuse(
                "autoscaling.target-value", "TargetValue must be between 8.515920e-109 and 1.174271e+108"
            )
        return self

    @property
    def scale_in_cooldown(self) -> int:
        return DEFAULT_COOLDOWN if self.ScaleInCooldown is None else self.ScaleInCooldown

    @property
    def scale_out_cooldown(self) -> int:
        return DEFAULT_COOLDOWN if self.ScaleOutCooldown is None else self.ScaleOutCooldown


_TargetTrackingScalingPolicyConfiguration = TargetTrackingScalingPolicyConfiguration  # field name = type name


class StepAdjustment(AasModel):
    MetricIntervalLowerBound: float | None = None
    MetricIntervalUpperBound: float | None = None
    ScalingAdjustment: int

    @property
    def lower(self) -> float:
        return float("-inf") if self.MetricIntervalLowerBound is None else self.MetricIntervalLowerBound

    @property
    def upper(self) -> float:
        return float("inf") if self.MetricIntervalUpperBound is None else self.MetricIntervalUpperBound


class StepScalingPolicyConfiguration(AasModel):
    AdjustmentType: _AdjustmentType
    StepAdjustments: list[StepAdjustment] = Field(min_length=1, max_length=20)
    MinAdjustmentMagnitude: int | None = Field(default=None, ge=1)
    Cooldown: int | None = Field(default=None, ge=0)
    MetricAggregationType: _AggregationType | None = None

    @model_validator(mode="after")
    def _steps(self) -> StepScalingPolicyConfiguration:
        if self.MinAdjustmentMagnitude is not None and self.AdjustmentType != "PercentChangeInCapacity":
            raise refuse(
                "autoscaling.min-adjustment",
                "MinAdjustmentMagnitude is only supported with PercentChangeInCapacity",
            )
        steps = sorted(self.StepAdjustments, key=lambda s: s.lower)
        for s in steps:
            if s.lower >= s.upper:
                raise refuse(
                    "autoscaling.step-intervals",
                    "Step adjustment upper bound must be greater than its lower bound",
                )
        if sum(s.MetricIntervalLowerBound is None for s in steps) > 1:
            raise refuse("autoscaling.step-intervals", "Only one step adjustment can have a null lower bound")
        if sum(s.MetricIntervalUpperBound is None for s in steps) > 1:
            raise refuse("autoscaling.step-intervals", "Only one step adjustment can have a null upper bound")
        for a, b in itertools.pairwise(steps):
            if a.upper > b.lower:
                raise refuse("autoscaling.step-intervals", "Step adjustment intervals must not overlap")
            if a.upper < b.lower:
                raise refuse(
                    "autoscaling.step-intervals", "Step adjustment intervals must not have gaps between them"
                )
        return self

    @property
    def cooldown(self) -> int:
        return DEFAULT_COOLDOWN if self.Cooldown is None else self.Cooldown


_StepScalingPolicyConfiguration = StepScalingPolicyConfiguration  # a field has the same name as its type


class MetricAlarm(AasModel):
    """The CloudWatch alarm that triggers a step policy (PutMetricAlarm names); ecsk extension.

    Only the ECS service metrics can be evaluated: CPUUtilization and MemoryUtilization in
    AWS/ECS, for the policy's own service, from the resource metrics API.
    """

    AlarmName: str | None = None
    MetricName: Literal["CPUUtilization", "MemoryUtilization"]
    Namespace: Literal["AWS/ECS"] = "AWS/ECS"
    Statistic: _Statistic = "Average"
    Threshold: float
    ComparisonOperator: _ComparisonOperator
    EvaluationPeriods: int = Field(default=1, ge=1)
    DatapointsToAlarm: int | None = Field(default=None, ge=1)
    Period: int = Field(default=60, ge=10)
    Dimensions: list[MetricDimension] | None = None

    @model_validator(mode="after")
    def _datapoints(self) -> MetricAlarm:
        if self.DatapointsToAlarm is not None and self.DatapointsToAlarm > self.EvaluationPeriods:
            raise refuse(
                "autoscaling.datapoints", "DatapointsToAlarm must be less than or equal to EvaluationPeriods"
            )
        return self


class ScalingPolicy(_TargetRef):
    """PutScalingPolicy input (+ `Alarm` for step scaling)."""

    PolicyName: str = Field(json_schema_extra={"maxLength": 256})
    PolicyType: Literal["TargetTrackingScaling", "StepScaling"]
    TargetTrackingScalingPolicyConfiguration: _TargetTrackingScalingPolicyConfiguration | None = None
    StepScalingPolicyConfiguration: _StepScalingPolicyConfiguration | None = None
    Alarm: MetricAlarm | None = None

    @model_validator(mode="after")
    def _config(self) -> ScalingPolicy:
        tt, step = self.TargetTrackingScalingPolicyConfiguration, self.StepScalingPolicyConfiguration
        if self.PolicyType == "TargetTrackingScaling":
            if tt is None:
                raise refuse(
                    "autoscaling.policy-config",
                    "TargetTrackingScalingPolicyConfiguration is required for PolicyType "
                    "TargetTrackingScaling",
                )
            if step is not None or self.Alarm is not None:
                raise refuse(
                    "autoscaling.policy-config",
                    "StepScalingPolicyConfiguration and Alarm are not valid for PolicyType "
                    "TargetTrackingScaling",
                )
        else:
            if step is None:
                raise refuse(
                    "autoscaling.policy-config",
                    "StepScalingPolicyConfiguration is required for PolicyType StepScaling",
                )
            if tt is not None:
                raise refuse(
                    "autoscaling.policy-config",
                    "TargetTrackingScalingPolicyConfiguration is not valid for PolicyType StepScaling",
                )
        return self


class ScalableTargetAction(AasModel):
    MinCapacity: int | None = Field(default=None, ge=0)
    MaxCapacity: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _order(self) -> ScalableTargetAction:
        if self.MinCapacity is None and self.MaxCapacity is None:
            raise refuse(
                "autoscaling.action-bounds", "ScalableTargetAction must set MinCapacity, MaxCapacity or both"
            )
        lo, hi = self.MinCapacity, self.MaxCapacity
        if lo is not None and hi is not None and hi < lo:
            raise refuse(
                "autoscaling.capacity-order", "Maximum capacity cannot be less than minimum capacity"
            )
        return self


_ScalableTargetAction = ScalableTargetAction  # a field has the same name as its type


class ScheduledAction(_TargetRef):
    """PutScheduledAction input."""

    ScheduledActionName: str = Field(json_schema_extra={"maxLength": 256})
    Schedule: str = Field(json_schema_extra={"maxLength": 1600})
    Timezone: str | None = None
    StartTime: datetime | None = None
    EndTime: datetime | None = None
    ScalableTargetAction: _ScalableTargetAction

    @model_validator(mode="after")
    def _schedule(self) -> ScheduledAction:
        try:
            resolve_timezone(self.Timezone)
            parse_schedule(self.Schedule, self.Timezone)
        except ScheduleError as exc:
            raise refuse("autoscaling.schedule", str(exc)) from exc
        if self.StartTime and self.EndTime and _utc(self.EndTime) <= _utc(self.StartTime):
            raise refuse("autoscaling.time-window", "EndTime must be after StartTime")
        return self


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


NAME_FIELDS = {"ScalingPolicy": "PolicyName", "ScheduledAction": "ScheduledActionName"}
"""The kinds whose AWS name is a spec field that `metadata.name` fills when left out."""
SPEC_MODELS: dict[str, type[AasModel]] = {
    "ScalableTarget": ScalableTarget,
    "ScalingPolicy": ScalingPolicy,
    "ScheduledAction": ScheduledAction,
}


def spec_with_name(spec: Mapping[str, Any], name: str, name_field: str | None) -> dict[str, Any]:
    out = dict(spec)
    if name_field:
        out.setdefault(name_field, name)
    return out


def validate_autoscaling(kind: str, spec: Mapping[str, Any], name: str) -> list[ValidationIssue]:
    """Every problem of a ScalableTarget, ScalingPolicy or ScheduledAction spec, with rule ids."""
    return model_issues(SPEC_MODELS[kind], spec_with_name(spec, name, NAME_FIELDS.get(kind)))
