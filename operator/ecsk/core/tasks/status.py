"""ECS task state, derived from a pod: what `describe-tasks` would say about the pod's task.

Kubernetes and ECS describe the same life cycle with different words; the operator, the CLI and
the tests must agree on the mapping, so it lives here as a pure function of the pod dict.

Mapping (docs/operator.md has the table):
- not yet bound to a node                          -> PROVISIONING
- bound, containers not all started                -> PENDING
- all containers running, pod not Ready            -> ACTIVATING
- Ready                                            -> RUNNING
- an essential container exited, or pod deleting   -> STOPPING (desiredStatus STOPPED)
- phase Succeeded/Failed, or every container done  -> STOPPED

Which containers are essential travels on the pod as the annotation
`ecs.ecsk.io/essential-containers` (comma-separated Kubernetes container names), written by the
translator; without it every container counts as essential (ECS's default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

ESSENTIAL_ANNOTATION = "ecs.ecsk.io/essential-containers"
STOP_CODE_ANNOTATION = "ecs.ecsk.io/stop-code"
STOPPED_REASON_ANNOTATION = "ecs.ecsk.io/stopped-reason"
STARTED_BY_ANNOTATION = "ecs.ecsk.io/started-by"

LastStatus = Literal[
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
]
DesiredStatus = Literal["RUNNING", "PENDING", "STOPPED"]
HealthStatus = Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]
StopCode = Literal[
    "TaskFailedToStart",
    "EssentialContainerExited",
    "UserInitiated",
    "ServiceSchedulerInitiated",
    "SpotInterruption",
    "TerminationNotice",
]

ESSENTIAL_EXITED = "Essential container in task exited"
HEALTH_CHECKS_FAILED = "Task failed container health checks"
USER_STOPPED = "Task stopped by user"
SCALING_STOPPED = "Scaling activity initiated by (deployment {deployment})"
DEPLOYMENT_STOPPED = "Task stopped by the service scheduler during a deployment"

_ORDER: tuple[LastStatus, ...] = (
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
)
_START_FAILURES = {
    "ErrImagePull": "CannotPullContainerError",
    "ImagePullBackOff": "CannotPullContainerError",
    "InvalidImageName": "CannotPullContainerError",
    "ErrImageNeverPull": "CannotPullContainerError",
    "CreateContainerConfigError": "CannotCreateContainerError",
    "CreateContainerError": "CannotCreateContainerError",
    "RunContainerError": "CannotStartContainerError",
    "CrashLoopBackOff": "CannotStartContainerError",
}


def status_rank(status: str) -> int:
    """Position in the life cycle, so callers can say 'at least RUNNING' or sort by progress."""
    return _ORDER.index(status) if status in _ORDER else -1


@dataclass
class ContainerStatus:
    name: str
    lastStatus: str
    exitCode: int | None = None
    reason: str | None = None
    healthStatus: HealthStatus = "UNKNOWN"
    essential: bool = True
    imageDigest: str | None = None
    """The manifest digest of the image the container ran (DescribeTasks containers[].imageDigest)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "lastStatus": self.lastStatus,
            "healthStatus": self.healthStatus,
            "essential": self.essential,
        }
        if self.exitCode is not None:
            out["exitCode"] = self.exitCode
        if self.reason:
            out["reason"] = self.reason
        if self.imageDigest:
            out["imageDigest"] = self.imageDigest
        return out


@dataclass
class TaskStatus:
    """The ECS view of one task; field names are the describe-tasks names."""

    taskId: str
    lastStatus: LastStatus
    desiredStatus: DesiredStatus
    healthStatus: HealthStatus
    containers: list[ContainerStatus] = field(default_factory=list)
    stopCode: StopCode | None = None
    stoppedReason: str | None = None
    createdAt: str | None = None
    startedAt: str | None = None
    stoppingAt: str | None = None
    stoppedAt: str | None = None
    group: str | None = None
    startedBy: str | None = None
    node: str | None = None
    podName: str | None = None

    @property
    def stopped(self) -> bool:
        return self.lastStatus == "STOPPED"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "taskId": self.taskId,
            "lastStatus": self.lastStatus,
            "desiredStatus": self.desiredStatus,
            "healthStatus": self.healthStatus,
            "containers": [c.to_dict() for c in self.containers],
        }
        for key in (
            "stopCode",
            "stoppedReason",
            "createdAt",
            "startedAt",
            "stoppingAt",
            "stoppedAt",
            "group",
            "startedBy",
            "node",
            "podName",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def task_id(pod: dict[str, Any]) -> str:
    """ECS task ids are 32 hex digits; a pod UID without dashes is exactly that and unique."""
    uid = str(pod.get("metadata", {}).get("uid") or "")
    return uid.replace("-", "") or str(pod.get("metadata", {}).get("name", ""))


def essential_containers(pod: dict[str, Any]) -> set[str]:
    names = [c.get("name", "") for c in pod.get("spec", {}).get("containers", []) or []]
    raw = (pod.get("metadata", {}).get("annotations") or {}).get(ESSENTIAL_ANNOTATION)
    if raw is None:
        return set(names)
    wanted = {n.strip() for n in str(raw).split(",") if n.strip()}
    return wanted & set(names) or set(names)


_REPO_DIGEST = re.compile(r"@(sha256:[a-f0-9]{64})$")


def image_digest(status: dict[str, Any]) -> str | None:
    """The manifest digest a container's image resolved to, from the kubelet's `imageID`
    (`<repository>@sha256:<hex>` once pulled, as ECS records `imageDigest`). A bare
    `sha256:<hex>` imageID is the image's config (an image loaded onto the node, never pulled):
    not a manifest digest, so nothing is recorded, as ECS records none it did not resolve."""
    m = _REPO_DIGEST.search(str(status.get("imageID") or ""))
    return m[1] if m else None


def _container_status(spec: dict[str, Any], st: dict[str, Any] | None, essential: bool) -> ContainerStatus:
    out = _container_state(spec, st, essential)
    out.imageDigest = image_digest(st) if st else None
    return out


def _container_state(spec: dict[str, Any], st: dict[str, Any] | None, essential: bool) -> ContainerStatus:
    name = spec.get("name", "")
    # an ECS healthCheck renders exec probes; a TCP readiness probe is a target group's check
    # (ecsk.core.translate.loadbalancing), which leaves the container's health UNKNOWN as in ECS
    has_check = any("exec" in (spec.get(p) or {}) for p in ("readinessProbe", "livenessProbe"))
    if not st:
        return ContainerStatus(name, "PENDING", essential=essential)
    state = st.get("state") or {}
    health: HealthStatus = "UNKNOWN"
    if "terminated" in state:
        term = state["terminated"] or {}
        return ContainerStatus(
            name,
            "STOPPED",
            exitCode=term.get("exitCode"),
            reason=term.get("reason") if term.get("reason") not in (None, "Completed") else None,
            essential=essential,
        )
    if "running" in state:
        if has_check:
            if st.get("ready"):
                health = "HEALTHY"
            elif int(st.get("restartCount") or 0) > 0:
                health = "UNHEALTHY"
        return ContainerStatus(name, "RUNNING", healthStatus=health, essential=essential)
    waiting = state.get("waiting") or {}
    reason = str(waiting.get("reason") or "")
    kind = _START_FAILURES.get(reason)
    failure = f"{kind}: {waiting.get('message') or reason}" if kind else None
    if reason == "CreateContainerConfigError":
        failure = _resource_initialization(str(waiting.get("message") or "")) or failure
    return ContainerStatus(name, "PENDING", reason=failure, essential=essential)


_MISSING_SECRET = re.compile(r'^(secret "[^"]+" not found|couldn\'t find key \S+ in Secret \S+)')
_MISSING_CONFIGMAP = re.compile(r'^(configmap "[^"]+" not found|couldn\'t find key \S+ in ConfigMap \S+)')


def _resource_initialization(message: str) -> str | None:
    """The kubelet could not build the container's environment: a Secret a `secrets` entry reads,
    or the ConfigMap of an environment file, is missing. ECS's agent fails such a task before any
    container with ResourceInitializationError (seen on kind, where the kubelet does the fetching;
    the operator checks standalone tasks itself before creating their pods)."""
    if _MISSING_SECRET.match(message):
        return f"ResourceInitializationError: unable to pull secrets or registry auth: {message}"
    if _MISSING_CONFIGMAP.match(message):
        return f"ResourceInitializationError: failed to download env files: {message}"
    return None


def _condition(pod: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for cond in pod.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def _earliest(values: list[str | None]) -> str | None:
    present = [v for v in values if v]
    return min(present) if present else None


def _latest(values: list[str | None]) -> str | None:
    present = [v for v in values if v]
    return max(present) if present else None


def derive_task_status(pod: dict[str, Any], *, deleted: bool = False) -> TaskStatus:
    """The task's state from its pod; `deleted=True` means the pod is gone (a kept record).

    Stop codes the operator decided itself (user stop, scale-in) are read from the pod
    annotations `ecs.ecsk.io/stop-code` / `ecs.ecsk.io/stopped-reason`, which the operator writes
    before deleting the pod, because the pod alone cannot tell who deleted it.
    """
    meta = pod.get("metadata", {}) or {}
    spec = pod.get("spec", {}) or {}
    status = pod.get("status", {}) or {}
    ann = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    essential = essential_containers(pod)
    by_name = {s.get("name"): s for s in status.get("containerStatuses", []) or []}
    containers = [
        _container_status(c, by_name.get(c.get("name")), c.get("name") in essential)
        for c in spec.get("containers", []) or []
    ]
    phase = status.get("phase", "Pending")
    deleting = bool(meta.get("deletionTimestamp")) or deleted
    ess = [c for c in containers if c.essential]
    ess_exited = [c for c in ess if c.lastStatus == "STOPPED"]
    all_done = bool(containers) and all(c.lastStatus == "STOPPED" for c in containers)
    start_failure = next((c.reason for c in containers if c.lastStatus == "PENDING" and c.reason), None)
    ever_started = any(c.lastStatus in ("RUNNING", "STOPPED") for c in containers) or any(
        (by_name.get(c.name) or {}).get("lastState", {}).get("terminated") for c in containers
    )

    stop_code: StopCode | None = ann.get(STOP_CODE_ANNOTATION)
    stopped_reason: str | None = ann.get(STOPPED_REASON_ANNOTATION)
    disruption = _condition(pod, "DisruptionTarget")

    last: LastStatus
    desired: DesiredStatus = "RUNNING"
    if phase in ("Succeeded", "Failed") or all_done or deleted:
        last = "STOPPED"
    elif ess_exited or deleting:
        last = "STOPPING"  # the remaining containers are being stopped
    elif not spec.get("nodeName"):
        last = "PROVISIONING"
    elif not all(c.lastStatus == "RUNNING" for c in containers):
        last = "PENDING"
    elif (_condition(pod, "Ready") or {}).get("status") != "True":
        last = "ACTIVATING"
    else:
        last = "RUNNING"
    if last in ("DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED") or start_failure:
        desired = "STOPPED"

    if stop_code is None and desired == "STOPPED":
        if ess_exited:
            stop_code, stopped_reason = "EssentialContainerExited", stopped_reason or ESSENTIAL_EXITED
        elif start_failure or (phase == "Failed" and not ever_started):
            stop_code = "TaskFailedToStart"
            stopped_reason = (
                stopped_reason or start_failure or status.get("message") or "Task failed to start"
            )
        elif disruption and disruption.get("status") == "True":
            stop_code = "TerminationNotice"
            stopped_reason = stopped_reason or disruption.get("message") or disruption.get("reason")
        elif status.get("reason") == "Evicted":
            stop_code = "TerminationNotice"
            stopped_reason = stopped_reason or status.get("message") or "Evicted"
        elif deleting:
            stop_code, stopped_reason = "UserInitiated", stopped_reason or USER_STOPPED
    if stop_code == "EssentialContainerExited" and not stopped_reason:
        stopped_reason = ESSENTIAL_EXITED

    running_started = [
        ((by_name.get(c.name) or {}).get("state", {}).get("running") or {}).get("startedAt")
        for c in containers
    ] + [
        ((by_name.get(c.name) or {}).get("state", {}).get("terminated") or {}).get("startedAt")
        for c in containers
    ]
    finished = [
        ((by_name.get(c.name) or {}).get("state", {}).get("terminated") or {}).get("finishedAt")
        for c in containers
    ]
    return TaskStatus(
        taskId=task_id(pod),
        lastStatus=last,
        desiredStatus=desired,
        healthStatus=_task_health(ess),
        containers=containers,
        stopCode=stop_code if desired == "STOPPED" else None,
        stoppedReason=stopped_reason if desired == "STOPPED" else None,
        createdAt=meta.get("creationTimestamp"),
        startedAt=_earliest(running_started) if ever_started else None,
        stoppingAt=meta.get("deletionTimestamp") or (_latest(finished) if ess_exited else None),
        stoppedAt=(_latest(finished) or meta.get("deletionTimestamp")) if last == "STOPPED" else None,
        group=labels.get("ecs.ecsk.io/task-group"),
        startedBy=ann.get(STARTED_BY_ANNOTATION),
        node=spec.get("nodeName"),
        podName=meta.get("name"),
    )


def _task_health(essential: list[ContainerStatus]) -> HealthStatus:
    """ECS: any essential container UNHEALTHY -> UNHEALTHY; all checked ones HEALTHY -> HEALTHY."""
    if any(c.healthStatus == "UNHEALTHY" for c in essential):
        return "UNHEALTHY"
    if essential and all(c.healthStatus == "HEALTHY" for c in essential):
        return "HEALTHY"
    return "UNKNOWN"


def essential_exit(pod: dict[str, Any]) -> ContainerStatus | None:
    """The essential container whose exit must stop the task, if any (the operator acts on it)."""
    st = derive_task_status(pod)
    return next((c for c in st.containers if c.essential and c.lastStatus == "STOPPED"), None)


@dataclass(frozen=True)
class EndedContainer:
    """An essential container of a live service pod that stopped: it exited, or the kubelet killed
    it because its health check (livenessProbe) failed. Kubernetes restarts it inside the same
    pod; ECS would stop the task and let the service start another, so the operator does that."""

    name: str
    exitCode: int | None
    finishedAt: str | None
    health_check: bool = False


def ended_essential(pod: dict[str, Any]) -> EndedContainer | None:
    """The first essential container that stopped at least once in this pod, if any.

    A container that is terminated now, or one with a restart count (its previous run ended:
    `lastState.terminated`), ended an ECS task. Start failures (image pull, config) are not
    endings: the task never ran, and `derive_task_status` reports those as TaskFailedToStart."""
    essential = essential_containers(pod)
    for st in (pod.get("status") or {}).get("containerStatuses") or []:
        if st.get("name") not in essential:
            continue
        term = (st.get("state") or {}).get("terminated")
        if term is None and int(st.get("restartCount") or 0) > 0:
            term = (st.get("lastState") or {}).get("terminated")
        if term is not None:
            return EndedContainer(str(st.get("name")), term.get("exitCode"), term.get("finishedAt"))
    return None


def killed_by_health_check(events: list[dict[str, Any]], pod_uid: str, container: str) -> bool:
    """True when the kubelet reported killing `container` of the pod for a failed health check:
    event reason Killing, "Container C failed liveness probe, will be restarted" (or "startup
    probe": the check kept failing past startPeriod, which is what the startup probe bounds)."""
    for e in events:
        obj = e.get("involvedObject") or {}
        if obj.get("uid") != pod_uid or e.get("reason") != "Killing":
            continue
        message = str(e.get("message") or "")
        if ("liveness probe" in message or "startup probe" in message) and (
            f"{{{container}}}" in str(obj.get("fieldPath") or "") or f"Container {container} " in message
        ):
            return True
    return False


def replaced_task_record(pod: dict[str, Any], ended: EndedContainer) -> TaskStatus:
    """The stopped task a service replaces, as describe-tasks would show it afterwards.

    ECS: an essential container exit -> EssentialContainerExited / "Essential container in task
    exited"; a failed health check -> the service scheduler stops the task
    (ServiceSchedulerInitiated / "Task failed container health checks"). The ended container
    keeps its exit code."""
    st = derive_task_status(pod)
    for c in st.containers:
        if c.name == ended.name:
            c.lastStatus = "STOPPED"
            c.exitCode = ended.exitCode
            if ended.health_check:
                c.healthStatus = "UNHEALTHY"
    st.lastStatus = "STOPPED"
    st.desiredStatus = "STOPPED"
    if ended.health_check:
        st.stopCode, st.stoppedReason, st.healthStatus = (
            "ServiceSchedulerInitiated",
            HEALTH_CHECKS_FAILED,
            "UNHEALTHY",
        )
    else:
        st.stopCode, st.stoppedReason = "EssentialContainerExited", ESSENTIAL_EXITED
    st.stoppingAt = st.stoppedAt = ended.finishedAt or st.stoppingAt
    return st


def service_task(pod: dict[str, Any], deployment: str) -> TaskStatus:
    """A service pod's task, the stop code corrected for a pod being deleted.

    A pod the operator or the API stopped carries its stop code annotation (StopTask:
    UserInitiated, a replaced task, ...). Without one, the ReplicaSet deleted it: the service
    scheduler scaled it in (desiredCount, or a deployment replacing its tasks), which ECS reports
    as ServiceSchedulerInitiated / "Scaling activity initiated by (deployment D)", D being the
    deployment the task belonged to; an eviction (DRAINING, a node going away) is
    TerminationNotice. The deletion also stops the containers (SIGTERM: real containers exit
    with 0 or 143), which the pod alone would report as EssentialContainerExited; found on kind,
    where every task a deployment replaced read EssentialContainerExited."""
    return _scheduler_stop(derive_task_status(pod), pod, deployment)


def _scheduler_stop(st: TaskStatus, pod: dict[str, Any], deployment: str) -> TaskStatus:
    meta = pod.get("metadata") or {}
    if STOP_CODE_ANNOTATION in (meta.get("annotations") or {}) or st.desiredStatus != "STOPPED":
        return st
    if not (meta.get("deletionTimestamp") or st.stopCode in (None, "UserInitiated")):
        return st
    disruption = _condition(pod, "DisruptionTarget") or {}
    if disruption.get("status") == "True":
        st.stopCode = "TerminationNotice"
        st.stoppedReason = disruption.get("message") or disruption.get("reason") or st.stoppedReason
    else:
        st.stopCode = "ServiceSchedulerInitiated"
        st.stoppedReason = SCALING_STOPPED.format(deployment=deployment)
    return st


def stopped_service_task(pod: dict[str, Any], deployment: str, now: str) -> TaskStatus:
    """A deleted service pod as describe-tasks shows the stopped task afterwards (service_task's
    stop code, every container STOPPED, stop times filled in)."""
    st = _scheduler_stop(derive_task_status(pod, deleted=True), pod, deployment)
    for c in st.containers:
        c.lastStatus = "STOPPED"
    st.stoppingAt = st.stoppingAt or now
    st.stoppedAt = st.stoppedAt or now
    return st
