"""The capacity controller against an in-memory API: assigning tasks, deletion costs, scaling."""

from __future__ import annotations

from typing import Any

from helpers_fake_kube import FakeKube

from ecsk.controller.capacity.providers import DELETION_COST, CapacityController
from ecsk.core.capacity import providers as cap
from ecsk.core.capacity.fleet import INSTANCE_TYPES
from ecsk.core.capacity.scaling import PROVIDER_LABEL, render_instance

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


class Clock:
    """A settable wall clock: launch, join and warm-up times are compared against it."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_group_scales_out_for_waiting_tasks_and_in_to_min_after_warm_up() -> None:
    kube = FakeKube(
        _provider("a", minSize=1, maxSize=5),
        _service([{"capacityProvider": "a", "weight": 1}]),
        *[_unschedulable(_task(i)) for i in range(3)],
        served=SERVED,
    )
    clock = Clock()
    ctl = CapacityController(kube, clock=clock)  # type: ignore[arg-type]
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
    clock.now += 299  # instanceWarmupPeriod defaults to 300 s: no scale-in while warming up
    ctl.reconcile_once()
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 3
    assert not any(n["spec"].get("unschedulable") for n in _nodes(kube, "a"))
    assert kube.objects[("CapacityProvider", "app", "a")]["status"]["warmingInstances"] == 3
    clock.now += 1
    ctl.reconcile_once()  # cordon the empty ones first
    assert sum(1 for n in _nodes(kube, "a") if n["spec"].get("unschedulable")) == 2
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 1
    assert kube.objects[("CapacityProvider", "app", "a")]["status"]["warmingInstances"] == 0


def test_warm_up_period_is_configurable() -> None:
    body = _provider("a", minSize=0, maxSize=5)
    body["spec"]["autoScalingGroupProvider"]["managedScaling"] = {"instanceWarmupPeriod": 5}
    kube = FakeKube(body, _service([{"capacityProvider": "a", "weight": 1}]), served=SERVED)
    kube.add(_unschedulable(_task(0)))
    clock = Clock()
    ctl = CapacityController(kube, clock=clock)  # type: ignore[arg-type]
    ctl.reconcile_once()
    assert len(_nodes(kube, "a")) == 1
    del kube.objects[("Pod", "app", "web-00")]
    clock.now += 4
    ctl.reconcile_once()
    assert not any(n["spec"].get("unschedulable") for n in _nodes(kube, "a"))
    clock.now += 1
    ctl.reconcile_once()
    ctl.reconcile_once()
    assert not _nodes(kube, "a")


def test_launches_in_flight_survive_an_operator_restart() -> None:
    kube = FakeKube(
        _provider("a", minSize=0, maxSize=5, joinDelaySeconds=30),
        _service([{"capacityProvider": "a", "weight": 1}]),
        *[_unschedulable(_task(i)) for i in range(2)],
        served=SERVED,
    )
    clock = Clock()
    CapacityController(kube, clock=clock).reconcile_once()  # type: ignore[arg-type]
    assert not _nodes(kube, "a")
    pending = kube.objects[("CapacityProvider", "app", "a")]["status"]["pendingLaunches"]
    assert len(pending) == 2
    clock.now += 20
    restarted = CapacityController(kube, clock=clock)  # type: ignore[arg-type]
    restarted.reconcile_once()
    status = kube.objects[("CapacityProvider", "app", "a")]["status"]
    assert status["pendingLaunches"] == pending  # resumed: neither launched twice nor re-planned
    assert status["launching"] == 2
    clock.now += 10  # the original join time, not 30 s after the restart
    restarted.reconcile_once()
    assert sorted(n["metadata"]["name"] for n in _nodes(kube, "a")) == sorted(p["name"] for p in pending)
    assert kube.objects[("CapacityProvider", "app", "a")]["status"]["pendingLaunches"] == []


def test_a_launch_whose_instance_already_registered_is_not_repeated() -> None:
    kube = FakeKube(_provider("a", minSize=1, maxSize=5, joinDelaySeconds=30), served=SERVED)
    clock = Clock()
    CapacityController(kube, clock=clock).reconcile_once()  # type: ignore[arg-type]
    (job,) = kube.objects[("CapacityProvider", "app", "a")]["status"]["pendingLaunches"]
    # the operator died after registering the node but before recording that in the status
    kube.add(
        render_instance(
            provider="a",
            name=job["name"],
            region="us-east-1",
            zone=job["zone"],
            instance_type=INSTANCE_TYPES[job["instanceType"]],
            capacity_type="ON_DEMAND",
        )
    )
    clock.now += 30
    CapacityController(kube, clock=clock).reconcile_once()  # type: ignore[arg-type]
    assert [n["metadata"]["name"] for n in _nodes(kube, "a")] == [job["name"]]
    assert kube.objects[("CapacityProvider", "app", "a")]["status"]["pendingLaunches"] == []


def test_mixed_instance_types_size_the_estimate_by_the_largest_and_launch_by_strategy() -> None:
    kube = FakeKube(
        _provider("a", maxSize=5, instanceTypes=["m5.xlarge", "t3.medium"]),
        _service([{"capacityProvider": "a", "weight": 1}]),
        *[_unschedulable(_task(i)) for i in range(3)],
        served=SERVED,
    )
    CapacityController(kube, clock=Clock()).reconcile_once()  # type: ignore[arg-type]
    # three 1-vCPU tasks fit one m5.xlarge (3920m): ECS counts with the largest type
    (node,) = _nodes(kube, "a")
    assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "m5.xlarge"  # prioritized
    cheap = FakeKube(
        _provider(
            "a",
            maxSize=5,
            instanceTypes=["m5.xlarge", "t3.medium"],
            onDemandAllocationStrategy="lowest-price",
        ),
        _service([{"capacityProvider": "a", "weight": 1}]),
        *[_unschedulable(_task(i)) for i in range(3)],
        served=SERVED,
    )
    CapacityController(cheap, clock=Clock()).reconcile_once()  # type: ignore[arg-type]
    (node,) = _nodes(cheap, "a")
    assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "t3.medium"


def test_tasks_too_big_for_the_smallest_type_stop_scale_out() -> None:
    kube = FakeKube(
        _provider("a", maxSize=5), _service([{"capacityProvider": "a", "weight": 1}]), served=SERVED
    )
    big = _unschedulable(_task(0))
    big["spec"]["resources"] = {"requests": {"cpu": "4", "memory": "1024Mi"}}  # t3.medium: 1930m
    kube.add(big)
    CapacityController(kube, clock=Clock()).reconcile_once()  # type: ignore[arg-type]
    assert not _nodes(kube, "a")
    status = kube.objects[("CapacityProvider", "app", "a")]["status"]
    assert status["capacityProviderReservation"] == 100.0  # stays at targetCapacity
    assert status["desiredCapacity"] == 0
    assert any(reason == "TaskNotCompatible" and "t3.medium" in msg for _, reason, msg in kube.events)


def test_termination_protection_keeps_busy_instances() -> None:
    kube = FakeKube(_provider("a", minSize=0, maxSize=5), served=SERVED)
    ctl = CapacityController(kube)  # type: ignore[arg-type]  # maxSize applies despite warm-up
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
    from ecsk.controller.capacity import launch
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


def test_a_refused_cluster_or_provider_is_reported_once_and_its_default_strategy_applies_to_nothing() -> None:
    from ecsk.controller.capacity import launch

    two_bases = [
        {"capacityProvider": "a", "weight": 1, "base": 1},
        {"capacityProvider": "b", "weight": 1, "base": 1},
    ]
    cluster = {
        "apiVersion": API,
        "kind": "ECSCluster",
        "metadata": {"name": "prod", "namespace": "app", "uid": "c1", "generation": 1},
        "spec": {"capacityProviders": ["a", "b"], "defaultCapacityProviderStrategy": two_bases},
    }
    bad_provider = _provider("a", minSize=5, maxSize=2)
    bad_provider["metadata"]["uid"] = "p1"
    kube = FakeKube(cluster, bad_provider, served=SERVED)
    ctl = CapacityController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    ctl.reconcile_once()
    assert [(e[0], e[1]) for e in kube.events] == [("prod", "ValidationFailed"), ("a", "ValidationFailed")]
    assert (
        "Only one capacity provider in a capacity provider strategy can have a base defined."
        in kube.events[0][2]
    )
    assert "Max bound, 2, must be greater than or equal to min bound, 5" in kube.events[1][2]
    for kind, name in (("ECSCluster", "prod"), ("CapacityProvider", "a")):
        [valid] = kube.objects[(kind, "app", name)]["status"]["conditions"]
        assert (valid["type"], valid["status"], valid["reason"]) == ("Valid", "False", "ValidationFailed")
    assert launch.cluster_defaults(kube, ["app"]) == {}  # type: ignore[arg-type]
    cluster["spec"]["defaultCapacityProviderStrategy"] = two_bases[:1]
    kube.objects[("ECSCluster", "app", "prod")]["spec"] = cluster["spec"]
    ctl.reconcile_once()
    [valid] = kube.objects[("ECSCluster", "app", "prod")]["status"]["conditions"]
    assert (valid["status"], valid["reason"]) == ("True", "Valid")
    assert launch.cluster_defaults(kube, ["app"]) == {("app", "prod"): two_bases[:1]}  # type: ignore[arg-type]
