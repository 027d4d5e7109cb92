"""CreateCluster, DeleteCluster, DescribeClusters, ListClusters, PutClusterCapacityProviders on
`ECSCluster` resources.

A cluster exists when an ECSCluster names it, or when a service or task placed with kubectl
names it in `spec.cluster` (an implicit cluster, reported ACTIVE, like the `default` cluster ECS
creates on first use). CreateService and RunTask create the `default` ECSCluster when it is
missing, as ECS does; any other unknown cluster is ClusterNotFoundException.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ecsk.api.context import Context, page
from ecsk.api.ecs.common import (
    DEFAULT_CLUSTER,
    cluster_arn,
    cluster_name,
    object_name,
    resource,
    short_name,
    spec_cluster,
    tags_out,
)
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.capacity.models import ECSCluster
from ecsk.core.models.errors import issues_from_pydantic

NOT_FOUND = "Cluster not found."
UNSUPPORTED = ("settings", "configuration", "serviceConnectDefaults")


@dataclass
class ClusterView:
    name: str
    body: dict[str, Any] | None
    services: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)


def _name_of(body: Mapping[str, Any]) -> str:
    return str((body.get("spec") or {}).get("clusterName") or body["metadata"]["name"])


def all_clusters(ctx: Context, with_children: bool = True) -> dict[str, ClusterView]:
    """Every cluster of the namespace, explicit and implicit, with its services and tasks."""
    views = {_name_of(b): ClusterView(_name_of(b), b) for b in ctx.store.list("ECSCluster")}
    if not with_children:
        return views
    for svc in ctx.store.list("ECSService"):
        views.setdefault(spec_cluster(svc), ClusterView(spec_cluster(svc), None)).services.append(svc)
    for task in ctx.store.list("Task"):
        views.setdefault(spec_cluster(task), ClusterView(spec_cluster(task), None)).tasks.append(task)
    return views


def find_cluster_body(ctx: Context, name: str) -> dict[str, Any] | None:
    """The ECSCluster naming `name`: by its derived object name first (one GET), else a scan
    (kubectl users may name the object anything and set spec.clusterName)."""
    body = ctx.store.get("ECSCluster", object_name(name))
    if body is not None and _name_of(body) == name:
        return body
    return next((b for b in ctx.store.list("ECSCluster") if _name_of(b) == name), None)


def require_cluster(ctx: Context, ref: str | None, create_default: bool = False) -> str:
    """The cluster's name if it exists; the `default` cluster is created on first use."""
    name = cluster_name(short_name(ref, "cluster") if ref else None)
    if find_cluster_body(ctx, name) is not None:
        return name
    if create_default and name == DEFAULT_CLUSTER:
        with contextlib.suppress(Conflict):  # created meanwhile by another call: fine
            ctx.store.create(resource("ECSCluster", object_name(name), {"clusterName": name}))
        return name
    implicit = any(spec_cluster(b) == name for kind in ("ECSService", "Task") for b in ctx.store.list(kind))
    if not implicit:
        raise AwsError("ClusterNotFoundException", NOT_FOUND)
    return name


def _running_pending(view: ClusterView) -> tuple[int, int]:
    running = pending = 0
    for svc in view.services:
        st = svc.get("status") or {}
        running += int(st.get("runningCount") or 0)
        pending += int(st.get("pendingCount") or 0)
    for task in view.tasks:
        for rec in (task.get("status") or {}).get("tasks") or []:
            last = rec.get("lastStatus")
            running += last == "RUNNING"
            pending += last in ("PROVISIONING", "PENDING", "ACTIVATING")
    return running, pending


def describe(ctx: Context, view: ClusterView, include: list[str], instances: int) -> dict[str, Any]:
    spec = (view.body or {}).get("spec") or {}
    running, pending = _running_pending(view)
    out: dict[str, Any] = {
        "clusterArn": cluster_arn(ctx, view.name),
        "clusterName": view.name,
        "status": "ACTIVE",
        "registeredContainerInstancesCount": instances,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "activeServicesCount": len(view.services),
        "statistics": [],
        "tags": tags_out(spec.get("tags")) if "TAGS" in include else [],
        "settings": [{"name": "containerInsights", "value": "disabled"}] if "SETTINGS" in include else [],
        "capacityProviders": list(spec.get("capacityProviders") or []),
        "defaultCapacityProviderStrategy": list(spec.get("defaultCapacityProviderStrategy") or []),
    }
    return out


def _instance_count(ctx: Context) -> int:
    """Every node is a container instance of every cluster (the fleet is shared)."""
    return len(ctx.store.list("Node"))


def list_clusters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arns = [cluster_arn(ctx, name) for name in all_clusters(ctx)]
    chunk, token = page(arns, params, key=str)
    return {"clusterArns": chunk, **({"nextToken": token} if token else {})}


def describe_clusters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    refs = params.get("clusters") or [DEFAULT_CLUSTER]
    if len(refs) > 100:
        raise AwsError("InvalidParameterException", "A maximum of 100 clusters can be described.")
    views = all_clusters(ctx)
    include = list(params.get("include") or [])
    instances = _instance_count(ctx)
    clusters, failures = [], []
    for ref in refs:
        name = cluster_name(short_name(ref, "cluster"))
        if name in views:
            clusters.append(describe(ctx, views[name], include, instances))
        else:
            failures.append({"arn": cluster_arn(ctx, name), "reason": "MISSING"})
    return {"clusters": clusters, "failures": failures}


def _spec_from(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    given = [k for k in UNSUPPORTED if params.get(k)]
    if given:
        raise AwsError("InvalidParameterException", f"ecsk does not support {', '.join(given)} on clusters.")
    spec: dict[str, Any] = {"clusterName": name}
    for key in ("capacityProviders", "defaultCapacityProviderStrategy", "tags"):
        if params.get(key):
            spec[key] = params[key]
    try:
        ECSCluster.model_validate(spec)
    except ValidationError as exc:
        text = "; ".join(str(i) for i in issues_from_pydantic(exc))
        raise AwsError("InvalidParameterException", text) from None
    return spec


def create_cluster(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("clusterName") or DEFAULT_CLUSTER
    if not _valid_name(name):
        raise AwsError(
            "InvalidParameterException",
            "Cluster name must be up to 255 letters (uppercase and lowercase), numbers, "
            "underscores and hyphens.",
        )
    spec = _spec_from(params, name)
    existing = find_cluster_body(ctx, name)
    if existing is None:
        try:
            existing = ctx.store.create(resource("ECSCluster", object_name(name), spec))
        except Conflict:
            existing = find_cluster_body(ctx, name)
    # CreateCluster on an existing cluster returns it unchanged (ECS is idempotent here).
    views = all_clusters(ctx)
    view = views.get(name) or ClusterView(name, existing)
    return {"cluster": describe(ctx, view, ["TAGS"], _instance_count(ctx))}


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 255 and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)


def delete_cluster(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = cluster_name(short_name(params["cluster"], "cluster"))
    view = all_clusters(ctx).get(name)
    if view is None:
        raise AwsError("ClusterNotFoundException", NOT_FOUND)
    if view.services:
        raise AwsError(
            "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."
        )
    if any((t.get("status") or {}).get("desiredStatus") != "STOPPED" for t in view.tasks):
        raise AwsError(
            "ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active."
        )
    out = describe(ctx, view, ["TAGS"], 0)
    if view.body is not None:
        ctx.store.delete("ECSCluster", view.body["metadata"]["name"])
    out["status"] = "INACTIVE"
    return {"cluster": out}


def put_cluster_capacity_providers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = require_cluster(ctx, params["cluster"])
    body = find_cluster_body(ctx, name)
    spec = {**((body or {}).get("spec") or {}), "clusterName": name}
    spec["capacityProviders"] = params["capacityProviders"]
    spec["defaultCapacityProviderStrategy"] = params["defaultCapacityProviderStrategy"]
    unknown = {i.get("capacityProvider") for i in spec["defaultCapacityProviderStrategy"]} - set(
        spec["capacityProviders"]
    )
    if unknown:
        raise AwsError(
            "InvalidParameterException",
            "The specified capacity provider strategy cannot contain a capacity provider that is not "
            "associated with the cluster. Associate the capacity provider with the cluster or specify a "
            "valid capacity provider and try again.",
        )
    spec = _spec_from(spec, name)
    if body is None:
        ctx.store.create(resource("ECSCluster", object_name(name), spec))
    else:
        ctx.store.update_spec("ECSCluster", body["metadata"]["name"], lambda _live: spec)
    view = all_clusters(ctx)[name]
    return {"cluster": describe(ctx, view, ["TAGS"], _instance_count(ctx))}
