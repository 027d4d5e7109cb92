"""Put/Get/DeleteLifecyclePolicy, Start/GetLifecyclePolicyPreview, and the scheduled run that
really expires images: all on the one evaluation of `ecsk.core.ecr.lifecycle`, so the preview
lists exactly what a run deletes.

The policy is `spec.lifecyclePolicyText` of the Repository (kubectl can set it too); the last
run's time and the preview are in its status. A run deletes each expired image by digest through
the registry, which drops the image's tags with it: a run interrupted midway leaves some images
deleted and the rest untouched, never a tag pointing at a deleted manifest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecsk.api.context import Context, epoch, page
from ecsk.api.ecr import common
from ecsk.api.ecr.backend import Registry, StoredImage
from ecsk.api.ecr.repositories import record
from ecsk.api.errors import AwsError
from ecsk.core.ecr.lifecycle import Expiry, PolicyError, evaluate, parse_policy

log = logging.getLogger("ecsk.api.ecr.lifecycle")


def _rules_of(text: str) -> Any:
    try:
        return parse_policy(text)
    except PolicyError as exc:
        raise AwsError("InvalidParameterException", str(exc)) from None


def _policy(ctx: Context, body: Mapping[str, Any]) -> str:
    text = (body.get("spec") or {}).get("lifecyclePolicyText")
    if not text:
        raise AwsError(
            "LifecyclePolicyNotFoundException",
            "Lifecycle policy does not exist for the repository with name "
            f"{common.in_registry(ctx, common.repo_name(body))}",
        )
    return str(text)


def _answer(ctx: Context, body: Mapping[str, Any], text: str, **extra: Any) -> dict[str, Any]:
    return {
        "registryId": common.registry_id(ctx),
        "repositoryName": common.repo_name(body),
        "lifecyclePolicyText": text,
        **extra,
    }


def _set_policy(ctx: Context, body: Mapping[str, Any], text: str | None) -> None:
    def change(live: dict[str, Any]) -> dict[str, Any]:
        spec = {k: v for k, v in (live.get("spec") or {}).items() if k != "lifecyclePolicyText"}
        return {**spec, "lifecyclePolicyText": text} if text else spec

    if ctx.store.update_spec(common.KIND, body["metadata"]["name"], change) is None:
        raise common.not_found(ctx, common.repo_name(body))


def put_lifecycle_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    text = str(params["lifecyclePolicyText"])
    _rules_of(text)
    _set_policy(ctx, body, text)
    return _answer(ctx, body, text)


def _last_evaluated(body: Mapping[str, Any]) -> dict[str, Any]:
    when = epoch((body.get("status") or {}).get("lifecycleLastEvaluatedAt"))
    return {"lastEvaluatedAt": when} if when is not None else {}


def get_lifecycle_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    return _answer(ctx, body, _policy(ctx, body), **_last_evaluated(body))


def delete_lifecycle_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    text = _policy(ctx, body)
    _set_policy(ctx, body, None)
    return _answer(ctx, body, text, **_last_evaluated(body))


def expiring(reg: Registry, name: str, text: str, now: float) -> tuple[list[Expiry], list[StoredImage]]:
    """What the policy expires now, and the repository's images."""
    stored = reg.images(name)
    return evaluate(_rules_of(text), stored, now), stored


def start_lifecycle_policy_preview(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    text = str(params.get("lifecyclePolicyText") or _policy(ctx, body))
    expiries, stored = expiring(common.registry(ctx), common.repo_name(body), text, time.time())
    results = [
        {
            "imageTags": list(e.image.tags),
            "imageDigest": e.image.digest,
            "imagePushedAt": e.image.pushed_at,
            "action": {"type": "EXPIRE"},
            "appliedRulePriority": e.rule,
        }
        for e in expiries
    ]
    preview = {"lifecyclePolicyText": text, "status": "COMPLETE", "results": results}
    record(ctx, body, stored, lifecyclePolicyPreview=preview)
    # ECR answers IN_PROGRESS and completes asynchronously; here it is complete at once.
    return _answer(ctx, body, text, status="IN_PROGRESS")


def get_lifecycle_policy_preview(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    preview = (
        (ctx.store.get(common.KIND, body["metadata"]["name"], fresh=True) or body)
        .get("status", {})
        .get("lifecyclePolicyPreview")
    )
    if not preview:
        raise AwsError(
            "LifecyclePolicyPreviewNotFoundException",
            "There is no lifecycle policy preview for the repository with name "
            f"{common.in_registry(ctx, common.repo_name(body))}",
        )
    results = _preview_filter(list(preview.get("results") or []), params)
    if params.get("imageIds") and (params.get("nextToken") or params.get("maxResults")):
        raise AwsError("InvalidParameterException", "nextToken and maxResults cannot be used with imageIds.")
    chunk, token = page(
        results, params, key=lambda r: f"{r['imagePushedAt']:020.6f}{r['imageDigest']}", limit=100
    )
    return _answer(
        ctx,
        body,
        str(preview.get("lifecyclePolicyText") or ""),
        status=preview.get("status") or "COMPLETE",
        previewResults=chunk,
        summary={"expiringImageTotalCount": len(results)},
        **({"nextToken": token} if token else {}),
    )


def _preview_filter(results: list[dict[str, Any]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    status = (params.get("filter") or {}).get("tagStatus") or "ANY"
    if status == "TAGGED":
        results = [r for r in results if r.get("imageTags")]
    elif status == "UNTAGGED":
        results = [r for r in results if not r.get("imageTags")]
    ids = params.get("imageIds")
    if ids:
        results = [
            r
            for r in results
            if any(
                (not i.get("imageDigest") or i["imageDigest"] == r["imageDigest"])
                and (not i.get("imageTag") or i["imageTag"] in (r.get("imageTags") or []))
                for i in ids
            )
        ]
    return results


# --- the scheduled run -----------------------------------------------------------------------


def run_once(ctx: Context, now: float | None = None) -> dict[str, int]:
    """Evaluate every repository's policy and delete what it expires; refresh every image count.
    Returns the number of images expired per repository (those that had a policy)."""
    reg = common.registry(ctx)
    expired: dict[str, int] = {}
    for body in ctx.store.list(common.KIND):
        name = common.repo_name(body)
        text = (body.get("spec") or {}).get("lifecyclePolicyText")
        if not text:
            record(ctx, body, reg.images(name))
            continue
        try:
            expiries, _ = expiring(reg, name, str(text), time.time() if now is None else now)
        except AwsError as exc:  # a kubectl-applied policy ECR would refuse: say so, expire nothing
            log.warning("repository %s: lifecycle policy not evaluated: %s", name, exc.message)
            continue
        for e in expiries:
            reg.delete(name, e.image.digest)
        expired[name] = len(expiries)
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        record(ctx, body, reg.images(name), lifecycleLastEvaluatedAt=stamp)
        if expiries:
            log.info("repository %s: lifecycle policy expired %d image(s)", name, len(expiries))
    return expired


class Scheduler(threading.Thread):
    """Runs `run_once` every `interval` seconds (ECR evaluates within 24 hours; ecsk's default is
    a minute, and tests use a second or two)."""

    def __init__(self, ctx: Context, interval: float) -> None:
        super().__init__(name="ecr-lifecycle", daemon=True)
        self.ctx, self.interval = ctx, interval
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                run_once(self.ctx)
            except Exception:  # one failed pass (registry or API server away) must not end the schedule
                log.exception("lifecycle pass failed; retrying next interval")
