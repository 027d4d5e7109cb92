"""App Runner's service operations on AppRunnerService resources.

The resource is the only store: CreateService creates it (its spec is the request), Update
rewrites the fields the call names, Pause/Resume set or remove the `ecs.ecsk.io/paused`
annotation, StartDeployment sets a new deployment token; the operator does the rest and records
Status and the operations history in the status, which Describe/ListOperations read back.
Requests are checked with the core's App Runner rules before anything is written, so the API
refuses with the same sentence admission and the operator use.

An OperationId returned here is the Id the operator gives the operation it starts (both derive
it from the service and the state asked for: `ecsk.core.apprunner.operations.operation_id`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ecsk.api.apprunner.common import service_ids, service_name
from ecsk.api.apprunner.scaling import revisions, service_revision
from ecsk.api.context import Context, epoch, page
from ecsk.api.errors import AwsError
from ecsk.api.store import API_VERSION, Conflict
from ecsk.core.apprunner import identity, scaling
from ecsk.core.apprunner.models import (
    DEFAULT_HEALTHY_THRESHOLD,
    DEFAULT_INTERVAL,
    DEFAULT_PATH,
    DEFAULT_PROTOCOL,
    DEFAULT_TIMEOUT,
    DEFAULT_UNHEALTHY_THRESHOLD,
    AppRunnerService,
)
from ecsk.core.apprunner.operations import operation_id
from ecsk.core.apprunner.rules import check, cpu_memory, message
from ecsk.core.apprunner.translate import object_name
from ecsk.core.models.errors import errors_of
from ecsk.core.translate.names import ANN_FORCE_DEPLOYMENT

KIND = "AppRunnerService"
PAUSED = "ecs.ecsk.io/paused"
SPEC_FIELDS = (
    "SourceConfiguration", "InstanceConfiguration", "HealthCheckConfiguration",
    "AutoScalingConfigurationArn", "NetworkConfiguration", "ObservabilityConfiguration",
)  # fmt: skip
"""What UpdateService may change (CreateService also takes ServiceName, Tags, EncryptionConfiguration)."""


def resource(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}


def _valid(ctx: Context, spec: Mapping[str, Any]) -> AppRunnerService:
    """App Runner's rules, then the configuration the ARN names must exist and be active."""
    model, issues = check(spec)
    errors = errors_of(issues)
    if model is None or errors:
        raise AwsError("InvalidRequestException", message(errors))
    arn = model.AutoScalingConfigurationArn
    if arn and scaling.find(arn, revisions(ctx), ctx.settings.region, ctx.settings.account) is None:
        raise AwsError("InvalidRequestException", identity.invalid_arn(arn))
    return model


def _find(ctx: Context, arn: str) -> dict[str, Any]:
    for body in ctx.store.list("AppRunnerService"):
        if service_ids(ctx, body)[0] == arn:
            return body
    raise AwsError("ResourceNotFoundException", f"Service not found: {arn}")


def _status(body: Mapping[str, Any]) -> str:
    return str((body.get("status") or {}).get("Status") or "OPERATION_IN_PROGRESS")


def _instance(spec: AppRunnerService) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pair = cpu_memory(spec)
    if pair is not None:
        out = {"Cpu": str(pair[0]), "Memory": str(pair[1])}
    role = spec.InstanceConfiguration.InstanceRoleArn if spec.InstanceConfiguration else None
    if role:
        out["InstanceRoleArn"] = role
    return out


def _health(spec: AppRunnerService) -> dict[str, Any]:
    hc = spec.health
    return {
        "Protocol": hc.Protocol or DEFAULT_PROTOCOL,
        "Path": hc.Path or DEFAULT_PATH,
        "Interval": hc.Interval or DEFAULT_INTERVAL,
        "Timeout": hc.Timeout or DEFAULT_TIMEOUT,
        "HealthyThreshold": hc.HealthyThreshold or DEFAULT_HEALTHY_THRESHOLD,
        "UnhealthyThreshold": hc.UnhealthyThreshold or DEFAULT_UNHEALTHY_THRESHOLD,
    }


def _scaling_summary(ctx: Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration in use (the operator's binding, else what the spec names now); an ARN
    that names nothing yet is reported as given (the service waits for it)."""
    rev = service_revision(ctx, body, revisions(ctx))
    if rev is None:
        arn = str((body.get("spec") or {}).get("AutoScalingConfigurationArn") or "")
        return {"AutoScalingConfigurationArn": arn}
    return scaling.summary(rev, ctx.settings.region, ctx.settings.account)


def _summary(ctx: Context, body: Mapping[str, Any]) -> dict[str, Any]:
    arn, sid = service_ids(ctx, body)
    uid = body["metadata"].get("uid") or ""
    status = body.get("status") or {}
    created = epoch(body["metadata"].get("creationTimestamp"))
    ops = status.get("Operations") or []
    updated = epoch(ops[0].get("UpdatedAt")) if ops else None
    return {
        "ServiceName": service_name(body),
        "ServiceId": sid,
        "ServiceArn": arn,
        "ServiceUrl": identity.url_host(uid, ctx.settings.region),
        "CreatedAt": created,
        "UpdatedAt": updated or created,
        "Status": _status(body),
    }


def describe(ctx: Context, body: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
    """The `Service` shape of an AppRunnerService (defaults filled in as App Runner reports them)."""
    spec = AppRunnerService.model_validate(
        {"ServiceName": body["metadata"]["name"], **(body.get("spec") or {})}
    )
    out = _summary(ctx, body)
    if status:
        out["Status"] = status
    source = spec.SourceConfiguration.to_aws()
    image_config = source.get("ImageRepository", {}).setdefault("ImageConfiguration", {})
    image_config.setdefault("Port", str(spec.port))
    return {
        **out,
        "SourceConfiguration": source,
        "InstanceConfiguration": _instance(spec),
        "HealthCheckConfiguration": _health(spec),
        "AutoScalingConfigurationSummary": _scaling_summary(ctx, body),
        "NetworkConfiguration": spec.NetworkConfiguration
        or {
            "EgressConfiguration": {"EgressType": "DEFAULT"},
            "IngressConfiguration": {"IsPubliclyAccessible": True},
        },
    }


def _op_id(ctx: Context, body: Mapping[str, Any]) -> str:
    """The Id the operator will give the operation this call starts (the service's next)."""
    count = int((body.get("status") or {}).get("operationCount") or 0)
    return operation_id(service_ids(ctx, body)[0], count)


# --- operations -------------------------------------------------------------------------------


def create_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in params.items() if v is not None}
    model = _valid(ctx, spec)
    name = object_name(model)
    taken = any(service_name(b) == model.ServiceName for b in ctx.store.list("AppRunnerService"))
    if taken:
        raise AwsError(
            "InvalidRequestException", f"Service with the provided name already exists: {model.ServiceName}"
        )
    try:
        body = ctx.store.create(resource("AppRunnerService", name, spec))
    except Conflict:
        raise AwsError(
            "InvalidRequestException", f"Service with the provided name already exists: {model.ServiceName}"
        ) from None
    return {"Service": describe(ctx, body, "OPERATION_IN_PROGRESS"), "OperationId": _op_id(ctx, body)}


def describe_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Service": describe(ctx, _find(ctx, params["ServiceArn"]))}


def list_services(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    summaries = [_summary(ctx, b) for b in ctx.store.list("AppRunnerService")]
    paging = {"maxResults": params.get("MaxResults"), "nextToken": params.get("NextToken")}
    chunk, token = page(
        summaries, paging, key=lambda s: str(s["ServiceName"]), limit=20, error="InvalidRequestException"
    )
    out: dict[str, Any] = {"ServiceSummaryList": chunk}
    if token:
        out["NextToken"] = token
    return out


def _not_busy(body: Mapping[str, Any], arn: str, allowed: tuple[str, ...] = ("RUNNING", "PAUSED")) -> None:
    state = _status(body)
    if state not in allowed:
        raise AwsError(
            "InvalidStateException",
            f"You can't perform this operation while the service {arn} is in the {state} state.",
        )


def update_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ServiceArn"]
    body = _find(ctx, arn)
    _not_busy(body, arn)
    changes = {k: params[k] for k in SPEC_FIELDS if params.get(k) is not None}
    spec = {**(body.get("spec") or {}), **changes}
    if "AutoScalingConfigurationArn" in changes:  # the ARN replaces ecsk's inline block
        spec.pop("AutoScalingConfiguration", None)
    _valid(ctx, {"ServiceName": body["metadata"]["name"], **spec})
    out = ctx.store.update_spec("AppRunnerService", body["metadata"]["name"], lambda _: spec)
    if out is None:
        raise AwsError("ResourceNotFoundException", f"Service not found: {arn}")
    return {"Service": describe(ctx, out, "OPERATION_IN_PROGRESS"), "OperationId": _op_id(ctx, out)}


def delete_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ServiceArn"]
    body = _find(ctx, arn)
    ctx.store.delete("AppRunnerService", body["metadata"]["name"])
    return {"Service": describe(ctx, body, "OPERATION_IN_PROGRESS"), "OperationId": str(uuid.uuid4())}


def _annotate(
    ctx: Context, body: Mapping[str, Any], annotations: dict[str, str | None], arn: str
) -> dict[str, Any]:
    out = ctx.store.merge_patch(
        "AppRunnerService", body["metadata"]["name"], {"metadata": {"annotations": annotations}}
    )
    if out is None:
        raise AwsError("ResourceNotFoundException", f"Service not found: {arn}")
    return out


def pause_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ServiceArn"]
    body = _find(ctx, arn)
    _not_busy(body, arn, ("RUNNING",))
    out = _annotate(ctx, body, {PAUSED: "true"}, arn)
    return {"Service": describe(ctx, out, "OPERATION_IN_PROGRESS"), "OperationId": _op_id(ctx, out)}


def resume_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ServiceArn"]
    body = _find(ctx, arn)
    _not_busy(body, arn, ("PAUSED",))
    out = _annotate(ctx, body, {PAUSED: None}, arn)
    return {"Service": describe(ctx, out, "OPERATION_IN_PROGRESS"), "OperationId": _op_id(ctx, out)}


def start_deployment(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ServiceArn"]
    body = _find(ctx, arn)
    _not_busy(body, arn, ("RUNNING",))
    out = _annotate(ctx, body, {ANN_FORCE_DEPLOYMENT: str(uuid.uuid4())}, arn)
    return {"OperationId": _op_id(ctx, out)}


def list_operations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = _find(ctx, params["ServiceArn"])
    ops = list((body.get("status") or {}).get("Operations") or [])
    size = int(params.get("MaxResults") or 20)
    start = int(params.get("NextToken") or 0) if str(params.get("NextToken") or "0").isdigit() else 0
    chunk = ops[start : start + size]
    summaries = [
        {k: (epoch(v) if k.endswith("At") else v) for k, v in op.items() if v is not None} for op in chunk
    ]
    out: dict[str, Any] = {"OperationSummaryList": summaries}
    if start + size < len(ops):
        out["NextToken"] = str(start + size)
    return out
