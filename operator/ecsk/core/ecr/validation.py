"""A Repository's spec checked as ECR checks CreateRepository, PutLifecyclePolicy and
SetRepositoryPolicy, for objects applied with kubectl.

Why: the CRD's schema states the name pattern and the enums, but a lifecycle policy and a
repository policy are JSON documents inside strings that no schema or CEL rule can read. The API
refuses them when they come through `aws ecr`; a Repository applied with kubectl gets the same
sentences as a `Valid=False` condition and a Warning event (the operator's
`ecsk.controller.ecr.repositories`), instead of a policy that silently does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.core.ecr.lifecycle import PolicyError, parse_policy
from ecsk.core.ecr.names import repository_name_error
from ecsk.core.ecr.policy import RepositoryPolicyError
from ecsk.core.ecr.policy import parse as parse_repository_policy
from ecsk.core.models.errors import ValidationIssue


def validate_repository(spec: Mapping[str, Any]) -> list[ValidationIssue]:
    """Every refusal ECR would make of this spec, in ECR's words (InvalidParameterException)."""
    issues: list[ValidationIssue] = []
    name = spec.get("repositoryName")
    if isinstance(name, str) and (why := repository_name_error(name)):
        issues.append(ValidationIssue("repositoryName", why, "ecr.repository-name"))
    lifecycle = spec.get("lifecyclePolicyText")
    if lifecycle:
        try:
            parse_policy(str(lifecycle))
        except PolicyError as exc:
            issues.append(ValidationIssue("lifecyclePolicyText", str(exc), "ecr.lifecycle-policy"))
    policy = spec.get("repositoryPolicyText")
    if policy:
        try:
            parse_repository_policy(str(policy))
        except RepositoryPolicyError as exc:
            issues.append(
                ValidationIssue("repositoryPolicyText", f"{exc} ({exc.reason})", "ecr.repository-policy")
            )
    return issues
