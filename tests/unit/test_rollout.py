"""Deployment bookkeeping and circuit breaker."""

from __future__ import annotations

from typing import Any

from ecsk.core.common.labels import LABEL_DEPLOYMENT_TOKEN, LABEL_REVISION
from ecsk.core.services import rollout as ro


def test_threshold_clamped() -> None:
    assert [ro.failure_threshold(n) for n in (0, 1, 6, 7, 10, 1000)] == [3, 3, 3, 4, 5, 200]


def test_bounds() -> None:
    assert ro.ecs_bounds(4, 50, 200) == (2, 8)
    assert ro.ecs_bounds(3, 100, 150) == (3, 4)


def crash_pod(uid: str, restarts: int) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid},
        "spec": {"containers": [{"name": "app"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        },
    }


def run(
    prev: list[dict[str, Any]], rev: int, observed: dict[ro.DeploymentKey | int, ro.Observed], **kw: Any
) -> ro.Outcome:
    args: dict[str, Any] = dict(
        service_uid="u",
        revision=rev,
        task_definition=f"td:{rev}",
        desired=4,
        observed=observed,
        circuit_breaker=True,
        rollback=True,
        settled=True,
        now="t",
    )
    args.update(kw)
    return ro.step(prev, **args)


def test_first_deployment_completes() -> None:
    out = run([], 1, {1: ro.Observed(running=2)}, settled=False)
    assert out.deployments[0].rolloutState == "IN_PROGRESS" and out.completed is None
    out = run([d.to_dict() for d in out.deployments], 1, {1: ro.Observed(running=4)})
    assert out.deployments[0].rolloutState == "COMPLETED" and out.completed == out.deployments[0].id
    again = run([d.to_dict() for d in out.deployments], 1, {1: ro.Observed(running=4)})
    assert again.completed is None
    assert [d.to_dict() for d in again.deployments] == [d.to_dict() for d in out.deployments]


def test_new_revision_makes_old_active_until_drained() -> None:
    done = run([], 1, {1: ro.Observed(running=4)}).deployments
    out = run([d.to_dict() for d in done], 2, {1: ro.Observed(running=3), 2: ro.Observed(pending=2)})
    assert [(d.status, d.revision) for d in out.deployments] == [("PRIMARY", 2), ("ACTIVE", 1)]
    assert out.deployments[0].rollbackRevision == 1 and out.deployments[1].desiredCount == 0
    out = run([d.to_dict() for d in out.deployments], 2, {2: ro.Observed(running=4)})
    assert [d.status for d in out.deployments] == ["PRIMARY"] and out.completed


def test_circuit_breaker_rolls_back() -> None:
    done = run([], 1, {1: ro.Observed(running=4)}).deployments
    pods = (crash_pod("a", 2), crash_pod("b", 1))
    out = run(
        [d.to_dict() for d in done], 2, {1: ro.Observed(running=4), 2: ro.Observed(pending=2, pods=pods)}
    )
    assert out.deployments[0].rolloutState == "FAILED" and out.rollback_to == 1 and out.failed
    assert out.deployments[0].failedTasks == 3


def test_failures_survive_pod_deletion_and_no_breaker_warns() -> None:
    done = run([], 1, {1: ro.Observed(running=4)}).deployments
    out = run(
        [d.to_dict() for d in done], 2, {2: ro.Observed(pods=(crash_pod("a", 2),))}, circuit_breaker=False
    )
    out = run(
        [d.to_dict() for d in out.deployments],
        2,
        {2: ro.Observed(pods=(crash_pod("b", 1),))},
        circuit_breaker=False,
    )
    assert (
        out.deployments[0].failedTasks == 3
        and out.unable_to_start
        and out.deployments[0].rolloutState == "IN_PROGRESS"
    )


def test_effective_revision_pin() -> None:
    pin = ro.RollbackPin(2, 1, 5)
    assert ro.effective_revision(2, 5, pin) == (1, pin)
    assert ro.effective_revision(3, 5, pin) == (3, None)
    assert ro.effective_revision(2, 6, pin) == (2, None)
    assert ro.RollbackPin.from_dict(pin.to_dict()) == pin


def test_forced_deployment_of_same_revision_replaces_tasks() -> None:
    """UpdateService forceNewDeployment: a new token is a new PRIMARY deployment of the same
    revision; the old one stays ACTIVE while its tasks run, and completion waits for them."""
    done = run([], 3, {3: ro.Observed(running=4)}).deployments
    old_id = done[0].id
    out = run(
        [d.to_dict() for d in done],
        3,
        {(3, ""): ro.Observed(running=4), (3, "tok1"): ro.Observed(pending=2)},
        token="tok1",
        settled=False,
    )
    primary, active = out.deployments
    assert primary.status == "PRIMARY" and primary.token == "tok1" and primary.revision == 3
    assert primary.id != old_id and primary.id == ro.deployment_id("u", 3, "tok1")
    assert (active.id, active.status, active.runningCount) == (old_id, "ACTIVE", 4)
    assert primary.pendingCount == 2 and primary.rolloutState == "IN_PROGRESS"
    assert primary.to_dict()["token"] == "tok1" and "token" not in active.to_dict()
    # the old tasks still run: not complete even if Kubernetes calls it settled
    out = run(
        [d.to_dict() for d in out.deployments],
        3,
        {(3, ""): ro.Observed(running=1), (3, "tok1"): ro.Observed(running=4)},
        token="tok1",
    )
    assert out.completed is None and len(out.deployments) == 2
    out = run([d.to_dict() for d in out.deployments], 3, {(3, "tok1"): ro.Observed(running=4)}, token="tok1")
    assert out.completed == primary.id and [d.id for d in out.deployments] == [primary.id]
    # the same token again is the same deployment, not another one
    settled = [d.to_dict() for d in out.deployments]
    again = run(settled, 3, {(3, "tok1"): ro.Observed(running=4)}, token="tok1")
    assert [d.id for d in again.deployments] == [primary.id] and again.completed is None


def test_plain_revision_key_never_counts_a_forced_deployments_pods() -> None:
    d = ro.Deployment(id="x", status="PRIMARY", revision=2, taskDefinition="td:2", desiredCount=1, token="t")
    assert ro.observed_for({2: ro.Observed(running=5)}, d) == ro.Observed()
    assert ro.observed_for({(2, "t"): ro.Observed(running=1)}, d).running == 1


def _start_pod(name: str, revision: int, token: str = "", **meta: Any) -> dict[str, Any]:
    labels = {LABEL_REVISION: str(revision)}
    if token:
        labels[LABEL_DEPLOYMENT_TOKEN] = token
    return {"metadata": {"name": name, "labels": labels, **meta}}


def test_unchecked_starts_are_the_current_deployments_new_pods_only() -> None:
    pods = [
        _start_pod("new", 2),
        _start_pod("checked", 2, annotations={ro.START_CHECKED_ANNOTATION: "true"}),
        _start_pod("old-revision", 1),
        _start_pod("other-token", 2, token="t1"),
        _start_pod("terminating", 2, deletionTimestamp="2026-01-01T00:00:00Z"),
    ]
    assert [p["metadata"]["name"] for p in ro.unchecked_starts(pods, (2, ""))] == ["new"]
    assert [p["metadata"]["name"] for p in ro.unchecked_starts(pods, (2, "t1"))] == ["other-token"]
