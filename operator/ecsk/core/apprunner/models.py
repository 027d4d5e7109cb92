"""The AppRunnerService custom resource's spec: App Runner's CreateService input, unchanged.

Field names are App Runner's (PascalCase), so `aws apprunner create-service --cli-input-json`
documents paste into `spec`. Types only live here: every range, pattern and combination rule
is in `ecsk.core.apprunner.rules`, stated once with App Runner's wording, from which both the
operator's check and the CRD's CEL rules (admission) are made.

Auto scaling: `AutoScalingConfigurationArn` names an AppRunnerAutoScalingConfiguration revision
(`ecsk.core.apprunner.scaling`), as in App Runner. One ecsk extension: `AutoScalingConfiguration`
(MaxConcurrency, MinSize, MaxSize, the fields of CreateAutoScalingConfiguration) inline in the
spec, which keeps one object per service for `kubectl apply` (docs/apprunner.md); the two are
mutually exclusive. Without either the service gets the latest `DefaultConfiguration`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel

SCHEMA_MAX_LENGTH = 4096
"""maxLength in the CRD only (never App Runner's limit, which the rules state): the apiserver
bounds a CEL rule's cost by its strings' sizes, and the rules quote the value they refuse."""


def _bounded() -> Any:
    return Field(default=None, json_schema_extra={"maxLength": SCHEMA_MAX_LENGTH})


DEFAULT_PORT = "8080"
DEFAULT_CPU = "1 vCPU"
DEFAULT_MEMORY = "2 GB"
DEFAULT_MAX_CONCURRENCY = 100
DEFAULT_MIN_SIZE = 1
DEFAULT_MAX_SIZE = 25
DEFAULT_PROTOCOL = "TCP"
DEFAULT_PATH = "/"
DEFAULT_INTERVAL = 5
DEFAULT_TIMEOUT = 2
DEFAULT_HEALTHY_THRESHOLD = 1
DEFAULT_UNHEALTHY_THRESHOLD = 5
"""App Runner's documented defaults (API reference: InstanceConfiguration,
HealthCheckConfiguration, CreateAutoScalingConfiguration)."""


class ImageConfig(AwsModel):
    """How App Runner starts the image: port, environment, secrets, start command."""

    Port: str | None = None
    RuntimeEnvironmentVariables: dict[str, str] | None = None
    RuntimeEnvironmentSecrets: dict[str, str] | None = None
    """Variable name -> ARN of an SSM parameter or a Secrets Manager secret."""
    StartCommand: str | None = _bounded()


class ImageRepo(AwsModel):
    """The source image: an ECR (private) or ECR Public image and how to run it."""

    ImageIdentifier: str = Field(json_schema_extra={"maxLength": SCHEMA_MAX_LENGTH})
    ImageRepositoryType: Literal["ECR", "ECR_PUBLIC"]
    ImageConfiguration: ImageConfig | None = None


class Authentication(AwsModel):
    """Stored as given: the local registry needs no access role."""

    AccessRoleArn: str | None = None
    ConnectionArn: str | None = None


class Source(AwsModel):
    """Where the service's code comes from (an image; source code repositories are refused)."""

    ImageRepository: ImageRepo | None = None
    CodeRepository: dict[str, Any] | None = None
    AutoDeploymentsEnabled: bool | None = None
    AuthenticationConfiguration: Authentication | None = None


class Instance(AwsModel):
    """The size of each instance (a pod): Cpu and Memory in App Runner's units."""

    Cpu: str | None = _bounded()
    Memory: str | None = _bounded()
    InstanceRoleArn: str | None = None


class HealthCheck(AwsModel):
    """App Runner's health check: TCP on the port, or HTTP on a path."""

    Protocol: Literal["TCP", "HTTP"] | None = None
    Path: str | None = _bounded()
    Interval: int | None = None
    Timeout: int | None = None
    HealthyThreshold: int | None = None
    UnhealthyThreshold: int | None = None


class AutoScaling(AwsModel):
    """ecsk extension (CreateAutoScalingConfiguration's fields inline): concurrent requests per
    instance before App Runner adds one, and the instance count's range."""

    MaxConcurrency: int | None = None
    MinSize: int | None = None
    MaxSize: int | None = None


class Tag(AwsModel):
    """App Runner's tags are `Key`/`Value`."""

    Key: str
    Value: str | None = None


class AppRunnerService(AwsModel):
    """An App Runner service (CreateService input)."""

    ServiceName: str = Field(json_schema_extra={"maxLength": SCHEMA_MAX_LENGTH})
    SourceConfiguration: Source
    InstanceConfiguration: Instance | None = None
    HealthCheckConfiguration: HealthCheck | None = None
    AutoScalingConfiguration: AutoScaling | None = None
    AutoScalingConfigurationArn: str | None = _bounded()
    Tags: list[Tag] | None = None
    EncryptionConfiguration: dict[str, Any] | None = None
    NetworkConfiguration: dict[str, Any] | None = None
    ObservabilityConfiguration: dict[str, Any] | None = None

    @property
    def image(self) -> ImageRepo:
        """The image repository (the rules refuse a spec without one before anyone asks)."""
        repo = self.SourceConfiguration.ImageRepository
        if repo is None:
            raise ValueError("SourceConfiguration.ImageRepository is required")
        return repo

    @property
    def image_config(self) -> ImageConfig:
        return self.image.ImageConfiguration or ImageConfig()

    @property
    def port(self) -> int:
        return int(self.image_config.Port or DEFAULT_PORT)

    @property
    def health(self) -> HealthCheck:
        return self.HealthCheckConfiguration or HealthCheck()

    @property
    def scaling(self) -> tuple[int, int, int]:
        """The inline block's (MaxConcurrency, MinSize, MaxSize) with App Runner's defaults (a
        configuration an ARN names is resolved by the operator: `ecsk.core.apprunner.scaling`)."""
        cfg = self.AutoScalingConfiguration or AutoScaling()
        return (
            cfg.MaxConcurrency or DEFAULT_MAX_CONCURRENCY,
            cfg.MinSize or DEFAULT_MIN_SIZE,
            cfg.MaxSize or DEFAULT_MAX_SIZE,
        )
