"""The Repository custom resource's spec: `aws ecr create-repository` input, plus the policies
ECR keeps beside a repository (PutLifecyclePolicy's and SetRepositoryPolicy's texts), so
`kubectl apply` can set them too."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecsk.core.ecr.names import NAME_MAX, NAME_MIN, REPOSITORY_NAME_PATTERN
from ecsk.core.models.common import AwsModel

TagMutability = Literal["MUTABLE", "IMMUTABLE"]


class ImageScanningConfiguration(AwsModel):
    """Stored and reported; ecsk scans nothing (no vulnerability database is reachable)."""

    scanOnPush: bool | None = None


class EncryptionConfiguration(AwsModel):
    """Stored and reported as given; the registry's files are not encrypted by ecsk."""

    encryptionType: Literal["AES256", "KMS", "KMS_DSSE"]
    kmsKey: str | None = Field(default=None, min_length=1, max_length=2048)


class RepositoryTag(AwsModel):
    """ECR's tags are `Key`/`Value` (ECS's are lower case)."""

    Key: str = Field(min_length=1, max_length=128)
    Value: str = Field(max_length=256)


class Repository(AwsModel):
    """An ECR private repository."""

    repositoryName: str = Field(
        min_length=NAME_MIN, max_length=NAME_MAX, pattern=f"^{REPOSITORY_NAME_PATTERN}$"
    )
    imageTagMutability: TagMutability | None = None
    imageScanningConfiguration: ImageScanningConfiguration | None = None
    encryptionConfiguration: EncryptionConfiguration | None = None
    tags: list[RepositoryTag] | None = Field(default=None, json_schema_extra={"maxItems": 50})
    lifecyclePolicyText: str | None = Field(default=None, min_length=100, max_length=30720)
    """The repository's lifecycle policy (PutLifecyclePolicy), as JSON text."""
    repositoryPolicyText: str | None = Field(default=None, min_length=1, max_length=10240)
    """The repository's permissions policy (SetRepositoryPolicy), as JSON text."""
