"""Service Auto Scaling (Application Auto Scaling for ECS), pure: models, HPA rendering, step
scaling math, scheduled actions and activity messages. The controller does the I/O."""

from ecsk.core.autoscaling.hpa import HpaPlan, hpa_name, render_hpa
from ecsk.core.autoscaling.models import (
    SCALABLE_DIMENSION,
    SERVICE_NAMESPACE,
    MetricAlarm,
    ScalableTarget,
    ScalingPolicy,
    ScheduledAction,
    parse_resource_id,
)

__all__ = [
    "SCALABLE_DIMENSION",
    "SERVICE_NAMESPACE",
    "HpaPlan",
    "MetricAlarm",
    "ScalableTarget",
    "ScalingPolicy",
    "ScheduledAction",
    "hpa_name",
    "parse_resource_id",
    "render_hpa",
]
