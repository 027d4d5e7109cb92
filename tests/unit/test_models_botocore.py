"""The models accept every member and enum value the ECS API has (botocore's service model).

A member missing from a model is a false refusal (`Unknown parameter`) of input ECS takes; a
missing enum value likewise. Skipped where botocore is not installed (it is not a dependency:
the ECS model only serves this check).
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from ecsk.core.models import ECSService, RunTask, TaskDefinition

botocore_loaders = pytest.importorskip("botocore.loaders")


def _shapes() -> dict[str, Any]:
    model = botocore_loaders.Loader().load_service_model("ecs", "service-2")
    shapes: dict[str, Any] = model["shapes"]
    return shapes


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


def _gaps(model: type[BaseModel], shape: str, shapes: dict[str, Any], path: str, seen: set[Any]) -> list[str]:
    if (model, shape) in seen or shape not in shapes:
        return []
    seen.add((model, shape))
    members = shapes[shape].get("members", {})
    gaps = [f"{path}.{name}: missing" for name in members if name not in model.model_fields]
    for name, info in model.model_fields.items():
        member = members.get(name)
        if member is None:
            continue
        target = shapes[member["shape"]]
        inner = target["member"]["shape"] if target.get("type") == "list" else member["shape"]
        ours = _literals(info.annotation)
        if ours is not None and "enum" in shapes[inner]:
            gaps += [f"{path}.{name}: enum value {v!r}" for v in shapes[inner]["enum"] if v not in ours]
        for sub in _models(info.annotation):
            gaps += _gaps(sub, inner, shapes, f"{path}.{name}", seen)
    return gaps


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (TaskDefinition, "RegisterTaskDefinitionRequest"),
        (TaskDefinition, "TaskDefinition"),
        (ECSService, "CreateServiceRequest"),
        (ECSService, "Service"),
        (RunTask, "RunTaskRequest"),
    ],
)
def test_models_accept_every_ecs_member_and_enum_value(model: type[BaseModel], shape: str) -> None:
    assert _gaps(model, shape, _shapes(), shape, set()) == []
