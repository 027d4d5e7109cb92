"""Standalone tasks (RunTask input) and scheduled tasks (EventBridge rule/Scheduler targets)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel, EnabledDisabled, KeyValuePair, LaunchType, PropagateTags, Tag
from ecsk.core.models.containers import EnvironmentFile, ResourceRequirement
from ecsk.core.models.placement import (
    CapacityProviderStrategyItem,
    NetworkConfiguration,
    PlacementConstraint,
    PlacementStrategy,
)
from ecsk.core.models.service_parts import TaskVolumeConfiguration
from ecsk.core.models.taskdef import EphemeralStorage


class ContainerOverride(AwsModel):
    name: str | None = None
    command: list[str] | None = None
    environment: list[KeyValuePair] | None = None
    environmentFiles: list[EnvironmentFile] | None = None
    cpu: int | None = None
    memory: int | None = None
    memoryReservation: int | None = None
    resourceRequirements: list[ResourceRequirement] | None = None


class InferenceAcceleratorOverride(AwsModel):
    deviceName: str | None = None
    deviceType: str | None = None


class TaskOverride(AwsModel):
    containerOverrides: list[ContainerOverride] | None = None
    cpu: str | None = None
    inferenceAcceleratorOverrides: list[InferenceAcceleratorOverride] | None = None
    executionRoleArn: str | None = None
    memory: str | None = None
    taskRoleArn: str | None = None
    ephemeralStorage: EphemeralStorage | None = None


class RunTask(AwsModel):
    """RunTask input: the spec of the `Task` custom resource."""

    cluster: str | None = None
    taskDefinition: str
    count: int | None = Field(default=None, json_schema_extra={"minimum": 1, "maximum": 10})
    overrides: TaskOverride | None = None
    group: str | None = None
    startedBy: str | None = Field(default=None, json_schema_extra={"maxLength": 128})
    launchType: LaunchType | None = None
    capacityProviderStrategy: list[CapacityProviderStrategyItem] | None = Field(
        default=None, json_schema_extra={"maxItems": 6}
    )
    networkConfiguration: NetworkConfiguration | None = None
    placementConstraints: list[PlacementConstraint] | None = Field(
        default=None, json_schema_extra={"maxItems": 10}
    )
    placementStrategy: list[PlacementStrategy] | None = Field(default=None, json_schema_extra={"maxItems": 5})
    platformVersion: str | None = None
    enableECSManagedTags: bool | None = None
    enableExecuteCommand: bool | None = None
    propagateTags: PropagateTags | None = None
    referenceId: str | None = None
    tags: list[Tag] | None = Field(default=None, json_schema_extra={"maxItems": 50})
    clientToken: str | None = None
    volumeConfigurations: list[TaskVolumeConfiguration] | None = None


class EcsParameters(AwsModel):
    """EventBridge's EcsParameters target, in camelCase like the rest of our specs.

    EventBridge spells these PascalCase (TaskDefinitionArn, TaskCount); the loader maps that
    spelling, so both a pasted put-targets document and a hand-written spec work.
    """

    taskDefinition: str
    taskCount: int | None = Field(default=None, json_schema_extra={"minimum": 1, "maximum": 10})
    launchType: LaunchType | None = None
    networkConfiguration: NetworkConfiguration | None = None
    platformVersion: str | None = None
    group: str | None = None
    capacityProviderStrategy: list[CapacityProviderStrategyItem] | None = Field(
        default=None, json_schema_extra={"maxItems": 6}
    )
    enableECSManagedTags: bool | None = None
    enableExecuteCommand: bool | None = None
    placementConstraints: list[PlacementConstraint] | None = Field(
        default=None, json_schema_extra={"maxItems": 10}
    )
    placementStrategy: list[PlacementStrategy] | None = Field(default=None, json_schema_extra={"maxItems": 5})
    propagateTags: PropagateTags | None = None
    referenceId: str | None = None
    tags: list[Tag] | None = None
    overrides: TaskOverride | None = None


class FlexibleTimeWindow(AwsModel):
    """EventBridge Scheduler's jitter window."""

    mode: Literal["OFF", "FLEXIBLE"]
    maximumWindowInMinutes: int | None = Field(
        default=None, json_schema_extra={"minimum": 1, "maximum": 1440}
    )


class ScheduledTask(AwsModel):
    """An EventBridge rule (or Scheduler schedule) whose single target runs an ECS task.

    `scheduleExpression` is `rate(...)`, `cron(...)` or (Scheduler only) `at(...)`;
    `scheduleExpressionTimezone` is an IANA zone (Scheduler; rules are always UTC).
    """

    scheduleExpression: str = Field(json_schema_extra={"maxLength": 256})
    scheduleExpressionTimezone: str | None = None
    state: EnabledDisabled | None = None
    description: str | None = Field(default=None, json_schema_extra={"maxLength": 512})
    cluster: str | None = None
    roleArn: str | None = None
    startDate: str | None = None
    endDate: str | None = None
    flexibleTimeWindow: FlexibleTimeWindow | None = None
    ecsParameters: EcsParameters
