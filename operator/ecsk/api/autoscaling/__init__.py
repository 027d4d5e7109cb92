"""Application Auto Scaling (`AnyScaleFrontendService.*`) on the ScalableTarget, ScalingPolicy and
ScheduledAction resources the operator turns into HPAs and scaling loops."""

from __future__ import annotations

from ecsk.api.autoscaling import targets
from ecsk.api.registry import Service

SERVICE = Service(
    target_prefix="AnyScaleFrontendService",
    model="application-autoscaling",
    signing_name="application-autoscaling",
    validation_error="ValidationException",
    operations={
        "RegisterScalableTarget": targets.register_scalable_target,
        "DescribeScalableTargets": targets.describe_scalable_targets,
        "DeregisterScalableTarget": targets.deregister_scalable_target,
        "PutScalingPolicy": targets.put_scaling_policy,
        "DescribeScalingPolicies": targets.describe_scaling_policies,
        "DeleteScalingPolicy": targets.delete_scaling_policy,
        "PutScheduledAction": targets.put_scheduled_action,
        "DescribeScheduledActions": targets.describe_scheduled_actions,
        "DeleteScheduledAction": targets.delete_scheduled_action,
        "DescribeScalingActivities": targets.describe_scaling_activities,
    },
)
