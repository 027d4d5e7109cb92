"""CloudWatch Logs groups as state: what the AWS endpoint's CreateLogGroup writes and what the
operator reads before it starts a task whose container logs with awslogs.

A log group is a ConfigMap `logs.<name parts>` labelled `ecs.ecsk.io/store=logs` in the
endpoint's namespace (`kubectl get configmaps -l ecs.ecsk.io/store=logs` lists them), holding
the group's name, creation time (epoch ms), retention and tags. Both the endpoint (the API) and
the operator (awslogs-create-group) write that same shape, so it is built here.

The ECS rule: the awslogs driver creates the task's stream when the task starts; a group that
does not exist fails it (the Fargate agent's ResourceInitializationError, below) unless the
container's options say `awslogs-create-group: "true"`, when the agent creates the group.
ecsk enforces that rule in a namespace once its log group store is in use (at least one group
exists there): real task definitions and older namespaces whose groups nobody created keep
running, as they did before log groups were state (see docs/api.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ecsk.core.models import TaskDefinition
from ecsk.core.translate.names import LABEL_STORE, MANAGED_BY, dns_subdomain, short_hash

STORE_LOGS = "logs"
NAME_KEY = "logGroupName"
CREATED_KEY = "creationTime"
RETENTION_KEY = "retentionInDays"
TAGS_KEY = "tags"
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The values PutRetentionPolicy accepts (CloudWatch Logs API reference)."""
_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")

MISSING_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not "
    "exist. : exit status 1"
)
"""The Fargate agent's stoppedReason for a task whose awslogs group does not exist."""


def name_problem(name: str) -> str | None:
    """CloudWatch's validation message for a bad log group name, or None."""
    if _NAME.match(name):
        return None
    return (
        f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
    )


def configmap_name(group: str) -> str:
    """`logs.<parts>` (`/ecs/web` -> `logs.ecs.web`), hashed when a part is not a DNS label or
    the name is not in the usual `/a/b` shape (`ecs/web` and `/ecs//web` must not take it)."""
    parts = tuple(group.split("/"))
    name = dns_subdomain(STORE_LOGS, parts, group)
    canonical = group == "/" + "/".join(p for p in parts if p)
    if canonical or name.endswith(short_hash(group)):
        return name
    return f"{name[:240]}-{short_hash(group)}"


def group_configmap(
    group: str, namespace: str, created_ms: int, tags: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ConfigMap a new log group is stored in."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(group),
            "namespace": namespace,
            "labels": {LABEL_STORE: STORE_LOGS, MANAGED_BY: "ecsk"},
        },
        "data": {NAME_KEY: group, CREATED_KEY: str(created_ms), TAGS_KEY: json.dumps(dict(tags or {}))},
    }


def stored_name(cm: Mapping[str, Any]) -> str | None:
    """The log group a ConfigMap holds (None: not a log group's)."""
    labels = (cm.get("metadata") or {}).get("labels") or {}
    if labels.get(LABEL_STORE) != STORE_LOGS:
        return None
    return (cm.get("data") or {}).get(NAME_KEY)


def awslogs_groups(td: TaskDefinition) -> list[tuple[str, bool]]:
    """Each awslogs group of the task definition's containers, and whether the container asks
    the agent to create it (`awslogs-create-group` "true", case-insensitive as the driver parses
    booleans), in container order without repeats."""
    out: dict[str, bool] = {}
    for c in td.containerDefinitions:
        conf = c.logConfiguration
        if conf is None or conf.logDriver != "awslogs":
            continue
        options = conf.options or {}
        group = options.get("awslogs-group")
        if group:
            create = str(options.get("awslogs-create-group", "")).lower() == "true"
            out[group] = out.get(group, False) or create
    return list(out.items())


def start_plan(td: TaskDefinition, existing: Iterable[str], enforced: bool) -> tuple[str | None, list[str]]:
    """What the agent does with the task's log groups as it starts: the stoppedReason when a
    group is missing and may not be created (only when the rule is enforced), else the groups
    to create."""
    have = set(existing)
    wanted = [(g, create) for g, create in awslogs_groups(td) if g not in have]
    if enforced and any(not create for _, create in wanted):
        return MISSING_GROUP, []
    return None, [g for g, create in wanted if create]
