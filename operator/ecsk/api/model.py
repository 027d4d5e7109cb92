"""Request validation against the botocore service model that boto3 ships: the one model.

The SDKs validate client-side from the same JSON, so checking it here gives a raw HTTP client
(curl, another SDK with validation off) the refusals AWS gives: wrong JSON types are a
SerializationException, missing required members, unknown enum values and length/range limits a
validation error in Coral's wording (`1 validation error detected: Value null at 'family' failed
to satisfy constraint: Member must not be null`), raised with the exception type the service
declares for it (ECS: InvalidParameterException; Application Auto Scaling: ValidationException).
Members the model does not know are dropped, as AWS ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.loaders import Loader

from ecsk.api.errors import AwsError

MAX_REPORTED = 10
"""Coral lists at most this many violations, then counts the rest."""


@lru_cache(maxsize=8)
def load_model(service: str) -> dict[str, Any]:
    """botocore's service-2.json for `service` (e.g. "ecs", "application-autoscaling")."""
    data: dict[str, Any] = Loader().load_service_model(service, "service-2")
    return data


@dataclass
class _Walk:
    shapes: dict[str, Any]
    violations: list[str]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _serialization(path: str, expected: str, value: Any) -> AwsError:
    return AwsError(
        "SerializationException",
        f"Value at '{path}' is a JSON {_json_type(value)}, expected {expected}",
    )


def _shown(value: Any) -> str:
    return "null" if value is None else str(value)


def _check_bounds(w: _Walk, shape: dict[str, Any], value: Any, path: str) -> None:
    kind = shape["type"]
    size = len(value) if kind in ("string", "list", "map") else value
    low, high = shape.get("min"), shape.get("max")
    noun = {"string": "length", "list": "length", "map": "length"}.get(kind, "value")
    # A sensitive member (a secret's value) is never echoed back, as AWS words it.
    shown = "Value" if shape.get("sensitive") else f"Value '{_shown(value)}'"
    if low is not None and size < low:
        w.violations.append(
            f"{shown} at '{path}' failed to satisfy constraint: "
            f"Member must have {noun} greater than or equal to {low}"
        )
    if high is not None and size > high:
        w.violations.append(
            f"{shown} at '{path}' failed to satisfy constraint: "
            f"Member must have {noun} less than or equal to {high}"
        )


def _walk(w: _Walk, shape_name: str, value: Any, path: str) -> Any:
    shape = w.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            raise _serialization(path, "a structure", value)
        out: dict[str, Any] = {}
        members = shape.get("members", {})
        for name in shape.get("required", []):
            if value.get(name) is None:
                where = f"{path}.{name}" if path else name
                w.violations.append(
                    f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
                )
        for name, item in value.items():
            if name not in members or item is None:
                continue
            where = f"{path}.{name}" if path else name
            out[name] = _walk(w, members[name]["shape"], item, where)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _serialization(path, "a list", value)
        _check_bounds(w, shape, value, path)
        return [_walk(w, shape["member"]["shape"], v, f"{path}.{i + 1}") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _serialization(path, "a map", value)
        _check_bounds(w, shape, value, path)
        return {
            _walk(w, shape["key"]["shape"], k, f"{path}.key"): _walk(
                w, shape["value"]["shape"], v, f"{path}.{k}"
            )
            for k, v in value.items()
        }
    return _scalar(w, shape, value, path)


def _scalar(w: _Walk, shape: dict[str, Any], value: Any, path: str) -> Any:
    kind = shape["type"]
    if kind == "string":
        if not isinstance(value, str):
            raise _serialization(path, "a string", value)
        enum = shape.get("enum")
        if enum and value not in enum:
            w.violations.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        _check_bounds(w, shape, value, path)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise _serialization(path, "an integer", value)
        value = int(value)
        _check_bounds(w, shape, value, path)
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _serialization(path, "a number", value)
        _check_bounds(w, shape, value, path)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _serialization(path, "a boolean", value)
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _serialization(path, "a timestamp", value)
    elif kind == "blob" and not isinstance(value, str):
        raise _serialization(path, "base64 text", value)
    return value


def validate_input(service: str, operation: str, params: Any, error_code: str) -> dict[str, Any]:
    """`params` checked against the operation's input shape; returns it without unknown members.

    Raises SerializationException for a wrong JSON type, `error_code` listing every constraint
    violation otherwise."""
    model = load_model(service)
    op = model["operations"][operation]
    if "input" not in op:
        if not isinstance(params, dict):
            raise _serialization("", "a structure", params)
        return {}
    w = _Walk(model["shapes"], [])
    cleaned: dict[str, Any] = _walk(w, op["input"]["shape"], params, "")
    if w.violations:
        n = len(w.violations)
        shown = "; ".join(w.violations[:MAX_REPORTED])
        noun = "error" if n == 1 else "errors"
        raise AwsError(error_code, f"{n} validation {noun} detected: {shown}")
    return cleaned


def operation_names(service: str) -> frozenset[str]:
    return frozenset(load_model(service)["operations"])
