"""Amazon ECR (`AmazonEC2ContainerRegistry_V20150921.*`) on `Repository` resources and the local
image registry (`ecsk.cluster.registry`)."""

from __future__ import annotations

from ecsk.api.ecr import auth, images, lifecycle, policies, repositories, scanning, tags
from ecsk.api.registry import Service

SERVICE = Service(
    target_prefix="AmazonEC2ContainerRegistry_V20150921",
    model="ecr",
    signing_name="ecr",
    validation_error="InvalidParameterException",
    operations={
        "CreateRepository": repositories.create_repository,
        "DescribeRepositories": repositories.describe_repositories,
        "DeleteRepository": repositories.delete_repository,
        "PutImageTagMutability": repositories.put_image_tag_mutability,
        "ListImages": images.list_images,
        "DescribeImages": images.describe_images,
        "BatchGetImage": images.batch_get_image,
        "BatchDeleteImage": images.batch_delete_image,
        "PutImage": images.put_image,
        "GetAuthorizationToken": auth.get_authorization_token,
        "PutLifecyclePolicy": lifecycle.put_lifecycle_policy,
        "GetLifecyclePolicy": lifecycle.get_lifecycle_policy,
        "DeleteLifecyclePolicy": lifecycle.delete_lifecycle_policy,
        "StartLifecyclePolicyPreview": lifecycle.start_lifecycle_policy_preview,
        "GetLifecyclePolicyPreview": lifecycle.get_lifecycle_policy_preview,
        "SetRepositoryPolicy": policies.set_repository_policy,
        "GetRepositoryPolicy": policies.get_repository_policy,
        "DeleteRepositoryPolicy": policies.delete_repository_policy,
        "StartImageScan": scanning.start_image_scan,
        "DescribeImageScanFindings": scanning.describe_image_scan_findings,
        "TagResource": tags.tag_resource,
        "UntagResource": tags.untag_resource,
        "ListTagsForResource": tags.list_tags_for_resource,
    },
)
