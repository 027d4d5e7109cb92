"""CreateCapacityProvider, DescribeCapacityProviders, DeleteCapacityProvider on `CapacityProvider`
resources, plus the two providers every account has, FARGATE and FARGATE_SPOT.

An Auto Scaling group ARN names nothing here: ecsk's provider carries the emulated group it
scales (`autoScalingGroup`, docs/capacity.md). The AWS request cannot say which instances it
holds, so the API creates the group ECS users get from a default launch template: `m5.large`,
0 to 10 instances, in the fleet's zones; edit the resource with kubectl for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ecsk.api.context import Context, page
from ecsk.api.ecs.clusters import all_clusters
from ecsk.api.ecs.common import object_name, resource, tags_out, wants_tags
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.capacity.models import CapacityProvider
from ecsk.core.models.errors import issues_from_pydantic, issues_text

BUILT_IN = ("FARGATE", "FARGATE_SPOT")
DEFAULT_GROUP = {"instanceTypes": ["m5.large"], "minSize": 0, "maxSize": 10}


def _name(body: Mapping[str, Any]) -> str:
    return str((body.get("spec") or {}).get("name") or body["metadata"]["name"])


def _arn(ctx: Context, name: str) -> str:
    return ctx.arn("ecs", f"capacity-provider/{name}")


def _describe(ctx: Context, name: str, body: Mapping[str, Any] | None, include_tags: bool) -> dict[str, Any]:
    spec = (body or {}).get("spec") or {}
    out: dict[str, Any] = {"capacityProviderArn": _arn(ctx, name), "name": name, "status": "ACTIVE"}
    if body is not None:
        out["autoScalingGroupProvider"] = spec.get("autoScalingGroupProvider")
        out["updateStatus"] = (
            "DELETE_IN_PROGRESS" if body["metadata"].get("deletionTimestamp") else "UPDATE_COMPLETE"
        )
    if include_tags:
        out["tags"] = tags_out(spec.get("tags"))
    return out


def _providers(ctx: Context) -> dict[str, dict[str, Any] | None]:
    found: dict[str, dict[str, Any] | None] = {name: None for name in BUILT_IN}
    found.update({_name(b): b for b in ctx.store.list("CapacityProvider")})
    return found


def describe_capacity_providers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    providers = _providers(ctx)
    refs = params.get("capacityProviders")
    include = wants_tags(params)
    if not refs:
        names, token = page(sorted(providers), params, key=str, limit=10)
        rows = [_describe(ctx, n, providers[n], include) for n in names]
        return {"capacityProviders": rows, "failures": [], **({"nextToken": token} if token else {})}
    rows, failures = [], []
    for ref in refs:
        name = ref.rsplit("/", 1)[-1]
        if name in providers:
            rows.append(_describe(ctx, name, providers[name], include))
        else:
            failures.append({"arn": _arn(ctx, name), "reason": "MISSING"})
    return {"capacityProviders": rows, "failures": failures}


def create_capacity_provider(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    if name in BUILT_IN or name.lower().startswith(("aws", "ecs", "fargate")):
        raise AwsError(
            "InvalidParameterException",
            'The capacity provider name cannot be prefixed with "aws", "ecs", or "fargate".',
        )
    spec = {
        "name": name,
        "autoScalingGroupProvider": params["autoScalingGroupProvider"],
        "autoScalingGroup": dict(DEFAULT_GROUP),
    }
    if params.get("tags"):
        spec["tags"] = [{"key": t["key"], "value": t.get("value", "")} for t in params["tags"]]
    try:
        CapacityProvider.model_validate(spec)
    except ValidationError as exc:
        raise AwsError("InvalidParameterException", issues_text(issues_from_pydantic(exc))) from None
    if name in _providers(ctx):
        raise AwsError("ClientException", "The specified capacity provider already exists.")
    try:
        body = ctx.store.create(resource("CapacityProvider", object_name(name), spec))
    except Conflict:
        raise AwsError("ClientException", "The specified capacity provider already exists.") from None
    return {"capacityProvider": _describe(ctx, name, body, True)}


def delete_capacity_provider(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["capacityProvider"].rsplit("/", 1)[-1]
    if name in BUILT_IN:
        raise AwsError("ClientException", f"The {name} capacity provider cannot be deleted.")
    body = _providers(ctx).get(name)
    if body is None:
        raise AwsError("ClientException", "The specified capacity provider does not exist.")
    users = [
        cluster
        for cluster, view in all_clusters(ctx, with_children=False).items()
        if name in (((view.body or {}).get("spec") or {}).get("capacityProviders") or [])
    ]
    if users:
        raise AwsError(
            "ResourceInUseException",
            f"The specified capacity provider is in use by cluster {users[0]} and cannot be deleted. "
            "Disassociate it from the cluster with PutClusterCapacityProviders first.",
        )
    out = _describe(ctx, name, body, True)
    ctx.store.delete("CapacityProvider", body["metadata"]["name"])
    out["updateStatus"] = "DELETE_IN_PROGRESS"
    out["status"] = "INACTIVE"
    return {"capacityProvider": out}
