"""Rules of the capacity kinds (CapacityProvider, ECSCluster, FargateProfile), as issues with
rule ids like every other kind, so the operator reports them on the object (Valid condition and
a Warning event) instead of silently skipping it.

The CRD schemas refuse what a schema can say (ranges, enums, required fields); these are the
rules that relate several fields. Messages use AWS's wording where AWS has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ecsk.core.capacity.fargate_profiles import FargateProfile
from ecsk.core.capacity.models import CapacityProvider, ECSCluster
from ecsk.core.models.errors import ValidationIssue, model_issues
from ecsk.core.validation.issues import Issues
from ecsk.core.validation.placement import check_capacity_providers

NOT_ASSOCIATED = (
    "The specified capacity provider strategy cannot contain a capacity provider that is not "
    "associated with the cluster. Associate the capacity provider with the cluster or specify "
    "a valid capacity provider and try again."
)
"""ECS's wording (PutClusterCapacityProviders / CreateService)."""


def validate_capacity_provider(spec: Mapping[str, Any]) -> list[ValidationIssue]:
    issues = model_issues(CapacityProvider, spec)
    if issues:
        return issues
    provider = CapacityProvider.model_validate(dict(spec))
    out = Issues()
    group = provider.autoScalingGroup
    for i, name in enumerate(group.instanceTypes):
        if name in group.unknown_types():
            out.add(
                f"autoScalingGroup.instanceTypes[{i}]",
                f"Invalid value '{name}' for InstanceType: not an EC2 instance type ecsk knows.",
                "capacity.instance-type",
            )
    if group.maxSize < group.minSize:  # Auto Scaling's CreateAutoScalingGroup wording
        out.add(
            "autoScalingGroup.maxSize",
            f"Max bound, {group.maxSize}, must be greater than or equal to min bound, {group.minSize}",
            "capacity.min-max",
        )
    elif group.desiredCapacity is not None and not group.minSize <= group.desiredCapacity <= group.maxSize:
        out.add(
            "autoScalingGroup.desiredCapacity",
            f"Desired capacity:{group.desiredCapacity} must be between the specified min size:"
            f"{group.minSize} and max size:{group.maxSize}",
            "capacity.desired-capacity",
        )
    scaling = provider.autoScalingGroupProvider.managedScaling
    low, high = (scaling.minimumScalingStepSize, scaling.maximumScalingStepSize) if scaling else (None, None)
    if low is not None and high is not None and low > high:
        out.add(
            "autoScalingGroupProvider.managedScaling.minimumScalingStepSize",
            "The minimumScalingStepSize must be less than or equal to the maximumScalingStepSize.",
            "capacity.step-size",
        )
    return out


def validate_cluster(spec: Mapping[str, Any]) -> list[ValidationIssue]:
    """CreateCluster / PutClusterCapacityProviders: the default strategy follows the strategy
    rules of a service, and names only providers associated with the cluster."""
    issues = model_issues(ECSCluster, spec)
    if issues:
        return issues
    cluster = ECSCluster.model_validate(dict(spec))
    items = cluster.defaultCapacityProviderStrategy or []
    strategy = Issues()
    check_capacity_providers(items, None, strategy)
    field = "defaultCapacityProviderStrategy"
    out = [replace(i, path=i.path.replace("capacityProviderStrategy", field, 1)) for i in strategy]
    associated = set(cluster.capacityProviders or ())
    for i, item in enumerate(items):
        if item.capacityProvider not in associated:
            out.append(
                ValidationIssue(f"{field}[{i}].capacityProvider", NOT_ASSOCIATED, "capacity.not-associated")
            )
    return out


def validate_fargate_profile(spec: Mapping[str, Any]) -> list[ValidationIssue]:
    return model_issues(FargateProfile, spec)


__all__ = ["NOT_ASSOCIATED", "validate_capacity_provider", "validate_cluster", "validate_fargate_profile"]
