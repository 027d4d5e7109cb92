"""Utilization for step scaling alarms: usage over what the task reserves (pod-level first)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ecsk.core.autoscaling.metrics import aggregate_pods, pod_requests, pod_utilization


def pod(
    name: str,
    containers: list[dict[str, Any]],
    pod_level: dict[str, str] | None = None,
    phase: str = "Running",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers}
    if pod_level is not None:
        spec["resources"] = {"requests": pod_level, "limits": pod_level}
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": phase}}


def container(
    name: str, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "resources": res}


def sample(name: str, *usages: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "containers": [{"name": f"c{i}", "usage": u} for i, u in enumerate(usages)],
    }


def test_container_requests_are_summed_and_a_lone_limit_counts() -> None:
    p = pod(
        "a", [container("app", {"cpu": "250m"}), container("side", limits={"cpu": "250m", "memory": "64Mi"})]
    )
    assert pod_requests(p, "cpu") == Decimal("0.5")
    assert pod_requests(p, "memory") == 64 * 2**20


def test_task_level_size_is_the_reservation_when_containers_have_none() -> None:
    p = pod("a", [container("app"), container("log")], {"cpu": "250m", "memory": "512Mi"})
    assert pod_requests(p, "cpu") == Decimal("0.25")
    assert pod_requests(p, "memory") == 512 * 2**20


def test_task_level_size_wins_over_container_reservations_as_in_the_hpa() -> None:
    # ECS: utilization is of the task's cpu when set; Kubernetes' replica calculator likewise
    # divides by the pod-level request whenever the pod has one.
    p = pod("a", [container("app", {"cpu": "125m", "memory": "128Mi"})], {"cpu": "1"})
    assert pod_requests(p, "cpu") == 1
    assert pod_requests(p, "memory") == 128 * 2**20  # no task-level memory: the containers'


def test_utilization_of_task_level_size_sums_the_containers_usage() -> None:
    pods = [pod("a", [container("app"), container("log")], {"cpu": "250m", "memory": "512Mi"})]
    metrics = [sample("a", {"cpu": "112m", "memory": "128Mi"}, {"cpu": "113m", "memory": "128Mi"})]
    assert pod_utilization(pods, metrics, "cpu") == {"a": pytest.approx(90.0)}
    assert pod_utilization(pods, metrics, "memory") == {"a": pytest.approx(50.0)}


def test_pods_without_reservation_metrics_or_not_running_are_left_out() -> None:
    pods = [
        pod("bare", [container("app")]),
        pod("nometrics", [container("app", {"cpu": "100m"})]),
        pod("pending", [container("app", {"cpu": "100m"})], phase="Pending"),
        pod("ok", [container("app", {"cpu": "100m"})]),
    ]
    metrics = [sample(n, {"cpu": "50m"}) for n in ("bare", "pending", "ok")]
    assert pod_utilization(pods, metrics, "cpu") == {"ok": pytest.approx(50.0)}


def test_unreadable_pod_level_quantity_falls_back_to_the_containers() -> None:
    p = pod("a", [container("app", {"cpu": "100m"})], {"cpu": "lots"})
    assert pod_requests(p, "cpu") == Decimal("0.1")


@pytest.mark.parametrize(
    ("aggregation", "want"), [(None, 50.0), ("Average", 50.0), ("Minimum", 20.0), ("Maximum", 80.0)]
)
def test_aggregate_pods(aggregation: str | None, want: float) -> None:
    assert aggregate_pods([20.0, 50.0, 80.0], aggregation) == want
    assert aggregate_pods([], aggregation) is None
