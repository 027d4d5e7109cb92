"""ListContainerInstances, DescribeContainerInstances, UpdateContainerInstancesState on nodes.

Every EC2-like node is a container instance of every cluster (the fleet is shared; Fargate nodes
are not instances, as in ECS). DRAINING is honoured as ECS does it: the node is cordoned (no new
tasks) and the service tasks on it are evicted, so their services replace them elsewhere, while
standalone tasks keep running; ACTIVE uncordons it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context, page
from ecsk.api.ecs.attributes import instance_arn
from ecsk.api.ecs.clusters import require_cluster
from ecsk.api.ecs.tasks import all_tasks, desired_matches
from ecsk.api.errors import AwsError
from ecsk.core.cql.errors import CQLError
from ecsk.core.cql.evaluate import evaluate
from ecsk.core.cql.parser import parse
from ecsk.core.placement.attributes import find_node
from ecsk.core.placement.instance_views import describe_all
from ecsk.core.placement.instances import is_container_instance
from ecsk.core.placement.nodes import node_view
from ecsk.core.tasks.status import status_rank
from ecsk.core.translate.names import LABEL_SERVICE

DROPPED = ("nodeName", "instanceType", "availabilityZone")
"""ecsk instances' table columns that are not describe-container-instances fields (ECS has them
as the ecs.instance-type / ecs.availability-zone attributes, which are kept)."""


def _instances(ctx: Context) -> list[dict[str, Any]]:
    return [n for n in ctx.store.list("Node") if is_container_instance(n)]


def _shape(
    ctx: Context,
    cluster: str,
    view: Mapping[str, Any],
    node: Mapping[str, Any],
    counts: Mapping[str, tuple[int, int]],
) -> dict[str, Any]:
    out = {k: v for k, v in view.items() if k not in DROPPED}
    out["runningTasksCount"], out["pendingTasksCount"] = counts.get(str(view["nodeName"]), (0, 0))
    out["containerInstanceArn"] = instance_arn(ctx, cluster, str(view["nodeName"]))
    out["version"] = int(node["metadata"].get("resourceVersion") or 0)
    out["versionInfo"] = {"agentVersion": "1.0.0"}
    out["registeredAt"] = _created(node)
    out["tags"] = []
    return out


def _created(node: Mapping[str, Any]) -> float | None:
    from ecsk.api.context import epoch

    return epoch(node["metadata"].get("creationTimestamp"))


def list_container_instances(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    nodes = _instances(ctx)
    status = params.get("status")
    if status:
        nodes = [
            n
            for n in nodes
            if ("DRAINING" if (n.get("spec") or {}).get("unschedulable") else "ACTIVE") == status
        ]
    if params.get("filter"):
        try:
            expr = parse(params["filter"])
        except CQLError as exc:
            raise AwsError("InvalidParameterException", f"Invalid filter expression: {exc}") from None
        pods = ctx.store.list_all_pods()
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            by_node.setdefault(str((pod.get("spec") or {}).get("nodeName")), []).append(pod)
        nodes = [n for n in nodes if evaluate(expr, node_view(n, by_node.get(n["metadata"]["name"], [])))]
    arns = [instance_arn(ctx, cluster, n["metadata"]["name"]) for n in nodes]
    chunk, token = page(arns, params, key=str)
    return {"containerInstanceArns": chunk, **({"nextToken": token} if token else {})}


def _describe(ctx: Context, cluster: str, refs: list[str]) -> dict[str, Any]:
    nodes = _instances(ctx)
    found: dict[str, Mapping[str, Any]] = {}
    failures = []
    for ref in refs:
        node = find_node(nodes, ref)
        if node is None:
            failures.append(
                {
                    "arn": ref if ref.startswith("arn:") else instance_arn(ctx, cluster, ref),
                    "reason": "MISSING",
                }
            )
        else:
            found[str(node["metadata"]["name"])] = node
    views = describe_all(found.values(), ctx.store.list_all_pods()) if found else []
    counts = _task_counts(ctx, cluster) if found else {}
    shaped = [_shape(ctx, cluster, v, found[v["nodeName"]], counts) for v in views]
    return {"containerInstances": shaped, "failures": failures}


def _task_counts(ctx: Context, cluster: str) -> dict[str, tuple[int, int]]:
    """node -> (runningTasksCount, pendingTasksCount) over this cluster's tasks, from the same
    records ListTasks filters: runningTasksCount is ECS's "tasks that have a desired status of
    RUNNING" (so it equals `list-tasks --container-instance`), pendingTasksCount those whose
    last status is still before RUNNING. (Remaining resources count every pod on the node.)"""
    out: dict[str, tuple[int, int]] = {}
    for rec, _, _ in all_tasks(ctx, cluster):
        node = rec.get("node")
        if not node or not desired_matches(rec, "RUNNING"):
            continue
        running, pending = out.get(str(node), (0, 0))
        early = status_rank(str(rec.get("lastStatus"))) < status_rank("RUNNING")
        out[str(node)] = (running + 1, pending + int(early))
    return out


def describe_container_instances(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    refs = params["containerInstances"]
    if not 1 <= len(refs) <= 100:
        raise AwsError("InvalidParameterException", "containerInstances can have at most 100 items.")
    return _describe(ctx, cluster, refs)


def update_container_instances_state(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    status = params["status"]
    if status not in ("ACTIVE", "DRAINING"):
        raise AwsError("InvalidParameterException", "Container instance status can be ACTIVE or DRAINING.")
    refs = params["containerInstances"]
    if not 1 <= len(refs) <= 10:
        raise AwsError("InvalidParameterException", "containerInstances can have at most 10 items.")
    nodes = _instances(ctx)
    for ref in refs:
        node = find_node(nodes, ref)
        if node is None:
            continue  # reported as a MISSING failure below
        name = str(node["metadata"]["name"])
        ctx.store.merge_patch("Node", name, {"spec": {"unschedulable": status == "DRAINING"}})
        if status == "DRAINING":
            drain(ctx, name)
    return _describe(ctx, cluster, refs)


def drain(ctx: Context, node: str) -> list[str]:
    """Evict the service tasks (pods with the service label) bound to `node`; returns their names."""
    evicted = []
    for pod in ctx.store.list_all_pods(f"spec.nodeName={node}"):
        meta = pod["metadata"]
        if meta.get("namespace") != ctx.store.namespace or LABEL_SERVICE not in (meta.get("labels") or {}):
            continue
        if ctx.store.evict(meta["name"]):
            evicted.append(meta["name"])
    return evicted
