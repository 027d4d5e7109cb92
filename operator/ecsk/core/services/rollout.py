"""ECS service deployments (PRIMARY/ACTIVE, rolloutState, circuit breaker) as pure state updates.

Kubernetes rolls pods out by itself (the translator sets maxSurge/maxUnavailable); what it does
not have is ECS's bookkeeping on top: one *deployment* per task definition revision, a rollout
state, a failed-task count and the circuit breaker with rollback. The controller feeds observed
counts in and stores what comes out; every decision is here so it can be tested without a cluster.

Rules chosen where ECS does not publish one (docs/operator.md):
- threshold = ceil(0.5 x desired), clamped to [3, 200];
- a failed task is a container restart of an essential container of a pod of the deployment
  (ECS would have replaced the task), a pod that failed, or a pod stuck in a start failure
  (image pull, config error) counted once;
- after a rollback the service keeps running the rolled-back-to revision until its spec changes
  (new generation) or a newer task definition revision is resolved.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ecsk.core.common.labels import LABEL_DEPLOYMENT_TOKEN, LABEL_REVISION
from ecsk.core.tasks.status import essential_containers

DeploymentKey = tuple[int, str]
"""(revision, forced-deployment token): what tells one deployment's pods from another's."""
RolloutState = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
DeploymentStatus = Literal["PRIMARY", "ACTIVE"]

_START_FAILURE_REASONS = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def failure_threshold(desired: int) -> int:
    return min(200, max(3, math.ceil(0.5 * max(0, desired))))


def deployment_id(service_uid: str, revision: int, token: str = "") -> str:
    """ECS ids look like `ecs-svc/1234567890123456789`; derived, so a restarted operator agrees.
    `token` tells a forced deployment of a revision from the earlier ones of that revision."""
    digits = int(hashlib.sha256(f"{service_uid}|{revision}|{token}".encode()).hexdigest(), 16) % 10**19
    return f"ecs-svc/{digits:019d}"


def pod_deployment_key(pod: Mapping[str, Any]) -> DeploymentKey:
    """Which deployment a pod belongs to: its revision label and forced-deployment token."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    try:
        revision = int(labels.get(LABEL_REVISION, "0"))
    except ValueError:
        revision = 0
    return revision, str(labels.get(LABEL_DEPLOYMENT_TOKEN) or "")


START_CHECKED_ANNOTATION = "ecs.ecsk.io/start-checked"
"""Set on a service pod once the operator has checked, as the ECS agent does before it starts a
task, that the task's secrets and ECR images resolve: each task is checked once, when it starts,
so a running task is never stopped because an image or secret went away later (as on ECS)."""


def unchecked_starts(pods: Iterable[Mapping[str, Any]], current: DeploymentKey) -> list[Mapping[str, Any]]:
    """The pods of the current deployment whose start has not been checked yet (not terminating):
    the service tasks the agent would be starting now."""
    return [
        p
        for p in pods
        if pod_deployment_key(p) == current
        and not p["metadata"].get("deletionTimestamp")
        and START_CHECKED_ANNOTATION not in (p["metadata"].get("annotations") or {})
    ]


def pod_deployment_id(service_uid: str, pod: Mapping[str, Any]) -> str:
    return deployment_id(service_uid, *pod_deployment_key(pod))


def pod_failures(pod: Mapping[str, Any]) -> int:
    """How many ECS tasks this pod stands for that failed (restarts are replaced tasks in ECS)."""
    essential = essential_containers(dict(pod))
    status = pod.get("status") or {}
    n = 0
    stuck = False
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") not in essential:
            continue
        n += int(cs.get("restartCount") or 0)
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _START_FAILURE_REASONS:
            stuck = True
        term = (cs.get("state") or {}).get("terminated")
        if term is not None and int(term.get("exitCode") or 0) != 0 and not cs.get("restartCount"):
            n += 1
    if status.get("phase") == "Failed" and n == 0:
        n = 1
    if stuck and n == 0:
        n = 1
    return n


def count_failures(pods: Iterable[Mapping[str, Any]], ledger: Mapping[str, int]) -> dict[str, int]:
    """Per-pod failure counts, never decreasing, so pods that disappear still count."""
    out = dict(ledger)
    for pod in pods:
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        failures = pod_failures(pod)
        if uid and failures > out.get(uid, 0):
            out[uid] = failures
    return out


@dataclass
class Deployment:
    id: str
    status: DeploymentStatus
    revision: int
    taskDefinition: str
    desiredCount: int
    runningCount: int = 0
    pendingCount: int = 0
    failedTasks: int = 0
    rolloutState: RolloutState = "IN_PROGRESS"
    rolloutStateReason: str = "ECS deployment in progress."
    createdAt: str = ""
    updatedAt: str = ""
    rollbackRevision: int | None = None
    failureLedger: dict[str, int] = field(default_factory=dict)
    token: str = ""
    """The forced-deployment token its pods carry ("" for a deployment nobody forced)."""

    @property
    def key(self) -> DeploymentKey:
        return (self.revision, self.token)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "revision": self.revision,
            "taskDefinition": self.taskDefinition,
            "desiredCount": self.desiredCount,
            "runningCount": self.runningCount,
            "pendingCount": self.pendingCount,
            "failedTasks": self.failedTasks,
            "rolloutState": self.rolloutState,
            "rolloutStateReason": self.rolloutStateReason,
            "createdAt": self.createdAt,
            "updatedAt": self.updatedAt,
        }
        if self.rollbackRevision is not None:
            out["rollbackRevision"] = self.rollbackRevision
        if self.token:
            out["token"] = self.token
        if self.failureLedger:
            out["failureLedger"] = dict(sorted(self.failureLedger.items()))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Deployment:
        return cls(
            id=str(d.get("id", "")),
            status="PRIMARY" if d.get("status") == "PRIMARY" else "ACTIVE",
            revision=int(d.get("revision") or 0),
            taskDefinition=str(d.get("taskDefinition", "")),
            desiredCount=int(d.get("desiredCount") or 0),
            runningCount=int(d.get("runningCount") or 0),
            pendingCount=int(d.get("pendingCount") or 0),
            failedTasks=int(d.get("failedTasks") or 0),
            rolloutState=d.get("rolloutState", "IN_PROGRESS"),
            rolloutStateReason=str(d.get("rolloutStateReason", "")),
            createdAt=str(d.get("createdAt", "")),
            updatedAt=str(d.get("updatedAt", "")),
            rollbackRevision=d.get("rollbackRevision"),
            failureLedger={str(k): int(v) for k, v in (d.get("failureLedger") or {}).items()},
            token=str(d.get("token") or ""),
        )


@dataclass(frozen=True)
class Observed:
    """Counts per task definition revision, from the service's pods."""

    running: int = 0
    pending: int = 0
    pods: tuple[Mapping[str, Any], ...] = ()


def observed_for(observed: Mapping[DeploymentKey | int, Observed], d: Deployment) -> Observed:
    found = observed.get(d.key)
    if found is None and not d.token:
        found = observed.get(d.revision)
    return found if found is not None else Observed()


@dataclass
class Outcome:
    deployments: list[Deployment]
    completed: str | None = None  # deployment id that just completed
    failed: str | None = None  # deployment id that just failed
    rollback_to: int | None = None  # revision to roll back to
    unable_to_start: bool = False


REASON_IN_PROGRESS = "ECS deployment {id} in progress."
REASON_COMPLETED = "ECS deployment {id} completed."
REASON_FAILED = "ECS deployment circuit breaker: task failed to start."
REASON_ROLLED_BACK = "ECS deployment circuit breaker: rolling back to deploymentId {id}."


def step(
    previous: Iterable[Mapping[str, Any]],
    *,
    service_uid: str,
    revision: int,
    task_definition: str,
    desired: int,
    observed: Mapping[DeploymentKey | int, Observed],
    circuit_breaker: bool,
    rollback: bool,
    settled: bool,
    now: str,
    token: str = "",
) -> Outcome:
    """One reconcile's worth of deployment bookkeeping.

    `observed` is keyed by DeploymentKey; a plain revision key stands for (revision, "").
    A new deployment starts when the revision or the forced-deployment `token` changes.
    `settled` is the Kubernetes view that the rollout is done (Deployment observed, all replicas
    updated and available, no old pods left); it is required before COMPLETED so ECS's
    "deployment completed" never precedes the last old task stopping.
    """
    prev = [Deployment.from_dict(d) for d in previous]
    primary = next((d for d in prev if d.status == "PRIMARY"), None)
    out = Outcome(deployments=[])
    if primary is None or primary.key != (revision, token):
        new = Deployment(
            id=deployment_id(service_uid, revision, token),
            status="PRIMARY",
            revision=revision,
            taskDefinition=task_definition,
            desiredCount=desired,
            createdAt=now,
            updatedAt=now,
            token=token,
        )
        new.rolloutStateReason = REASON_IN_PROGRESS.format(id=new.id)
        if primary is not None:
            primary.status = "ACTIVE"
            new.rollbackRevision = (
                primary.revision if primary.rolloutState == "COMPLETED" else primary.rollbackRevision
            )
        prev = [new, *[d for d in prev if d.id != new.id]]
        primary = new
    for d in prev:
        obs = observed_for(observed, d)
        running, pending = obs.running, obs.pending
        changed = (running, pending) != (d.runningCount, d.pendingCount)
        d.runningCount, d.pendingCount = running, pending
        if d.status == "PRIMARY":
            if d.desiredCount != desired:
                d.desiredCount, changed = desired, True
            if d.rolloutState == "IN_PROGRESS":
                ledger = count_failures(obs.pods, d.failureLedger)
                if ledger != d.failureLedger:
                    d.failureLedger = ledger
                    d.failedTasks = sum(ledger.values())
                    changed = True
        elif d.desiredCount != 0:
            d.desiredCount, changed = 0, True
        if changed:
            d.updatedAt = now
        if d.status == "PRIMARY" or running + pending > 0:
            out.deployments.append(d)

    assert primary is not None
    if primary.rolloutState == "IN_PROGRESS":
        old_left = any(d.status == "ACTIVE" for d in out.deployments)
        threshold = failure_threshold(desired)
        if circuit_breaker and primary.failedTasks >= threshold:
            primary.rolloutState, primary.updatedAt = "FAILED", now
            out.failed = primary.id
            primary.rolloutStateReason = REASON_FAILED
            if rollback and primary.rollbackRevision is not None:
                out.rollback_to = primary.rollbackRevision
                target = deployment_id(service_uid, primary.rollbackRevision, token)
                primary.rolloutStateReason = REASON_ROLLED_BACK.format(id=target)
        elif primary.runningCount == desired and not old_left and settled:
            primary.rolloutState, primary.updatedAt = "COMPLETED", now
            primary.rolloutStateReason = REASON_COMPLETED.format(id=primary.id)
            out.completed = primary.id
        elif not circuit_breaker and primary.failedTasks >= threshold:
            out.unable_to_start = True
    return out


@dataclass(frozen=True)
class RollbackPin:
    """After a rollback: which revision failed, where we went back to, and for which spec."""

    from_revision: int
    to_revision: int
    generation: int

    def to_dict(self) -> dict[str, int]:
        return {
            "fromRevision": self.from_revision,
            "toRevision": self.to_revision,
            "generation": self.generation,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> RollbackPin | None:
        if not d:
            return None
        try:
            return cls(int(d["fromRevision"]), int(d["toRevision"]), int(d["generation"]))
        except (KeyError, TypeError, ValueError):
            return None


def effective_revision(
    target: int, generation: int, pin: RollbackPin | None
) -> tuple[int, RollbackPin | None]:
    """The revision to run: the resolved one, unless a rollback away from it is still in force."""
    if pin and pin.from_revision == target and pin.generation == generation:
        return pin.to_revision, pin
    return target, None


def ecs_bounds(desired: int, minimum_healthy_percent: int, maximum_percent: int) -> tuple[int, int]:
    """(least healthy, most total) tasks during a deployment, with ECS's rounding."""
    return math.ceil(desired * minimum_healthy_percent / 100), math.floor(desired * maximum_percent / 100)
