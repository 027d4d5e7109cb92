"""Capacity providers on a live cluster: the base/weight split, and managed scaling of the group.

Everything runs through `ecsk operator -n <ns>` (its capacity controller handles the providers
declared in that namespace). Node labels carry provider names, so names include the namespace.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for

from ecsk.core.capacity.scaling import PROVIDER_LABEL

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
API = "ecs.ecsk.io/v1alpha1"
ASG_ARN = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:0000:autoScalingGroupName"


def _apply(kubeconfig: str, namespace: str, *docs: dict[str, Any]) -> None:
    kubectl(
        kubeconfig, "apply", "-n", namespace, "-f", "-", stdin="\n---\n".join(json.dumps(d) for d in docs)
    )


def _provider_nodes(api: pykube.HTTPClient, namespace: str) -> list[pykube.Node]:
    return [n for n in pykube.Node.objects(api) if n.labels.get(PROVIDER_LABEL, "").endswith(namespace)]


@pytest.fixture
def capacity(kubeconfig: str, api: pykube.HTTPClient, namespace: str) -> Iterator[None]:
    """CRDs in place; on teardown our providers and their instances go even if a test failed."""
    for crd in ("capacityproviders", "ecsclusters"):
        kubectl(kubeconfig, "apply", "-f", str(REPO / "crds" / f"{crd}.ecs.ecsk.io.yaml"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "crd/capacityproviders.ecs.ecsk.io")
    try:
        yield
    finally:
        for node in _provider_nodes(api, namespace):
            node.delete()


@pytest.fixture
def operator(kubeconfig: str, namespace: str, capacity: None) -> Iterator[None]:
    """`ecsk operator -n <namespace>`: it runs the capacity controller for the namespace's providers."""
    op = OperatorProcess(kubeconfig, namespace, settings=("--resync", "5"))
    op.start()
    try:
        yield
    finally:
        op.stop()


def provider(
    name: str, *, min_size: int, max_size: int, instance: str = "t3.medium", join_delay: float = 1
) -> dict[str, Any]:
    """A provider whose instances join after `join_delay` s and warm up for 2 s (ECS: 300 s)."""
    return {
        "apiVersion": API,
        "kind": "CapacityProvider",
        "metadata": {"name": name},
        "spec": {
            "autoScalingGroupProvider": {
                "autoScalingGroupArn": f"{ASG_ARN}/{name}",
                "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 2},
                "managedTerminationProtection": "ENABLED",
            },
            "autoScalingGroup": {
                "instanceTypes": [instance],
                "minSize": min_size,
                "maxSize": max_size,
                "joinDelaySeconds": join_delay,
            },
        },
    }


def task_definition(cpu: str, memory: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "TaskDefinition",
        "metadata": {"name": "cap"},
        "spec": {
            "family": "cap",
            "networkMode": "bridge",
            "requiresCompatibilities": ["EC2"],
            "cpu": cpu,
            "memory": memory,
            "containerDefinitions": [{"name": "app", "image": "nginx", "essential": True}],
        },
    }


def service(desired: int, strategy: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ECSService",
        "metadata": {"name": "web"},
        "spec": {
            "serviceName": "web",
            "taskDefinition": "cap",
            "desiredCount": desired,
            "capacityProviderStrategy": strategy,
        },
    }


def _running_by_provider(api: pykube.HTTPClient, namespace: str) -> Counter[str]:
    pods = pykube.Pod.objects(api, namespace=namespace).filter(selector={"ecs.ecsk.io/service": "web"})
    return Counter(
        p.labels.get(PROVIDER_LABEL, "")
        for p in pods
        if p.obj["status"].get("phase") == "Running" and not p.obj["metadata"].get("deletionTimestamp")
    )


def _scale(kubeconfig: str, namespace: str, desired: int) -> None:
    kubectl(
        kubeconfig, "patch", "-n", namespace, "ecsservices.ecs.ecsk.io", "web", "--type=merge",
        "-p", json.dumps({"spec": {"desiredCount": desired}}),
    )  # fmt: skip


def test_base_then_weights_split_holds_while_scaling(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, operator: None
) -> None:
    a, b = f"cp-a-{namespace}", f"cp-b-{namespace}"
    strategy = [{"capacityProvider": a, "base": 2, "weight": 1}, {"capacityProvider": b, "weight": 3}]
    _apply(
        kubeconfig,
        namespace,
        provider(a, min_size=1, max_size=10),
        provider(b, min_size=1, max_size=10),
        task_definition("256", "512"),
        service(10, strategy),
    )
    want = Counter({a: 4, b: 6})  # base 2 on a, then 8 by 1:3 -> a 2, b 6
    wait_for(lambda: _running_by_provider(api, namespace) == want, timeout=120, what=f"split {dict(want)}")
    for pod in pykube.Pod.objects(api, namespace=namespace).filter(selector={"ecs.ecsk.io/service": "web"}):
        node = pykube.Node.objects(api).get(name=pod.obj["spec"]["nodeName"])
        assert node.labels[PROVIDER_LABEL] == pod.labels[PROVIDER_LABEL]
        assert node.labels["eks.amazonaws.com/nodegroup"] == pod.labels[PROVIDER_LABEL]
    _scale(kubeconfig, namespace, 5)
    want = Counter({a: 3, b: 2})  # base 2 on a, then 3 by 1:3 -> a 1, b 2
    wait_for(lambda: _running_by_provider(api, namespace) == want, timeout=90, what=f"split {dict(want)}")


def test_group_scales_out_for_pending_tasks_and_back_in_to_min(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, operator: None
) -> None:
    name = f"cp-{namespace}"
    # t3.medium: 1930m allocatable -> exactly one 1 vCPU task per instance.
    _apply(kubeconfig, namespace, provider(name, min_size=1, max_size=5), task_definition("1024", "1024"))
    wait_for(lambda: len(_provider_nodes(api, namespace)) == 1, timeout=30, what="minSize instance")
    _apply(kubeconfig, namespace, service(3, [{"capacityProvider": name, "weight": 1}]))
    wait_for(
        lambda: _running_by_provider(api, namespace)[name] == 3,
        timeout=120,
        what="3 tasks running after scale-out",
    )
    nodes = _provider_nodes(api, namespace)
    assert len(nodes) == 3
    assert len({n.labels["topology.kubernetes.io/zone"] for n in nodes}) == 3  # AZ-balanced
    _scale(kubeconfig, namespace, 0)
    wait_for(lambda: len(_provider_nodes(api, namespace)) == 1, timeout=90, what="scale-in to minSize")


def test_cluster_default_strategy_is_used_without_launch_type(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, operator: None
) -> None:
    name = f"cp-{namespace}"
    cluster = {
        "apiVersion": API,
        "kind": "ECSCluster",
        "metadata": {"name": "prod"},
        "spec": {
            "clusterName": "prod",
            "capacityProviders": [name],
            "defaultCapacityProviderStrategy": [{"capacityProvider": name, "weight": 1}],
        },
    }
    svc = service(2, [])
    svc["spec"].pop("capacityProviderStrategy")
    svc["spec"]["cluster"] = "prod"
    _apply(
        kubeconfig,
        namespace,
        cluster,
        provider(name, min_size=0, max_size=3),
        task_definition("256", "512"),
        svc,
    )
    wait_for(
        lambda: _running_by_provider(api, namespace)[name] == 2,
        timeout=90,
        what="tasks on the default provider",
    )
    assert len(_provider_nodes(api, namespace)) == 1  # two small tasks share one instance


def _status(kubeconfig: str, namespace: str, name: str) -> dict[str, Any]:
    out = kubectl(kubeconfig, "get", "-n", namespace, "capacityproviders.ecs.ecsk.io", name, "-o", "json")
    return dict(json.loads(out.stdout).get("status") or {})


def test_launches_in_flight_survive_an_operator_restart(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, capacity: None
) -> None:
    name = f"cp-{namespace}"
    op = OperatorProcess(kubeconfig, namespace, settings=("--resync", "5"))
    op.start()
    try:
        _apply(kubeconfig, namespace, provider(name, min_size=2, max_size=3, join_delay=25))
        pending = wait_for(
            lambda: _status(kubeconfig, namespace, name).get("pendingLaunches"),
            timeout=30,
            what="launches recorded in the status",
        )
        assert len(pending) == 2 and not _provider_nodes(api, namespace)
        op.kill()  # mid-launch: the instances have not registered yet
        op.start()
        nodes = wait_for(
            lambda: _provider_nodes(api, namespace) if len(_provider_nodes(api, namespace)) >= 2 else None,
            timeout=60,
            what="the recorded launches registering",
        )
        # the same instances the first operator launched: none twice, none forgotten
        assert sorted(n.name for n in nodes) == sorted(p["name"] for p in pending)
        wait_for(
            lambda: _status(kubeconfig, namespace, name).get("pendingLaunches") == [],
            timeout=30,
            what="no launches left in flight",
        )
        assert len(_provider_nodes(api, namespace)) == 2
    finally:
        op.stop()
