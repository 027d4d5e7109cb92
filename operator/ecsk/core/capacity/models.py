"""CapacityProvider and ECSCluster specs, in the shapes of `aws ecs create-capacity-provider` and
`aws ecs create-cluster`, plus the one thing AWS keeps elsewhere: the Auto Scaling group itself.

On AWS the provider only names an ASG by ARN; here there is no EC2, so the provider carries an
emulated group (`autoScalingGroup`, an ecsk extension) describing the instances to create.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecsk.core.capacity.fleet import INSTANCE_TYPES
from ecsk.core.models.common import AwsModel
from ecsk.core.models.placement import CapacityProviderStrategyItem

SpotAllocationStrategy = Literal[
    "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"
]
DEFAULT_WARMUP = 300
"""ECS's default instanceWarmupPeriod in seconds."""


class ManagedScaling(AwsModel):
    status: Literal["ENABLED", "DISABLED"] | None = None
    targetCapacity: int | None = Field(default=None, json_schema_extra={"minimum": 1, "maximum": 100})
    minimumScalingStepSize: int | None = Field(
        default=None, json_schema_extra={"minimum": 1, "maximum": 10000}
    )
    maximumScalingStepSize: int | None = Field(
        default=None, json_schema_extra={"minimum": 1, "maximum": 10000}
    )
    instanceWarmupPeriod: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 10000})


class AutoScalingGroupProvider(AwsModel):
    autoScalingGroupArn: str
    managedScaling: ManagedScaling | None = None
    managedTerminationProtection: Literal["ENABLED", "DISABLED"] | None = None
    managedDraining: Literal["ENABLED", "DISABLED"] | None = None


class EmulatedAutoScalingGroup(AwsModel):
    """The group the provider scales (ecsk extension): which instances, where, how many."""

    instanceTypes: list[str] = Field(min_length=1, json_schema_extra={"maxItems": 20})
    zones: list[str] | None = Field(default=None, json_schema_extra={"maxItems": 10})
    minSize: int = Field(default=0, json_schema_extra={"minimum": 0, "maximum": 1000})
    maxSize: int = Field(default=10, json_schema_extra={"minimum": 0, "maximum": 1000})
    desiredCapacity: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 1000})
    capacityType: Literal["ON_DEMAND", "SPOT"] | None = None
    onDemandAllocationStrategy: Literal["prioritized", "lowest-price"] | None = None
    """Which of several instance types an On-Demand launch uses (MixedInstancesPolicy's
    InstancesDistribution; default `prioritized`: list order, as for groups without
    InstanceRequirements)."""
    spotAllocationStrategy: (
        Literal[
            "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"
        ]
        | None
    ) = None
    """Which Spot pool a Spot launch uses (default `price-capacity-optimized`, AWS's recommendation)."""
    joinDelaySeconds: float = Field(default=30.0, json_schema_extra={"minimum": 0, "maximum": 3600})
    """How long a launched instance takes to register (EC2 boot + ECS agent)."""
    scaleInAfterSeconds: float = Field(default=0.0, json_schema_extra={"minimum": 0, "maximum": 86400})
    """How long an instance must stay empty before scale-in removes it (AWS: ~15 min of alarms)."""

    def unknown_types(self) -> list[str]:
        return [t for t in self.instanceTypes if t not in INSTANCE_TYPES]


class CapacityProvider(AwsModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    autoScalingGroupProvider: AutoScalingGroupProvider
    autoScalingGroup: EmulatedAutoScalingGroup
    tags: list[dict[str, str]] | None = None

    @property
    def target_capacity(self) -> int:
        ms = self.autoScalingGroupProvider.managedScaling
        return ms.targetCapacity if ms and ms.targetCapacity else 100

    @property
    def managed_scaling(self) -> bool:
        ms = self.autoScalingGroupProvider.managedScaling
        return ms is None or ms.status != "DISABLED"  # AWS default: ENABLED

    @property
    def step_sizes(self) -> tuple[int, int]:
        ms = self.autoScalingGroupProvider.managedScaling
        low = ms.minimumScalingStepSize if ms and ms.minimumScalingStepSize else 1
        high = ms.maximumScalingStepSize if ms and ms.maximumScalingStepSize else 10000
        return low, max(low, high)

    @property
    def warmup_seconds(self) -> int:
        """instanceWarmupPeriod, 300 s when omitted (as ECS)."""
        ms = self.autoScalingGroupProvider.managedScaling
        return ms.instanceWarmupPeriod if ms and ms.instanceWarmupPeriod is not None else DEFAULT_WARMUP

    @property
    def termination_protection(self) -> bool:
        return self.autoScalingGroupProvider.managedTerminationProtection == "ENABLED"


class ECSCluster(AwsModel):
    clusterName: str | None = Field(default=None, min_length=1, max_length=255)
    capacityProviders: list[str] | None = None
    defaultCapacityProviderStrategy: list[CapacityProviderStrategyItem] | None = Field(
        default=None, json_schema_extra={"maxItems": 6}
    )
    tags: list[dict[str, str]] | None = None
