"""Service Auto Scaling: ScalableTarget, ScalingPolicy and ScheduledAction on live services.

Why the work is split this way: target tracking is the HPA's job (it already does ECS's math
on the same metric, see `ecsk.core.autoscaling.hpa`), so the operator only renders one HPA per
scalable target. Step scaling and scheduled actions have no Kubernetes counterpart, so the
ScalableTarget reconciler carries them out itself on a short requeue: it samples the service's
utilization from metrics.k8s.io, evaluates each step policy's alarm, fires due scheduled
actions, and writes `spec.desiredCount` of the ECSService. Every change of the desired count,
whoever made it (HPA, step policy, schedule, min/max clamp), is recorded as a scaling activity
in the target's status and as Events in ECS's words.

The three kinds are registered through `PLURALS`/`RECONCILERS`, merged into the runtime's maps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from ecsk.controller.kube.client import KubeError, owner_reference
from ecsk.controller.runtime.common import Runtime, condition, issues_text, merge_conditions
from ecsk.core.autoscaling import activities as act
from ecsk.core.autoscaling.external import unreached_target_groups
from ecsk.core.autoscaling.hpa import hpa_name, render_hpa
from ecsk.core.autoscaling.metrics import RESOURCE_FOR_METRIC, aggregate_pods, pod_utilization
from ecsk.core.autoscaling.models import ScalableTarget, ScalingPolicy, ScheduledAction, spec_with_name
from ecsk.core.autoscaling.scheduled import apply_action, due_run, next_run
from ecsk.core.autoscaling.step import LastActivity, alarm_state, datapoints, step_decision
from ecsk.core.models.errors import model_issues

log = logging.getLogger("ecsk.controller")

PLURALS = {
    "ScalableTarget": "scalabletargets",
    "ScalingPolicy": "scalingpolicies",
    "ScheduledAction": "scheduledactions",
}
LOAD_ANNOTATIONS = (
    "ecs.ecsk.io/usage-cpu-percent",
    "ecs.ecsk.io/usage-memory-percent",
)
"""Simulated utilization (`ecsk load`): set on the ECSService, copied onto each of its pods, where
kwok's usage rules read them. New tasks inherit the service's load this way. (Request rates and
customized metrics stay on the service: the metrics adapter reads them there.)"""
POLL_SECONDS = 5.0
"""Step alarms and schedules are evaluated this often (metrics-server resolves every 10 s)."""

M = TypeVar("M", bound=BaseModel)

_samples: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
_samples_lock = threading.Lock()


def _parse(model: type[M], body: Mapping[str, Any], name_field: str | None = None) -> M | str:
    """The spec as a model, or the AWS-style validation message naming each field and rule."""
    spec = spec_with_name(body.get("spec") or {}, body["metadata"]["name"], name_field)
    issues = model_issues(model, spec)
    if issues:
        return "ValidationException: " + issues_text(issues)
    return model.model_validate(spec)


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _find_service(rt: Runtime, ns: str, cluster: str, service: str) -> dict[str, Any] | None:
    for svc in rt.cached_all("ECSService", ns):
        spec = svc.get("spec") or {}
        name = spec.get("serviceName") or svc["metadata"]["name"]
        svc_cluster = str(spec.get("cluster") or "default").rsplit("/", 1)[-1]
        if name == service and svc_cluster == cluster:
            return svc
    return None


def _deployment_in_progress(svc: Mapping[str, Any]) -> bool:
    """ECS suspends scale-in while a deployment is rolling out (it would fight the rollout)."""
    deployments = (svc.get("status") or {}).get("deployments") or []
    return any(d.get("rolloutState") == "IN_PROGRESS" for d in deployments)


def _valid_condition(body: Mapping[str, Any], ok: bool, message: str) -> dict[str, Any]:
    status = body.get("status") or {}
    reason = "Valid" if ok else "ValidationFailed"
    cond = condition(
        status.get("conditions"), "Valid", ok, reason, message, body["metadata"].get("generation")
    )
    return {"conditions": merge_conditions(status.get("conditions"), [cond])}


def _warn_invalid(rt: Runtime, body: Mapping[str, Any], ok: bool, message: str) -> None:
    """One Warning event per refusal: only when the Valid condition's message is new (the
    target's pass repeats every few seconds, and must not storm the namespace with events)."""
    conds = (body.get("status") or {}).get("conditions") or []
    if ok or any(c.get("type") == "Valid" and c.get("message") == message for c in conds):
        return
    rt.kube.event(body, "ValidationFailed", message, "Warning")


def _report_valid(rt: Runtime, body: Mapping[str, Any], ok: bool, message: str) -> dict[str, Any]:
    """The Valid condition as a status patch, with the Warning event of a new refusal sent."""
    _warn_invalid(rt, body, ok, message)
    return _valid_condition(body, ok, message)


def _patch_status(rt: Runtime, body: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Patch and cache our own write at once: a pass woken before the watch event arrives must
    not start from the old status (it would drop activities it did not compute)."""
    out = rt.kube.patch_status(body, status)
    if out is not None:
        rt.remember(out)
    return out is not None


def _wake_target(rt: Runtime, ns: str, resource_id: str | None) -> None:
    for target in rt.cached_all("ScalableTarget", ns):
        if (target.get("spec") or {}).get("ResourceId") == resource_id:
            rt.enqueue("ScalableTarget", ns, target["metadata"]["name"])


def reconcile_policy(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    """Validation only; the policy acts through its scalable target's reconcile."""
    parsed = _parse(ScalingPolicy, body, "PolicyName")
    ok = not isinstance(parsed, str)
    # Only a spec change (a new observedGeneration) wakes the target: the target itself writes
    # this policy's status every pass, and waking it for that would loop.
    if _patch_status(rt, body, _report_valid(rt, body, ok, "" if ok else str(parsed))):
        _wake_target(rt, body["metadata"]["namespace"], (body.get("spec") or {}).get("ResourceId"))
    return None


def reconcile_scheduled_action(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    parsed = _parse(ScheduledAction, body, "ScheduledActionName")
    ok = not isinstance(parsed, str)
    status = _report_valid(rt, body, ok, "" if ok else str(parsed))
    if isinstance(parsed, ScheduledAction):
        created = _when(body["metadata"].get("creationTimestamp")) or datetime.now(UTC)
        last = _when((body.get("status") or {}).get("lastRun"))
        upcoming = next_run(parsed, last or datetime.now(UTC), created)
        status["nextRun"] = _iso(upcoming) if upcoming else None
    if _patch_status(rt, body, status):
        _wake_target(rt, body["metadata"]["namespace"], (body.get("spec") or {}).get("ResourceId"))
    return None


class _Pass:
    """One reconcile of a scalable target: the desired count as it evolves, and what changed it."""

    def __init__(self, rt: Runtime, body: Mapping[str, Any], svc: dict[str, Any], now: datetime) -> None:
        self.rt, self.body, self.svc, self.now = rt, body, svc, now
        self.ns = body["metadata"]["namespace"]
        self.status = dict(body.get("status") or {})
        self.observed = int((svc.get("spec") or {}).get("desiredCount") or 0)
        self.desired = self.observed
        self.activities: list[dict[str, Any]] = list(self.status.get("activities") or [])
        self.new_activities: list[dict[str, Any]] = []
        self.resource_id = str((body.get("spec") or {}).get("ResourceId"))

    def set_desired(self, desired: int, cause: str) -> None:
        if desired == self.desired:
            return
        self.desired = desired
        record = act.activity(self.resource_id, desired, cause, self.now)
        self.activities = act.prepend(self.activities, record)
        self.new_activities.append(record)


def reconcile_target(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, name = meta["namespace"], meta["name"]
    parsed = _parse(ScalableTarget, body)
    if isinstance(parsed, str):
        _patch_status(rt, body, _report_valid(rt, body, False, parsed))
        return None
    target = parsed
    cluster, service = target.cluster_and_service
    svc = _find_service(rt, ns, cluster, service)
    if svc is None:
        message = f"ObjectNotFoundException: ECS service doesn't exist: service/{cluster}/{service}"
        _patch_status(rt, body, _report_valid(rt, body, False, message))
        return POLL_SECONDS * 2
    now = datetime.now(UTC)
    run = _Pass(rt, body, svc, now)
    suspended = target.SuspendedState
    in_progress = _deployment_in_progress(svc)
    scale_in_blocked = in_progress or bool(suspended and suspended.DynamicScalingInSuspended)
    scale_out_blocked = bool(suspended and suspended.DynamicScalingOutSuspended)

    # The HPA (or a user) changed the desired count since our last pass.
    previous = run.status.get("desiredCount")
    if previous is not None and int(previous) != run.observed and run.status.get("hpa"):
        tracked = ", ".join(run.status.get("trackedPolicies") or []) or "target tracking"
        run.activities = act.prepend(
            run.activities,
            record := act.activity(
                run.resource_id,
                run.observed,
                act.alarm_cause(run.resource_id, tracked, high=run.observed > int(previous)),
                now,
            ),
        )
        run.new_activities.append(record)

    lo, hi = _scheduled_actions(run, target)
    if run.desired < lo or run.desired > hi:
        run.set_desired(
            max(lo, min(hi, run.desired)),
            f"the scalable target's capacity range changed to minimum {lo}, maximum {hi}",
        )

    policies = _policies(rt, ns, run.resource_id)
    effective = target.model_copy(update={"MinCapacity": lo, "MaxCapacity": hi})
    plan = render_hpa(
        target_name=name,
        namespace=ns,
        service_object=svc["metadata"]["name"],
        target=effective,
        policies=[p for _, p in policies],
        scale_in_blocked=scale_in_blocked,
    )
    if plan.hpa is not None:
        plan.hpa["metadata"]["ownerReferences"] = [owner_reference(body)]
        rt.kube.apply(plan.hpa)
    elif run.status.get("hpa"):
        rt.kube.delete("autoscaling/v2", "HorizontalPodAutoscaler", hpa_name(name), ns)

    _step_policies(run, policies, lo, hi, scale_in_blocked, scale_out_blocked)

    if run.desired != run.observed:
        rt.remember(
            rt.kube.merge_patch(
                svc["apiVersion"],
                "ECSService",
                svc["metadata"]["name"],
                ns,
                {"spec": {"desiredCount": run.desired}},
            )
        )
    _propagate_load(rt, svc)
    for record in run.new_activities:
        msg = record["StatusMessage"]
        rt.kube.event(body, "SuccessfulScaling", f"{record['Description']} Cause: {record['Cause']}")
        rt.kube.event(svc, "SuccessfulScaling", msg)
    cond = condition(run.status.get("conditions"), "Valid", True, "Valid", "", meta.get("generation"))
    unsupported = [f"{k}: {v}" for k, v in sorted(plan.unsupported.items())]
    warnings = [
        f"{k}: {v}" for k, v in sorted(unreached_target_groups([p for _, p in policies], svc).items())
    ]
    status = {
        "desiredCount": run.desired,
        "minCapacity": lo,
        "maxCapacity": hi,
        "hpa": plan.hpa["metadata"]["name"] if plan.hpa else None,
        "trackedPolicies": plan.tracked or None,
        "unsupportedPolicies": unsupported or None,
        "metricWarnings": warnings or None,
        "scaleInSuspendedReason": (
            "a deployment is in progress" if in_progress else ("suspended" if scale_in_blocked else None)
        ),
        "activities": run.activities or None,
        "conditions": merge_conditions(run.status.get("conditions"), [cond]),
    }
    _patch_status(rt, body, status)
    return POLL_SECONDS


def _policies(rt: Runtime, ns: str, resource_id: str) -> list[tuple[dict[str, Any], ScalingPolicy]]:
    out = []
    for body in rt.cached_all("ScalingPolicy", ns):
        if (body.get("spec") or {}).get("ResourceId") != resource_id:
            continue
        parsed = _parse(ScalingPolicy, body, "PolicyName")
        if isinstance(parsed, ScalingPolicy):
            out.append((body, parsed))
    return sorted(out, key=lambda bp: bp[1].PolicyName)


def _scheduled_actions(run: _Pass, target: ScalableTarget) -> tuple[int, int]:
    """Fire due actions: new min/max on the target (as AWS does), desired clamped into them."""
    lo, hi = target.min_capacity, target.max_capacity
    suspended = bool(target.SuspendedState and target.SuspendedState.ScheduledScalingSuspended)
    for body in run.rt.cached_all("ScheduledAction", run.ns):
        if (body.get("spec") or {}).get("ResourceId") != run.resource_id:
            continue
        action = _parse(ScheduledAction, body, "ScheduledActionName")
        if not isinstance(action, ScheduledAction):
            continue
        created = _when(body["metadata"].get("creationTimestamp")) or run.now
        last = _when((body.get("status") or {}).get("lastRun"))
        fired = due_run(action, last, run.now, created)
        if fired is None:
            continue
        if not suspended:
            change = apply_action(action, lo, hi, run.desired)
            lo, hi = change.min_capacity, change.max_capacity
            run.rt.kube.merge_patch(
                run.body["apiVersion"],
                "ScalableTarget",
                run.body["metadata"]["name"],
                run.ns,
                {"spec": {"MinCapacity": lo, "MaxCapacity": hi}},
            )
            tgt = action.ScalableTargetAction
            cause = act.scheduled_cause(action.ScheduledActionName, fired, tgt.MinCapacity, tgt.MaxCapacity)
            run.set_desired(change.desired, cause)
            run.rt.kube.event(run.body, "ScheduledActionExecuted", cause)
        upcoming = next_run(action, fired, created)
        _patch_status(run.rt, body, {"lastRun": _iso(fired), "nextRun": _iso(upcoming) if upcoming else None})
    return lo, hi


def _service_metric(run: _Pass, metric: str, aggregation: str | None) -> float | None:
    selector = (run.svc.get("status") or {}).get("selector")
    if not selector:
        return None
    try:
        pods = run.rt.kube.list("v1", "Pod", run.ns, selector)
        metrics = run.rt.kube.list("metrics.k8s.io/v1beta1", "PodMetrics", run.ns, selector)
    except KubeError as exc:
        log.info("no resource metrics for %s/%s: %s", run.ns, run.svc["metadata"]["name"], exc)
        return None
    values = pod_utilization(pods, metrics, RESOURCE_FOR_METRIC[metric]).values()
    return aggregate_pods(values, aggregation)


def _step_policies(
    run: _Pass,
    policies: list[tuple[dict[str, Any], ScalingPolicy]],
    lo: int,
    hi: int,
    scale_in_blocked: bool,
    scale_out_blocked: bool,
) -> None:
    for body, policy in policies:
        config, alarm = policy.StepScalingPolicyConfiguration, policy.Alarm
        if config is None or alarm is None:
            continue
        key = (run.ns, body["metadata"]["name"])
        sample = _service_metric(run, alarm.MetricName, config.MetricAggregationType)
        horizon = run.now - timedelta(seconds=alarm.Period * (alarm.EvaluationPeriods + 1))
        with _samples_lock:
            series = [s for s in _samples.get(key, []) if s[0] > horizon]
            if sample is not None:
                series.append((run.now, sample))
            _samples[key] = series
        points = datapoints(series, alarm, run.now)
        state = alarm_state(points, alarm)
        pstatus = dict(body.get("status") or {})
        update: dict[str, Any] = {
            "state": state,
            "metricValue": round(sample, 2) if sample is not None else None,
        }
        last_invoked = _when(pstatus.get("lastInvocation"))
        due = last_invoked is None or run.now - last_invoked >= timedelta(seconds=alarm.Period)
        latest = next((p for p in reversed(points) if p is not None), None)
        if state == "ALARM" and due and latest is not None:
            update["lastInvocation"] = _iso(run.now)
            prev = pstatus.get("lastActivity") or {}
            last = None
            if prev.get("at"):
                last = LastActivity(_when(prev["at"]) or run.now, int(prev["from"]), int(prev["to"]))
            decision = step_decision(
                config=config,
                alarm=alarm,
                metric=latest,
                current=run.desired,
                min_capacity=lo,
                max_capacity=hi,
                now=run.now,
                last=last,
            )
            blocked = (decision.desired < run.desired and scale_in_blocked) or (
                decision.desired > run.desired and scale_out_blocked
            )
            if decision.changed and not blocked:
                before = run.desired
                alarm_name = alarm.AlarmName or f"{policy.PolicyName}-alarm"
                cause = act.alarm_cause(
                    run.resource_id, policy.PolicyName, decision.desired > before, alarm_name
                )
                run.set_desired(decision.desired, cause)
                update["lastActivity"] = {"at": _iso(run.now), "from": before, "to": decision.desired}
            update["lastDecision"] = decision.reason if not blocked else "scale-in suspended"
        _patch_status(run.rt, body, update)


def _propagate_load(rt: Runtime, svc: Mapping[str, Any]) -> None:
    """Copy the service's simulated load onto its pods (new tasks start with the same load)."""
    wanted = {
        k: v
        for k, v in ((svc.get("metadata") or {}).get("annotations") or {}).items()
        if k in LOAD_ANNOTATIONS
    }
    selector = (svc.get("status") or {}).get("selector")
    if not wanted or not selector:
        return
    for pod in rt.kube.list("v1", "Pod", svc["metadata"]["namespace"], selector):
        have = (pod.get("metadata") or {}).get("annotations") or {}
        if any(have.get(k) != v for k, v in wanted.items()):
            rt.kube.merge_patch(
                "v1",
                "Pod",
                pod["metadata"]["name"],
                pod["metadata"]["namespace"],
                {"metadata": {"annotations": wanted}},
            )


RECONCILERS = {
    "ScalableTarget": reconcile_target,
    "ScalingPolicy": reconcile_policy,
    "ScheduledAction": reconcile_scheduled_action,
}
