"""ECSService: level-based reconcile of the rendered workload plus ECS's deployment bookkeeping.

Each pass starts from scratch (spec, stored revisions, live children, pods) and converges: a
deleted child is re-applied, an edited one restored (server-side apply with force), a restarted
operator picks up where the status says it was. Writes happen only when something differs, so
a resync of a settled service sends no request that changes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecsk.controller.capacity import launch
from ecsk.controller.kube import inventory
from ecsk.controller.kube.client import KindNotServed, KubeError, adopt, now_iso
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
    valid_text,
    warning_event,
)
from ecsk.controller.services.starts import needs_start_check, start_failure
from ecsk.controller.taskdefs import reconcile as taskdefs
from ecsk.core.capacity import providers as capacity
from ecsk.core.models import ECSService, TaskDefinition, load_document
from ecsk.core.services import events as ev
from ecsk.core.services import rollout as ro
from ecsk.core.taskdefs import revisions as rv
from ecsk.core.taskdefs.revisions import TaskDefinitionError, parse_reference
from ecsk.core.tasks.status import (
    SCALING_STOPPED,
    STOP_CODE_ANNOTATION,
    STOPPED_REASON_ANNOTATION,
    EndedContainer,
    derive_task_status,
    ended_essential,
    killed_by_health_check,
    replaced_task_record,
    stopped_service_task,
    task_id,
)
from ecsk.core.translate import PlacementHook, RenderOptions, names, render_service
from ecsk.core.translate.names import ANN_FORCE_DEPLOYMENT
from ecsk.core.validation import validate_service

log = logging.getLogger("ecsk.controller.services.reconcile")

PRUNABLE = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
]
BLOCKED_ANNOTATION = "ecs.ecsk.io/deployment-blocked"
IN_PROGRESS_REQUEUE = 3.0


cluster_name = names.cluster_name


def _other_controller(live: Mapping[str, Any] | None, uid: str) -> str | None:
    """The ECS object that already controls `live`, if it is not us (never steal a child)."""
    for ref in ((live or {}).get("metadata") or {}).get("ownerReferences") or []:
        if (
            ref.get("controller")
            and ref.get("uid") != uid
            and str(ref.get("apiVersion", "")).startswith("ecs.ecsk.io/")
        ):
            return f"{ref.get('kind')} {ref.get('name')}"
    return None


def _selector_string(match_labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def _invalid(rt: Runtime, body: Mapping[str, Any], reason: str, message: str) -> float | None:
    """Report a problem in status + one Warning event; the running workload is left alone."""
    status = dict(body.get("status") or {})
    conds = status.get("conditions") or []
    gen = body["metadata"].get("generation")
    already = any(c.get("type") == "Valid" and c.get("message") == message for c in conds)
    new = {
        "conditions": merge_conditions(conds, [condition(conds, "Valid", False, reason, message, gen)]),
        "observedGeneration": gen,
    }
    out = rt.kube.patch_status(body, new)
    if out is not None:
        rt.remember(out)
    if not already:
        rt.kube.event(body, reason, message, "Warning")
    return None


def _prune(
    rt: Runtime, body: Mapping[str, Any], match: Mapping[str, str], keep: set[tuple[str, str]]
) -> None:
    """Delete children we rendered before but no longer do (only ours: owner uid must match).

    Reads the watch cache where it covers the kind: this runs on every pass of every service."""
    uid = body["metadata"]["uid"]
    ns = body["metadata"]["namespace"]
    for api_version, kind in PRUNABLE:
        try:
            if rt.children.covers(kind):
                live = rt.children.select(kind, ns, match)
            else:
                live = rt.kube.list(api_version, kind, ns, _selector_string(match))
        except KubeError:
            continue
        for obj in live:
            meta = obj.get("metadata", {})
            owned = any(r.get("uid") == uid for r in meta.get("ownerReferences") or [])
            if owned and (kind, meta.get("name")) not in keep:
                rt.kube.delete(api_version, kind, meta["name"], ns)
                rt.children.drop(kind, ns, meta["name"])


def _scales_in(obj: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    if obj["kind"] != "Deployment" or live is None:
        return False
    want = (obj.get("spec") or {}).get("replicas")
    have = (live.get("spec") or {}).get("replicas")
    return isinstance(want, int) and isinstance(have, int) and want < have


def _sync_deletion_costs(rt: Runtime, svc: ECSService, daemon: bool, pods: list[dict[str, Any]]) -> None:
    """Scale-in victims as ECS would choose them (pod-deletion-cost); no write when settled.

    Written once a service reaches steady state (its deployment COMPLETED, every task running)
    and again right before its Deployment scales in, never while a rollout is in progress: each
    new task re-ranks the others, and one PATCH per task plus its watch echo, in the middle of a
    burst of service creations, competed with the creations themselves (bench/service_bench.py).
    A scale-in during a rollout is still ranked first, by the pass that lowers the replicas.
    With a capacity provider strategy the capacity controller owns the annotation (scale-in
    keeps the base/weight split first; docs/capacity.md), so each pod has one writer."""
    if daemon or svc.capacityProviderStrategy:
        return
    try:
        strategies = [p.to_aws() for p in svc.placementStrategy or ()] or None
        alive = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        placement.sync_deletion_costs(rt, strategies, alive)
    except Exception:
        log.exception(
            "deletion costs for %s/%s", pods[0]["metadata"].get("namespace") if pods else "?", svc.serviceName
        )


def _live(rt: Runtime, obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The live child: from the watch cache when it covers the kind (a miss there means absent),
    else from the API."""
    kind, meta = obj["kind"], obj["metadata"]
    if rt.children.covers(kind):
        return rt.children.get(kind, meta.get("namespace") or "", meta["name"])
    return rt.kube.get(obj["apiVersion"], kind, meta["name"], meta.get("namespace"))


def placement_hook(rt: Runtime, key: tuple[str, str, str]) -> PlacementHook:
    """ECS placement on live nodes chained after the launch-type gates; if the engine itself is
    broken the gates alone apply, so a placement bug degrades a service instead of blocking it."""
    try:
        return placement.hook_for(rt, key)
    except Exception:
        log.exception("placement engine unavailable for %s", key)
        return capacity.placement_hook


def _unplaced_message(rt: Runtime, name: str, message: str, pod: Mapping[str, Any]) -> str | None:
    """The placement engine names the closest instance best; the scheduler message alone is the fallback."""
    try:
        text = placement.unplaced_message(rt, name, message, pod)
    except Exception:
        log.exception("placement.unplaced_message failed")
        text = None
    if text:
        return text
    failure = ev.parse_failed_scheduling(message)
    if failure is None:
        return None
    inst = None if failure.reason == "no-instances" else _closest_instance(rt, failure.reason)
    return ev.unable_to_place(name, failure.reason, inst)


def _closest_instance(rt: Runtime, reason: str) -> str | None:
    """ECS names the closest instance; we name the node with the most allocatable of the lacking
    resource (an approximation: ECS's exact choice is unpublished)."""
    try:
        nodes = inventory.nodes(rt.kube)
    except KubeError:
        return None
    if not nodes:
        return None
    key = {"cpu": "cpu", "memory": "memory", "gpu": "nvidia.com/gpu"}.get(reason)
    if key is None:
        return str(sorted(n["metadata"]["name"] for n in nodes)[0])
    from ecsk.controller.kube.diff import _quantity

    def amount(n: Mapping[str, Any]) -> float:
        q = _quantity(((n.get("status") or {}).get("allocatable") or {}).get(key, "0"))
        return float(q or 0)

    return str(max(nodes, key=lambda n: (amount(n), n["metadata"]["name"]))["metadata"]["name"])


def _settled(workload: Mapping[str, Any], desired: int, other_revision_pods: int) -> bool:
    st = workload.get("status") or {}
    meta = workload.get("metadata") or {}
    if int(st.get("observedGeneration") or 0) < int(meta.get("generation") or 0) or other_revision_pods:
        return False
    if workload.get("kind") == "DaemonSet":
        want = int(st.get("desiredNumberScheduled") or 0)
        return int(st.get("updatedNumberScheduled") or 0) == want == int(st.get("numberAvailable") or 0)
    return (
        int(st.get("updatedReplicas") or 0) == desired == int(st.get("availableReplicas") or 0)
        and int(st.get("replicas") or 0) == desired
    )


def _healthy_in(health: str, started_at: str | None, now: float, after: float) -> float:
    """Seconds until a RUNNING task counts healthy (<= 0: already): HEALTHY by its health check,
    UNHEALTHY never, otherwise `after` seconds past its start, as ECS counts it."""
    if health == "HEALTHY":
        return 0.0
    if health == "UNHEALTHY":
        return float("inf")
    try:
        started = datetime.fromisoformat(str(started_at).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return after
    return started + after - now


MAX_STOPPED_TASKS = 100
"""Stopped service tasks kept in status, each for `--task-retention` (ECS lists stopped tasks
for about an hour); a bound on the status size for services that churn faster than that."""


def _replace_task(rt: Runtime, pod: dict[str, Any], ended: EndedContainer) -> dict[str, Any]:
    """Stop the task whose essential container ended (the ReplicaSet starts its replacement, as
    the ECS service scheduler would) and return its stopped-task record."""
    ns = pod["metadata"].get("namespace")
    uid = str(pod["metadata"].get("uid", ""))
    if killed_by_health_check(rt.kube.list("v1", "Event", ns), uid, ended.name):
        ended = EndedContainer(ended.name, ended.exitCode, ended.finishedAt, health_check=True)
    record = replaced_task_record(pod, ended)
    stop_task_pod(rt.kube, pod, record.stopCode, record.stoppedReason)
    return record.to_dict()


def _start_failure(rt: Runtime, ns: str, td: TaskDefinition) -> str | None:
    """Why a task of `td` started now would fail before its containers (see starts)."""
    return start_failure(rt.kube, ns, td, rt.config.account, rt.config.region)


def _check_starts(
    rt: Runtime, ns: str, td: TaskDefinition, pods: list[dict[str, Any]], current: ro.DeploymentKey
) -> tuple[bool, str | None]:
    """Check each newly started task of the current deployment as the ECS agent does before it
    starts one: a missing secret or ECR image stops it (TaskFailedToStart, the agent's
    stoppedReason) and the ReplicaSet starts the next try, so the service keeps trying and runs
    once the image is pushed; a task that passes is marked checked (never stopped later on).
    On kind the kubelet would fail the pull too; on the embedded cluster this is the only check.
    A stopped pod's listed copy is updated as the deletion left it (it still counts in the
    circuit breaker's ledger, as a task that failed to start does on ECS). Returns whether the
    check ran this pass (so the pass need not read the same secrets and repositories again) and
    the failure."""
    if not needs_start_check(td, rt.config.account, rt.config.region):
        return False, None
    starting = ro.unchecked_starts(pods, current)
    if not starting:
        return False, None
    failure = _start_failure(rt, ns, td)
    for pod in starting:
        meta = pod["metadata"]
        if failure:
            stop_task_pod(rt.kube, pod, "TaskFailedToStart", failure)
            meta.setdefault("annotations", {}).update(
                {STOP_CODE_ANNOTATION: "TaskFailedToStart", STOPPED_REASON_ANNOTATION: failure}
            )
            meta["deletionTimestamp"] = now_iso()
        else:
            patch = {"metadata": {"annotations": {ro.START_CHECKED_ANNOTATION: "true"}}}
            rt.kube.merge_patch("v1", "Pod", meta["name"], meta.get("namespace"), patch)
    return True, failure


def _stopped_at(rec: Mapping[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(rec.get("stoppedAt") or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _stopped_tasks(
    previous: list[dict[str, Any]], new: list[dict[str, Any]], retention: float
) -> tuple[list[dict[str, Any]], float | None]:
    """Newest first, at most MAX_STOPPED_TASKS, none older than the task retention, and the
    seconds until the oldest kept one expires. A task already recorded keeps its first record
    (a replaced task's exit code outlives the later deletion of its pod), unless that was a
    minimal record (no pod seen) and the pod's final state has arrived since."""
    now = datetime.now(UTC).timestamp()
    horizon = now - retention
    fuller = {str(r.get("taskId")) for r in new if r.get("podName")}
    merged = [r for r in previous if r.get("podName") or str(r.get("taskId")) not in fuller]
    have = {str(r.get("taskId")) for r in merged}
    merged += [r for r in new if str(r.get("taskId")) not in have]
    kept = [r for r in merged if (_stopped_at(r) or now) >= horizon]
    kept.sort(key=lambda r: _stopped_at(r) or now, reverse=True)
    kept = kept[:MAX_STOPPED_TASKS]
    expiry = min(((_stopped_at(r) or now) - horizon for r in kept), default=None)
    return kept, expiry


def _gone_tasks(
    rt: Runtime,
    body: Mapping[str, Any],
    family: str,
    vanished: set[str],
) -> list[dict[str, Any]]:
    """Stopped-task records of the service pods deleted since the last pass (their final state,
    from the pod watch), and minimal ones for tasks that vanished unseen (operator restart)."""
    meta = body["metadata"]
    name = str((body.get("spec") or {}).get("serviceName") or meta["name"])
    now = now_iso()
    out = []
    # A DELETED event is final (task ids are pod uids, never reused): even when this pass's pod
    # list still shows the pod (listed just before the deletion), its record is made now, or a
    # pod listed as terminating (so never in status.tasks) would be lost.
    for pod in rt.deleted_pods(meta["namespace"], names.label_value(name)):
        revision, _ = ro.pod_deployment_key(pod)
        rec = stopped_service_task(pod, ro.pod_deployment_id(meta["uid"], pod), now).to_dict()
        rec["group"] = f"service:{name}"
        rec["taskDefinitionArn"] = rv.task_definition_arn(
            family, revision, rt.config.region, rt.config.account
        )
        out.append(rec)
    seen = {r["taskId"] for r in out}
    deployments = (body.get("status") or {}).get("deployments") or []
    primary: dict[str, Any] = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    for tid in sorted(vanished - seen):
        out.append(
            {
                "taskId": tid,
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "healthStatus": "UNKNOWN",
                "containers": [],
                "stopCode": "ServiceSchedulerInitiated",
                "stoppedReason": SCALING_STOPPED.format(deployment=primary.get("id", "")),
                "stoppedAt": now,
                "group": f"service:{name}",
            }
        )
    return out


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, gen = meta["namespace"], meta.get("generation")
    status = dict(body.get("status") or {})
    conds = status.get("conditions") or []
    doc = load_document(cr_document(body))[0]
    if doc.model is None or not isinstance(doc.model, ECSService):
        return _invalid(rt, body, "ValidationFailed", f"ClientException: {issues_text(doc.issues)}")
    svc: ECSService = launch.with_cluster_default(rt.kube, ns, doc.model)  # ECSCluster default strategy
    name = svc.serviceName
    # The service's own rules first: a service without a taskDefinition is refused for that, not
    # reported as a task definition that cannot be found.
    blocking = blocking_text(validate_service(svc))
    if blocking:
        return _invalid(rt, body, "ValidationFailed", f"InvalidParameterException: {blocking}")

    deployments = status.get("deployments") or []
    running_rev = next(
        (int(d.get("revision") or 0) for d in deployments if d.get("status") == "PRIMARY"), None
    )
    try:
        resolved = taskdefs.resolve(rt, ns, svc.taskDefinition or "", keep_revision=running_rev)
        revision, pin = ro.effective_revision(
            resolved.revision.revision, int(gen or 0), ro.RollbackPin.from_dict(status.get("rollback"))
        )
        if revision != resolved.revision.revision:
            resolved = taskdefs.resolve(rt, ns, f"{resolved.family}:{revision}", keep_revision=revision)
    except taskdefs.NotYetRegistered:
        return 1.0
    except TaskDefinitionError as exc:
        return _invalid(rt, body, "TaskDefinitionNotUsable", str(exc))
    td = resolved.task_definition
    issues = validate_service(svc, td)
    blocking = blocking_text(issues)
    if blocking:
        return _invalid(rt, body, "ValidationFailed", f"InvalidParameterException: {blocking}")

    cluster = cluster_name(svc.cluster)
    forced = str((meta.get("annotations") or {}).get(ANN_FORCE_DEPLOYMENT) or "")
    token = names.deployment_token(forced)
    opts = RenderOptions(
        deployment_token=token,
        namespace=ns,
        cluster=cluster,
        revision=revision,
        explain=False,
        image_pull_behavior=rt.config.image_pull_behavior,
        load_balancer_node_ports=rt.config.load_balancer_node_ports,
        deregistration_delay=rt.config.deregistration_delay,
        placement_hook=placement_hook(rt, ("ECSService", ns, meta["name"])),
    )
    try:
        result = render_service(svc, td, opts)
    except Exception as exc:  # a translator bug must surface on the object, not loop in the log
        log.exception("render_service failed for %s/%s", ns, meta["name"])
        return _invalid(rt, body, "TranslationFailed", f"internal error while rendering: {exc}")
    if result.errors:
        text = "; ".join(f"{d.path}: {d.message}" for d in result.errors)
        return _invalid(rt, body, "TranslationFailed", text)
    objects = [o for o in result.objects if o.get("kind") != "PodTemplate"]
    adopt(objects, body, CLUSTER_SCOPED)
    workload: dict[str, Any] | None = None
    created = False  # the workload did not exist before this pass: it can have no pods yet
    not_served: list[str] = []
    for obj in objects:
        try:
            live = _live(rt, obj)
            other = _other_controller(live, meta["uid"])
            if other:
                # Two ECSService objects with one serviceName: ECS refuses the second CreateService.
                return _invalid(
                    rt,
                    body,
                    "DuplicateService",
                    "InvalidParameterException: Creation of service was not "
                    f"idempotent. ({obj['kind']} {obj['metadata']['name']} belongs to {other})",
                )
            if _scales_in(obj, live):
                # The ReplicaSet picks its victims the moment replicas drop: rank them first.
                match_now = obj["spec"]["selector"]["matchLabels"]
                _sync_deletion_costs(
                    rt, svc, False, rt.kube.list("v1", "Pod", ns, _selector_string(match_now))
                )
            applied, written = rt.kube.apply(obj, live=live, fetch=not rt.children.covers(obj["kind"]))
        except KindNotServed:
            if obj["kind"] in ("Deployment", "DaemonSet"):
                raise
            # An integration's CRD is missing (no AWS Load Balancer Controller here): the tasks
            # still run, as ECS tasks would with a target group nobody registers them in.
            not_served.append(f"{obj['kind']}.{obj['apiVersion']}")
            continue
        if written:
            rt.children.put(applied)
        if obj["kind"] in ("Deployment", "DaemonSet"):
            workload = applied
            created = written and live is None and rt.children.covers(obj["kind"])
    if workload is None:
        return _invalid(rt, body, "TranslationFailed", "the translation produced no workload")
    match = workload["spec"]["selector"]["matchLabels"]
    selector = _selector_string(match)
    _prune(rt, body, match, {(o["kind"], o["metadata"]["name"]) for o in objects})

    # --- observe -------------------------------------------------------------------------------
    daemon = workload["kind"] == "DaemonSet"
    desired = (
        int((workload.get("status") or {}).get("desiredNumberScheduled") or 0)
        if daemon
        else int(svc.desiredCount if svc.desiredCount is not None else 1)
    )
    pods = [] if created else rt.kube.list("v1", "Pod", ns, selector)
    current = (revision, token)
    checked, failure = _check_starts(rt, ns, resolved.task_definition, pods, current)
    observed: dict[ro.DeploymentKey, dict[str, Any]] = {}
    task_ids: list[str] = []
    unplaced: list[tuple[str, dict[str, Any]]] = []
    running = pending = healthy = 0
    replaced: list[dict[str, Any]] = []
    wait_healthy: float | None = None
    now_ts = datetime.now(UTC).timestamp()
    for pod in pods:
        ts = derive_task_status(pod)
        key = ro.pod_deployment_key(pod)
        slot = observed.setdefault(key, {"running": 0, "pending": 0, "pods": []})
        slot["pods"].append(pod)  # still counted by the circuit breaker's failure ledger
        ended = None if pod["metadata"].get("deletionTimestamp") else ended_essential(pod)
        if ended is not None:
            replaced.append(_replace_task(rt, pod, ended))
            continue
        if ts.desiredStatus == "STOPPED" or ts.lastStatus == "STOPPED":
            continue
        task_ids.append(ts.taskId)
        if ts.lastStatus == "RUNNING":
            slot["running"] += 1
            running += 1
            if key == current:
                left = _healthy_in(ts.healthStatus, ts.startedAt, now_ts, rt.config.healthy_after_seconds)
                if left <= 0:
                    healthy += 1
                elif left != float("inf"):
                    wait_healthy = left if wait_healthy is None else min(wait_healthy, left)
        else:
            slot["pending"] += 1
            pending += 1
        for c in (pod.get("status") or {}).get("conditions") or []:
            if (
                c.get("type") == "PodScheduled"
                and c.get("status") == "False"
                and c.get("reason") == "Unschedulable"
            ):
                unplaced.append((str(c.get("message") or ""), pod))
    obs: dict[ro.DeploymentKey | int, ro.Observed] = {
        k: ro.Observed(v["running"], v["pending"], tuple(v["pods"])) for k, v in observed.items()
    }
    others = sum(len(v["pods"]) for k, v in observed.items() if k != current)
    cb = svc.deploymentConfiguration.deploymentCircuitBreaker if svc.deploymentConfiguration else None
    now = now_iso()
    outcome = ro.step(
        deployments,
        service_uid=meta["uid"],
        revision=revision,
        task_definition=resolved.arn,
        desired=desired,
        observed=obs,
        circuit_breaker=bool(cb and cb.enable),
        rollback=bool(cb and cb.rollback),
        settled=_settled(workload, desired, others) and healthy >= desired,
        now=now,
        token=token,
    )
    primary = outcome.deployments[0]

    # --- events --------------------------------------------------------------------------------
    msgs: list[tuple[str, str, str]] = []
    known = set(status.get("tasks") or [])
    live_ids = {task_id(p) for p in pods}
    previous_stopped = status.get("stoppedTasks") or []
    recorded = {str(r.get("taskId")) for r in previous_stopped}
    gone = _gone_tasks(rt, body, resolved.family, known - live_ids - recorded)
    stopped_records, expiry = _stopped_tasks(
        previous_stopped, [*replaced, *gone], rt.config.task_retention_seconds
    )
    started = sorted(set(task_ids) - known)
    stopped = sorted(known - set(task_ids))
    for rec in replaced:
        if rec.get("stopCode") == "ServiceSchedulerInitiated":
            msgs.append(("Warning", "TaskUnhealthy", ev.failed_health_checks(name, rec["taskId"])))
    if stopped:
        msgs.append(("Normal", "TasksStopped", ev.stopped_tasks(name, stopped)))
    if started:
        msgs.append(("Normal", "TasksStarted", ev.started_tasks(name, started)))
    if unplaced:
        placed_msg = _unplaced_message(rt, name, unplaced[0][0], unplaced[0][1])
        if placed_msg:
            msgs.append(("Warning", "FailedPlacement", placed_msg))
    for kind in not_served:
        msgs.append(("Warning", "KindNotServed", ev.kind_not_served(name, kind)))
    if (workload["metadata"].get("annotations") or {}).get(BLOCKED_ANNOTATION):
        msgs.append(("Warning", "DeploymentBlocked", ev.deployment_config_blocked(name)))
    new_pin = pin
    if outcome.failed:
        msgs.append(("Warning", "DeploymentFailed", ev.deployment_failed(name, outcome.failed)))
        if outcome.rollback_to is not None:
            new_pin = ro.RollbackPin(revision, outcome.rollback_to, int(gen or 0))
            target = ro.deployment_id(meta["uid"], outcome.rollback_to, token)
            msgs.append(("Warning", "RollingBack", ev.rolling_back(name, outcome.failed, target)))
    if not checked and (pending or running < desired):  # tasks are starting: say why not
        failure = _start_failure(rt, ns, resolved.task_definition)
    if failure:
        msgs.append(("Warning", "TaskFailedToStart", ev.failed_to_launch(name, failure)))
    if outcome.unable_to_start:
        msgs.append(("Warning", "UnableToStart", ev.unable_to_start_consistently(name)))
    if outcome.completed:
        msgs.append(("Normal", "DeploymentCompleted", ev.deployment_completed(name, outcome.completed)))
    steady = (
        primary.rolloutState == "COMPLETED"
        and running == desired
        and pending == 0
        and len(outcome.deployments) == 1
    )
    was_steady = any(c.get("type") == "SteadyState" and c.get("status") == "True" for c in conds)
    if steady:  # ranked once the rollout is over: while tasks start, each would re-rank the rest
        _sync_deletion_costs(rt, svc, daemon, pods)
    if steady and (not was_steady or outcome.completed):
        msgs.append(("Normal", "SteadyState", ev.steady_state(name)))
    events, added = ev.add_events(status.get("events") or [], [m for _, _, m in msgs], datetime.now(UTC))

    valid_msg = valid_text("service is valid and rendered", issues)
    warned = warning_event(conds, valid_msg, issues)
    new_conds = [
        condition(conds, "Valid", True, "Reconciled", valid_msg, gen),
        condition(
            conds,
            "SteadyState",
            steady,
            "SteadyState" if steady else primary.rolloutState,
            ev.steady_state(name) if steady else primary.rolloutStateReason,
            gen,
        ),
    ]
    new_status: dict[str, Any] = {
        "serviceName": name,
        "clusterName": cluster,
        "status": "ACTIVE",
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": pending,
        "taskDefinition": resolved.arn,
        "deployments": [d.to_dict() for d in outcome.deployments],
        "selector": selector,
        "tasks": sorted(task_ids),
        "stoppedTasks": stopped_records,
        "events": events,
        "rollback": new_pin.to_dict() if new_pin else None,
        "observedGeneration": gen,
        "observedForceNewDeployment": forced or None,
        "conditions": merge_conditions(conds, new_conds),
    }
    for field in ("rollback", "observedForceNewDeployment"):
        if status.get(field) is None and new_status[field] is None:
            new_status.pop(field)
    out = rt.kube.patch_status(body, new_status)
    if out is not None:
        rt.remember(out)
    for type_, reason, message in msgs:
        if message in added:
            rt.kube.event(body, reason, message, type_)
    if warned:
        rt.kube.event(body, warned[1], warned[2], warned[0])
    if new_pin != pin:
        return 0.1
    again = _requeue(primary, pending, wait_healthy)
    if expiry is not None:  # drop expired stopped tasks even when nothing else happens
        return min(again, expiry + 1.0) if again is not None else expiry + 1.0
    return again


def _requeue(primary: ro.Deployment, pending: int, wait_healthy: float | None) -> float | None:
    if wait_healthy is not None and primary.rolloutState == "IN_PROGRESS":
        return min(IN_PROGRESS_REQUEUE, wait_healthy + 0.1) if pending else wait_healthy + 0.1
    if primary.rolloutState == "IN_PROGRESS" or pending:
        return IN_PROGRESS_REQUEUE
    return None


def referenced_family(body: Mapping[str, Any]) -> str | None:
    try:
        return parse_reference(str((body.get("spec") or {}).get("taskDefinition") or "")).family
    except ValueError:
        return None
