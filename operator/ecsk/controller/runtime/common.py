"""Pieces every reconciler shares: operator settings, conditions, and the issue -> status path."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ecsk.controller.kube.children import ChildCache
from ecsk.controller.kube.client import Kube, now_iso
from ecsk.core.models import ValidationIssue, errors_of, warnings_of
from ecsk.core.models.errors import issues_text
from ecsk.core.tasks.status import STOP_CODE_ANNOTATION, STOPPED_REASON_ANNOTATION
from ecsk.core.translate.types import DEFAULT_DEREGISTRATION_DELAY, ImagePullBehavior, RenderOptions

CLUSTER_SCOPED = {
    "StorageClass",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "Namespace",
    "PriorityClass",
    "CSIDriver",
}


@dataclass(frozen=True)
class OperatorConfig:
    """Knobs of one operator process (CLI flags)."""

    resync_seconds: float = 30.0
    task_retention_seconds: float = 3600.0
    region: str = "us-east-1"
    account: str = "000000000000"
    workers: int = 4
    healthy_after_seconds: float = 40.0
    """ECS counts a task without health check or load balancer healthy 40 s after RUNNING; a
    deployment is not COMPLETED before its tasks are healthy (and the circuit breaker still counts)."""
    image_pull_behavior: ImagePullBehavior = "default"
    """The ECS agent's ECS_IMAGE_PULL_BEHAVIOR for every task's containers (see
    `ecsk.core.translate.types.IMAGE_PULL_POLICY`); kind sets prefer-cached for loaded images."""
    load_balancer_node_ports: bool = False
    """Load-balanced Services as NodePorts: on kind the published node ports stand in for the ALB."""
    deregistration_delay: int = DEFAULT_DEREGISTRATION_DELAY
    """Seconds a load-balanced task drains (preStop) before SIGTERM: the target groups'
    deregistration delay, which lives in ELB and not in the ECS input (ELB default 300)."""
    coalesce_seconds: float = 0.5
    """Child watch events wake their owner this long after the first of a burst (see
    `WorkQueue.add_coalesced`); the owner's own events still run at once."""


class Runtime(Protocol):
    """What reconcilers may use from the runtime (kept narrow so tests can fake it)."""

    @property
    def kube(self) -> Kube: ...

    config: OperatorConfig
    children: ChildCache

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None: ...

    def cached(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def cached_all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def remember(self, obj: Mapping[str, Any]) -> None: ...

    def deleted_pods(self, namespace: str, service_label: str) -> list[dict[str, Any]]: ...


def condition(
    existing: Sequence[Mapping[str, Any]] | None,
    ctype: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
) -> dict[str, Any]:
    """A metav1.Condition whose lastTransitionTime moves only when `status` flips (no-op resyncs)."""
    prev = next((c for c in existing or () if c.get("type") == ctype), None)
    value = "True" if status else "False"
    stamp = prev.get("lastTransitionTime") if prev and prev.get("status") == value else now_iso()
    out = {
        "type": ctype,
        "status": value,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": stamp,
    }
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def merge_conditions(
    existing: Sequence[Mapping[str, Any]] | None, new: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    by_type = {c.get("type"): dict(c) for c in existing or ()}
    for c in new:
        by_type[c["type"]] = c
    return [by_type[k] for k in sorted(by_type, key=str)]


def blocking_text(issues: Sequence[ValidationIssue]) -> str | None:
    """The errors of `issues` as one message, or None when only warnings (or nothing) remain:
    a warning never blocks, and an error is never hidden behind one."""
    errors = errors_of(issues)
    return issues_text(errors) if errors else None


def valid_text(ok: str, issues: Iterable[ValidationIssue]) -> str:
    """The Valid=True condition message: `ok`, then the warnings (ECS accepts these; each says
    what happens instead), so `kubectl describe` shows them for as long as they apply."""
    warns = warnings_of(issues)
    return f"{ok}; warnings: {issues_text(warns)}" if warns else ok


def warning_event(
    conds: Sequence[Mapping[str, Any]], message: str, issues: Iterable[ValidationIssue]
) -> tuple[str, str, str] | None:
    """One Warning event (type, reason, message) when the Valid message gains or changes its
    warnings, not on every resync."""
    warns = warnings_of(issues)
    if not warns or any(c.get("type") == "Valid" and c.get("message") == message for c in conds):
        return None
    return ("Warning", "ValidationWarning", issues_text(warns))


def plain(obj: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(obj))


def cr_document(body: Mapping[str, Any]) -> dict[str, Any]:
    """The custom resource as the core's loader expects it (spec under apiVersion/kind)."""
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {"name": body["metadata"]["name"]},
        "spec": copy.deepcopy(body.get("spec") or {}),
    }


def stop_task_pod(kube: Kube, pod: Mapping[str, Any], stop_code: str | None, reason: str | None) -> None:
    """ECS stops the whole task: record why on the pod (derive_task_status reads it back while
    the pod terminates), then delete it."""
    meta = pod["metadata"]
    kube.merge_patch(
        "v1",
        "Pod",
        meta["name"],
        meta.get("namespace"),
        {"metadata": {"annotations": {STOP_CODE_ANNOTATION: stop_code, STOPPED_REASON_ANNOTATION: reason}}},
    )
    kube.delete("v1", "Pod", meta["name"], meta.get("namespace"))


def task_render_options(config: OperatorConfig, namespace: str, cluster: str, revision: int) -> RenderOptions:
    """How RunTask and scheduled tasks render a task definition: quietly (no explanations), with
    the agent's image pull behaviour."""
    return RenderOptions(
        namespace=namespace,
        cluster=cluster,
        revision=revision,
        explain=False,
        image_pull_behavior=config.image_pull_behavior,
    )
