"""TaskDefinition: RegisterTaskDefinition input plus the read-only describe output fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel, Compatibility, KeyValuePair, NumericString, Tag, Timestamp
from ecsk.core.models.containers import ContainerDefinition
from ecsk.core.models.placement import TaskDefinitionPlacementConstraint
from ecsk.core.models.units import parse_cpu_units, parse_memory_mib
from ecsk.core.models.volumes import Volume

NetworkMode = Literal["bridge", "host", "awsvpc", "none"]

# Fields describe-task-definition adds. They are accepted so real output pastes in unchanged, and
# excluded from identity so a pasted describe output and the register input it came from compare
# equal.
READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
        "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
    }
)  # fmt: skip


class ProxyConfiguration(AwsModel):
    type: Literal["APPMESH"] | None = None
    containerName: str
    properties: list[KeyValuePair] | None = None


class InferenceAccelerator(AwsModel):
    deviceName: str
    deviceType: str


class EphemeralStorage(AwsModel):
    sizeInGiB: int = Field(json_schema_extra={"minimum": 21, "maximum": 200})


class RuntimePlatform(AwsModel):
    cpuArchitecture: Literal["X86_64", "ARM64"] | None = None
    operatingSystemFamily: (
        Literal[
            "LINUX",
            "WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL",
            "WINDOWS_SERVER_2004_CORE", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL",
            "WINDOWS_SERVER_2025_CORE", "WINDOWS_SERVER_2025_FULL", "WINDOWS_SERVER_20H2_CORE",
        ]
        | None
    ) = None  # fmt: skip


class Attribute(AwsModel):
    name: str
    value: str | None = None
    targetType: Literal["container-instance"] | None = None
    targetId: str | None = None


class TaskDefinition(AwsModel):
    """A task definition as ECS accepts it; limits are enforced by `ecsk.core.validation`."""

    family: str = Field(json_schema_extra={"maxLength": 255})
    taskRoleArn: str | None = None
    executionRoleArn: str | None = None
    networkMode: NetworkMode | None = None
    containerDefinitions: list[ContainerDefinition] = Field(json_schema_extra={"minItems": 1, "maxItems": 10})
    volumes: list[Volume] | None = None
    placementConstraints: list[TaskDefinitionPlacementConstraint] | None = Field(
        default=None, json_schema_extra={"maxItems": 10}
    )
    requiresCompatibilities: list[Compatibility] | None = None
    cpu: NumericString | None = None
    memory: NumericString | None = None
    tags: list[Tag] | None = Field(default=None, json_schema_extra={"maxItems": 50})
    pidMode: Literal["host", "task"] | None = None
    ipcMode: Literal["host", "task", "none"] | None = None
    proxyConfiguration: ProxyConfiguration | None = None
    inferenceAccelerators: list[InferenceAccelerator] | None = None
    ephemeralStorage: EphemeralStorage | None = None
    runtimePlatform: RuntimePlatform | None = None
    enableFaultInjection: bool | None = None
    trustedExecutionConfiguration: dict[str, Any] | None = None

    # describe-task-definition output only
    taskDefinitionArn: str | None = None
    revision: int | None = None
    status: Literal["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"] | None = None
    requiresAttributes: list[Attribute] | None = None
    compatibilities: list[Compatibility] | None = None
    registeredAt: Timestamp | None = None
    registeredBy: str | None = None
    deregisteredAt: Timestamp | None = None
    deleteRequestedAt: Timestamp | None = None

    def cpu_units(self) -> int | None:
        """Task CPU in units (1024 = 1 vCPU), None when unset; ValueError if unreadable."""
        return None if self.cpu is None else parse_cpu_units(self.cpu)

    def memory_mib(self) -> int | None:
        """Task memory in MiB, None when unset; ValueError if unreadable."""
        return None if self.memory is None else parse_memory_mib(self.memory)

    @property
    def requires_fargate(self) -> bool:
        return bool(self.requiresCompatibilities) and "FARGATE" in (self.requiresCompatibilities or ())

    def effective_network_mode(self) -> NetworkMode:
        """ECS default: awsvpc when Fargate is required (it is mandatory there), bridge otherwise.

        Windows on EC2 defaults to its own mode, which has no Kubernetes meaning; bridge is used.
        """
        if self.networkMode is not None:
            return self.networkMode
        return "awsvpc" if self.requires_fargate else "bridge"

    def container(self, name: str) -> ContainerDefinition | None:
        for container in self.containerDefinitions:
            if container.name == name:
                return container
        return None

    def identity(self) -> dict[str, Any]:
        """The register-input part: what decides whether two documents are the same revision."""
        return self.model_dump(mode="json", exclude_none=True, exclude=set(READ_ONLY_FIELDS))
