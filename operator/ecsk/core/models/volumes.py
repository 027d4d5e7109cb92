"""Task definition volumes (botocore `ecs` Volume and its configurations)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecsk.core.models.common import AwsModel, EnabledDisabled, StringMap


class HostVolumeProperties(AwsModel):
    sourcePath: str | None = None


class DockerVolumeConfiguration(AwsModel):
    scope: Literal["task", "shared"] | None = None
    autoprovision: bool | None = None
    driver: str | None = None
    driverOpts: StringMap | None = None
    labels: StringMap | None = None


class EFSAuthorizationConfig(AwsModel):
    accessPointId: str | None = None
    iam: EnabledDisabled | None = None


class EFSVolumeConfiguration(AwsModel):
    fileSystemId: str
    rootDirectory: str | None = None
    transitEncryption: EnabledDisabled | None = None
    transitEncryptionPort: int | None = Field(
        default=None, json_schema_extra={"minimum": 0, "maximum": 65535}
    )
    authorizationConfig: EFSAuthorizationConfig | None = None


class S3FilesVolumeConfiguration(AwsModel):
    fileSystemArn: str
    rootDirectory: str | None = None
    transitEncryptionPort: int | None = None
    accessPointArn: str | None = None


class FSxWindowsFileServerAuthorizationConfig(AwsModel):
    credentialsParameter: str
    domain: str


class FSxWindowsFileServerVolumeConfiguration(AwsModel):
    fileSystemId: str
    rootDirectory: str
    authorizationConfig: FSxWindowsFileServerAuthorizationConfig


class Volume(AwsModel):
    name: str | None = None
    host: HostVolumeProperties | None = None
    dockerVolumeConfiguration: DockerVolumeConfiguration | None = None
    efsVolumeConfiguration: EFSVolumeConfiguration | None = None
    s3filesVolumeConfiguration: S3FilesVolumeConfiguration | None = None
    fsxWindowsFileServerVolumeConfiguration: FSxWindowsFileServerVolumeConfiguration | None = None
    configuredAtLaunch: bool | None = None
