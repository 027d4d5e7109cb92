"""Fargate sizing, the CapacityProvisioned string, the placement hook and the node shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ecsk.core.capacity import fargate as fg
from ecsk.core.translate.types import PlacementInputs
from ecsk.core.validation.fargate import FARGATE_CPU_MEMORY, INVALID_CPU


def _c(name: str, cpu: str | None = None, mem: str | None = None, **extra: Any) -> dict[str, Any]:
    req = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v is not None}
    return {"name": name, "resources": {"requests": dict(req), "limits": dict(req)}, **extra}


# --- CapacityProvisioned --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "mem", "text"),
    [
        (256, 512, "0.25vCPU 0.5GB"),
        (512, 1024, "0.5vCPU 1GB"),
        (1024, 2048, "1vCPU 2GB"),
        (2048, 9216, "2vCPU 9GB"),
        (16384, 122880, "16vCPU 120GB"),
    ],
)
def test_capacity_provisioned_string(cpu: int, mem: int, text: str) -> None:
    assert fg.FargateSize(cpu, mem).capacity_provisioned == text


def test_millicpu_is_exact_for_every_table_cpu() -> None:
    for cpu, mem in FARGATE_CPU_MEMORY:
        assert fg.FargateSize(cpu, mem).millicpu * 1024 == cpu * 1000


# --- EKS pod sizing -------------------------------------------------------------------------------


def test_no_requests_gets_the_smallest_size() -> None:
    sizing = fg.eks_pod_size({"containers": [{"name": "a"}]})
    assert (sizing.size.cpu, sizing.size.memory) == (256, 512)
    assert sizing.need_memory_mib == 256


def test_256_mib_overhead_pushes_to_the_next_size() -> None:
    # The EKS documentation's own example: 1 vCPU + 8 GB -> 2 vCPU 9 GB (no 1 vCPU 9 GB size).
    sizing = fg.eks_pod_size({"containers": [_c("a", "1", "8Gi")]})
    assert sizing.size.capacity_provisioned == "2vCPU 9GB"


def test_half_gib_plus_overhead_rounds_to_one_gib() -> None:
    sizing = fg.eks_pod_size({"containers": [_c("a", "250m", "512Mi")]})
    assert sizing.size.capacity_provisioned == "0.25vCPU 1GB"


def test_app_containers_are_summed() -> None:
    sizing = fg.eks_pod_size({"containers": [_c("a", "300m", "600Mi"), _c("b", "300m", "600Mi")]})
    assert sizing.need_millicpu == 600
    assert sizing.need_memory_mib == 1456
    assert sizing.size.capacity_provisioned == "1vCPU 2GB"


def test_largest_init_container_wins_when_bigger_than_the_app_sum() -> None:
    spec = {
        "initContainers": [_c("i1", "2", "1Gi"), _c("i2", "500m", "6Gi")],
        "containers": [_c("a", "250m", "512Mi")],
    }
    sizing = fg.eks_pod_size(spec)
    assert sizing.need_millicpu == 2000  # max over init containers, per resource
    assert sizing.need_memory_mib == 6 * 1024 + 256
    assert sizing.size.capacity_provisioned == "2vCPU 7GB"


def test_native_sidecars_count_with_the_app_containers() -> None:
    sidecar = _c("proxy", "500m", "1Gi", restartPolicy="Always")
    spec = {"initContainers": [sidecar], "containers": [_c("a", "500m", "1Gi")]}
    sizing = fg.eks_pod_size(spec)
    assert sizing.need_millicpu == 1000
    assert sizing.need_memory_mib == 2048 + 256
    assert sizing.size.capacity_provisioned == "1vCPU 3GB"


def test_limits_alone_count_as_requests() -> None:
    spec = {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "2Gi"}}}]}
    assert fg.eks_pod_size(spec).size.capacity_provisioned == "1vCPU 3GB"


def test_requests_differing_from_limits_warn_and_size_by_request() -> None:
    spec = {
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "2"}}},
        ]
    }
    sizing = fg.eks_pod_size(spec)
    assert sizing.size.cpu == 256
    assert sizing.warnings and "Guaranteed" in sizing.warnings[0]


def test_pod_level_resources_are_a_floor() -> None:
    spec = {"resources": {"requests": {"cpu": "2", "memory": "4Gi"}}, "containers": [_c("a", "1", "1Gi")]}
    assert fg.eks_pod_size(spec).size.capacity_provisioned == "2vCPU 5GB"


def test_too_big_for_fargate_is_refused() -> None:
    with pytest.raises(fg.FargateRefusal, match="Pod not supported on Fargate"):
        fg.eks_pod_size({"containers": [_c("a", "17", "1Gi")]})
    with pytest.raises(fg.FargateRefusal):
        fg.eks_pod_size({"containers": [_c("a", "1", "120Gi")]})  # + 256 MiB > 120 GB


def test_largest_size_still_fits_just_under_the_limit() -> None:
    sizing = fg.eks_pod_size({"containers": [_c("a", "16", f"{120 * 1024 - 256}Mi")]})
    assert sizing.size.capacity_provisioned == "16vCPU 120GB"


@pytest.mark.parametrize(("millicpu", "mem"), [(1, 1), (251, 512), (250, 513), (4000, 8192), (9000, 100)])
def test_round_to_table_is_the_smallest_fitting_entry(millicpu: int, mem: int) -> None:
    cpu, memory = fg.round_to_table(millicpu, mem)
    assert (cpu, memory) in FARGATE_CPU_MEMORY
    assert cpu * 1000 // 1024 >= millicpu and memory >= mem
    smaller = [
        (c, m)
        for c, m in FARGATE_CPU_MEMORY
        if c * 1000 // 1024 >= millicpu and m >= mem and (c, m) < (cpu, memory)
    ]
    assert not smaller


def test_ephemeral_storage_requests_size_the_disk() -> None:
    spec = {"containers": [{"name": "a", "resources": {"requests": {"ephemeral-storage": "30Gi"}}}]}
    assert fg.eks_pod_size(spec).size.ephemeral_gib == 30


# --- ECS task sizing ---------------------------------------------------------------------------------


def test_ecs_task_size_must_be_a_table_pair() -> None:
    assert fg.ecs_task_size(256, 512) == fg.FargateSize(256, 512)
    for cpu, mem in [(256, 4096), (1024, 1024), (300, 512)]:
        with pytest.raises(fg.FargateRefusal, match=INVALID_CPU):
            fg.ecs_task_size(cpu, mem)
    for cpu, mem in [(None, 512), (256, None)]:
        with pytest.raises(fg.FargateRefusal, match="defined at the task level"):
            fg.ecs_task_size(cpu, mem)


@pytest.mark.parametrize(("asked", "got"), [(None, 20), (0, 20), (20, 20), (21, 21), (200, 200)])
def test_ephemeral_storage_range(asked: int | None, got: int) -> None:
    assert fg.ephemeral_gib(asked) == got


def test_ephemeral_storage_over_200_is_refused() -> None:
    with pytest.raises(fg.FargateRefusal, match="between 21 and 200"):
        fg.ephemeral_gib(201)


def _ecs_pod(cpu: str, mem: str, storage: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app"}
    if storage:
        container["resources"] = {"requests": {"ephemeral-storage": storage}}
    return {
        "metadata": {"labels": {"ecs.ecsk.io/family": "web"}},
        "spec": {
            "resources": {"requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": cpu, "memory": mem}},
            "containers": [container],
        },
    }


def test_ecs_task_pods_use_the_task_size_without_overhead() -> None:
    sizing = fg.pod_size(_ecs_pod("250m", "512Mi"))
    assert sizing.size == fg.FargateSize(256, 512)
    assert fg.pod_size(_ecs_pod("1000m", "3072Mi", "50Gi")).size == fg.FargateSize(1024, 3072, 50)


def test_ecs_task_pod_with_an_invalid_pair_is_refused_with_ecs_wording() -> None:
    with pytest.raises(fg.FargateRefusal, match=r"Invalid 'cpu' setting for task"):
        fg.pod_size(_ecs_pod("250m", "4096Mi"))


def test_plain_pods_follow_eks() -> None:
    pod = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [_c("a", "250m", "512Mi")]}}
    assert fg.pod_size(pod).size.capacity_provisioned == "0.25vCPU 1GB"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("1", Decimal(1)),
        ("1Gi", Decimal(2**30)),
        ("1e3", Decimal(1000)),
        (2, Decimal(2)),
    ],
)
def test_parse_quantity(text: Any, value: Decimal) -> None:
    assert fg.parse_quantity(text) == value


def test_unreadable_quantity_is_a_refusal_not_a_crash() -> None:
    with pytest.raises(fg.FargateRefusal):
        fg.eks_pod_size({"containers": [{"name": "a", "resources": {"requests": {"cpu": "lots"}}}]})


# --- which pods, the hook --------------------------------------------------------------------------


def test_wants_fargate() -> None:
    assert fg.wants_fargate({"spec": {"schedulingGates": [{"name": fg.GATE}]}})
    assert fg.wants_fargate({"spec": {"schedulerName": "fargate-scheduler"}})
    assert not fg.wants_fargate({"spec": {"schedulerName": "fargate-scheduler", "nodeName": "n"}})
    assert not fg.wants_fargate({"spec": {"schedulingGates": [{"name": "other"}]}})
    assert not fg.wants_fargate({"spec": {}})


def test_hook_gates_and_tolerates_fargate_tasks_only() -> None:
    spec: dict[str, Any] = {"containers": []}
    fg.placement_hook(spec, PlacementInputs("service:web", launch_type="EC2"))
    assert spec == {"containers": []}
    fg.placement_hook(spec, PlacementInputs("service:web", launch_type="FARGATE"))
    fg.placement_hook(spec, PlacementInputs("service:web", launch_type="FARGATE"))  # idempotent
    assert spec["schedulingGates"] == [{"name": fg.GATE}]
    assert spec["tolerations"] == [fg.FARGATE_TOLERATION]
    assert "nodeSelector" not in spec


def test_hook_selects_spot_when_only_fargate_spot_is_used() -> None:
    spec: dict[str, Any] = {}
    strategy = [
        {"capacityProvider": "FARGATE", "weight": 0},
        {"capacityProvider": "FARGATE_SPOT", "weight": 1},
    ]
    fg.placement_hook(spec, PlacementInputs("g", capacity_provider_strategy=strategy))
    assert spec["nodeSelector"] == {fg.CAPACITY_TYPE: "SPOT"}
    assert fg.capacity_type({"spec": spec}) == "SPOT"


def test_hook_mixed_strategy_is_on_demand_by_default() -> None:
    spec: dict[str, Any] = {}
    strategy = [
        {"capacityProvider": "FARGATE", "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 1},
    ]
    fg.placement_hook(spec, PlacementInputs("g", capacity_provider_strategy=strategy))
    assert fg.GATE in [g["name"] for g in spec["schedulingGates"]]
    assert fg.capacity_type({"spec": spec}) == "ON_DEMAND"


# --- the node ----------------------------------------------------------------------------------------


def test_node_names_use_their_own_network() -> None:
    assert fg.node_name("us-east-1", 0, 0) == "fargate-ip-10-1-0-4.ec2.internal"
    assert fg.node_name("eu-west-1", 1, 0) == "fargate-ip-10-1-64-4.eu-west-1.compute.internal"
    taken = {fg.node_name("us-east-1", 0, 0), fg.node_name("us-east-1", 0, 1)}
    assert fg.free_name("us-east-1", 0, taken) == "fargate-ip-10-1-0-6.ec2.internal"


def test_pick_zone_spreads_with_list_order_on_ties() -> None:
    zones = ["a", "b", "c"]
    assert fg.pick_zone(zones, {}) == 0
    assert fg.pick_zone(zones, {"a": 1}) == 1
    assert fg.pick_zone(zones, {"a": 1, "b": 1, "c": 0}) == 2
    assert fg.pick_zone(zones, {"a": 2, "b": 1, "c": 1}) == 1


def test_render_node() -> None:
    size = fg.FargateSize(512, 1024)
    node = fg.render_node(
        name="fargate-ip-10-1-0-4.ec2.internal",
        region="us-east-1",
        zone="us-east-1a",
        size=size,
        pod_namespace="ns",
        pod_name="p",
        pod_uid="u-1",
        profile="fp",
        capacity="SPOT",
    )
    labels = node["metadata"]["labels"]
    assert labels[fg.COMPUTE_TYPE] == "fargate"
    assert labels[fg.PROFILE_LABEL] == "fp"
    assert labels[fg.CAPACITY_TYPE] == "SPOT"
    assert labels["topology.kubernetes.io/zone"] == "us-east-1a"
    assert labels["topology.kubernetes.io/region"] == "us-east-1"
    assert labels[fg.POD_UID_LABEL] == "u-1"
    assert node["spec"]["taints"] == [fg.FARGATE_TAINT]
    assert node["status"]["allocatable"] == {
        "cpu": "500m",
        "memory": "1024Mi",
        "pods": "1",
        "ephemeral-storage": "20Gi",
    }
    assert node["metadata"]["annotations"][fg.POD_ANNOTATION] == "ns/p"
    assert node["metadata"]["annotations"][fg.CAPACITY_ANNOTATION] == "0.5vCPU 1GB"


def test_render_node_without_profile_has_no_profile_label() -> None:
    node = fg.render_node(
        name="n", region="us-east-1", zone="z", size=fg.FargateSize(256, 512),
        pod_namespace="ns", pod_name="p", pod_uid="u", profile=None,
    )  # fmt: skip
    assert fg.PROFILE_LABEL not in node["metadata"]["labels"]


def test_pin_patch_keeps_other_gates_and_adds_the_toleration_once() -> None:
    pod = {"spec": {"schedulingGates": [{"name": fg.GATE}, {"name": "x/y"}], "tolerations": []}}
    patch = fg.pin_patch(pod, "node-1", fg.FargateSize(256, 512), "fp")
    assert patch["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "node-1"}
    assert patch["spec"]["schedulingGates"] == [{"name": "x/y"}]
    assert patch["spec"]["tolerations"] == [fg.FARGATE_TOLERATION]
    assert patch["metadata"]["labels"] == {fg.PROFILE_LABEL: "fp"}
    assert patch["metadata"]["annotations"] == {fg.CAPACITY_ANNOTATION: "0.25vCPU 0.5GB"}
    last = fg.pin_patch(
        {"spec": {"schedulingGates": [{"name": fg.GATE}]}}, "n", fg.FargateSize(256, 512), None
    )
    assert last["spec"]["schedulingGates"] is None  # merge patch: remove the field
    assert last["metadata"]["labels"] == {}
