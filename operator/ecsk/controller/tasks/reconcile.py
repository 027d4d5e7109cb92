"""Task (standalone RunTask): `count` bare Pods, run once, remembered after they stop.

RunTask is fire-and-forget: a stopped task is never restarted, so each pod index is launched at
most once (`status.launched`), pods use `restartPolicy: Never`, and a pod whose essential
container exited is deleted (the rest of its containers stop, as ECS stops the task) while its
record stays in `status.tasks` for the retention period. A pod that disappears without the
operator stopping it was stopped by someone else: UserInitiated.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecsk.controller.capacity import launch
from ecsk.controller.kube.client import GROUP, adopt, now_iso, owner_reference
from ecsk.controller.placement import live as placement
from ecsk.controller.runtime.common import (
    CLUSTER_SCOPED,
    Runtime,
    blocking_text,
    condition,
    cr_document,
    issues_text,
    merge_conditions,
    stop_task_pod,
    task_render_options,
    valid_text,
    warning_event,
)
from ecsk.controller.services.reconcile import cluster_name
from ecsk.controller.services.starts import start_failure
from ecsk.controller.taskdefs import reconcile as taskdefs
from ecsk.core.capacity import providers as capacity
from ecsk.core.models import RunTask, TaskOverride, load_document
from ecsk.core.placement import standalone_inputs
from ecsk.core.taskdefs.revisions import TaskDefinitionError
from ecsk.core.tasks.status import (
    STARTED_BY_ANNOTATION,
    STOP_CODE_ANNOTATION,
    STOPPED_REASON_ANNOTATION,
    USER_STOPPED,
    derive_task_status,
    status_rank,
)
from ecsk.core.translate import (
    Diagnostic,
    PlacementHook,
    PlacementInputs,
    render_task_definition,
)
from ecsk.core.translate.names import (
    LABEL_TASK_GROUP,
    container_name,
    dns_label,
    label_value,
    task_group_value,
)
from ecsk.core.validation import validate_run_task

log = logging.getLogger("ecsk.controller.tasks.reconcile")

LABEL_TASK = f"{GROUP}/task"
LABEL_INDEX = f"{GROUP}/task-index"
ACTIVE_REQUEUE = 5.0


def pod_name(task_name: str, index: int) -> str:
    return dns_label(f"{task_name}-{index}", max_len=63)


def task_arn(rt: Runtime, cluster: str, task_id: str) -> str:
    return f"arn:aws:ecs:{rt.config.region}:{rt.config.account}:task/{cluster}/{task_id}"


def _apply_overrides(spec: dict[str, Any], overrides: TaskOverride | None) -> None:
    """containerOverrides command/environment: the parts RunTask users rely on most."""
    if overrides is None:
        return
    by_name = {c.get("name"): c for c in spec.get("containers", [])}
    for o in overrides.containerOverrides or ():
        c = by_name.get(container_name(o.name or ""))
        if c is None:
            continue
        if o.command is not None:
            c["args"] = list(o.command)
        if o.environment:
            env = {e.get("name"): e for e in c.get("env", [])}
            for kv in o.environment:
                if kv.name:
                    env[kv.name] = {"name": kv.name, "value": kv.value or ""}
            c["env"] = list(env.values())


def _pod(
    body: Mapping[str, Any],
    template: Mapping[str, Any],
    task: RunTask,
    index: int,
    inputs: PlacementInputs,
    hook: PlacementHook,
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """One task's Pod, placed: the template is rendered without a hook, so each pod gets the
    launch-type gates and the task definition's + RunTask's constraints and strategies exactly once."""
    meta = body["metadata"]
    tmeta = copy.deepcopy(dict(template.get("metadata") or {}))
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    spec["restartPolicy"] = "Never"
    _apply_overrides(spec, task.overrides)
    found = list(hook(spec, inputs) or ())
    labels = {
        **(tmeta.get("labels") or {}),
        LABEL_TASK: label_value(meta["name"]),
        LABEL_INDEX: str(index),
        LABEL_TASK_GROUP: task_group_value(inputs.task_group),
    }
    ann = dict(tmeta.get("annotations") or {})
    if task.startedBy:
        ann[STARTED_BY_ANNOTATION] = task.startedBy
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(meta["name"], index),
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": ann,
            "ownerReferences": [owner_reference(body)],
        },
        "spec": spec,
    }
    return pod, found


def placement_hook(rt: Runtime, key: tuple[str, str, str]) -> PlacementHook:
    """ECS placement on live nodes after the launch-type gates; if the engine itself is broken the
    gates alone apply, so a placement bug degrades a task instead of blocking it (as for services)."""
    try:
        return placement.hook_for(rt, key)
    except Exception:
        log.exception("placement engine unavailable for %s", key)
        return capacity.placement_hook


def placement_error(diagnostics: list[Diagnostic]) -> str | None:
    """The RunTask error ECS would return for these diagnostics, or None when the task may run.
    Warnings (e.g. a constraint no node can meet today) are not errors: the task waits PENDING."""
    errors = [d for d in diagnostics if d.severity == "error"]
    if not errors:
        return None
    return "InvalidParameterException: " + "; ".join(
        d.message if d.code == "placement.fargate" else f"{d.path}: {d.message}" for d in errors
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, name, gen = meta["namespace"], meta["name"], meta.get("generation")
    status = dict(body.get("status") or {})
    conds = status.get("conditions") or []

    def fail(reason: str, message: str) -> None:
        already = any(c.get("type") == "Valid" and c.get("message") == message for c in conds)
        new = {
            "conditions": merge_conditions(conds, [condition(conds, "Valid", False, reason, message, gen)]),
            "lastStatus": status.get("lastStatus") or "STOPPED",
            "observedGeneration": gen,
        }
        out = rt.kube.patch_status(body, new)
        if out is not None:
            rt.remember(out)
        if not already:
            rt.kube.event(body, reason, message, "Warning")

    doc = load_document(cr_document(body))[0]
    if doc.model is None or not isinstance(doc.model, RunTask):
        fail("ValidationFailed", f"ClientException: {issues_text(doc.issues)}")
        return None
    task: RunTask = launch.with_cluster_default(rt.kube, ns, doc.model)  # ECSCluster default strategy
    issues = validate_run_task(task)
    blocking = blocking_text(issues)
    if blocking:
        fail("ValidationFailed", f"InvalidParameterException: {blocking}")
        return None
    launched: list[int] = sorted(int(i) for i in status.get("launched") or [])
    count = task.count or 1
    # Once launched, a task keeps the revision it started with (spec edits do not re-run it).
    ref = status.get("taskDefinition") or task.taskDefinition
    try:
        resolved = taskdefs.resolve(rt, ns, ref, keep_revision=_rev_of(status.get("taskDefinition")))
    except taskdefs.NotYetRegistered:
        return 1.0
    except TaskDefinitionError as exc:
        if not launched:
            fail("TaskDefinitionNotUsable", str(exc))
            return None
        resolved = None
    if resolved is not None and not launched:
        # RunTask checks the task against its task definition (network configuration, launch
        # type, constraint count) before it starts anything.
        blocking = blocking_text(validate_run_task(task, resolved.task_definition))
        if blocking:
            fail("ValidationFailed", f"InvalidParameterException: {blocking}")
            return None
    cluster = cluster_name(task.cluster)
    records: dict[str, dict[str, Any]] = {
        r["taskId"]: dict(r) for r in status.get("tasks") or [] if "taskId" in r
    }
    to_launch = [i for i in range(count) if i not in launched]
    if to_launch and resolved is not None:
        try:
            result = render_task_definition(
                resolved.task_definition,
                task_render_options(rt.config, ns, cluster, resolved.revision.revision),
            )
        except Exception as exc:  # a translator bug must surface on the object, not loop in the log
            log.exception("render_task_definition failed for %s/%s", ns, name)
            fail("TranslationFailed", f"internal error while rendering: {exc}")
            return None
        if result.errors:
            fail("TranslationFailed", "; ".join(f"{d.path}: {d.message}" for d in result.errors))
            return None
        side = [o for o in result.objects if o["kind"] != "PodTemplate"]
        adopt(side, body, CLUSTER_SCOPED)
        for obj in side:
            rt.kube.apply(obj)
        template = next(o for o in result.objects if o["kind"] == "PodTemplate")["template"]
        inputs = standalone_inputs(task, resolved.task_definition)
        hook = placement_hook(rt, ("Task", ns, name))
        placed = [_pod(body, template, task, i, inputs, hook) for i in to_launch]
        error = next((e for _, found in placed if (e := placement_error(found))), None)
        if error:  # bad CQL, Fargate with constraints, ...: ECS refuses the whole RunTask call
            fail("PlacementFailed", error)
            return None
        # The agent fetches secrets, then pulls images, before any container starts: a missing
        # secret or image fails the task before it has a container (no pod: there is nothing
        # to run), recorded STOPPED.
        td = resolved.task_definition
        failure = start_failure(rt.kube, ns, td, rt.config.account, rt.config.region)
        for i, (pod, _) in zip(to_launch, placed, strict=True):
            launched.append(i)
            if failure:
                rec = _record(
                    rt, _never_started(pod, now_iso(), failure), cluster, task, resolved, status, deleted=True
                )
                records[rec["taskId"]] = rec
            else:
                rt.kube.create(pod)
        if failure:
            rt.kube.event(body, "TaskFailedToStart", failure, "Warning")

    pods = [
        p
        for p in rt.kube.list("v1", "Pod", ns, f"{LABEL_TASK}={label_value(name)}")
        if any(r.get("uid") == meta["uid"] for r in p["metadata"].get("ownerReferences") or [])
    ]
    seen: set[str] = set()
    now = now_iso()
    for pod in pods:
        ts = derive_task_status(pod)
        seen.add(ts.taskId)
        rec = _record(rt, pod, cluster, task, resolved, status)
        if ts.desiredStatus == "STOPPED" and not pod["metadata"].get("deletionTimestamp"):
            stop_task_pod(rt.kube, pod, ts.stopCode, ts.stoppedReason)  # ECS stops the whole task
        prev = records.get(ts.taskId)
        if prev and prev.get("desiredStatus") == "STOPPED" and rec.get("stopCode") is None:
            rec.update({k: prev[k] for k in ("stopCode", "stoppedReason") if k in prev})
        records[ts.taskId] = rec
    for tid, rec in records.items():
        if tid in seen or rec.get("lastStatus") == "STOPPED":
            continue
        rec.update(lastStatus="STOPPED", desiredStatus="STOPPED", stoppedAt=rec.get("stoppedAt") or now)
        if not rec.get("stopCode"):
            rec.update(stopCode="UserInitiated", stoppedReason=USER_STOPPED)
        for c in rec.get("containers") or []:
            c["lastStatus"] = "STOPPED"
    # Retention: drop stopped records that are old enough.
    horizon = datetime.now(UTC).timestamp() - rt.config.task_retention_seconds
    kept = []
    next_expiry: float | None = None
    for rec in sorted(records.values(), key=lambda r: (r.get("index", 0), r.get("taskId", ""))):
        stopped_at = _parse_time(rec.get("stoppedAt"))
        if rec.get("lastStatus") == "STOPPED" and stopped_at and stopped_at.timestamp() < horizon:
            continue
        if rec.get("lastStatus") == "STOPPED" and stopped_at:
            due = stopped_at.timestamp() - horizon
            next_expiry = due if next_expiry is None else min(next_expiry, due)
        kept.append(rec)
    valid_msg = valid_text("tasks launched", issues)
    warned = warning_event(conds, valid_msg, issues)
    live = [r for r in kept if r.get("lastStatus") != "STOPPED"]
    if live:
        last = min((r["lastStatus"] for r in live), key=status_rank)
    else:
        last = "STOPPED" if kept or launched else "PROVISIONING"
    new_status: dict[str, Any] = {
        "launched": sorted(set(launched)),
        "taskDefinition": status.get("taskDefinition")
        or (f"{resolved.family}:{resolved.revision.revision}" if resolved else None),
        "taskDefinitionArn": status.get("taskDefinitionArn") or (resolved.arn if resolved else None),
        "clusterName": cluster,
        "lastStatus": last,
        "desiredStatus": "RUNNING" if live else "STOPPED",
        "tasks": kept,
        "observedGeneration": gen,
        "conditions": merge_conditions(conds, [condition(conds, "Valid", True, "Launched", valid_msg, gen)]),
    }
    out = rt.kube.patch_status(body, new_status)
    if out is not None:
        rt.remember(out)
    if warned:
        rt.kube.event(body, warned[1], warned[2], warned[0])
    if live:
        return ACTIVE_REQUEUE
    return next_expiry + 1 if next_expiry is not None else None


def _never_started(pod: Mapping[str, Any], now: str, reason: str) -> dict[str, Any]:
    """The pod a task would have had, as a task that failed before it had one: a task id of its
    own, the stop code and reason ECS gives, stopped now."""
    out = copy.deepcopy(dict(pod))
    meta = out["metadata"]
    meta["uid"] = uuid.uuid4().hex
    meta["creationTimestamp"] = now
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        STOP_CODE_ANNOTATION: "TaskFailedToStart",
        STOPPED_REASON_ANNOTATION: reason,
    }
    return out


def _record(
    rt: Runtime,
    pod: Mapping[str, Any],
    cluster: str,
    task: RunTask,
    resolved: taskdefs.Resolved | None,
    status: Mapping[str, Any],
    deleted: bool = False,
) -> dict[str, Any]:
    """The task's status record from its pod (`ecs describe-tasks` reads these); `deleted`: the
    pod is gone, or never existed."""
    ts = derive_task_status(dict(pod), deleted=deleted)
    rec = ts.to_dict()
    rec["taskArn"] = task_arn(rt, cluster, ts.taskId)
    rec["index"] = int(pod["metadata"]["labels"].get(LABEL_INDEX, "0"))
    if resolved is not None:
        rec["group"] = task.group or f"family:{resolved.family}"  # the label value is sanitised
    rec["taskDefinitionArn"] = status.get("taskDefinitionArn") or (resolved.arn if resolved else None)
    if ts.stopped and not rec.get("stoppedAt"):
        rec["stoppedAt"] = pod["metadata"].get("creationTimestamp")
    return {k: v for k, v in rec.items() if v is not None}


def _rev_of(ref: str | None) -> int | None:
    if not ref or ":" not in ref:
        return None
    tail = ref.rsplit(":", 1)[1]
    return int(tail) if tail.isdigit() else None
