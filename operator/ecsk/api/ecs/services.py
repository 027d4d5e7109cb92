"""Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices on
`ECSService` resources; what the operator reports in status is what describe-services shows.

A service is found by (cluster, serviceName): `spec.serviceName` (or the object's name) and
`spec.cluster`. Until the operator has observed the latest spec, describe shows an extra
IN_PROGRESS deployment, so `aws ecs wait services-stable` never passes on a stale status.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecsk.api.context import Context, epoch, page
from ecsk.api.ecs.clusters import require_cluster
from ecsk.api.ecs.common import (
    cluster_arn,
    cluster_name,
    object_name,
    own_task_definition_arn,
    resource,
    service_arn,
    short_name,
    spec_cluster,
    tags_out,
    task_definition_arn,
    wants_tags,
)
from ecsk.api.ecs.taskdefs import load_revision, resolve_any
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.models import ModelLoadError, parse_service
from ecsk.core.models.errors import errors_of, issues_text
from ecsk.core.translate.names import ANN_FORCE_DEPLOYMENT
from ecsk.core.validation import validate_service

NOT_FOUND = "Service not found."
NOT_ACTIVE = "Service was not ACTIVE."
UPDATABLE = (
    "desiredCount", "taskDefinition", "capacityProviderStrategy", "deploymentConfiguration",
    "availabilityZoneRebalancing", "networkConfiguration", "placementConstraints", "placementStrategy",
    "platformVersion", "healthCheckGracePeriodSeconds", "deploymentController", "enableExecuteCommand",
    "enableECSManagedTags", "loadBalancers", "propagateTags", "serviceRegistries",
    "serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations",
)  # fmt: skip


def service_name_of(body: Mapping[str, Any]) -> str:
    return str((body.get("spec") or {}).get("serviceName") or body["metadata"]["name"])


def services_in(ctx: Context, cluster: str) -> list[dict[str, Any]]:
    return [b for b in ctx.store.list("ECSService") if spec_cluster(b) == cluster]


def find_service(ctx: Context, cluster: str, ref: str) -> dict[str, Any] | None:
    name = short_name(ref, "service")
    for candidate in (object_name(name), object_name(cluster, name)):
        body = ctx.store.get("ECSService", candidate)
        if body is not None and service_name_of(body) == name and spec_cluster(body) == cluster:
            return body
    return next((b for b in services_in(ctx, cluster) if service_name_of(b) == name), None)


def _epoch_fields(item: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    out = dict(item)
    for key in keys:
        if key in out:
            out[key] = epoch(out[key])
    return {k: v for k, v in out.items() if v is not None}


def _pending_deployment(
    spec: Mapping[str, Any], body: Mapping[str, Any], td_arn: str | None
) -> dict[str, Any]:
    """What ECS shows for a deployment the scheduler has not started yet."""
    now = epoch(body["metadata"].get("creationTimestamp"))
    return {
        "id": f"ecs-svc/{body['metadata'].get('uid', uuid.uuid4().hex).replace('-', '')[:19]}",
        "status": "PRIMARY",
        "taskDefinition": td_arn,
        "desiredCount": int(spec.get("desiredCount") or 0),
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": spec.get("launchType"),
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
    }


def _td_arn(ctx: Context, spec: Mapping[str, Any], status: Mapping[str, Any], observed: bool) -> str | None:
    if observed and status.get("taskDefinition"):
        return own_task_definition_arn(ctx, str(status["taskDefinition"]))
    ref = spec.get("taskDefinition")
    if not ref:
        return None
    try:
        family, revision = resolve_any(ctx, str(ref), allow_inactive=True)
    except AwsError:
        return str(ref)
    return task_definition_arn(ctx, family, revision)


def _desired(spec: Mapping[str, Any], status: Mapping[str, Any], observed: bool) -> int:
    """The operator's count once it saw this spec (DAEMON: one per instance), else the spec's."""
    if observed and status.get("desiredCount") is not None:
        return int(status["desiredCount"])
    return int(spec.get("desiredCount") or 0)


def _observed(body: Mapping[str, Any]) -> bool:
    """The operator's status describes the current spec and the current forced deployment."""
    status, meta = body.get("status") or {}, body["metadata"]
    forced = (meta.get("annotations") or {}).get(ANN_FORCE_DEPLOYMENT)
    return int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0) and (
        status.get("observedForceNewDeployment") == forced
    )


def describe(ctx: Context, body: Mapping[str, Any], include_tags: bool = False) -> dict[str, Any]:
    spec, status, meta = body.get("spec") or {}, body.get("status") or {}, body["metadata"]
    name, cluster = service_name_of(body), spec_cluster(body)
    observed = _observed(body)
    td_arn = _td_arn(ctx, spec, status, observed)
    deployments = [_epoch_fields(d, "createdAt", "updatedAt") for d in status.get("deployments") or []]
    for d in deployments:
        if d.get("taskDefinition"):
            d["taskDefinition"] = own_task_definition_arn(ctx, d["taskDefinition"])
    if not observed or not deployments:
        deployments = [
            _pending_deployment(spec, body, td_arn),
            *[dict(d, status="ACTIVE") for d in deployments],
        ]
    out: dict[str, Any] = {
        "serviceArn": service_arn(ctx, cluster, name),
        "serviceName": name,
        "clusterArn": cluster_arn(ctx, cluster),
        "loadBalancers": spec.get("loadBalancers") or [],
        "serviceRegistries": spec.get("serviceRegistries") or [],
        "status": "DRAINING" if meta.get("deletionTimestamp") else "ACTIVE",
        "desiredCount": _desired(spec, status, observed),
        "runningCount": int(status.get("runningCount") or 0),
        "pendingCount": int(status.get("pendingCount") or 0),
        "launchType": spec.get("launchType"),
        "capacityProviderStrategy": spec.get("capacityProviderStrategy"),
        "platformVersion": spec.get("platformVersion"),
        "taskDefinition": td_arn,
        "deploymentConfiguration": spec.get("deploymentConfiguration")
        or {"maximumPercent": 200, "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": False, "rollback": False}},
        "deployments": deployments,
        "events": [_epoch_fields(e, "createdAt") for e in status.get("events") or []],
        "createdAt": epoch(meta.get("creationTimestamp")),
        "placementConstraints": spec.get("placementConstraints") or [],
        "placementStrategy": spec.get("placementStrategy") or [],
        "networkConfiguration": spec.get("networkConfiguration"),
        "healthCheckGracePeriodSeconds": spec.get("healthCheckGracePeriodSeconds"),
        "schedulingStrategy": spec.get("schedulingStrategy") or "REPLICA",
        "deploymentController": spec.get("deploymentController") or {"type": "ECS"},
        "enableECSManagedTags": bool(spec.get("enableECSManagedTags")),
        "propagateTags": spec.get("propagateTags") or "NONE",
        "enableExecuteCommand": bool(spec.get("enableExecuteCommand")),
        "createdBy": f"arn:aws:iam::{ctx.settings.account}:root",
    }  # fmt: skip
    if include_tags:
        out["tags"] = tags_out(spec.get("tags"))
    return {k: v for k, v in out.items() if v is not None}


def _checked_spec(ctx: Context, spec: dict[str, Any], keep_revision: bool = False) -> dict[str, Any]:
    """The spec through the same model and rules the operator applies (one source of truth)."""
    try:
        svc = parse_service(spec)
    except ModelLoadError as exc:
        raise AwsError("InvalidParameterException", issues_text(exc.issues)) from None
    td = None
    if svc.taskDefinition:
        family, revision = resolve_any(ctx, svc.taskDefinition, allow_inactive=keep_revision)
        td = load_revision(ctx, family, revision)
    elif svc.deploymentController is None or svc.deploymentController.type == "ECS":
        raise AwsError("InvalidParameterException", "TaskDefinition must be specified.")
    issues = errors_of(validate_service(svc, td))  # warnings never refuse: ECS accepts those
    if issues:
        raise AwsError("InvalidParameterException", issues_text(issues))
    return spec


def create_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"), create_default=True)
    name = params["serviceName"]
    if find_service(ctx, cluster, name) is not None:
        raise AwsError("InvalidParameterException", "Creation of service was not idempotent.")
    spec = _checked_spec(ctx, {**params, "cluster": cluster})
    spec.pop("clientToken", None)
    body = None
    for candidate in (object_name(name), object_name(cluster, name)):
        try:
            body = ctx.store.create(resource("ECSService", candidate, spec))
            break
        except Conflict:
            continue  # the name is another cluster's service: use the cluster-qualified name
    if body is None:
        raise AwsError("InvalidParameterException", "Creation of service was not idempotent.")
    return {"service": describe(ctx, body, include_tags=True)}


def _cluster_param(ctx: Context, params: Mapping[str, Any]) -> str:
    return require_cluster(ctx, params.get("cluster"))


def describe_services(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    refs = params["services"]
    if not 1 <= len(refs) <= 10:
        raise AwsError("InvalidParameterException", "services can have at most 10 items.")
    cluster = _cluster_param(ctx, params)
    by_name = {service_name_of(b): b for b in services_in(ctx, cluster)}
    services, failures = [], []
    for ref in refs:
        name = short_name(ref, "service")
        body = by_name.get(name)
        if body is None:
            failures.append({"arn": service_arn(ctx, cluster, name), "reason": "MISSING"})
        else:
            services.append(describe(ctx, body, wants_tags(params)))
    return {"services": services, "failures": failures}


def list_services(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = _cluster_param(ctx, params)
    rows = []
    for body in services_in(ctx, cluster):
        spec = body.get("spec") or {}
        if params.get("launchType") and spec.get("launchType", "EC2") != params["launchType"]:
            continue
        if (
            params.get("schedulingStrategy")
            and spec.get("schedulingStrategy", "REPLICA") != params["schedulingStrategy"]
        ):
            continue
        rows.append(service_arn(ctx, cluster, service_name_of(body)))
    chunk, token = page(rows, params, key=str, limit=100, default=10)
    return {"serviceArns": chunk, **({"nextToken": token} if token else {})}


def _active(ctx: Context, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    cluster = _cluster_param(ctx, params)
    body = find_service(ctx, cluster, params["service"])
    if body is None:
        raise AwsError("ServiceNotFoundException", NOT_FOUND)
    if body["metadata"].get("deletionTimestamp"):
        raise AwsError("ServiceNotActiveException", NOT_ACTIVE)
    return cluster, body


def update_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """forceNewDeployment sets a fresh ANN_FORCE_DEPLOYMENT token in the same write as the spec:
    the operator labels the pod template with it, so new tasks replace the old ones even when
    the revision is unchanged, under a new deployment id (docs/api.md)."""
    _, body = _active(ctx, params)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    forced = {ANN_FORCE_DEPLOYMENT: f"{stamp}-{uuid.uuid4().hex[:8]}"}
    keep = params.get("taskDefinition") is None

    def updated(live: dict[str, Any]) -> dict[str, Any]:
        spec = {**(live.get("spec") or {}), **{k: params[k] for k in UPDATABLE if k in params}}
        return _checked_spec(ctx, spec, keep_revision=keep)

    out = ctx.store.update_spec(
        "ECSService",
        body["metadata"]["name"],
        updated,
        annotations=forced if params.get("forceNewDeployment") else None,
    )
    if out is None:
        raise AwsError("ServiceNotFoundException", NOT_FOUND)
    return {"service": describe(ctx, out)}


def delete_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _, body = _active(ctx, params)
    desired = int((body.get("spec") or {}).get("desiredCount") or 0)
    scheduling = (body.get("spec") or {}).get("schedulingStrategy") or "REPLICA"
    if desired > 0 and scheduling == "REPLICA" and not params.get("force"):
        raise AwsError(
            "InvalidParameterException", "The service cannot be stopped while it is scaled above 0."
        )
    out = describe(ctx, body)
    ctx.store.delete("ECSService", body["metadata"]["name"])
    out["status"] = "DRAINING"
    return {"service": out}


__all__ = [
    "cluster_name",
    "create_service",
    "delete_service",
    "describe_services",
    "list_services",
    "update_service",
]
