"""The node labels behind the CQL subjects Kubernetes has no label for.

`runningTasksCount`, `registeredAt`, `agentConnected` and `agentVersion` compile to requirements on
`ecs.ecsk.io/*` node labels (cql.md, "Mapping"). Nothing in Kubernetes writes them, so the operator
does (`ecsk.controller.placement.instances`); this module decides what they should say, from the Node and the
number of ECS tasks running on it, and which of them a patch must change. Keeping the decision here
lets the controller stay a thin event loop and lets the unit tests pin every value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.core.capacity.fargate import COMPUTE_TYPE
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    AGENT_VERSION_LABEL,
    REGISTERED_AT_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
    TASK_GROUP_LABEL,
)
from ecsk.core.cql.values import agent_version_code, epoch_seconds
from ecsk.core.placement.nodes import agent_version, node_created, node_ready
from ecsk.core.translate.names import MANAGED_BY

INSTANCE_LABELS = (RUNNING_TASKS_COUNT_LABEL, REGISTERED_AT_LABEL, AGENT_CONNECTED_LABEL, AGENT_VERSION_LABEL)
"""The labels the operator owns on container-instance nodes; it never touches any other label."""
NAMESPACE_LABEL = "ecs.ecsk.io/namespace"
"""A node dedicated to one namespace's tasks. A namespaced operator sees only its namespaces' pods,
so its task counts are right only on such nodes, and it labels only those."""


def is_container_instance(node: Mapping[str, Any]) -> bool:
    """EC2-like nodes. A Fargate node runs exactly one task and is never a placement target (ECS
    refuses constraints for Fargate), so it gets none of the instance labels."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get(COMPUTE_TYPE) != "fargate"


def in_scope(node: Mapping[str, Any], namespaces: list[str] | None) -> bool:
    """Whether an operator watching `namespaces` (None: the whole cluster) keeps this node's labels."""
    if not is_container_instance(node):
        return False
    if namespaces is None:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get(NAMESPACE_LABEL) in namespaces


def is_running_task(pod: Mapping[str, Any]) -> bool:
    """An ECS task in RUNNING on some instance: an ecsk pod of a task group, bound, phase Running,
    not being deleted (ECS counts a stopping task out of runningTasksCount once it is told to stop)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_BY) != "ecsk" or not labels.get(TASK_GROUP_LABEL):
        return False
    if meta.get("deletionTimestamp") or not (pod.get("spec") or {}).get("nodeName"):
        return False
    return bool((pod.get("status") or {}).get("phase") == "Running")


def instance_labels(node: Mapping[str, Any], running_tasks: int) -> dict[str, str]:
    """The four labels as the compiler reads them (same encodings as `cql.labels.node_labels`)."""
    code = agent_version_code(agent_version(node))
    return {
        RUNNING_TASKS_COUNT_LABEL: str(max(0, running_tasks)),
        REGISTERED_AT_LABEL: str(epoch_seconds(node_created(node))),
        AGENT_CONNECTED_LABEL: "true" if node_ready(node) else "false",
        AGENT_VERSION_LABEL: str(code),
    }


def label_patch(node: Mapping[str, Any], desired: Mapping[str, str]) -> dict[str, Any] | None:
    """A merge patch that sets just the labels that differ, or None when the node is current (a
    no-op resync must write nothing). Labels outside `desired` are not mentioned, so other owners'
    labels are never touched."""
    current = (node.get("metadata") or {}).get("labels") or {}
    changed = {k: v for k, v in desired.items() if current.get(k) != v}
    if not changed:
        return None
    return {"metadata": {"labels": dict(sorted(changed.items()))}}
