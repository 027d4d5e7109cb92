"""Target tracking -> one autoscaling/v2 HorizontalPodAutoscaler per scalable target.

Why one HPA for all of a service's target tracking policies: Application Auto Scaling scales out
when any policy wants to and in only when all of them do (the largest capacity wins). An HPA
with several metrics computes a replica count per metric and takes the largest, for scale-out
and scale-in alike, which is the same rule. Two HPAs on one service would fight instead.

Mapping (see docs/autoscaling.md for what differs):
- MinCapacity/MaxCapacity -> minReplicas/maxReplicas (minReplicas at least 1: scale-to-zero
  is an alpha feature gate in Kubernetes).
- ECSServiceAverageCPUUtilization / MemoryUtilization -> Resource metric cpu / memory with
  `averageUtilization` (of the pod requests, which carry the task's reservation); policies on
  the same metric collapse into the lowest target, which is the one that decides either way.
- ALBRequestCountPerTarget -> External metric `alb-request-count` (the target group's total
  requests per minute, selected by ResourceLabel) with an `averageValue` target: the HPA's
  desired count is ceil(total / TargetValue), ECS's. CustomizedMetricSpecification -> External
  metric `<namespace>-<metricname>` with a `value` target: ceil(tasks * value / TargetValue).
  Both are served by ecsk's metrics adapter (`ecsk.core.autoscaling.external`).
- ScaleInCooldown (default 300 s) -> scaleDown stabilization window: the HPA only scales in to
  the highest recommendation of the window, so it waits for load to stay low that long.
- ScaleOutCooldown -> scale-out is immediate (window 0), as ECS's first scale-out is; the HPA
  counts replicas it already asked for, as ECS counts capacity added during the cooldown.
- DisableScaleIn on every policy, DynamicScalingInSuspended, or a deployment in progress ->
  scaleDown selectPolicy Disabled; DynamicScalingOutSuspended -> scaleUp Disabled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecsk.core.autoscaling import external
from ecsk.core.autoscaling.models import (
    DEFAULT_COOLDOWN,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from ecsk.core.translate.names import LABEL_CLUSTER, LABEL_SERVICE, MANAGED_BY, label_value

ECS_API_VERSION = "ecs.ecsk.io/v1alpha1"
_RESOURCES = {
    "ECSServiceAverageCPUUtilization": "cpu",
    "ECSServiceAverageMemoryUtilization": "memory",
    # the 10-second CloudWatch variants: the HPA reads the same resource metric (its own period)
    "ECSServiceAverageCPUUtilizationHighResolution": "cpu",
    "ECSServiceAverageMemoryUtilizationHighResolution": "memory",
}
MAX_WINDOW = 3600
"""The HPA's largest stabilization window."""


@dataclass
class HpaPlan:
    """The HPA to apply (None: nothing to track) and why some policies are not in it."""

    hpa: dict[str, Any] | None
    tracked: list[str] = field(default_factory=list)
    unsupported: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _MetricKey:
    """One HPA metric: policies with the same key collapse into their lowest target, the one
    that decides in either direction (highest recommendation out, last to allow in)."""

    type: str  # Resource | AverageValue (ALB) | Value (customized)
    name: str
    selector: tuple[tuple[str, str], ...] = ()

    @property
    def order(self) -> tuple[int, str, tuple[tuple[str, str], ...]]:
        return (0 if self.type == "Resource" else 1, self.name, self.selector)


def _metric_key(
    cfg: TargetTrackingScalingPolicyConfiguration, cluster: str, service: str
) -> _MetricKey | str:
    """The HPA metric of a policy, or why it cannot have one."""
    predefined = cfg.PredefinedMetricSpecification
    if predefined is None:
        assert cfg.CustomizedMetricSpecification is not None  # the model requires exactly one
        custom = external.customized_metric(cfg.CustomizedMetricSpecification, cluster, service)
        if isinstance(custom, str):
            return custom
        return _MetricKey("Value", custom.name, tuple(sorted(custom.selector.items())))
    resource = _RESOURCES.get(predefined.PredefinedMetricType)
    if resource is not None:
        return _MetricKey("Resource", resource)
    selector = external.alb_selector(predefined.ResourceLabel or "")
    if selector is None:
        return (
            f"ResourceLabel {predefined.ResourceLabel!r} is not of the form "
            "app/<load-balancer-name>/<id>/targetgroup/<target-group-name>/<id>"
        )
    return _MetricKey("AverageValue", external.ALB_METRIC, tuple(sorted(selector.items())))


def _metric(key: _MetricKey, value: float) -> dict[str, Any]:
    if key.type == "Resource":
        # The HPA takes whole percents; ECS takes any number.
        target = {"type": "Utilization", "averageUtilization": max(1, round(value))}
        return {"type": "Resource", "resource": {"name": key.name, "target": target}}
    # The HPA refuses a zero target; 1m is the smallest it can express.
    amount = external.quantity(max(value, 0.001))
    amount_field = "averageValue" if key.type == "AverageValue" else "value"
    return {
        "type": "External",
        "external": {
            "metric": {"name": key.name, "selector": {"matchLabels": dict(key.selector)}},
            "target": {"type": key.type, amount_field: amount},
        },
    }


def hpa_name(target_name: str) -> str:
    return f"ecsk-{target_name}"[:253]


def render_hpa(
    *,
    target_name: str,
    namespace: str,
    service_object: str,
    target: ScalableTarget,
    policies: Sequence[ScalingPolicy],
    scale_in_blocked: bool = False,
) -> HpaPlan:
    """The HPA for the target tracking policies of one scalable target."""
    plan = HpaPlan(hpa=None)
    cluster, service = target.cluster_and_service
    targets: dict[_MetricKey, float] = {}
    cooldowns: list[int] = []
    disable_in: list[bool] = []
    for policy in policies:
        cfg = policy.TargetTrackingScalingPolicyConfiguration
        if policy.PolicyType != "TargetTrackingScaling" or cfg is None:
            continue
        key = _metric_key(cfg, cluster, service)
        if isinstance(key, str):
            plan.unsupported[policy.PolicyName] = key
            continue
        targets[key] = min(targets.get(key, math.inf), cfg.TargetValue)
        cooldowns.append(cfg.scale_in_cooldown)
        disable_in.append(bool(cfg.DisableScaleIn))
        plan.tracked.append(policy.PolicyName)
    if not targets:
        return plan
    suspended = target.SuspendedState
    out_suspended = bool(suspended and suspended.DynamicScalingOutSuspended)
    in_suspended = bool(suspended and suspended.DynamicScalingInSuspended)
    no_scale_in = all(disable_in) or in_suspended or scale_in_blocked
    max_replicas = max(1, target.max_capacity)
    plan.hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": hpa_name(target_name),
            "namespace": namespace,
            "labels": {
                MANAGED_BY: "ecsk",
                LABEL_SERVICE: label_value(service),
                LABEL_CLUSTER: label_value(cluster),
            },
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": ECS_API_VERSION, "kind": "ECSService", "name": service_object},
            "minReplicas": max(1, min(target.min_capacity, max_replicas)),
            "maxReplicas": max_replicas,
            "metrics": [
                _metric(key, value) for key, value in sorted(targets.items(), key=lambda kv: kv[0].order)
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "selectPolicy": "Disabled" if out_suspended else "Max",
                    "policies": [{"type": "Pods", "value": max_replicas, "periodSeconds": 15}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": min(MAX_WINDOW, max(cooldowns or [DEFAULT_COOLDOWN])),
                    "selectPolicy": "Disabled" if no_scale_in else "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                },
            },
        },
    }
    return plan
