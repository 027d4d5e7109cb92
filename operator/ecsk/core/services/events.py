"""ECS service event messages, word for word, and the kube-scheduler reasons they come from.

Users grep for ECS's exact sentences (runbooks, alarms on `describe-services` events), so the
text here copies ECS's wording; only the ids inside the parentheses are ecsk's (task ids are pod
UIDs, container instances are node names). The scheduler side turns kube-scheduler's
FailedScheduling summary into the one reason ECS would name for "the closest matching instance".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

PlacementReason = Literal["cpu", "memory", "gpu", "port", "constraint", "no-instances", "other"]

MAX_EVENTS = 20
"""ECS keeps the 100 most recent; ecsk keeps fewer because they live in the object's status."""

REPEAT_WINDOW = timedelta(minutes=5)
"""ECS does not repeat an identical event in quick succession; neither do we (keeps resyncs silent)."""


def _svc(service: str) -> str:
    return f"(service {service})"


def steady_state(service: str) -> str:
    return f"{_svc(service)} has reached a steady state."


def _tasks(ids: Sequence[str]) -> str:
    return " ".join(f"(task {i})" for i in ids)


def started_tasks(service: str, task_ids: Sequence[str]) -> str:
    """ECS says 'has started 1 tasks' (no singular form); so do we."""
    return f"{_svc(service)} has started {len(task_ids)} tasks: {_tasks(task_ids)}."


def failed_health_checks(service: str, task_id: str) -> str:
    """ECS's event when the service scheduler stops a task whose essential container is UNHEALTHY."""
    return f"{_svc(service)} (task {task_id}) failed container health checks."


def stopped_tasks(service: str, task_ids: Sequence[str]) -> str:
    return f"{_svc(service)} has stopped {len(task_ids)} running tasks: {_tasks(task_ids)}."


def deployment_completed(service: str, deployment: str) -> str:
    return f"{_svc(service)} (deployment {deployment}) deployment completed."


def deployment_failed(service: str, deployment: str) -> str:
    return f"{_svc(service)} (deployment {deployment}) deployment failed: tasks failed to start."


def rolling_back(service: str, deployment: str, to_deployment: str) -> str:
    """ecsk wording (ECS's console text is not in the API model): names both deployments."""
    return f"{_svc(service)} (deployment {deployment}) rolling back to (deployment {to_deployment})."


def failed_to_launch(service: str, error: str) -> str:
    """A task could not start (its secrets could not be fetched, ...): ECS's scheduler sentence."""
    return f"{_svc(service)} failed to launch a task with (error {error})."


def unable_to_start_consistently(service: str) -> str:
    return f"{_svc(service)} is unable to consistently start tasks successfully."


def deployment_config_blocked(service: str) -> str:
    return (
        f"{_svc(service)} was unable to stop or start tasks during a deployment because of the service "
        "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    )


def kind_not_served(service: str, kind: str) -> str:
    """ecsk's own message (ECS has no equivalent: its load balancer integration always exists)."""
    hint = " (the AWS Load Balancer Controller's CRD)" if kind.startswith("TargetGroupBinding.") else ""
    return (
        f"{_svc(service)} could not create its {kind}: this cluster does not serve it{hint}. "
        "The tasks run without it."
    )


_UNABLE = "was unable to place a task because no container instance met all of its requirements."


def unable_to_place(service: str, reason: PlacementReason, instance: str | None = None) -> str:
    """One message per ECS placement-failure kind; `instance` is the closest node when known."""
    head = f"{_svc(service)} {_UNABLE}"
    if reason == "no-instances":
        return f"{head} Reason: No Container Instances were found in your cluster."
    ci = f"container-instance {instance}" if instance else "container-instance"
    tail = {
        "cpu": "has insufficient CPU units available.",
        "memory": "has insufficient memory available.",
        "gpu": "has insufficient GPU resource available.",
        "port": "is already using a port required by your task.",
        "constraint": 'encountered error "MemberOf placement constraint unsatisfied."',
        "other": 'encountered error "Task cannot be placed."',
    }[reason]
    return f"{head} The closest matching {ci} {tail}"


# --- kube-scheduler FailedScheduling -> ECS reason -------------------------------------------

_HEAD = re.compile(r"^\s*(\d+)/(\d+) nodes are available(?::\s*(.*))?$", re.S)
_ITEM = re.compile(r"^\s*(\d+)\s+(.*?)\s*$")
_RESOURCE_ORDER: tuple[PlacementReason, ...] = ("cpu", "memory", "gpu", "port")


@dataclass(frozen=True)
class SchedulingFailure:
    """What kube-scheduler said, boiled down to ECS's vocabulary."""

    reason: PlacementReason
    total_nodes: int
    counts: dict[str, int]
    resource: str | None = None  # the Kubernetes resource name behind cpu/memory/gpu

    @property
    def message_reason(self) -> PlacementReason:
        return self.reason


def _classify(text: str) -> tuple[PlacementReason, str | None]:
    low = text.lower()
    m = re.match(r"insufficient\s+(\S+)", low)
    if m:
        res = m.group(1)
        if res == "cpu":
            return "cpu", res
        if res in ("memory", "hugepages-2mi", "hugepages-1gi"):
            return "memory", res
        if "gpu" in res:
            return "gpu", res
        if res in ("pods", "ephemeral-storage"):
            return "other", res
        return "other", res
    if "free ports" in low or "host port" in low:
        return "port", None
    if any(
        k in low
        for k in (
            "affinity",
            "selector",
            "taint",
            "topology spread",
            "unschedulable",
            "volume node affinity",
            "didn't match",
        )
    ):
        return "constraint", None
    return "other", None


def parse_failed_scheduling(message: str) -> SchedulingFailure | None:
    """Parse `0/9 nodes are available: 3 Insufficient cpu, 6 node(s) didn't match ... preemption: ...`.

    ECS reports the *closest* instance: one that passed the constraints but lacked a resource is
    closer than one excluded by a constraint, so resource reasons win over constraint reasons;
    among resources the most frequent one wins, ties broken cpu > memory > gpu > port.
    """
    if not message:
        return None
    text = message.split(" preemption:", 1)[0].strip()
    if re.search(r"no nodes available to schedule pods", text, re.I):
        return SchedulingFailure("no-instances", 0, {})
    m = _HEAD.match(text)
    if not m:
        return None
    total = int(m.group(2))
    if total == 0:
        return SchedulingFailure("no-instances", 0, {})
    body = (m.group(3) or "").rstrip(".")
    counts: dict[str, int] = {}
    for part in _split_items(body):
        im = _ITEM.match(part)
        if im:
            counts[im.group(2)] = counts.get(im.group(2), 0) + int(im.group(1))
        elif part.strip():
            counts[part.strip()] = counts.get(part.strip(), 0) + 1
    by_reason: dict[PlacementReason, int] = {}
    resource_of: dict[PlacementReason, str | None] = {}
    for text_reason, n in counts.items():
        reason, res = _classify(text_reason)
        by_reason[reason] = by_reason.get(reason, 0) + n
        if res and reason not in resource_of:
            resource_of[reason] = res
    resources = [r for r in _RESOURCE_ORDER if r in by_reason]
    if resources:
        best = max(resources, key=lambda r: (by_reason[r], -_RESOURCE_ORDER.index(r)))
        return SchedulingFailure(best, total, counts, resource_of.get(best))
    if "constraint" in by_reason:
        return SchedulingFailure("constraint", total, counts)
    return SchedulingFailure("other", total, counts)


def _split_items(body: str) -> list[str]:
    """Items are comma separated, but taint descriptions contain `{key: value}` with commas."""
    items: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in body:
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if cur:
        items.append("".join(cur))
    return items


# --- the bounded event list kept in ECSService status ------------------------------------------


@dataclass(frozen=True)
class ServiceEvent:
    id: str
    createdAt: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "createdAt": self.createdAt, "message": self.message}


def event_id(message: str, created_at: str) -> str:
    """Deterministic, so a retried status patch after a conflict does not invent a second event."""
    h = hashlib.sha256(f"{created_at}|{message}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def add_events(
    existing: Iterable[dict[str, Any]], messages: Iterable[str], now: datetime, limit: int = MAX_EVENTS
) -> tuple[list[dict[str, Any]], list[str]]:
    """Newest first (as describe-services); returns the new list and the messages actually added.

    A message identical to one already recorded within REPEAT_WINDOW is dropped, so a resync that
    sees the same unplaceable pod again writes nothing.
    """
    events = [dict(e) for e in existing]
    added: list[str] = []
    stamp = now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    for msg in messages:
        recent = False
        for e in events:
            if e.get("message") == msg:
                t = _parse_time(str(e.get("createdAt", "")))
                recent = t is None or now - t < REPEAT_WINDOW
                break
        if recent or msg in added:
            continue
        events.insert(0, ServiceEvent(event_id(msg, stamp), stamp, msg).to_dict())
        added.append(msg)
    return events[:limit], added
