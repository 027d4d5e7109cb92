"""ContainerDefinition and its sub-shapes (botocore `ecs` ContainerDefinition, all members)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import JsonDict

from ecsk.core.models.common import AwsModel, KeyValuePair, LogConfiguration, Secret, StringMap

# Ranges live in the JSON schema (so the CRD can refuse them at admission) but not in pydantic
# constraints: the validation layer reports them with ECS's wording and the field path, and a model
# that loads lets every other problem be reported in the same pass.
_PORT: JsonDict = {"minimum": 0, "maximum": 65535}


class RepositoryCredentials(AwsModel):
    credentialsParameter: str


class PortMapping(AwsModel):
    containerPort: int | None = Field(default=None, json_schema_extra=_PORT)
    hostPort: int | None = Field(default=None, json_schema_extra=_PORT)
    protocol: Literal["tcp", "udp"] | None = None
    name: str | None = None
    appProtocol: Literal["http", "http2", "grpc"] | None = None
    containerPortRange: str | None = None


class ContainerRestartPolicy(AwsModel):
    enabled: bool
    ignoredExitCodes: list[int] | None = Field(default=None, json_schema_extra={"maxItems": 50})
    restartAttemptPeriod: int | None = Field(default=None, json_schema_extra={"minimum": 60, "maximum": 1800})


class EnvironmentFile(AwsModel):
    value: str
    type: Literal["s3"]


class MountPoint(AwsModel):
    sourceVolume: str | None = None
    containerPath: str | None = None
    readOnly: bool | None = None


class VolumeFrom(AwsModel):
    sourceContainer: str | None = None
    readOnly: bool | None = None


class KernelCapabilities(AwsModel):
    add: list[str] | None = None
    drop: list[str] | None = None


class Device(AwsModel):
    hostPath: str
    containerPath: str | None = None
    permissions: list[Literal["read", "write", "mknod"]] | None = None


class Tmpfs(AwsModel):
    containerPath: str
    size: int
    mountOptions: list[str] | None = None


class LinuxParameters(AwsModel):
    capabilities: KernelCapabilities | None = None
    devices: list[Device] | None = None
    initProcessEnabled: bool | None = None
    sharedMemorySize: int | None = None
    tmpfs: list[Tmpfs] | None = None
    maxSwap: int | None = None
    swappiness: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 100})


class ContainerDependency(AwsModel):
    containerName: str = Field(json_schema_extra={"maxLength": 255})
    condition: Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]


class HostEntry(AwsModel):
    hostname: str
    ipAddress: str


UlimitName = Literal[
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
    "rss", "rtprio", "rttime", "sigpending", "stack",
]  # fmt: skip


class Ulimit(AwsModel):
    name: UlimitName
    softLimit: int
    hardLimit: int


class HealthCheck(AwsModel):
    command: list[str] = Field(json_schema_extra={"minItems": 1})
    interval: int | None = Field(default=None, json_schema_extra={"minimum": 5, "maximum": 300})
    timeout: int | None = Field(default=None, json_schema_extra={"minimum": 2, "maximum": 60})
    retries: int | None = Field(default=None, json_schema_extra={"minimum": 1, "maximum": 10})
    startPeriod: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 300})


class SystemControl(AwsModel):
    namespace: str | None = None
    value: str | None = None


class ResourceRequirement(AwsModel):
    value: str | None = None
    type: Literal["GPU", "InferenceAccelerator", "NeuronDevice"]
    sharingStrategy: dict[str, Any] | None = None


class FirelensConfiguration(AwsModel):
    type: Literal["fluentd", "fluentbit"]
    options: StringMap | None = None


class ContainerDefinition(AwsModel):
    """One container; `name`/`image` are optional in botocore and refused later with ECS's text."""

    name: str | None = Field(default=None, json_schema_extra={"maxLength": 255})
    image: str | None = None
    repositoryCredentials: RepositoryCredentials | None = None
    cpu: int | None = None
    memory: int | None = None
    memoryReservation: int | None = None
    links: list[str] | None = None
    portMappings: list[PortMapping] | None = Field(default=None, json_schema_extra={"maxItems": 100})
    essential: bool | None = None
    restartPolicy: ContainerRestartPolicy | None = None
    entryPoint: list[str] | None = None
    command: list[str] | None = None
    environment: list[KeyValuePair] | None = None
    environmentFiles: list[EnvironmentFile] | None = Field(default=None, json_schema_extra={"maxItems": 10})
    mountPoints: list[MountPoint] | None = Field(default=None, json_schema_extra={"maxItems": 100})
    volumesFrom: list[VolumeFrom] | None = None
    linuxParameters: LinuxParameters | None = None
    secrets: list[Secret] | None = None
    dependsOn: list[ContainerDependency] | None = Field(default=None, json_schema_extra={"maxItems": 10})
    startTimeout: int | None = None
    stopTimeout: int | None = Field(default=None, json_schema_extra={"minimum": 0})
    versionConsistency: Literal["enabled", "disabled"] | None = None
    hostname: str | None = None
    user: str | None = None
    workingDirectory: str | None = None
    disableNetworking: bool | None = None
    privileged: bool | None = None
    readonlyRootFilesystem: bool | None = None
    dnsServers: list[str] | None = None
    dnsSearchDomains: list[str] | None = None
    extraHosts: list[HostEntry] | None = None
    dockerSecurityOptions: list[str] | None = None
    interactive: bool | None = None
    pseudoTerminal: bool | None = None
    dockerLabels: StringMap | None = None
    ulimits: list[Ulimit] | None = None
    logConfiguration: LogConfiguration | None = None
    healthCheck: HealthCheck | None = None
    systemControls: list[SystemControl] | None = None
    resourceRequirements: list[ResourceRequirement] | None = None
    firelensConfiguration: FirelensConfiguration | None = None
    credentialSpecs: list[str] | None = None

    @property
    def is_essential(self) -> bool:
        """ECS treats an omitted `essential` as true."""
        return self.essential is not False
