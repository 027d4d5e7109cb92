"""ECR's naming: repository names, image tags, the registry host name and repository URIs.

Why its own module: the API, the CRD and the lifecycle scheduler all need the same rule and the
same sentence for a refused name, and the URI a task definition names must be the one
DescribeRepositories returns.
"""

from __future__ import annotations

import re

REPOSITORY_NAME_PATTERN = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
"""The pattern ECR states in its refusal (botocore's model has the same, with `\\/`)."""
_NAME = re.compile(REPOSITORY_NAME_PATTERN)
NAME_MIN, NAME_MAX = 2, 256
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
"""What a registry accepts as a tag (the OCI distribution specification's reference grammar)."""
DIGEST_PATTERN = re.compile(r"sha256:[a-f0-9]{64}")


def repository_name_error(name: str) -> str | None:
    """ECR's sentence for a repository name it refuses, or None when the name is valid."""
    if NAME_MIN <= len(name) <= NAME_MAX and _NAME.fullmatch(name):
        return None
    return (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        f"'must satisfy regular expression '{REPOSITORY_NAME_PATTERN}''"
    )


def registry_host(account: str, region: str) -> str:
    """`<account>.dkr.ecr.<region>.amazonaws.com`, the registry's name in every image URI."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def repository_uri(account: str, region: str, name: str) -> str:
    return f"{registry_host(account, region)}/{name}"


def repository_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def valid_tag(tag: str) -> bool:
    return TAG_PATTERN.fullmatch(tag) is not None


def valid_digest(digest: str) -> bool:
    return DIGEST_PATTERN.fullmatch(digest) is not None
