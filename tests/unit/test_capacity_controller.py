"""The capacity controller against an in-memory API: assigning tasks, deletion costs, scaling."""

from __future__ import annotations

from typing import Any

from helpers_fake_kube import FakeKube

from ecsk.controller.capacity import DELETION_COST, CapacityController
from ecsk.core import capacity as cap
from ecsk.core.capacity_scaling import PROVIDER_LABEL

API = "ecs.ecsk.io/v1alpha1"
SERVED = ("CapacityProvider", "ECSService", "Task", "ECSCluster")


def _provider(name: str, **asg: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "CapacityProvider",
        "metadata": {"name": name, "namespace": "app"},
        "spec": {
            "autoScalingGroupProvider": {"autoScalingGroupArn": f"arn:x/{name}"},
            "autoScalingGroup": {"instanceTypes": ["t3.medium"], "joinDelaySeconds": 0, **asg},
        },
    }


def _service(strategy: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ECSService",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"serviceName": "web", "taskDefinition": "td", "capacityProviderStrategy": strategy},
    }


def _task(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"web-{i:02d}",
            "namespace": "app",
            "labels": {"ecs.ecsk.io/service": "web"},
            "creationTimestamp": f"2026-01-01T00:00:{i:02d}Z",
        },
        "spec": {
            "schedulingGates": [{"name": cap.CAPACITY_GATE}],
            "resources": {"requests": {"cpu": "1000m", "memory": "1024Mi"}},
            "containers": [{"name": "c"}],
        },
        **extra,
    }


def _provider_of(kube: FakeKube) -> dict[str, str]:
    return {
        name: (o["metadata"].get("labels") or {}).get(PROVIDER_LABEL, "")
        for (k, _, name), o in kube.objects.items()
        if k == "Pod"
    }


def _nodes(kube: FakeKube, provider: str) -> list[dict[str, Any]]:
    return [
        o
        for (k, _, _), o in kube.objects.items()
        if k == "Node" and (o["metadata"].get("labels") or {}).get(PROVIDER_LABEL) == provider
    ]


def test_gated_tasks_are_split_by_base_then_weight() -> None:
    strategy = [{"capacityProvider": "a", "base": 2, "weight": 1}, {"capacityProvider": "b", "weight": 3}]
    tasks = [_task(i) for i in range(10)]
    kube = FakeKube(
        _provider("a", maxSize=0), _provider("b", maxSize=0), _service(strategy), *tasks, served=SERVED
    )
    CapacityController(kube).reconcile_once()  # type: ignore[arg-type]
    chosen = _provider_of(kube)
    assert sorted(chosen.values()).count("a") == 4
    assert sorted(chosen.values()).count("b") == 6
    pod = kube.objects[("Pod", "app", "web-00")]
    assert pod["spec"]["nodeSelector"] == {PROVIDER_LABEL: "a"}
    assert "schedulingGates" not in pod["spec"]
    costs = sorted(
        (int(o["metadata"]["annotations"][DELETION_COST]), o["metadata"]["labels"][PROVIDER_LABEL])
        for (k, _, _), o in kube.objects.items()
        if k == "Pod"
    )
    # lowest cost first: removing tasks in this order keeps the split at every size
    counts = {"a": 4, "b": 6}
    for _, provider in costs:
        counts[provider] -= 1
        expected = cap.split_by_name(
            [cap.StrategyItem("a", 1, 2), cap.StrategyItem("b", 3, 0)], sum(counts.values())
        )
        assert counts == expected


def test_unknown_or_unassociated_provider_is_reported_and_the_task_stays_gated() -> None:
    cluster = {
        "apiVersion": API,
        "kind": "ECSCluster",
        "metadata": {"name": "default", "namespace": "app"},
        "spec": {"capacityProviders": ["other"]},
    }
    kube = FakeKube(_service([{"capacityProvider": "ghost", "weight": 1}]), _task(0), served=SERVED)
    ctl = CapacityController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    assert any("'ghost' was not found" in e[2] for e in kube.events)
    kube2 = FakeKube(
        _provider("a"), cluster, _service([{"capacityProvider": "a", "weight": 1}]), _task(0), served=SERVED
    )
    CapacityController(kube2).reconcile_once()  # type: ignore[arg-type]
    assert any("not associated with the cluster" in e[2] for e in kube2.events)
    assert kube2.objects[("Pod", "app", "web-00")]["spec"]["schedulingGates"]


def _unschedulable(pod: dict[str, Any]) -> dict[str, Any]:
    pod["spec"].pop("schedulingGates")
    pod["spec"]["nodeSelector"] = {PROVIDER_LABEL: "a"}
    pod["metadata"]["labels"][PROVIDER_LABEL] = "a"
    pod["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    }
    return pod


def test_group_scales_out_for_waiting_tasks_and_in_to_min() -> None:
    kube = FakeKube(
        _provider("a", minSize=1, maxSize=5),
        _service([{"capacityProvider": "a", "weight": 1}]),
        *[_unschedulable(_task(i)) for i in range(3)],
        served=SERVED,
    )
    ctl = CapacityController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 3  # one 1-vCPU task per t3.medium, join delay 0
    zones = {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in _nodes(kube, "a")}
    assert len(zones) == 3
    status = kube.objects[("CapacityProvider", "app", "a")]["status"]
    assert status["desiredCapacity"] == 3
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 3  # steady: no further launches while tasks wait
    for i in range(3):
        del kube.objects[("Pod", "app", f"web-{i:02d}")]
    ctl.reconcile_once()  # cordon the empty ones first
    assert sum(1 for n in _nodes(kube, "a") if n["spec"].get("unschedulable")) == 2
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 1


def test_termination_protection_keeps_busy_instances() -> None:
    kube = FakeKube(_provider("a", minSize=0, maxSize=5), served=SERVED)
    ctl = CapacityController(kube)  # type: ignore[arg-type]
    kube.add(_unschedulable(_task(0)))
    ctl.reconcile_once()
    (node,) = _nodes(kube, "a")
    pod = kube.objects[("Pod", "app", "web-00")]
    pod["spec"]["nodeName"] = node["metadata"]["name"]
    pod["status"] = {"phase": "Running"}
    body = kube.objects[("CapacityProvider", "app", "a")]
    body["spec"]["autoScalingGroup"]["maxSize"] = 0  # forces a scale-in below the busy count
    body["spec"]["autoScalingGroupProvider"]["managedTerminationProtection"] = "ENABLED"
    ctl.reconcile_once()
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 1
    body["spec"]["autoScalingGroupProvider"]["managedTerminationProtection"] = "DISABLED"
    ctl.reconcile_once()
    ctl.reconcile_once()
    assert not _nodes(kube, "a")


def test_bad_providers_are_reported_not_fatal() -> None:
    broken = _provider("x", instanceTypes=["z9.huge"])
    invalid = _provider("y") | {"spec": {"autoScalingGroup": {"instanceTypes": []}}}
    kube = FakeKube(broken, invalid, _provider("ok", minSize=1), served=SERVED)
    CapacityController(kube).reconcile_once()  # type: ignore[arg-type]
    assert {e[0] for e in kube.events} == {"x", "y"}
    assert len(_nodes(kube, "ok")) == 1


def test_cluster_default_strategy_applies_without_launch_type_or_strategy() -> None:
    from ecsk.controller import launch
    from ecsk.core.models import ECSService

    cluster = {
        "apiVersion": API,
        "kind": "ECSCluster",
        "metadata": {"name": "prod", "namespace": "app"},
        "spec": {
            "capacityProviders": ["a"],
            "defaultCapacityProviderStrategy": [{"capacityProvider": "a", "weight": 1}],
        },
    }
    kube = FakeKube(cluster, served=SERVED)
    plain = ECSService.model_validate({"serviceName": "web", "taskDefinition": "td", "cluster": "prod"})
    filled = launch.with_cluster_default(kube, "app", plain)  # type: ignore[arg-type]
    assert [i.capacityProvider for i in filled.capacityProviderStrategy or ()] == ["a"]
    ec2 = plain.model_copy(update={"launchType": "EC2"})
    assert launch.with_cluster_default(kube, "app", ec2) is ec2  # type: ignore[arg-type]
    other = plain.model_copy(update={"cluster": "arn:aws:ecs:us-east-1:1:cluster/dev"})
    assert launch.with_cluster_default(kube, "app", other) is other  # type: ignore[arg-type]
    kube.add(_service([]) | {"spec": {"serviceName": "web", "taskDefinition": "td", "cluster": "prod"}})
    assert launch.owners(kube, None)[("app", "svc:web")] == ([{"capacityProvider": "a", "weight": 1}], "prod")  # type: ignore[arg-type]
