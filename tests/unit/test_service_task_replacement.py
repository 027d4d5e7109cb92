"""Service tasks whose essential container ends: what real containers showed the operator must do.

Kubernetes restarts an exited or liveness-killed container inside the same pod; ECS stops the
task and the service starts another. These are the pure pieces the operator uses for that."""

from __future__ import annotations

from typing import Any

from test_task_status import cs, pod

from ecsk.core.services.events import failed_health_checks
from ecsk.core.tasks.status import (
    ESSENTIAL_EXITED,
    HEALTH_CHECKS_FAILED,
    EndedContainer,
    ended_essential,
    killed_by_health_check,
    replaced_task_record,
)

UID = "0123abcd-0000-1111-2222-333344445555"
RUNNING = {"running": {"startedAt": "2026-01-01T00:01:00Z"}}


def restarted(name: str, code: int, restarts: int = 1) -> dict[str, Any]:
    last = {"terminated": {"exitCode": code, "finishedAt": "2026-01-01T00:00:50Z", "reason": "Error"}}
    return cs(name, RUNNING, restartCount=restarts, lastState=last, ready=True)


def event(
    reason: str, message: str, uid: str = UID, field_path: str = "spec.containers{app}"
) -> dict[str, Any]:
    return {"reason": reason, "message": message, "involvedObject": {"uid": uid, "fieldPath": field_path}}


def test_restarted_essential_container_ended_its_task() -> None:
    ended = ended_essential(pod(statuses=[restarted("app", 3), cs("sidecar", RUNNING)]))
    assert ended == EndedContainer("app", 3, "2026-01-01T00:00:50Z")


def test_terminated_essential_container_ended_its_task_before_any_restart() -> None:
    term = {"terminated": {"exitCode": 0, "finishedAt": "2026-01-01T00:00:50Z", "reason": "Completed"}}
    ended = ended_essential(pod(statuses=[cs("app", term), cs("sidecar", RUNNING)]))
    assert ended is not None and (ended.name, ended.exitCode) == ("app", 0)


def test_non_essential_restart_does_not_end_the_task() -> None:
    p = pod(statuses=[cs("app", RUNNING), restarted("sidecar", 1)], essential="app")
    assert ended_essential(p) is None


def test_start_failures_and_healthy_pods_end_nothing() -> None:
    waiting = {"waiting": {"reason": "ImagePullBackOff", "message": "pull failed"}}
    assert ended_essential(pod(statuses=[cs("app", waiting), cs("sidecar", RUNNING)])) is None
    assert ended_essential(pod(statuses=[cs("app", RUNNING), cs("sidecar", RUNNING)])) is None


def test_liveness_and_startup_kills_are_health_check_failures() -> None:
    liveness = event("Killing", "Container app failed liveness probe, will be restarted")
    startup = event("Killing", "Container app failed startup probe, will be restarted")
    assert killed_by_health_check([liveness], UID, "app")
    assert killed_by_health_check([startup], UID, "app")


def test_other_kills_and_other_pods_are_not_health_check_failures() -> None:
    assert not killed_by_health_check([event("Killing", "Stopping container app")], UID, "app")
    other_pod = event("Killing", "Container app failed liveness probe, will be restarted", uid="other")
    assert not killed_by_health_check([other_pod], UID, "app")
    probe_failed = event("Unhealthy", "Liveness probe failed: HTTP 503")
    assert not killed_by_health_check([probe_failed], UID, "app")
    other_container = event(
        "Killing",
        "Container sidecar failed liveness probe, will be restarted",
        field_path="spec.containers{sidecar}",
    )
    assert not killed_by_health_check([other_container], UID, "app")


def test_record_of_an_exited_essential_container() -> None:
    p = pod(statuses=[restarted("app", 3), cs("sidecar", RUNNING)], ready=True)
    rec = replaced_task_record(p, EndedContainer("app", 3, "2026-01-01T00:00:50Z")).to_dict()
    assert (rec["lastStatus"], rec["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert (rec["stopCode"], rec["stoppedReason"]) == ("EssentialContainerExited", ESSENTIAL_EXITED)
    assert rec["stoppedAt"] == "2026-01-01T00:00:50Z"
    app = next(c for c in rec["containers"] if c["name"] == "app")
    assert (app["lastStatus"], app["exitCode"]) == ("STOPPED", 3)


def test_record_of_a_failed_health_check() -> None:
    p = pod(statuses=[restarted("app", 0), cs("sidecar", RUNNING)], ready=True)
    rec = replaced_task_record(p, EndedContainer("app", 0, None, health_check=True)).to_dict()
    assert (rec["stopCode"], rec["stoppedReason"]) == ("ServiceSchedulerInitiated", HEALTH_CHECKS_FAILED)
    assert rec["healthStatus"] == "UNHEALTHY"
    app = next(c for c in rec["containers"] if c["name"] == "app")
    assert app["healthStatus"] == "UNHEALTHY"


def test_failed_health_checks_event_is_ecs_wording() -> None:
    assert failed_health_checks("web", "abc") == "(service web) (task abc) failed container health checks."
