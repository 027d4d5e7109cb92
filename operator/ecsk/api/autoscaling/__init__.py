"""Application Auto Scaling (`AnyScaleFrontendService.*`): registered so the endpoint answers its
target prefix; operations on ScalableTarget / ScalingPolicy / ScheduledAction resources are
added here (see README for what is implemented)."""

from __future__ import annotations

from ecsk.api.registry import Service

SERVICE = Service(
    target_prefix="AnyScaleFrontendService",
    model="application-autoscaling",
    signing_name="application-autoscaling",
    validation_error="ValidationException",
    operations={},
)
