"""App Runner's auto scaling configuration operations on AppRunnerAutoScalingConfiguration
resources (one object per revision, `ecsk.core.apprunner.scaling`).

CreateAutoScalingConfiguration writes the next revision's object with its number as a label
(the object's name `<name>-<revision>` makes two concurrent creates of one number a conflict,
retried with the next); DeleteAutoScalingConfiguration marks revisions INACTIVE (the annotation
`ecs.ecsk.io/deleted-at`) as App Runner does, refusing App Runner's default configuration and a
revision a service uses. Describe/List read the objects back; `Latest` and `HasAssociatedService`
are computed at read time, so they never lag behind the operator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ecsk.api.apprunner.common import service_ids
from ecsk.api.context import Context, epoch, page
from ecsk.api.errors import AwsError
from ecsk.api.store import API_VERSION, Conflict
from ecsk.core.apprunner import identity, scaling
from ecsk.core.apprunner.rules import check, message
from ecsk.core.apprunner.scaling import KIND, Revision
from ecsk.core.models.errors import errors_of
from ecsk.core.translate.names import dns_label


def _where(ctx: Context) -> tuple[str, str]:
    return ctx.settings.region, ctx.settings.account


def revisions(ctx: Context) -> list[Revision]:
    return scaling.revisions(ctx.store.list("AppRunnerAutoScalingConfiguration"), *_where(ctx))


def service_revision(ctx: Context, body: Mapping[str, Any], revs: Sequence[Revision]) -> Revision | None:
    """The revision a service uses: the one the operator bound (its status), else what its spec
    names now (a service the operator has not seen yet); None for a spec App Runner refuses."""
    spec, _ = check({"ServiceName": body["metadata"]["name"], **(body.get("spec") or {})})
    if spec is None:
        return None
    pinned = (body.get("status") or {}).get("autoScalingConfiguration")
    return scaling.in_use(spec, service_ids(ctx, body)[1], revs, pinned, _where(ctx))


def _used(ctx: Context, revs: Sequence[Revision]) -> set[str]:
    """ARNs of the revisions App Runner services of the namespace use."""
    where = _where(ctx)
    out = set()
    for body in ctx.store.list("AppRunnerService"):
        rev = service_revision(ctx, body, revs)
        if rev is not None:
            out.add(rev.arn(*where))
    return out


def _find(ctx: Context, arn: str, revs: Sequence[Revision]) -> Revision:
    """The revision an ARN names (Describe and Delete: ResourceNotFoundException when none)."""
    ref = identity.parse_config_arn(arn)
    if ref is None:
        raise AwsError("InvalidRequestException", identity.invalid_arn(arn))
    found = scaling.resolve(ref, revs, *_where(ctx))
    if found is None and ref.revision is not None:  # an INACTIVE revision is still described
        found = next(
            (
                r
                for r in revs
                if (r.name, r.revision) == (ref.name, ref.revision)
                and ref.config_id in (None, r.config_id)
                and (ref.region, ref.account) == _where(ctx)
            ),
            None,
        )
    if found is None:
        raise AwsError("ResourceNotFoundException", f"Auto scaling configuration not found: {arn}")
    return found


def _shape(ctx: Context, rev: Revision, revs: Sequence[Revision], used: set[str]) -> dict[str, Any]:
    """The AutoScalingConfiguration shape (Describe, Create, Delete)."""
    max_concurrency, lo, hi = rev.scaling
    arn = rev.arn(*_where(ctx))
    out: dict[str, Any] = {
        "AutoScalingConfigurationArn": arn,
        "AutoScalingConfigurationName": rev.name,
        "AutoScalingConfigurationRevision": rev.revision,
        "Latest": (rev.name, rev.revision) in scaling.latest(revs),
        "Status": "ACTIVE" if rev.active else "INACTIVE",
        "MaxConcurrency": max_concurrency,
        "MinSize": lo,
        "MaxSize": hi,
        "HasAssociatedService": arn in used,
        "IsDefault": rev.name == scaling.default_name(revs),
    }
    for key, value in (("CreatedAt", epoch(rev.created)), ("DeletedAt", epoch(rev.deleted))):
        if value is not None:
            out[key] = value
    return out


def _summary(shape: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "AutoScalingConfigurationArn", "AutoScalingConfigurationName", "AutoScalingConfigurationRevision",
        "Status", "CreatedAt", "HasAssociatedService", "IsDefault",
    )  # fmt: skip
    return {k: shape[k] for k in keep if k in shape}


# --- operations ---------------------------------------------------------------------------------


def create_auto_scaling_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in params.items() if v is not None}
    model, issues = scaling.check(spec)
    errors = errors_of(issues)
    if model is None or errors:
        raise AwsError("InvalidRequestException", message(errors))
    name = model.AutoScalingConfigurationName
    for _ in range(5):
        number = scaling.next_revision(ctx.store.list("AppRunnerAutoScalingConfiguration"), name)
        obj = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": dns_label(f"{name}-{number}"),
                "labels": {scaling.LABEL_REVISION: str(number)},
            },
            "spec": spec,
        }
        try:
            ctx.store.create(obj)
        except Conflict:
            continue  # another create took this number: count again
        revs = revisions(ctx)
        rev = next(r for r in revs if (r.name, r.revision) == (name, number))
        return {"AutoScalingConfiguration": _shape(ctx, rev, revs, set())}
    raise AwsError("ServerException", f"Revisions of {name} keep being created concurrently; retry.", 500)


def describe_auto_scaling_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    revs = revisions(ctx)
    rev = _find(ctx, params["AutoScalingConfigurationArn"], revs)
    return {"AutoScalingConfiguration": _shape(ctx, rev, revs, _used(ctx, revs))}


def list_auto_scaling_configurations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    revs = revisions(ctx)
    newest = scaling.latest(revs)
    latest_only = params.get("LatestOnly", True) is not False
    name = params.get("AutoScalingConfigurationName")
    chosen = [
        r
        for r in revs
        if r.active and name in (None, r.name) and (not latest_only or (r.name, r.revision) in newest)
    ]
    used = _used(ctx, revs)
    summaries = [_summary(_shape(ctx, r, revs, used)) for r in chosen]
    paging = {"maxResults": params.get("MaxResults"), "nextToken": params.get("NextToken")}
    chunk, token = page(
        summaries,
        paging,
        key=lambda s: f"{s['AutoScalingConfigurationName']}/{s['AutoScalingConfigurationRevision']:010d}",
        limit=100,
        error="InvalidRequestException",
    )
    out: dict[str, Any] = {"AutoScalingConfigurationSummaryList": chunk}
    if token:
        out["NextToken"] = token
    return out


def _deletable(ctx: Context, targets: Sequence[Revision], revs: Sequence[Revision], used: set[str]) -> None:
    """App Runner's refusals: its own default configuration, and a revision a service uses."""
    for rev in targets:
        arn = rev.arn(*_where(ctx))
        if rev.object_name is None or rev.name == scaling.default_name(revs):
            raise AwsError(
                "InvalidRequestException",
                f"You can't delete the default auto scaling configuration {arn}.",
            )
        if arn in used:
            raise AwsError(
                "InvalidRequestException",
                f"You can't delete the auto scaling configuration {arn}: it's used by one or more "
                "App Runner services. Associate those services with another configuration first.",
            )


def delete_auto_scaling_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["AutoScalingConfigurationArn"]
    revs = revisions(ctx)
    rev = _find(ctx, arn, revs)
    targets = [rev]
    if params.get("DeleteAllRevisions"):
        ref = identity.parse_config_arn(arn)
        if ref is None or ref.revision is not None:
            raise AwsError(
                "InvalidRequestException",
                "When DeleteAllRevisions is set to true, the only valid value for the "
                "AutoScalingConfigurationArn is a partial ARN ending with: .../name.",
            )
        targets = [r for r in revs if r.name == rev.name and r.active]
    used = _used(ctx, revs)
    _deletable(ctx, targets, revs, used)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for target in targets:
        if target.active and target.object_name is not None:
            patch = {"metadata": {"annotations": {scaling.ANN_DELETED: stamp}}}
            ctx.store.merge_patch("AppRunnerAutoScalingConfiguration", target.object_name, patch)
    after = revisions(ctx)
    gone = next(r for r in after if (r.name, r.revision) == (rev.name, rev.revision))
    return {"AutoScalingConfiguration": _shape(ctx, gone, after, used)}


def list_services_for_auto_scaling_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    revs = revisions(ctx)
    rev = _find(ctx, params["AutoScalingConfigurationArn"], revs)
    arn = rev.arn(*_where(ctx))
    arns = [
        service_ids(ctx, body)[0]
        for body in ctx.store.list("AppRunnerService")
        if (used := service_revision(ctx, body, revs)) is not None and used.arn(*_where(ctx)) == arn
    ]
    paging = {"maxResults": params.get("MaxResults"), "nextToken": params.get("NextToken")}
    chunk, token = page(arns, paging, key=str, limit=100, error="InvalidRequestException")
    out: dict[str, Any] = {"ServiceArnList": chunk}
    if token:
        out["NextToken"] = token
    return out


def update_default_auto_scaling_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Make the configuration the ARN names the default (services created without an ARN get its
    latest revision; running services keep theirs); the previous default stops being one."""
    revs = revisions(ctx)
    rev = _find(ctx, params["AutoScalingConfigurationArn"], revs)
    if not rev.active:
        raise AwsError("InvalidRequestException", identity.invalid_arn(params["AutoScalingConfigurationArn"]))
    for other in revs:
        if other.marked_default and other.object_name and other.object_name != rev.object_name:
            patch: dict[str, Any] = {"metadata": {"annotations": {scaling.ANN_DEFAULT: None}}}
            ctx.store.merge_patch("AppRunnerAutoScalingConfiguration", other.object_name, patch)
    if rev.object_name is not None:  # App Runner's own DefaultConfiguration needs no mark
        patch = {"metadata": {"annotations": {scaling.ANN_DEFAULT: "true"}}}
        ctx.store.merge_patch("AppRunnerAutoScalingConfiguration", rev.object_name, patch)
    after = revisions(ctx)
    now = next(r for r in after if (r.name, r.revision) == (rev.name, rev.revision))
    return {"AutoScalingConfiguration": _shape(ctx, now, after, _used(ctx, after))}
