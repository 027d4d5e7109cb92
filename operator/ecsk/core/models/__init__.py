"""ECS API shapes as pydantic models (pure: no Kubernetes imports).

Field names are the AWS camelCase names. Import from here; submodules may be reorganised.
"""

from ecsk.core.models.common import AwsModel, KeyValuePair, LogConfiguration, Secret, Tag
from ecsk.core.models.containers import (
    ContainerDefinition,
    ContainerDependency,
    ContainerRestartPolicy,
    Device,
    EnvironmentFile,
    FirelensConfiguration,
    HealthCheck,
    HostEntry,
    KernelCapabilities,
    LinuxParameters,
    MountPoint,
    PortMapping,
    RepositoryCredentials,
    ResourceRequirement,
    SystemControl,
    Tmpfs,
    Ulimit,
    VolumeFrom,
)
from ecsk.core.models.errors import ModelLoadError, ValidationIssue, errors_of, warnings_of
from ecsk.core.models.load import (
    API_GROUP,
    API_VERSION,
    LoadedDocument,
    load_document,
    load_documents,
    load_text,
    parse_run_task,
    parse_scheduled_task,
    parse_service,
    parse_task_definition,
)
from ecsk.core.models.placement import (
    AwsVpcConfiguration,
    CapacityProviderStrategyItem,
    NetworkConfiguration,
    PlacementConstraint,
    PlacementStrategy,
    TaskDefinitionPlacementConstraint,
)
from ecsk.core.models.service import FARGATE_PROVIDERS, Deployment, ECSService, ServiceEvent
from ecsk.core.models.service_parts import (
    DeploymentAlarms,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    DeploymentController,
    LoadBalancer,
    ManagedEBSVolumeConfiguration,
    ServiceConnectConfiguration,
    ServiceConnectService,
    ServiceRegistry,
    ServiceVolumeConfiguration,
    TaskVolumeConfiguration,
    VpcLatticeConfiguration,
)
from ecsk.core.models.task import ContainerOverride, EcsParameters, RunTask, ScheduledTask, TaskOverride
from ecsk.core.models.taskdef import (
    EphemeralStorage,
    InferenceAccelerator,
    ProxyConfiguration,
    RuntimePlatform,
    TaskDefinition,
)
from ecsk.core.models.units import parse_cpu_units, parse_memory_mib
from ecsk.core.models.volumes import (
    DockerVolumeConfiguration,
    EFSAuthorizationConfig,
    EFSVolumeConfiguration,
    FSxWindowsFileServerVolumeConfiguration,
    HostVolumeProperties,
    Volume,
)

Task = RunTask
"""The `Task` custom resource's spec is RunTask input."""

__all__ = [
    "API_GROUP", "API_VERSION", "FARGATE_PROVIDERS",
    "AwsModel", "AwsVpcConfiguration", "CapacityProviderStrategyItem", "ContainerDefinition",
    "ContainerDependency", "ContainerOverride", "ContainerRestartPolicy", "Deployment",
    "DeploymentAlarms", "DeploymentCircuitBreaker", "DeploymentConfiguration", "DeploymentController",
    "Device", "DockerVolumeConfiguration", "ECSService", "EFSAuthorizationConfig", "EFSVolumeConfiguration",
    "EcsParameters", "EnvironmentFile", "EphemeralStorage", "FSxWindowsFileServerVolumeConfiguration",
    "FirelensConfiguration", "HealthCheck", "HostEntry", "HostVolumeProperties", "InferenceAccelerator",
    "KernelCapabilities", "KeyValuePair", "LinuxParameters", "LoadBalancer", "LoadedDocument",
    "LogConfiguration", "ManagedEBSVolumeConfiguration", "ModelLoadError", "MountPoint",
    "NetworkConfiguration", "PlacementConstraint", "PlacementStrategy", "PortMapping",
    "ProxyConfiguration", "RepositoryCredentials", "ResourceRequirement", "RunTask", "RuntimePlatform",
    "ScheduledTask", "Secret", "ServiceConnectConfiguration", "ServiceConnectService", "ServiceEvent",
    "ServiceRegistry", "ServiceVolumeConfiguration", "SystemControl", "Tag", "Task",
    "TaskDefinition", "TaskDefinitionPlacementConstraint", "TaskOverride", "TaskVolumeConfiguration",
    "Tmpfs", "Ulimit", "ValidationIssue", "Volume", "VolumeFrom", "VpcLatticeConfiguration",
    "errors_of", "load_document", "load_documents", "load_text", "parse_cpu_units", "parse_memory_mib",
    "parse_run_task", "parse_scheduled_task", "parse_service", "parse_task_definition", "warnings_of",
]  # fmt: skip
