"""AppRunnerService reconciler: App Runner's CreateService input -> Deployment, Service,
Ingress and HPA (server-side apply, field manager `ecsk`, owned by the service), and the status
App Runner reports: ServiceArn/ServiceId/ServiceUrl, Status, the operations history.

Pause and resume: the annotation `ecs.ecsk.io/paused: "true"` (what PauseService writes) scales
the instances to 0 and removes the HPA; removing it (ResumeService) brings MinSize back.
StartDeployment: a new value of `ecs.ecsk.io/force-new-deployment` redeploys the same image.
Automatic deployments: with AutoDeploymentsEnabled on a private ECR image the service polls the
Repository's recorded images every few seconds and redeploys when its tag's digest changes.
Auto scaling: the AppRunnerAutoScalingConfiguration revision AutoScalingConfigurationArn names
(bound in the status while the ARN text stays the same) gives the HPA its numbers; an ARN that
names no active revision is a ScalingConfiguration condition and a Warning Event, and the service
waits for it (a running one keeps the revision it had).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ecsk.controller.kube.client import API_VERSION, GROUP, KindNotServed, now_iso, owner_reference
from ecsk.controller.runtime.common import Runtime, condition, merge_conditions
from ecsk.core.apprunner import identity, scaling
from ecsk.core.apprunner.identity import invalid_arn
from ecsk.core.apprunner.models import AppRunnerService
from ecsk.core.apprunner.operations import Observed, next_status, rolled_out
from ecsk.core.apprunner.rules import check, message
from ecsk.core.apprunner.source import followed_image, tag_digest
from ecsk.core.apprunner.translate import Rollout, object_name, render, replicas
from ecsk.core.models.errors import errors_of
from ecsk.core.translate.names import ANN_FORCE_DEPLOYMENT

log = logging.getLogger("ecsk.controller")

KIND = "AppRunnerService"
PLURALS = {KIND: "apprunnerservices"}
PAUSED_ANNOTATION = f"{GROUP}/paused"
POLL_SECONDS = 5.0
"""How often a service following an ECR tag looks for a new digest."""
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
WAIT_SECONDS = 10.0
"""How often a service whose AutoScalingConfigurationArn names nothing looks again (a new
configuration also wakes it at once)."""


def _ids(rt: Runtime, body: Mapping[str, Any], name: str) -> dict[str, Any]:
    uid = body["metadata"].get("uid") or ""
    region, account = rt.config.region, rt.config.account
    return {
        "ServiceName": name,
        "ServiceId": identity.service_id(uid),
        "ServiceArn": identity.service_arn(region, account, name, uid),
        "ServiceUrl": identity.url_host(uid, region),
    }


def _conditions(
    body: Mapping[str, Any], valid: str | None, ready: bool, status: str, missing: str | None = None
) -> list[dict[str, Any]]:
    prev = (body.get("status") or {}).get("conditions")
    gen = body["metadata"].get("generation")
    conds = [
        condition(
            prev, "Valid", valid is None, "Valid" if valid is None else "ValidationFailed", valid or "", gen
        ),
        condition(prev, "Ready", ready, status, f"Status {status}", gen),
    ]
    if valid is None:
        reason = "Resolved" if missing is None else "AutoScalingConfigurationNotFound"
        conds.append(condition(prev, "ScalingConfiguration", missing is None, reason, missing or "", gen))
    return merge_conditions(prev, conds)


def _scaling(
    rt: Runtime, body: Mapping[str, Any], spec: AppRunnerService, sid: str
) -> tuple[scaling.Revision | None, dict[str, Any], str | None]:
    """(the revision to run with, the status fields recording it, the problem when the ARN names
    no active revision). A running service whose new ARN names nothing keeps its revision."""
    ns, where = body["metadata"]["namespace"], (rt.config.region, rt.config.account)
    revs = scaling.revisions(rt.cached_all(scaling.KIND, ns), *where)
    pinned = (body.get("status") or {}).get("autoScalingConfiguration")
    rev = scaling.in_use(spec, sid, revs, pinned, where)
    if rev is not None:
        fields = {
            "autoScalingConfiguration": {
                "ref": spec.AutoScalingConfigurationArn or "",
                "arn": rev.arn(*where),
            },
            "AutoScalingConfigurationSummary": scaling.summary(rev, *where),
        }
        return rev, fields, None
    problem = invalid_arn(spec.AutoScalingConfigurationArn or "")
    kept = scaling.find(str((pinned or {}).get("arn") or ""), revs, *where)
    return kept, {}, problem


def _messages(status: Mapping[str, Any]) -> set[str]:
    """The messages of the status' conditions (an Event is posted when its text is new)."""
    return {str(c.get("message")) for c in status.get("conditions") or []}


def _events(rt: Runtime, body: Mapping[str, Any], before: list[Any], after: list[dict[str, Any]]) -> None:
    """One Event per operation that started or ended in this pass (App Runner's event log)."""
    old = {o.get("Id"): o.get("Status") for o in before}
    for op in reversed(after):
        if old.get(op["Id"]) == op["Status"]:
            continue
        failed = op["Status"] == "FAILED"
        text = f"{op['Type']} {op['Status'].lower().replace('_', ' ')} (operation {op['Id']})"
        rt.kube.event(body, op["Type"], text, "Warning" if failed else "Normal")


def _patch(rt: Runtime, body: Mapping[str, Any], status: dict[str, Any]) -> None:
    prev_ops = list((body.get("status") or {}).get("Operations") or [])
    out = rt.kube.patch_status(body, status)
    if out is not None:
        rt.remember(out)
        _events(rt, body, prev_ops, status.get("Operations") or [])


def _digest(rt: Runtime, spec: Any, namespace: str, previous: str | None) -> str | None:
    image = followed_image(spec, rt.config.account, rt.config.region)
    if image is None:
        return None
    try:
        repositories = rt.kube.list(API_VERSION, "Repository", namespace)
    except KindNotServed:
        repositories = []
    return tag_digest(image, repositories) or previous


def _apply(rt: Runtime, body: Mapping[str, Any], objs: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply every object owned by the service; returns the Deployment as applied."""
    deployment: dict[str, Any] = {}
    for obj in objs:
        obj["metadata"]["ownerReferences"] = [owner_reference(body)]
        meta = obj["metadata"]
        cached = rt.children.covers(obj["kind"])
        live = rt.children.get(obj["kind"], meta["namespace"], meta["name"]) if cached else None
        applied, _ = rt.kube.apply(obj, live=live, fetch=not cached)
        if cached:
            rt.children.put(applied)
        if obj["kind"] == "Deployment":
            deployment = applied
    return deployment


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, name = meta["namespace"], meta["name"]
    raw = {"ServiceName": name, **(body.get("spec") or {})}
    spec, issues = check(raw)
    errors = errors_of(issues)
    ids = _ids(rt, body, str(raw["ServiceName"]))
    prev = dict(body.get("status") or {})
    annotations = meta.get("annotations") or {}
    paused = annotations.get(PAUSED_ANNOTATION) == "true"
    token = annotations.get(ANN_FORCE_DEPLOYMENT)
    generation = int(meta.get("generation") or 0)
    if spec is None or errors:
        text = message(errors)
        observed = Observed(
            generation, False, paused, prev.get("imageDigest"), token, False, now_iso(), ids["ServiceArn"]
        )
        status = next_status(prev, observed)
        conds = _conditions(body, text, False, str(status.get("Status")))
        if text not in _messages(prev):
            rt.kube.event(body, "InvalidRequestException", text, "Warning")
        _patch(rt, body, {**status, **ids, "conditions": conds, "observedGeneration": generation})
        return None
    rev, scaling_status, missing = _scaling(rt, body, spec, ids["ServiceId"])
    if missing is not None and missing not in _messages(prev):
        rt.kube.event(body, "AutoScalingConfigurationNotFound", missing, "Warning")
    if rev is None:
        conds = _conditions(body, None, False, "OPERATION_IN_PROGRESS", missing)
        _patch(rt, body, {**ids, "conditions": conds, "observedGeneration": generation})
        return WAIT_SECONDS
    digest = _digest(rt, spec, ns, prev.get("imageDigest"))
    live = rt.children.get("Deployment", ns, object_name(spec))
    current = int((live.get("spec") or {}).get("replicas") or 0) if live else None
    rollout = Rollout(
        replicas=replicas(rev.scaling, current),
        paused=paused,
        digest=digest,
        token=token,
        node_port=rt.config.load_balancer_node_ports,
        host=ids["ServiceUrl"],
        scaling=rev.scaling,
    )
    deployment = _apply(rt, body, render(spec, ns, rollout))
    if paused:
        rt.kube.delete(*HPA, object_name(spec), ns)
    done = rolled_out(deployment, paused)
    observed = Observed(generation, True, paused, digest, token, done, now_iso(), ids["ServiceArn"])
    status = next_status(prev, observed)
    dep_status = deployment.get("status") or {}
    status.update(
        ids,
        **scaling_status,
        instances=int(dep_status.get("readyReplicas") or 0),
        observedGeneration=generation,
        conditions=_conditions(
            body, None, status["Status"] in ("RUNNING", "PAUSED"), status["Status"], missing
        ),
    )
    _patch(rt, body, status)
    if missing is not None:
        return WAIT_SECONDS
    if followed_image(spec, rt.config.account, rt.config.region) is not None:
        return POLL_SECONDS
    return POLL_SECONDS if status["Status"] == "OPERATION_IN_PROGRESS" else None


RECONCILERS = {KIND: reconcile}
