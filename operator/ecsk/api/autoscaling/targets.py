"""Application Auto Scaling on the ScalableTarget, ScalingPolicy and ScheduledAction resources
(specs in the API's own PascalCase shapes, so the request body is the spec). One resource per
scalable target (ResourceId + dimension), per policy and per scheduled action; the core models
check them with the same rules the CRDs and the operator apply."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ecsk.api.context import Context, epoch, page
from ecsk.api.ecs.common import object_name, resource
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.autoscaling.models import ScalableTarget, ScalingPolicy, ScheduledAction
from ecsk.core.models.errors import issues_from_pydantic, issues_text

M = TypeVar("M", bound=BaseModel)
KEY = ("ServiceNamespace", "ResourceId", "ScalableDimension")
MAX_RESULTS = 50


def _checked(model: type[M], spec: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(spec))
    except ValidationError as exc:
        raise AwsError("ValidationException", issues_text(issues_from_pydantic(exc))) from None


def _key(spec: Mapping[str, Any]) -> tuple[str, str, str]:
    return (
        str(spec.get("ServiceNamespace")),
        str(spec.get("ResourceId")),
        str(spec.get("ScalableDimension")),
    )


def _no_target(key: tuple[str, str, str]) -> AwsError:
    return AwsError(
        "ObjectNotFoundException",
        f"No scalable target registered for service namespace: {key[0]}, resource ID: {key[1]}, "
        f"scalable dimension: {key[2]}",
    )


def _all(ctx: Context, kind: str) -> list[dict[str, Any]]:
    return ctx.store.list(kind)


def find_target(ctx: Context, key: tuple[str, str, str]) -> dict[str, Any] | None:
    return next((b for b in _all(ctx, "ScalableTarget") if _key(b.get("spec") or {}) == key), None)


def _filtered(
    ctx: Context,
    kind: str,
    params: Mapping[str, Any],
    name_field: str | None = None,
    names: str | None = None,
) -> list[dict[str, Any]]:
    out = []
    for body in _all(ctx, kind):
        spec = body.get("spec") or {}
        if spec.get("ServiceNamespace") != params["ServiceNamespace"]:
            continue
        if params.get("ScalableDimension") and spec.get("ScalableDimension") != params["ScalableDimension"]:
            continue
        ids = params.get("ResourceIds") or ([params["ResourceId"]] if params.get("ResourceId") else None)
        if ids and spec.get("ResourceId") not in ids:
            continue
        if names and params.get(names) and spec.get(name_field) not in params[names]:
            continue
        out.append(body)
    return out


def _page(
    rows: list[dict[str, Any]], params: Mapping[str, Any], sort: str
) -> tuple[list[dict[str, Any]], str | None]:
    return page(
        rows,
        {"maxResults": params.get("MaxResults"), "nextToken": params.get("NextToken")},
        key=lambda r: str(r[sort]),
        limit=MAX_RESULTS,
        error="ValidationException",
    )


def _upsert(
    ctx: Context, kind: str, existing: dict[str, Any] | None, name: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Create, or replace the spec (re-reading after a 409: the operator writes status often)."""
    try:
        if existing is None:
            return ctx.store.create(resource(kind, name, spec))
        out = ctx.store.update_spec(
            kind, existing["metadata"]["name"], lambda live: {**(live.get("spec") or {}), **spec}
        )
    except Conflict:
        raise AwsError(
            "ConcurrentUpdateException", "Concurrent update to the same resource; retry."
        ) from None
    if out is None:
        raise AwsError("ConcurrentUpdateException", "The resource was deleted meanwhile; retry.")
    return out


# --- scalable targets ---------------------------------------------------------------------------


def target_arn(ctx: Context, body: Mapping[str, Any]) -> str:
    return ctx.arn(
        "application-autoscaling", f"scalable-target/{body['metadata']['uid'].replace('-', '')[:24]}"
    )


def register_scalable_target(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = _key(params)
    existing = find_target(ctx, key)
    spec = {**((existing or {}).get("spec") or {}), **params}  # re-registering updates what is given
    _checked(ScalableTarget, spec)
    body = _upsert(ctx, "ScalableTarget", existing, object_name(key[1]), spec)
    return {"ScalableTargetARN": target_arn(ctx, body)}


def _target_view(ctx: Context, body: Mapping[str, Any]) -> dict[str, Any]:
    spec = body.get("spec") or {}
    out = {k: spec[k] for k in (*KEY, "MinCapacity", "MaxCapacity", "RoleARN", "SuspendedState") if k in spec}
    out.setdefault(
        "RoleARN",
        f"arn:aws:iam::{ctx.settings.account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_ECSService",
    )
    out.setdefault(
        "SuspendedState",
        {
            "DynamicScalingInSuspended": False,
            "DynamicScalingOutSuspended": False,
            "ScheduledScalingSuspended": False,
        },
    )
    out["CreationTime"] = epoch(body["metadata"].get("creationTimestamp"))
    out["ScalableTargetARN"] = target_arn(ctx, body)
    return out


def describe_scalable_targets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rows = [_target_view(ctx, b) for b in _filtered(ctx, "ScalableTarget", params)]
    chunk, token = _page(rows, params, "ResourceId")
    return {"ScalableTargets": chunk, **({"NextToken": token} if token else {})}


def deregister_scalable_target(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = _key(params)
    body = find_target(ctx, key)
    if body is None:
        raise _no_target(key)
    for kind in ("ScalingPolicy", "ScheduledAction"):  # AWS deletes them with the target
        for child in _all(ctx, kind):
            if _key(child.get("spec") or {}) == key:
                ctx.store.delete(kind, child["metadata"]["name"])
    ctx.store.delete("ScalableTarget", body["metadata"]["name"])
    return {}


# --- scaling policies ---------------------------------------------------------------------------


def _policy_name(spec: Mapping[str, Any]) -> str:
    return object_name(f"{spec['ResourceId']}/{spec['PolicyName']}")


def policy_arn(ctx: Context, body: Mapping[str, Any]) -> str:
    spec = body.get("spec") or {}
    uid = body["metadata"]["uid"]
    return (
        f"arn:aws:autoscaling:{ctx.settings.region}:{ctx.settings.account}:scalingPolicy:{uid}:"
        f"resource/{spec['ServiceNamespace']}/{spec['ResourceId']}:policyName/{spec['PolicyName']}"
    )


def _find_named(
    ctx: Context, kind: str, key: tuple[str, str, str], field: str, name: str
) -> dict[str, Any] | None:
    for body in _all(ctx, kind):
        spec = body.get("spec") or {}
        if _key(spec) == key and spec.get(field) == name:
            return body
    return None


def put_scaling_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = _key(params)
    if find_target(ctx, key) is None:
        raise _no_target(key)
    params.setdefault("PolicyType", "StepScaling")  # the API's default
    _checked(ScalingPolicy, params)
    existing = _find_named(ctx, "ScalingPolicy", key, "PolicyName", params["PolicyName"])
    body = _upsert(ctx, "ScalingPolicy", existing, _policy_name(params), params)
    return {"PolicyARN": policy_arn(ctx, body), "Alarms": []}


def describe_scaling_policies(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for body in _filtered(ctx, "ScalingPolicy", params, "PolicyName", "PolicyNames"):
        view = dict(body.get("spec") or {})
        view.pop("Alarm", None)
        view["PolicyARN"] = policy_arn(ctx, body)
        view["CreationTime"] = epoch(body["metadata"].get("creationTimestamp"))
        view["Alarms"] = []
        rows.append(view)
    chunk, token = _page(rows, params, "PolicyARN")
    return {"ScalingPolicies": chunk, **({"NextToken": token} if token else {})}


def _delete_named(
    ctx: Context, kind: str, params: Mapping[str, Any], field: str, noun: str
) -> dict[str, Any]:
    """DeleteScalingPolicy / DeleteScheduledAction: one item of a target, by its name."""
    key = _key(params)
    found = _find_named(ctx, kind, key, field, params[field])
    if found is None:
        raise AwsError(
            "ObjectNotFoundException",
            f"No {noun} found for service namespace: {key[0]}, resource ID: {key[1]}, "
            f"scalable dimension: {key[2]}, {noun} name: {params[field]}",
        )
    ctx.store.delete(kind, found["metadata"]["name"])
    return {}


def delete_scaling_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _delete_named(ctx, "ScalingPolicy", params, "PolicyName", "scaling policy")


# --- scheduled actions --------------------------------------------------------------------------


def action_arn(ctx: Context, body: Mapping[str, Any]) -> str:
    spec = body.get("spec") or {}
    return (
        f"arn:aws:autoscaling:{ctx.settings.region}:{ctx.settings.account}:scheduledAction:"
        f"{body['metadata']['uid']}:resource/{spec['ServiceNamespace']}/{spec['ResourceId']}:"
        f"scheduledActionName/{spec['ScheduledActionName']}"
    )


def put_scheduled_action(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = _key(params)
    if find_target(ctx, key) is None:
        raise _no_target(key)
    existing = _find_named(ctx, "ScheduledAction", key, "ScheduledActionName", params["ScheduledActionName"])
    spec = {**((existing or {}).get("spec") or {}), **params}
    for stamp in ("StartTime", "EndTime"):  # epoch seconds on the wire, RFC 3339 in the resource
        if isinstance(spec.get(stamp), int | float):
            spec[stamp] = datetime.fromtimestamp(spec[stamp], UTC).isoformat().replace("+00:00", "Z")
    _checked(ScheduledAction, spec)
    _upsert(ctx, "ScheduledAction", existing, object_name(f"{key[1]}/{params['ScheduledActionName']}"), spec)
    return {}


def describe_scheduled_actions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for body in _filtered(ctx, "ScheduledAction", params, "ScheduledActionName", "ScheduledActionNames"):
        view = dict(body.get("spec") or {})
        for stamp in ("StartTime", "EndTime"):
            if stamp in view:
                view[stamp] = epoch(view[stamp])
        view["ScheduledActionARN"] = action_arn(ctx, body)
        view["CreationTime"] = epoch(body["metadata"].get("creationTimestamp"))
        rows.append(view)
    chunk, token = _page(rows, params, "ScheduledActionARN")
    return {"ScheduledActions": chunk, **({"NextToken": token} if token else {})}


def delete_scheduled_action(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _delete_named(ctx, "ScheduledAction", params, "ScheduledActionName", "scheduled action")


# --- scaling activities -------------------------------------------------------------------------


def describe_scaling_activities(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The activities the operator records on each scalable target (newest first, the last 20)."""
    rows = []
    for body in _filtered(ctx, "ScalableTarget", params):
        for record in (body.get("status") or {}).get("activities") or []:
            view = dict(record)
            for stamp in ("StartTime", "EndTime"):
                if stamp in view:
                    view[stamp] = epoch(view[stamp])
            view["_key"] = f"{record.get('StartTime', '')}|{record.get('ActivityId', '')}"
            rows.append(view)
    chunk, token = page(
        rows,
        {"maxResults": params.get("MaxResults"), "nextToken": params.get("NextToken")},
        key=lambda r: str(r["_key"]),
        limit=MAX_RESULTS,
        error="ValidationException",
        reverse=True,
    )
    out = [{k: v for k, v in r.items() if k != "_key"} for r in chunk]
    return {"ScalingActivities": out, **({"NextToken": token} if token else {})}
