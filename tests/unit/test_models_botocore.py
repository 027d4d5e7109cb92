"""The models against the AWS service models botocore ships (ECS, Application Auto Scaling).

Every AWS member of the shapes our kinds mirror is a field of the model, or listed below as
deliberately unsupported with the reason; field types and enum values agree with AWS's. A
missing member or enum value is a false refusal (`Unknown parameter`) of input ECS takes; a
type that disagrees refuses valid input or accepts what ECS refuses. botocore is a pinned
dev dependency, so this always runs.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from ecsk.core.apprunner.scaling import AutoScalingConfigurationSpec
from ecsk.core.autoscaling.models import ScalableTarget, ScalingPolicy, ScheduledAction
from ecsk.core.capacity.models import CapacityProvider, ECSCluster
from ecsk.core.ecr.models import Repository
from ecsk.core.models import ECSService, RunTask, TaskDefinition
from ecsk.core.schema.aws_model import (
    APPRUNNER,
    AUTOSCALING,
    ECR,
    ECS,
    SHAPE_OF_KIND,
    element_shape,
    service_shapes,
)

UNSUPPORTED: dict[str, str] = {
    # ECS calls made against AWS infrastructure ecsk does not emulate
    "CreateCapacityProviderRequest.cluster": "cluster-scoped capacity providers (ECS Managed Instances)",
    "CreateCapacityProviderRequest.managedInstancesProvider": "ECS Managed Instances provider (EC2 fleet)",
    "CreateClusterRequest.configuration": "execute-command logging and managed storage KMS settings",
    "CreateClusterRequest.settings": "Container Insights setting (no CloudWatch here)",
    "CreateClusterRequest.serviceConnectDefaults": "Cloud Map namespace defaults",
    "PutScalingPolicyRequest.PredictiveScalingPolicyConfiguration": "predictive scaling: CloudWatch history",
    "CreateRepositoryRequest.registryId": "one registry per endpoint: its account (the API checks it)",
    "CreateRepositoryRequest.imageTagMutabilityExclusionFilters": "tag mutability exclusion filters",
}
"""`Shape.member` -> why ecsk leaves it out (refused as an unknown field, never silently ignored)."""

ECS_ONLY_ENUMS: dict[str, str] = {
    "ServiceNamespace": "ecsk scales ECS services only",
    "ScalableDimension": "ecs:service:DesiredCount is the one dimension of an ECS service",
    "PredefinedMetricType": "the other predefined metrics are other services' (DynamoDB, SageMaker, ...)",
}
"""Application Auto Scaling enums narrowed to their ECS values on purpose; every ECS value AWS
has (named ECS*/ecs*, or ALB* for the load balancer metric of ECS services) must be accepted."""

LEFT_OUT_VALUES: dict[tuple[str, str], str] = {
    ("PolicyType", "PredictiveScaling"): "predictive scaling needs CloudWatch history",
    ("imageTagMutability", "IMMUTABLE_WITH_EXCLUSION"): "tag mutability exclusion filters",
    ("imageTagMutability", "MUTABLE_WITH_EXCLUSION"): "tag mutability exclusion filters",
}


CHECKED: list[tuple[type[BaseModel], str, str]] = [
    (TaskDefinition, ECS, "RegisterTaskDefinitionRequest"),
    (TaskDefinition, ECS, "TaskDefinition"),  # describe-task-definition output
    (ECSService, ECS, "CreateServiceRequest"),
    (ECSService, ECS, "Service"),  # describe-services output
    (RunTask, ECS, "RunTaskRequest"),
    (CapacityProvider, ECS, "CreateCapacityProviderRequest"),
    (ECSCluster, ECS, "CreateClusterRequest"),
    (ScalableTarget, AUTOSCALING, "RegisterScalableTargetRequest"),
    (ScalingPolicy, AUTOSCALING, "PutScalingPolicyRequest"),
    (ScheduledAction, AUTOSCALING, "PutScheduledActionRequest"),
    (Repository, ECR, "CreateRepositoryRequest"),
    (AutoScalingConfigurationSpec, APPRUNNER, "CreateAutoScalingConfigurationRequest"),
]

PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (float, int),
    "float": (float, int),
    "timestamp": (datetime, str, float, int),
    "list": (list,),
    "map": (dict,),
    "structure": (BaseModel, dict),
    "blob": (bytes, str),
}


def _bases(annotation: Any) -> set[type]:
    """The Python types an annotation accepts (Literal values by their type)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return {type(v) for v in get_args(annotation)}
    if origin in (Union, types.UnionType):
        return {t for arg in get_args(annotation) if arg is not type(None) for t in _bases(arg)}
    if origin is typing.Annotated:
        return _bases(get_args(annotation)[0])
    if origin is not None:
        return {origin}
    return {annotation} if isinstance(annotation, type) else {object}


def _literals(annotation: Any) -> set[Any] | None:
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType, list):
        out: set[Any] = set()
        for arg in get_args(annotation):
            if arg is type(None):
                continue
            found = _literals(arg)
            if found is None:
                return None
            out |= found
        return out or None
    return None


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _narrowed(member: str, value: str) -> bool:
    """An enum value left out on purpose (see ECS_ONLY_ENUMS and LEFT_OUT_VALUES)."""
    if (member, value) in LEFT_OUT_VALUES:
        return True
    return member in ECS_ONLY_ENUMS and not value.lower().startswith(("ecs", "alb"))


def _type_agrees(aws_type: str, ours: set[type]) -> bool:
    wanted = PYTHON_TYPES[aws_type]
    return object in ours or any(issubclass(t, wanted) for t in ours if isinstance(t, type))


def _gaps(model: type[BaseModel], shape: str, shapes: Any, path: str, seen: set[Any]) -> list[str]:
    if (model, shape) in seen:
        return []
    seen.add((model, shape))
    members = shapes[shape].get("members", {})
    gaps = [
        f"{path}.{name}: missing"
        for name in members
        if name not in model.model_fields and f"{shape}.{name}" not in UNSUPPORTED
    ]
    for name, info in model.model_fields.items():
        if name not in members:
            continue
        aws_type = shapes[members[name]["shape"]]["type"]
        if not _type_agrees(aws_type, _bases(info.annotation)):
            gaps.append(f"{path}.{name}: AWS type {aws_type}, ours {info.annotation}")
        inner = element_shape(shapes, shape, name)
        ours = _literals(info.annotation)
        if ours is not None and "enum" in shapes[inner]:
            gaps += [
                f"{path}.{name}: enum value {v!r}"
                for v in shapes[inner]["enum"]
                if v not in ours and not _narrowed(name, v)
            ]
        for sub in _models(info.annotation):
            gaps += _gaps(sub, inner, shapes, f"{path}.{name}", seen)
    return gaps


@pytest.mark.parametrize(("model", "service", "shape"), CHECKED, ids=[c[2] for c in CHECKED])
def test_models_accept_every_aws_member_type_and_enum_value(
    model: type[BaseModel], service: str, shape: str
) -> None:
    assert _gaps(model, shape, service_shapes(service), shape, set()) == []


def test_unsupported_members_are_real_and_really_left_out() -> None:
    """The list cannot rot: each entry names an AWS member that our model indeed lacks."""
    models = {shape: model for model, _, shape in CHECKED}
    services = {shape: service for _, service, shape in CHECKED}
    for key in UNSUPPORTED:
        shape, member = key.split(".")
        assert member in service_shapes(services[shape])[shape]["members"], key
        assert member not in models[shape].model_fields, key


def test_every_kind_with_an_aws_shape_is_checked() -> None:
    assert {shape for _, _, shape in CHECKED} >= {shape for _, shape in SHAPE_OF_KIND.values()}


def test_the_check_catches_a_missing_member_and_enum_value() -> None:
    """The comparison itself can fail: a model lacking a member and an enum value is reported."""

    class Narrow(BaseModel):
        type: Literal["distinctInstance"] | None = None

    class WrongType(BaseModel):
        type: Literal["distinctInstance", "memberOf"] | None = None
        expression: int | None = None

    shapes = service_shapes(ECS)
    assert _gaps(Narrow, "PlacementConstraint", shapes, "x", set()) == [
        "x.expression: missing",
        "x.type: enum value 'memberOf'",
    ]
    assert _gaps(WrongType, "PlacementConstraint", shapes, "x", set()) == [
        "x.expression: AWS type string, ours int | None"
    ]
