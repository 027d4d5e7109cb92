"""Log groups as state: CreateLogGroup, DeleteLogGroup, Put/DeleteRetentionPolicy, and the
stored groups DescribeLogGroups lists (ecsk.core.translate.loggroups says how they are kept).

Retention is stored and reported, not applied: a stream's events live as long as its pod (see
streams), which is shorter than any retention CloudWatch allows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecsk.api.context import Context
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.translate import loggroups as lg
from ecsk.core.translate.names import LABEL_STORE

ALREADY_EXISTS = "The specified log group already exists"
NOT_FOUND = "The specified log group does not exist."


@dataclass(frozen=True)
class Group:
    name: str
    created_ms: int
    retention: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def _group(cm: Mapping[str, Any]) -> Group | None:
    name = lg.stored_name(cm)
    if name is None:
        return None
    data = cm.get("data") or {}
    retention = data.get(lg.RETENTION_KEY)
    try:
        tags = json.loads(data.get(lg.TAGS_KEY) or "{}")
    except ValueError:
        tags = {}
    return Group(name, int(data.get(lg.CREATED_KEY) or 0), int(retention) if retention else None, tags)


def stored_groups(ctx: Context) -> dict[str, Group]:
    """Every log group created in the endpoint's namespace (API or awslogs-create-group)."""
    found = (_group(cm) for cm in ctx.store.list("ConfigMap", selector=f"{LABEL_STORE}={lg.STORE_LOGS}"))
    return {g.name: g for g in found if g is not None}


def _checked_name(p: Mapping[str, Any]) -> str:
    name = str(p.get("logGroupName") or "")
    problem = lg.name_problem(name)
    if problem:
        raise AwsError("InvalidParameterException", problem)
    return name


def _stored(ctx: Context, name: str) -> dict[str, Any]:
    cm = ctx.store.get("ConfigMap", lg.configmap_name(name), fresh=True)
    if cm is None or lg.stored_name(cm) != name:
        raise AwsError("ResourceNotFoundException", NOT_FOUND)
    return cm


def create_log_group(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    name = _checked_name(p)
    cm = lg.group_configmap(name, ctx.store.namespace, int(time.time() * 1000), p.get("tags"))
    try:
        ctx.store.create(cm)
    except Conflict:
        raise AwsError("ResourceAlreadyExistsException", ALREADY_EXISTS) from None
    return {}


def delete_log_group(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    name = _checked_name(p)
    _stored(ctx, name)
    if not ctx.store.delete("ConfigMap", lg.configmap_name(name)):
        raise AwsError("ResourceNotFoundException", NOT_FOUND)
    return {}


def _set_retention(ctx: Context, name: str, days: int | None) -> None:
    _stored(ctx, name)
    value = None if days is None else str(days)
    patch = {"data": {lg.RETENTION_KEY: value}}
    if ctx.store.merge_patch("ConfigMap", lg.configmap_name(name), patch) is None:
        raise AwsError("ResourceNotFoundException", NOT_FOUND)


def put_retention_policy(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    name = _checked_name(p)
    days = p.get("retentionInDays")
    if days not in lg.RETENTION_DAYS:
        raise AwsError(
            "InvalidParameterException",
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(str(d) for d in lg.RETENTION_DAYS)}]",
        )
    _set_retention(ctx, name, int(days))
    return {}


def delete_retention_policy(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    _set_retention(ctx, _checked_name(p), None)
    return {}
