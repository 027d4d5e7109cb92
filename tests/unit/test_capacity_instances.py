"""`ecsk instances` rows: registered and remaining ECS units from allocatable and pod requests."""

from __future__ import annotations

from typing import Any

from ecsk.cli.instances_cmd import describe, describe_all, pod_reservation, provider_of
from ecsk.core.capacity import fargate as fg
from ecsk.core.capacity.fleet import INSTANCE_TYPES, render_ec2_node


def _pod(node: str, cpu: str, mem: str, phase: str = "Running", ns: str = "app") -> dict[str, Any]:
    res = {"requests": {"cpu": cpu, "memory": mem}}
    return {
        "metadata": {"namespace": ns, "name": f"p-{cpu}-{mem}"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": res}]},
        "status": {"phase": phase},
    }


def _ready(node: dict[str, Any]) -> dict[str, Any]:
    node["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    return node


def test_ec2_node_registered_and_remaining() -> None:
    node = _ready(
        render_ec2_node(
            name="ip-10-0-0-4.ec2.internal",
            region="us-east-1",
            zone="us-east-1a",
            instance_type=INSTANCE_TYPES["m5.large"],
            group="ng",
        )
    )
    pods = [
        _pod("ip-10-0-0-4.ec2.internal", "500m", "1Gi"),
        _pod("ip-10-0-0-4.ec2.internal", "250m", "256Mi", phase="Pending"),
        _pod("ip-10-0-0-4.ec2.internal", "1", "1Gi", phase="Succeeded"),
        _pod("ip-10-0-0-4.ec2.internal", "1", "1Gi", ns="kube-system"),
    ]
    d = describe(node, pods)
    assert d["instanceType"] == "m5.large"
    assert d["availabilityZone"] == "us-east-1a"
    assert d["capacityProviderName"] == "nodegroup/ng"
    assert d["agentConnected"] is True
    assert (d["runningTasksCount"], d["pendingTasksCount"]) == (1, 1)
    cpu = INSTANCE_TYPES["m5.large"].allocatable_millicpu * 1024 // 1000
    mem = INSTANCE_TYPES["m5.large"].allocatable_memory_mib
    assert d["registeredResources"][0]["integerValue"] == cpu
    assert d["registeredResources"][1]["integerValue"] == mem
    assert d["remainingResources"][0]["integerValue"] == cpu - 768
    assert d["remainingResources"][1]["integerValue"] == mem - 1280
    assert {"name": "ecs.instance-type", "value": "m5.large"} in d["attributes"]
    assert d["ec2InstanceId"].startswith("i-")


def test_fargate_node_row() -> None:
    node = fg.render_node(
        name="fargate-ip-10-1-0-4.ec2.internal", region="us-east-1", zone="us-east-1b",
        size=fg.FargateSize(512, 1024), pod_namespace="ns", pod_name="p", pod_uid="u",
        profile=None, capacity="SPOT",
    )  # fmt: skip
    d = describe(node, [])
    assert d["instanceType"] == "fargate"
    assert d["capacityProviderName"] == "FARGATE_SPOT"
    assert d["registeredResources"][0]["integerValue"] == 512
    assert d["registeredResources"][1]["integerValue"] == 1024
    assert d["agentConnected"] is False


def test_provider_of() -> None:
    assert provider_of({"ecs.ecsk.io/capacity-provider": "cp-a", fg.COMPUTE_TYPE: "fargate"}) == "cp-a"
    assert provider_of({fg.COMPUTE_TYPE: "fargate"}) == "FARGATE"
    assert provider_of({"alpha.eksctl.io/nodegroup-name": "self"}) == "nodegroup/self"
    assert provider_of({}) == ""


def test_pod_reservation_rules() -> None:
    assert pod_reservation({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}, "containers": []}) == (
        1,
        2**30,
    )
    spec = {
        "initContainers": [
            {"name": "i", "resources": {"requests": {"cpu": "2"}}},
            {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
        ],
        "containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "bogus"}}}],
    }
    cpu, mem = pod_reservation(spec)
    assert cpu == 2 and mem == 0


def test_describe_all_groups_pods_by_node_and_sorts() -> None:
    a = fg.render_node(
        name="fargate-b", region="us-east-1", zone="us-east-1a", size=fg.FargateSize(256, 512),
        pod_namespace="ns", pod_name="p", pod_uid="u", profile=None,
    )  # fmt: skip
    b = render_ec2_node(
        name="ip-a",
        region="us-east-1",
        zone="us-east-1a",
        instance_type=INSTANCE_TYPES["t3.medium"],
        group="ng",
    )
    rows = describe_all([b, a], [_pod("fargate-b", "250m", "256Mi"), {"spec": {}}])
    assert [r["nodeName"] for r in rows] == ["fargate-b", "ip-a"]
    assert rows[0]["runningTasksCount"] == 1
