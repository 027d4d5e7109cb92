"""EKS Fargate profiles: which pods run on Fargate, and under which profile's name.

EKS decides at pod admission: the alphabetically first profile with a matching selector wins
and its name lands on the pod as `eks.amazonaws.com/fargate-profile`. The model mirrors
`aws eks create-fargate-profile` (camelCase, unknown fields refused) so real JSON pastes in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ecsk.core.models.errors import refuse

MAX_SELECTORS = 5
MAX_LABELS = 5


class FargateProfileSelector(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(min_length=1, max_length=63)
    labels: dict[str, str] | None = None

    @field_validator("labels")
    @classmethod
    def _few_labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and len(value) > MAX_LABELS:
            raise refuse(
                "fargate-profile.labels", f"a Fargate profile selector may have at most {MAX_LABELS} labels"
            )
        return value


class FargateProfile(BaseModel):
    """Spec of the FargateProfile kind (EKS CreateFargateProfile request, minus the cluster)."""

    model_config = ConfigDict(extra="forbid")

    fargateProfileName: str | None = Field(default=None, min_length=1, max_length=100)
    selectors: list[FargateProfileSelector] = Field(min_length=1, max_length=MAX_SELECTORS)
    podExecutionRoleArn: str | None = None
    subnets: list[str] | None = None
    tags: dict[str, str] | None = None


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern[str]:
    """EKS wildcards: `*` any run of characters, `?` exactly one; everything else literal."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob)
    return re.compile(f"^{body}$", re.DOTALL)


def glob_match(glob: str, value: str) -> bool:
    return _pattern(glob).match(value) is not None


def selector_matches(selector: FargateProfileSelector, namespace: str, labels: Mapping[str, str]) -> bool:
    """Namespace must match; every selector label must be on the pod (values may use wildcards)."""
    if not glob_match(selector.namespace, namespace):
        return False
    for key, want in (selector.labels or {}).items():
        have = labels.get(key)
        if have is None or not glob_match(want, have):
            return False
    return True


def matching_profile(
    profiles: Iterable[tuple[str, FargateProfile]], namespace: str, labels: Mapping[str, str]
) -> str | None:
    """The name of the alphabetically first profile with a matching selector, or None."""
    for name, profile in sorted(profiles, key=lambda p: p[0]):
        if any(selector_matches(s, namespace, labels) for s in profile.selectors):
            return name
    return None


def profile_name(body: Mapping[str, Any], profile: FargateProfile) -> str:
    """`spec.fargateProfileName` when given (as in the EKS API), else the object's name."""
    return profile.fargateProfileName or str((body.get("metadata") or {}).get("name") or "")
