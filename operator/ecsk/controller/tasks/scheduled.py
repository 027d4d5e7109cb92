"""ScheduledTask: an EventBridge schedule running an ECS task -> a CronJob (or a Job for `at()`).

What a CronJob cannot say is handled here, per docs/operator.md: the cron year field and the
Scheduler's startDate/endDate suspend the CronJob outside their window; `state: DISABLED`
suspends it; `at()` creates one Job when its time has come; L/W/# and uneven rates are refused
with the reason in the status (they stay visible, nothing half-works).
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecsk.controller.kube.client import GROUP, adopt, now_iso
from ecsk.controller.runtime.common import (
    CLUSTER_SCOPED,
    Runtime,
    blocking_text,
    condition,
    cr_document,
    issues_text,
    merge_conditions,
    task_render_options,
    valid_text,
    warning_event,
)
from ecsk.controller.services.reconcile import cluster_name
from ecsk.controller.taskdefs import reconcile as taskdefs
from ecsk.core.common.schedules import AtSchedule, CronSchedule, ScheduleError, parse_schedule
from ecsk.core.models import ScheduledTask, load_document
from ecsk.core.taskdefs.revisions import TaskDefinitionError
from ecsk.core.translate import render_task_definition
from ecsk.core.translate.names import LABEL_TASK_GROUP, dns_label, label_value, task_group_value
from ecsk.core.validation import validate_scheduled_task

log = logging.getLogger("ecsk.controller.tasks.scheduled")

LABEL_SCHEDULED = f"{GROUP}/scheduled-task"


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def job_template(
    body: Mapping[str, Any], template: Mapping[str, Any], st: ScheduledTask, family: str
) -> dict[str, Any]:
    meta = copy.deepcopy(dict(template.get("metadata") or {}))
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    spec["restartPolicy"] = "Never"
    params = st.ecsParameters
    group = params.group or f"family:{family}"
    meta.setdefault("labels", {}).update(
        {LABEL_SCHEDULED: label_value(body["metadata"]["name"]), LABEL_TASK_GROUP: task_group_value(group)}
    )
    count = params.taskCount or 1
    return {
        "metadata": {"labels": dict(meta["labels"])},
        "spec": {
            "parallelism": count,
            "completions": count,
            "backoffLimit": 0,
            "template": {"metadata": meta, "spec": spec},
        },
    }


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, name, gen = meta["namespace"], meta["name"], meta.get("generation")
    status = dict(body.get("status") or {})
    conds = status.get("conditions") or []

    def report(ok: bool, reason: str, message: str, extra: dict[str, Any] | None = None) -> None:
        already = any(c.get("type") == "Valid" and c.get("message") == message for c in conds)
        new = {
            "conditions": merge_conditions(conds, [condition(conds, "Valid", ok, reason, message, gen)]),
            "observedGeneration": gen,
            **(extra or {}),
        }
        out = rt.kube.patch_status(body, new)
        if out is not None:
            rt.remember(out)
        if not ok and not already:
            rt.kube.event(body, reason, message, "Warning")

    doc = load_document(cr_document(body))[0]
    if doc.model is None or not isinstance(doc.model, ScheduledTask):
        report(False, "ValidationFailed", f"ValidationException: {issues_text(doc.issues)}")
        return None
    st: ScheduledTask = doc.model
    issues = validate_scheduled_task(st)
    blocking = blocking_text(issues)
    if blocking:
        report(False, "ValidationFailed", f"ValidationException: {blocking}")
        return None
    try:
        schedule = parse_schedule(
            st.scheduleExpression, st.scheduleExpressionTimezone, anchor=_when(meta.get("creationTimestamp"))
        )
        cron = None if isinstance(schedule, AtSchedule) else schedule.to_cronjob()
    except ScheduleError as exc:
        report(False, "ScheduleNotSupported", f"ValidationException: {exc}")
        return None
    try:
        resolved = taskdefs.resolve(rt, ns, st.ecsParameters.taskDefinition)
    except taskdefs.NotYetRegistered:
        return 1.0
    except TaskDefinitionError as exc:
        report(False, "TaskDefinitionNotUsable", str(exc))
        return None
    cluster = cluster_name(st.cluster)
    try:
        result = render_task_definition(
            resolved.task_definition,
            task_render_options(rt.config, ns, cluster, resolved.revision.revision),
        )
    except Exception as exc:  # a translator bug must surface on the object, not loop in the log
        log.exception("render_task_definition failed for %s/%s", ns, name)
        report(False, "TranslationFailed", f"internal error while rendering: {exc}")
        return None
    if result.errors:
        report(False, "TranslationFailed", "; ".join(f"{d.path}: {d.message}" for d in result.errors))
        return None
    side = [o for o in result.objects if o["kind"] != "PodTemplate"]
    adopt(side, body, CLUSTER_SCOPED)
    for obj in side:
        rt.kube.apply(obj)
    template = next(o for o in result.objects if o["kind"] == "PodTemplate")["template"]
    jt = job_template(body, template, st, resolved.family)
    now = datetime.now(UTC)
    start, end = _when(st.startDate), _when(st.endDate)
    in_window = (start is None or now >= start) and (end is None or now < end)
    if isinstance(schedule, CronSchedule):
        in_window = in_window and schedule.active_in_year(now.astimezone(schedule_tz(schedule)).year)
    suspend = st.state == "DISABLED" or not in_window
    labels = {"app.kubernetes.io/managed-by": "ecsk", LABEL_SCHEDULED: label_value(name)}
    obj_name = dns_label(name, max_len=52)  # CronJob names are limited to 52 characters
    extra: dict[str, Any] = {"taskDefinitionArn": resolved.arn, "timeZone": schedule.timezone}
    upcoming = schedule.next_fire_times(now, 1)
    extra["nextRunTime"] = upcoming[0].isoformat().replace("+00:00", "Z") if upcoming else None
    requeue: float | None = None
    if cron is not None:
        obj = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": obj_name, "namespace": ns, "labels": labels},
            "spec": {
                "schedule": cron,
                "timeZone": schedule.timezone,
                "suspend": suspend,
                "concurrencyPolicy": "Allow",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": jt,
            },
        }
        adopt([obj], body, CLUSTER_SCOPED)
        live, _ = rt.kube.apply(obj)
        extra.update(
            cronJob=obj_name,
            schedule=cron,
            suspended=suspend,
            lastRunTime=(live.get("status") or {}).get("lastScheduleTime") or status.get("lastRunTime"),
        )
    else:
        assert isinstance(schedule, AtSchedule)
        fire = schedule.fire_time
        extra.update(schedule=st.scheduleExpression, suspended=suspend)
        if status.get("firedAt"):
            extra["nextRunTime"] = None
        elif now >= fire and not suspend:
            digest = hashlib.sha256(f"{meta['uid']}|{fire.isoformat()}".encode()).hexdigest()[:6]
            job = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": dns_label(f"{name}-at-{digest}", max_len=63),
                    "namespace": ns,
                    "labels": {**labels, **jt["metadata"]["labels"]},
                },
                "spec": jt["spec"],
            }
            adopt([job], body, CLUSTER_SCOPED)
            rt.kube.create(job)
            extra.update(firedAt=now_iso(), lastRunTime=now_iso(), nextRunTime=None)
        elif not suspend:
            requeue = max(0.5, (fire - now).total_seconds())
    ok_msg = valid_text("schedule is active" if not suspend else "schedule is suspended", issues)
    warned = warning_event(conds, ok_msg, issues)
    report(True, "Scheduled", ok_msg, extra)
    if warned:
        rt.kube.event(body, warned[1], warned[2], warned[0])
    return requeue


def schedule_tz(schedule: CronSchedule) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(schedule.timezone)
