"""Shared building blocks for the ECS models.

Every model mirrors an AWS API shape with the AWS camelCase names as Python field names, so a
pasted `aws ecs describe-*` document validates unchanged. `extra="forbid"` turns typos into errors
instead of silently dropped settings, which is what ECS itself does (ClientException).
"""

from __future__ import annotations

import functools
import types
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator


class AwsModel(BaseModel):
    """Base for all ECS shapes: strict about unknown names, lenient about nothing else."""

    model_config = ConfigDict(extra="forbid", validate_default=False, use_attribute_docstrings=False)

    @model_validator(mode="before")
    @classmethod
    def _absent_as_aws_writes_it(cls, data: Any) -> Any:
        """Read `null`, and `""` in enum fields, as absent: AWS writes both for unset fields
        (describe output, console JSON exports: `"ipcMode": ""`, `"launchType": ""`,
        `"versionConsistency": ""`, `"healthCheck": null`), and ECS accepts them back the same way.
        An empty string can never be a valid enum value, so nothing that means something is lost;
        in free-text fields `""` is kept, because there it can be a value (or a refused one)."""
        if not isinstance(data, dict):
            return data
        enums = _enum_fields(cls)
        return {k: v for k, v in data.items() if v is not None and not (v == "" and k in enums)}

    def to_aws(self) -> dict[str, Any]:
        """AWS JSON form: unset fields stay absent so round trips keep the user's document."""
        return self.model_dump(mode="json", exclude_none=True)


@functools.cache
def _enum_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names (and aliases) of the fields of `model` typed as a Literal (optionally `| None`)."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        if _is_literal(info.annotation):
            out.add(name)
            if info.alias:
                out.add(info.alias)
    return frozenset(out)


def _is_literal(annotation: Any) -> bool:
    if get_origin(annotation) is Literal:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return bool(args) and all(get_origin(a) is Literal for a in args)
    return False


def _stamp(value: Any) -> Any:
    """The CLI prints timestamps as ISO strings, boto3 gives datetimes, older CLIs epoch floats."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC).isoformat()
    return value


def _numeric_string(value: Any) -> Any:
    """AWS types task cpu/memory as strings, but YAML authors write `cpu: 256`; both mean the same."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


Timestamp = Annotated[str, BeforeValidator(_stamp)]
"""Read-only timestamps from describe output, kept as ISO-8601 text."""

NumericString = Annotated[
    str,
    BeforeValidator(_numeric_string),
    WithJsonSchema({"type": "string", "x-kubernetes-int-or-string": True, "maxLength": 32}),
]
"""A string field that AWS also accepts as a bare number (task-level cpu/memory)."""

StringMap = dict[str, str]

LaunchType = Literal["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"]
PropagateTags = Literal["TASK_DEFINITION", "SERVICE", "NONE"]
Compatibility = Literal["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"]
EnabledDisabled = Literal["ENABLED", "DISABLED"]


class Tag(AwsModel):
    key: str | None = Field(default=None, json_schema_extra={"maxLength": 128})
    value: str | None = Field(default=None, json_schema_extra={"maxLength": 256})


class KeyValuePair(AwsModel):
    name: str | None = None
    value: str | None = None


class Secret(AwsModel):
    name: str
    valueFrom: str


class LogConfiguration(AwsModel):
    logDriver: Literal[
        "json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"
    ]
    options: StringMap | None = None
    secretOptions: list[Secret] | None = None
