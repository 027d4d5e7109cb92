"""Pod -> ECS task state: the mapping every ecsk component relies on."""

from __future__ import annotations

from typing import Any

from ecsk.core.tasks.status import (
    ESSENTIAL_ANNOTATION,
    STOP_CODE_ANNOTATION,
    STOPPED_REASON_ANNOTATION,
    derive_task_status,
    essential_exit,
    stopped_service_task,
)


def pod(
    phase: str = "Running",
    node: str | None = "n1",
    statuses: list[dict[str, Any]] | None = None,
    ready: bool = False,
    essential: str | None = None,
    **meta: Any,
) -> dict[str, Any]:
    ann = {ESSENTIAL_ANNOTATION: essential} if essential is not None else {}
    ann.update(meta.pop("annotations", {}))
    spec: dict[str, Any] = {"containers": [{"name": "app"}, {"name": "sidecar"}]}
    if node:
        spec["nodeName"] = node
    return {
        "metadata": {
            "name": "p",
            "uid": "0123abcd-0000-1111-2222-333344445555",
            "annotations": ann,
            "labels": {"ecs.ecsk.io/task-group": "family_web"},
            "creationTimestamp": "2026-01-01T00:00:00Z",
            **meta,
        },
        "spec": spec,
        "status": {
            "phase": phase,
            "containerStatuses": statuses or [],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


RUN = {"running": {"startedAt": "2026-01-01T00:00:05Z"}}


def cs(name: str, state: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"name": name, "state": state, **kw}


def test_id_is_uid_hex() -> None:
    assert derive_task_status(pod()).taskId == "0123abcd000011112222333344445555"


def test_life_cycle() -> None:
    assert derive_task_status(pod("Pending", node=None)).lastStatus == "PROVISIONING"
    st = derive_task_status(
        pod("Pending", statuses=[cs("app", {"waiting": {"reason": "ContainerCreating"}})])
    )
    assert (st.lastStatus, st.desiredStatus) == ("PENDING", "RUNNING")
    both = [cs("app", RUN), cs("sidecar", RUN)]
    assert derive_task_status(pod(statuses=both)).lastStatus == "ACTIVATING"
    st = derive_task_status(pod(statuses=both, ready=True))
    assert st.lastStatus == "RUNNING" and st.startedAt == "2026-01-01T00:00:05Z" and st.node == "n1"
    assert st.group == "family_web" and st.stopCode is None


def test_essential_exit_stops_task() -> None:
    p = pod(
        statuses=[
            cs("app", {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T00:01:00Z"}}),
            cs("sidecar", RUN),
        ],
        essential="app",
    )
    st = derive_task_status(p)
    assert (st.lastStatus, st.desiredStatus) == ("STOPPING", "STOPPED")
    assert st.stopCode == "EssentialContainerExited"
    assert st.stoppedReason == "Essential container in task exited"
    assert st.containers[0].exitCode == 1 and st.containers[0].essential
    assert essential_exit(p) is not None


def test_non_essential_exit_keeps_running() -> None:
    p = pod(
        statuses=[cs("app", RUN), cs("sidecar", {"terminated": {"exitCode": 0}})], ready=True, essential="app"
    )
    st = derive_task_status(p)
    assert st.desiredStatus == "RUNNING" and essential_exit(p) is None
    assert st.containers[1].exitCode == 0 and not st.containers[1].essential


def test_without_annotation_all_essential() -> None:
    p = pod(statuses=[cs("app", RUN), cs("sidecar", {"terminated": {"exitCode": 0}})])
    assert derive_task_status(p).stopCode == "EssentialContainerExited"


def test_failed_to_start() -> None:
    p = pod("Pending", statuses=[cs("app", {"waiting": {"reason": "ErrImagePull", "message": "nope"}})])
    st = derive_task_status(p)
    assert st.stopCode == "TaskFailedToStart" and st.stoppedReason.startswith("CannotPullContainerError")
    assert st.desiredStatus == "STOPPED"


def test_user_stop_and_deleted_record() -> None:
    p = pod(
        statuses=[cs("app", RUN), cs("sidecar", RUN)], ready=True, deletionTimestamp="2026-01-01T01:00:00Z"
    )
    st = derive_task_status(p)
    assert (st.lastStatus, st.stopCode, st.stoppedReason) == (
        "STOPPING",
        "UserInitiated",
        "Task stopped by user",
    )
    gone = derive_task_status(p, deleted=True)
    assert gone.lastStatus == "STOPPED" and gone.stoppedAt == "2026-01-01T01:00:00Z"


def test_operator_decided_stop_code_wins() -> None:
    p = pod(
        statuses=[cs("app", RUN)],
        deletionTimestamp="2026-01-01T01:00:00Z",
        annotations={STOP_CODE_ANNOTATION: "ServiceSchedulerInitiated"},
    )
    assert derive_task_status(p).stopCode == "ServiceSchedulerInitiated"


def test_succeeded_pod_is_stopped() -> None:
    p = pod(
        "Succeeded",
        statuses=[
            cs("app", {"terminated": {"exitCode": 0, "finishedAt": "2026-01-01T00:02:00Z"}}),
            cs("sidecar", {"terminated": {"exitCode": 0}}),
        ],
    )
    st = derive_task_status(p)
    assert st.lastStatus == "STOPPED" and st.stoppedAt == "2026-01-01T00:02:00Z"


def test_health() -> None:
    p = pod(statuses=[cs("app", RUN, ready=True), cs("sidecar", RUN, ready=True)], ready=True)
    p["spec"]["containers"][0]["readinessProbe"] = {"exec": {"command": ["true"]}}
    p["metadata"]["annotations"][ESSENTIAL_ANNOTATION] = "app"
    assert derive_task_status(p).healthStatus == "HEALTHY"
    p["status"]["containerStatuses"][0].update(ready=False, restartCount=2)
    assert derive_task_status(p).healthStatus == "UNHEALTHY"
    q = pod(statuses=[cs("app", RUN), cs("sidecar", RUN)], ready=True)
    assert derive_task_status(q).healthStatus == "UNKNOWN"


def test_evicted_is_termination_notice() -> None:
    p = pod("Failed", statuses=[cs("app", {"terminated": {"exitCode": 137}})])
    p["status"].update(reason="Evicted", message="The node was low on resource: memory.")
    p["metadata"]["annotations"][ESSENTIAL_ANNOTATION] = "sidecar"
    st = derive_task_status(p)
    assert st.lastStatus == "STOPPED"
    assert st.stopCode == "TerminationNotice"


def test_a_service_pod_the_replicaset_deleted_is_a_scaled_in_task() -> None:
    """No stop annotation: the service scheduler scaled it in (ECS's wording names the deployment)."""
    p = pod(
        statuses=[cs("app", RUN), cs("sidecar", RUN)], ready=True, deletionTimestamp="2026-01-01T01:00:00Z"
    )
    st = stopped_service_task(p, "ecs-svc/0000000000000000042", "2026-01-01T01:00:09Z")
    assert (st.lastStatus, st.desiredStatus, st.stopCode) == (
        "STOPPED",
        "STOPPED",
        "ServiceSchedulerInitiated",
    )
    assert st.stoppedReason == "Scaling activity initiated by (deployment ecs-svc/0000000000000000042)"
    assert {c.lastStatus for c in st.containers} == {"STOPPED"}
    assert st.stoppedAt == "2026-01-01T01:00:00Z" and st.startedAt == "2026-01-01T00:00:05Z"
    # StopTask annotated the pod before deleting it: the user's stop stays the user's
    user = pod(
        statuses=[cs("app", RUN)],
        annotations={STOP_CODE_ANNOTATION: "UserInitiated", STOPPED_REASON_ANNOTATION: "done"},
    )
    st = stopped_service_task(user, "ecs-svc/1", "2026-01-01T01:00:09Z")
    assert (st.stopCode, st.stoppedReason, st.stoppedAt) == ("UserInitiated", "done", "2026-01-01T01:00:09Z")


def test_a_deleted_service_pods_exit_is_the_deletions_doing() -> None:
    """Real containers exit on SIGTERM when the ReplicaSet deletes the pod: the task was scaled
    in (or evicted), not stopped by its essential container exiting."""
    exited = {"terminated": {"exitCode": 143, "finishedAt": "2026-01-01T01:00:02Z"}}
    p = pod(statuses=[cs("app", exited), cs("sidecar", exited)], deletionTimestamp="2026-01-01T01:00:00Z")
    assert derive_task_status(p, deleted=True).stopCode == "EssentialContainerExited"
    st = stopped_service_task(p, "ecs-svc/7", "2026-01-01T01:00:09Z")
    assert st.stopCode == "ServiceSchedulerInitiated"
    assert st.stoppedReason == "Scaling activity initiated by (deployment ecs-svc/7)"
    assert [c.exitCode for c in st.containers] == [143, 143]
    p["status"]["conditions"].append(
        {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
        }
    )
    st = stopped_service_task(p, "ecs-svc/7", "2026-01-01T01:00:09Z")
    assert (st.stopCode, st.stoppedReason) == ("TerminationNotice", "Eviction API: evicting")


def test_a_target_group_check_is_not_a_container_health_check() -> None:
    """A load-balanced container without healthCheck gets a TCP readiness probe (the target
    group's check); ECS still reports its health, and the task's, as UNKNOWN."""
    p = pod(statuses=[cs("app", RUN, ready=True), cs("sidecar", RUN, ready=True)], ready=True)
    p["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 8080}}
    p["metadata"]["annotations"][ESSENTIAL_ANNOTATION] = "app"
    assert derive_task_status(p).healthStatus == "UNKNOWN"
