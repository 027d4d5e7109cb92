"""Sub-shapes of a service: load balancing, deployment settings, Service Connect, EBS, Lattice."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel, LogConfiguration, PropagateTags, Tag


class AdvancedConfiguration(AwsModel):
    alternateTargetGroupArn: str | None = None
    productionListenerRule: str | None = None
    testListenerRule: str | None = None
    roleArn: str | None = None


class LoadBalancer(AwsModel):
    targetGroupArn: str | None = None
    loadBalancerName: str | None = None
    containerName: str | None = None
    containerPort: int | None = None
    advancedConfiguration: AdvancedConfiguration | None = None


class ServiceRegistry(AwsModel):
    registryArn: str | None = None
    port: int | None = None
    containerName: str | None = None
    containerPort: int | None = None


class DeploymentCircuitBreaker(AwsModel):
    enable: bool
    rollback: bool
    resetOnHealthyTask: bool | None = None
    thresholdConfiguration: dict[str, Any] | None = None


class DeploymentAlarms(AwsModel):
    alarmNames: list[str]
    rollback: bool
    enable: bool


class DeploymentLifecycleHookTimeoutConfiguration(AwsModel):
    timeoutInMinutes: int | None = None
    action: Literal["ROLLBACK", "CONTINUE"] | None = None


class DeploymentLifecycleHook(AwsModel):
    targetType: Literal["AWS_LAMBDA", "PAUSE"] | None = None
    hookTargetArn: str | None = None
    roleArn: str | None = None
    lifecycleStages: list[str] | None = None
    hookDetails: dict[str, Any] | None = None
    timeoutConfiguration: DeploymentLifecycleHookTimeoutConfiguration | None = None


class LinearConfiguration(AwsModel):
    stepPercent: float | None = None
    stepBakeTimeInMinutes: int | None = None


class CanaryConfiguration(AwsModel):
    canaryPercent: float | None = None
    canaryBakeTimeInMinutes: int | None = None


class DeploymentConfiguration(AwsModel):
    deploymentCircuitBreaker: DeploymentCircuitBreaker | None = None
    maximumPercent: int | None = Field(default=None, json_schema_extra={"minimum": 0})
    minimumHealthyPercent: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 100})
    alarms: DeploymentAlarms | None = None
    strategy: Literal["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"] | None = None
    bakeTimeInMinutes: int | None = None
    lifecycleHooks: list[DeploymentLifecycleHook] | None = None
    linearConfiguration: LinearConfiguration | None = None
    canaryConfiguration: CanaryConfiguration | None = None
    earlySuccessCriteria: dict[str, Any] | None = None


class DeploymentController(AwsModel):
    type: Literal["ECS", "CODE_DEPLOY", "EXTERNAL"]


class TimeoutConfiguration(AwsModel):
    idleTimeoutSeconds: int | None = None
    perRequestTimeoutSeconds: int | None = None


class ServiceConnectTlsCertificateAuthority(AwsModel):
    awsPcaAuthorityArn: str | None = None


class ServiceConnectTlsConfiguration(AwsModel):
    issuerCertificateAuthority: ServiceConnectTlsCertificateAuthority
    kmsKey: str | None = None
    roleArn: str | None = None


class ServiceConnectTestTrafficHeaderMatchRules(AwsModel):
    exact: str


class ServiceConnectTestTrafficHeaderRules(AwsModel):
    name: str
    value: ServiceConnectTestTrafficHeaderMatchRules | None = None


class ServiceConnectTestTrafficRules(AwsModel):
    header: ServiceConnectTestTrafficHeaderRules


class ServiceConnectClientAlias(AwsModel):
    port: int = Field(json_schema_extra={"minimum": 0, "maximum": 65535})
    dnsName: str | None = None
    testTrafficRules: ServiceConnectTestTrafficRules | None = None


class ServiceConnectService(AwsModel):
    portName: str
    discoveryName: str | None = None
    clientAliases: list[ServiceConnectClientAlias] | None = None
    ingressPortOverride: int | None = None
    timeout: TimeoutConfiguration | None = None
    tls: ServiceConnectTlsConfiguration | None = None


class ServiceConnectAccessLogConfiguration(AwsModel):
    format: Literal["TEXT", "JSON"]
    includeQueryParameters: Literal["DISABLED", "ENABLED"] | None = None


class ServiceConnectConfiguration(AwsModel):
    enabled: bool
    namespace: str | None = None
    services: list[ServiceConnectService] | None = None
    logConfiguration: LogConfiguration | None = None
    accessLogConfiguration: ServiceConnectAccessLogConfiguration | None = None
    containerConfigurations: list[dict[str, Any]] | None = None


class EBSTagSpecification(AwsModel):
    resourceType: Literal["volume"]
    tags: list[Tag] | None = None
    propagateTags: PropagateTags | None = None


class ManagedEBSVolumeConfiguration(AwsModel):
    """Service and RunTask share this shape; only RunTask may set terminationPolicy."""

    encrypted: bool | None = None
    kmsKeyId: str | None = None
    volumeType: str | None = None
    sizeInGiB: int | None = Field(default=None, json_schema_extra={"minimum": 1, "maximum": 65536})
    snapshotId: str | None = None
    volumeInitializationRate: int | None = None
    iops: int | None = None
    throughput: int | None = None
    tagSpecifications: list[EBSTagSpecification] | None = None
    roleArn: str
    filesystemType: Literal["ext3", "ext4", "xfs", "ntfs"] | None = None


class TaskManagedEBSVolumeTerminationPolicy(AwsModel):
    deleteOnTermination: bool


class TaskManagedEBSVolumeConfiguration(ManagedEBSVolumeConfiguration):
    terminationPolicy: TaskManagedEBSVolumeTerminationPolicy | None = None


class ServiceVolumeConfiguration(AwsModel):
    name: str
    managedEBSVolume: ManagedEBSVolumeConfiguration | None = None


class TaskVolumeConfiguration(AwsModel):
    name: str
    managedEBSVolume: TaskManagedEBSVolumeConfiguration | None = None


class VpcLatticeConfiguration(AwsModel):
    roleArn: str
    targetGroupArn: str
    portName: str
    advancedConfiguration: dict[str, Any] | None = None
