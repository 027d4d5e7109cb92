"""The AWS service models (botocore's data) as the reference for our ECS and autoscaling kinds.

botocore ships the JSON service models the AWS SDKs are generated from: every shape, member,
type, enum value and documentation string of the ECS and Application Auto Scaling APIs. ecsk
reads them at generation time only (CRD descriptions, see `describe`) and in the test that
checks the pydantic models against them (tests/unit/test_models_botocore.py); the operator never
imports botocore, so its start-up stays light.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]

ECS = "ecs"
AUTOSCALING = "application-autoscaling"
ECR = "ecr"
APPRUNNER = "apprunner"

SHAPE_OF_KIND: dict[str, tuple[str, str]] = {
    "TaskDefinition": (ECS, "RegisterTaskDefinitionRequest"),
    "ECSService": (ECS, "CreateServiceRequest"),
    "Task": (ECS, "RunTaskRequest"),
    "CapacityProvider": (ECS, "CreateCapacityProviderRequest"),
    "ECSCluster": (ECS, "CreateClusterRequest"),
    "ScalableTarget": (AUTOSCALING, "RegisterScalableTargetRequest"),
    "ScalingPolicy": (AUTOSCALING, "PutScalingPolicyRequest"),
    "ScheduledAction": (AUTOSCALING, "PutScheduledActionRequest"),
    "Repository": (ECR, "CreateRepositoryRequest"),
    "AppRunnerService": (APPRUNNER, "CreateServiceRequest"),
    "AppRunnerAutoScalingConfiguration": (APPRUNNER, "CreateAutoScalingConfigurationRequest"),
}
"""The AWS request shape each custom resource's `spec` mirrors (ScheduledTask is EventBridge's
and FargateProfile is ecsk's own: neither has an ECS shape)."""

DESCRIBE_SHAPE: dict[str, str] = {
    "RegisterTaskDefinitionRequest": "TaskDefinition",
    "CreateServiceRequest": "Service",
}
"""The describe output a request shape's kind also accepts (`aws ecs describe-*` pasted as is):
the fields only it has (taskDefinitionArn, deployments, ...) are documented there."""

MAX_DESCRIPTION = 400
"""kubectl explain prints the whole description; the first paragraph, cut at a sentence, reads
best and keeps the CRDs well inside the 256 KiB last-applied annotation of `kubectl apply`."""


@functools.cache
def service_shapes(service: str) -> Mapping[str, Any]:
    """All shapes of one AWS service model, as botocore ships it (imported here, lazily)."""
    from botocore.loaders import Loader

    model = Loader().load_service_model(service, "service-2")
    shapes: Mapping[str, Any] = model["shapes"]
    return shapes


_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def plain_text(doc: str, limit: int = MAX_DESCRIPTION) -> str:
    """AWS documentation HTML as plain text: its first paragraph, tags dropped, entities
    decoded, whitespace collapsed, and cut after the last whole sentence within `limit`."""
    first = next((p for p in re.split(r"</p>", doc) if _TAG.sub("", p).strip()), "")
    text = " ".join(html.unescape(_TAG.sub("", first)).split())
    if len(text) <= limit:
        return text
    cut = [m.start() for m in _SENTENCE_END.finditer(text) if m.start() <= limit]
    return text[: cut[-1]] if cut else text[: limit - 1].rstrip() + "…"


def member_doc(shapes: Mapping[str, Any], shape: str, member: str) -> str:
    """The member's own documentation, else that of the shape it has (plain text)."""
    info = shapes[shape].get("members", {}).get(member)
    if info is None:
        return ""
    return plain_text(info.get("documentation") or shapes[info["shape"]].get("documentation") or "")


def element_shape(shapes: Mapping[str, Any], shape: str, member: str) -> str:
    """The shape a member holds, looking through lists (whose members are what matters)."""
    target: str = shapes[shape]["members"][member]["shape"]
    if shapes[target].get("type") == "list":
        inner: str = shapes[target]["member"]["shape"]
        return inner
    return target


def describe(schema: Json, service: str, shape: str) -> Json:
    """Fill `description` of every property of a structural schema the shape documents, in
    place (nested objects and list items follow the member's shape); returns `schema`."""
    shapes = service_shapes(service)
    _describe(schema, shapes, shape)
    return schema


def _describe(schema: Json, shapes: Mapping[str, Any], request: str) -> None:
    for name, prop in schema.get("properties", {}).items():
        shape = next(
            (s for s in (request, DESCRIBE_SHAPE.get(request)) if s and name in shapes[s].get("members", {})),
            None,
        )
        if shape is None:
            continue
        doc = member_doc(shapes, shape, name)
        if doc:
            prop["description"] = doc
        inner = element_shape(shapes, shape, name)
        if shapes[inner].get("type") != "structure":
            continue
        _describe(prop.get("items", prop), shapes, inner)
