"""ECSService: CreateService input plus the read-only describe-services output fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel, EnabledDisabled, LaunchType, PropagateTags, Tag, Timestamp
from ecsk.core.models.placement import (
    CapacityProviderStrategyItem,
    NetworkConfiguration,
    PlacementConstraint,
    PlacementStrategy,
)
from ecsk.core.models.service_parts import (
    DeploymentConfiguration,
    DeploymentController,
    LoadBalancer,
    ServiceConnectConfiguration,
    ServiceRegistry,
    ServiceVolumeConfiguration,
    VpcLatticeConfiguration,
)

SchedulingStrategy = Literal["REPLICA", "DAEMON"]

READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "serviceArn", "clusterArn", "status", "runningCount", "pendingCount", "platformFamily",
        "taskSets", "deployments", "roleArn", "events", "createdAt", "createdBy",
        "currentServiceDeployment", "currentServiceRevisions", "resourceManagementType",
    }
)  # fmt: skip


class ServiceEvent(AwsModel):
    id: str | None = None
    createdAt: Timestamp | None = None
    message: str | None = None


class Deployment(AwsModel):
    """A describe-services deployment entry; kept loose (dicts) where ecsk never reads into it."""

    id: str | None = None
    status: str | None = None
    taskDefinition: str | None = None
    desiredCount: int | None = None
    pendingCount: int | None = None
    runningCount: int | None = None
    failedTasks: int | None = None
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None
    capacityProviderStrategy: list[CapacityProviderStrategyItem] | None = None
    launchType: LaunchType | None = None
    platformVersion: str | None = None
    platformFamily: str | None = None
    networkConfiguration: NetworkConfiguration | None = None
    rolloutState: Literal["COMPLETED", "FAILED", "IN_PROGRESS"] | None = None
    rolloutStateReason: str | None = None
    serviceConnectConfiguration: ServiceConnectConfiguration | None = None
    serviceConnectResources: list[dict[str, str]] | None = None
    volumeConfigurations: list[ServiceVolumeConfiguration] | None = None
    fargateEphemeralStorage: dict[str, str] | None = None
    vpcLatticeConfigurations: list[VpcLatticeConfiguration] | None = None


class ServiceRevisionSummary(AwsModel):
    arn: str | None = None
    requestedTaskCount: int | None = None
    runningTaskCount: int | None = None
    pendingTaskCount: int | None = None


class ECSService(AwsModel):
    """A service as CreateService takes it; cross-field rules live in `ecsk.core.validation`."""

    cluster: str | None = None
    serviceName: str = Field(json_schema_extra={"maxLength": 255})
    taskDefinition: str | None = None
    availabilityZoneRebalancing: EnabledDisabled | None = None
    loadBalancers: list[LoadBalancer] | None = None
    serviceRegistries: list[ServiceRegistry] | None = None
    desiredCount: int | None = Field(default=None, json_schema_extra={"minimum": 0})
    clientToken: str | None = None
    launchType: LaunchType | None = None
    capacityProviderStrategy: list[CapacityProviderStrategyItem] | None = Field(
        default=None, json_schema_extra={"maxItems": 6}
    )
    platformVersion: str | None = None
    role: str | None = None
    deploymentConfiguration: DeploymentConfiguration | None = None
    placementConstraints: list[PlacementConstraint] | None = Field(
        default=None, json_schema_extra={"maxItems": 10}
    )
    placementStrategy: list[PlacementStrategy] | None = Field(default=None, json_schema_extra={"maxItems": 5})
    networkConfiguration: NetworkConfiguration | None = None
    healthCheckGracePeriodSeconds: int | None = Field(default=None, json_schema_extra={"minimum": 0})
    schedulingStrategy: SchedulingStrategy | None = None
    deploymentController: DeploymentController | None = None
    tags: list[Tag] | None = Field(default=None, json_schema_extra={"maxItems": 50})
    enableECSManagedTags: bool | None = None
    propagateTags: PropagateTags | None = None
    enableExecuteCommand: bool | None = None
    serviceConnectConfiguration: ServiceConnectConfiguration | None = None
    volumeConfigurations: list[ServiceVolumeConfiguration] | None = None
    vpcLatticeConfigurations: list[VpcLatticeConfiguration] | None = None
    gatewayConnectors: list[dict[str, Any]] | None = None
    monitoring: dict[str, Any] | None = None

    # describe-services output only
    serviceArn: str | None = None
    clusterArn: str | None = None
    status: str | None = None
    runningCount: int | None = None
    pendingCount: int | None = None
    platformFamily: str | None = None
    taskSets: list[dict[str, Any]] | None = None
    deployments: list[Deployment] | None = None
    roleArn: str | None = None
    events: list[ServiceEvent] | None = None
    createdAt: Timestamp | None = None
    createdBy: str | None = None
    currentServiceDeployment: str | None = None
    currentServiceRevisions: list[ServiceRevisionSummary] | None = None
    resourceManagementType: Literal["CUSTOMER", "ECS"] | None = None

    @property
    def effective_scheduling_strategy(self) -> SchedulingStrategy:
        return self.schedulingStrategy or "REPLICA"

    @property
    def uses_fargate(self) -> bool:
        """Fargate by launch type or by a FARGATE/FARGATE_SPOT capacity provider."""
        if self.launchType == "FARGATE":
            return True
        return any(item.capacityProvider in FARGATE_PROVIDERS for item in self.capacityProviderStrategy or ())

    def deployment_percents(self) -> tuple[int, int]:
        """(minimumHealthyPercent, maximumPercent) with ECS's defaults per scheduling strategy."""
        config = self.deploymentConfiguration
        daemon = self.effective_scheduling_strategy == "DAEMON"
        default_min, default_max = (0, 100) if daemon else (100, 200)
        low = (
            config.minimumHealthyPercent
            if config and config.minimumHealthyPercent is not None
            else default_min
        )
        high = config.maximumPercent if config and config.maximumPercent is not None else default_max
        return low, high

    def identity(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude=set(READ_ONLY_FIELDS))


FARGATE_PROVIDERS: frozenset[str] = frozenset({"FARGATE", "FARGATE_SPOT"})
