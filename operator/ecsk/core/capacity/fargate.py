"""Fargate as Kubernetes sees it: how big a pod's micro-VM is, and what its node looks like.

EKS Fargate gives every pod its own node, sized from the pod's requests and rounded up to the
Fargate CPU/memory table; ECS Fargate sizes a task by its task-level cpu/memory, which must
already be a table entry. Both rules live here, pure, so the controller only does I/O and the
unit tests pin every rounding case. The table itself belongs to `ecsk.core.validation.fargate`
(the CRD rules and the validator use it too); this module only reads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ecsk.core.capacity.fleet import private_dns_name, simulated_node
from ecsk.core.common import quantity
from ecsk.core.models.service import FARGATE_PROVIDERS
from ecsk.core.translate.types import Diagnostic, PlacementInputs
from ecsk.core.validation.fargate import FARGATE_CPU_MEMORY, INVALID_CPU

GROUP = "ecs.ecsk.io"
GATE = f"{GROUP}/fargate"
"""Scheduling gate the translator puts on Fargate pods: the kube-scheduler must wait until the
controller has created the pod's own node and pinned the pod to it."""
FARGATE_SCHEDULER = "fargate-scheduler"
"""What EKS's admission webhook writes into `spec.schedulerName`; pods that carry it are ours."""
COMPUTE_TYPE = "eks.amazonaws.com/compute-type"
PROFILE_LABEL = "eks.amazonaws.com/fargate-profile"
CAPACITY_TYPE = "eks.amazonaws.com/capacityType"
CAPACITY_ANNOTATION = "CapacityProvisioned"
ORIGIN_LABEL = f"{GROUP}/origin"
POD_ANNOTATION = f"{GROUP}/fargate-pod"
POD_UID_LABEL = f"{GROUP}/fargate-pod-uid"
FARGATE_TAINT = {"key": COMPUTE_TYPE, "value": "fargate", "effect": "NoSchedule"}
FARGATE_TOLERATION = {"key": COMPUTE_TYPE, "operator": "Equal", "value": "fargate", "effect": "NoSchedule"}

KUBE_OVERHEAD_MIB = 256
"""EKS adds this to every pod for kubelet, kube-proxy and containerd before rounding."""
EPHEMERAL_DEFAULT_GIB = 20
EPHEMERAL_MAX_GIB = 200
FARGATE_NETWORK = 1
"""Second octet of Fargate node addresses: the fleet uses 10.0.0.0/16, so names never collide."""


class FargateRefusal(ValueError):
    """A pod or task Fargate will not run; the message is what AWS says."""


@dataclass(frozen=True, slots=True)
class FargateSize:
    """A provisioned Fargate size: CPU units (1024 per vCPU), memory MiB, ephemeral GiB."""

    cpu: int
    memory: int
    ephemeral_gib: int = EPHEMERAL_DEFAULT_GIB

    @property
    def millicpu(self) -> int:
        return self.cpu * 1000 // 1024  # every table cpu is a multiple of 256: exact

    @property
    def capacity_provisioned(self) -> str:
        """The `CapacityProvisioned` annotation as EKS writes it, e.g. `0.25vCPU 0.5GB`."""
        return f"{_num(self.cpu / 1024)}vCPU {_num(self.memory / 1024)}GB"


def _num(value: float) -> str:
    return f"{value:g}"


# --- quantities ---------------------------------------------------------------------------------


def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes quantity in base units; FargateRefusal when unreadable (never a crash)."""
    try:
        return quantity.parse_quantity(value)
    except ValueError as exc:
        raise FargateRefusal(f"unreadable resource quantity {value!r}") from exc


def _request(resources: Mapping[str, Any] | None, key: str) -> Decimal:
    """Kubernetes defaults a missing request to the limit, so the limit counts when alone."""
    res = resources or {}
    value = (res.get("requests") or {}).get(key)
    if value is None:
        value = (res.get("limits") or {}).get(key)
    return parse_quantity(value) if value is not None else Decimal(0)


# --- sizing ---------------------------------------------------------------------------------------


def round_to_table(millicpu: int, memory_mib: int) -> tuple[int, int]:
    """The smallest table entry holding the need, ordered by CPU then memory (as EKS rounds)."""
    fits = [(c, m) for c, m in FARGATE_CPU_MEMORY if c * 1000 // 1024 >= millicpu and m >= memory_mib]
    if not fits:
        raise FargateRefusal(
            f"Pod not supported on Fargate: the pod needs {millicpu}m CPU and {memory_mib} MiB "
            "(including 256 MiB for Kubernetes components), more than the largest Fargate size "
            "(16 vCPU, 120 GB)"
        )
    return min(fits)


@dataclass(frozen=True, slots=True)
class PodSizing:
    """What a pod asks for (after EKS's rules) and the size it gets, plus non-fatal remarks."""

    need_millicpu: int
    need_memory_mib: int
    size: FargateSize
    warnings: tuple[str, ...] = ()


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def eks_pod_size(spec: Mapping[str, Any]) -> PodSizing:
    """EKS's rule: max(largest init container, sum of long-running containers) + 256 MiB, rounded up.

    Native sidecars (init containers with restartPolicy Always) run for the pod's whole life, so
    they count with the app containers. Pod-level resources, when set, are the floor. A pod with
    no requests at all gets the smallest size, as on EKS.
    """
    warnings: list[str] = []
    app = [*(spec.get("containers") or ()), *(c for c in spec.get("initContainers") or () if _is_sidecar(c))]
    init = [c for c in spec.get("initContainers") or () if not _is_sidecar(c)]
    need: dict[str, Decimal] = {}
    for key in ("cpu", "memory", "ephemeral-storage"):
        long_running = sum((_request(c.get("resources"), key) for c in app), Decimal(0))
        largest_init = max((_request(c.get("resources"), key) for c in init), default=Decimal(0))
        need[key] = max(long_running, largest_init, _request(spec.get("resources"), key))
    for c in [*app, *init]:
        res = c.get("resources") or {}
        for key in ("cpu", "memory"):
            req, lim = (res.get("requests") or {}).get(key), (res.get("limits") or {}).get(key)
            if req is not None and lim is not None and parse_quantity(req) != parse_quantity(lim):
                warnings.append(
                    f"container {c.get('name')!r}: {key} request {req} differs from limit {lim}; "
                    "Fargate sizes by the request and runs pods as Guaranteed (requests = limits)"
                )
    millicpu = math.ceil(need["cpu"] * 1000)
    memory = math.ceil(need["memory"] / 2**20) + KUBE_OVERHEAD_MIB
    cpu_units, mem = round_to_table(millicpu, memory)
    storage = ephemeral_gib(math.ceil(need["ephemeral-storage"] / 2**30) or None)
    return PodSizing(millicpu, memory, FargateSize(cpu_units, mem, storage), tuple(warnings))


def ecs_task_size(
    cpu_units: int | None, memory_mib: int | None, storage_gib: int | None = None
) -> FargateSize:
    """ECS Fargate takes the task size as given: it must be a table pair, never rounded."""
    if cpu_units is None or memory_mib is None:
        raise FargateRefusal(
            "ClientException: Fargate requires that 'cpu' and 'memory' be defined at the task level."
        )
    if (cpu_units, memory_mib) not in FARGATE_CPU_MEMORY:
        raise FargateRefusal(f"ClientException: {INVALID_CPU}")
    return FargateSize(cpu_units, memory_mib, ephemeral_gib(storage_gib))


def ephemeral_gib(requested: int | None) -> int:
    """20 GiB unless asked for more, at most 200 GiB (ECS `ephemeralStorage.sizeInGiB` 21..200)."""
    if requested is None or requested <= EPHEMERAL_DEFAULT_GIB:
        return EPHEMERAL_DEFAULT_GIB
    if requested > EPHEMERAL_MAX_GIB:
        raise FargateRefusal(
            f"ClientException: The ephemeral storage size of {requested} GiB is not valid. "
            f"Specify a value between {EPHEMERAL_DEFAULT_GIB + 1} and {EPHEMERAL_MAX_GIB} GiB."
        )
    return requested


def is_ecs_task_pod(pod: Mapping[str, Any]) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return f"{GROUP}/family" in labels


def pod_size(pod: Mapping[str, Any]) -> PodSizing:
    """ECS task pods carry the task size as pod-level resources; anything else follows EKS."""
    spec = pod.get("spec") or {}
    if not is_ecs_task_pod(pod):
        return eks_pod_size(spec)
    res = spec.get("resources") or {}
    cpu_q, mem_q = _request(res, "cpu"), _request(res, "memory")
    cpu = round(cpu_q * 1024) if cpu_q else None
    mem = math.ceil(mem_q / 2**20) if mem_q else None
    storage = sum(
        (_request(c.get("resources"), "ephemeral-storage") for c in spec.get("containers") or ()), Decimal(0)
    )
    size = ecs_task_size(cpu, mem, math.ceil(storage / 2**30) or None)
    return PodSizing(size.millicpu, size.memory, size)


# --- where a pod goes --------------------------------------------------------------------------------


def wants_fargate(pod: Mapping[str, Any]) -> bool:
    """Gated by the translator, or handed to the fargate-scheduler (EKS's webhook's choice)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return False
    gated = any(g.get("name") == GATE for g in spec.get("schedulingGates") or ())
    return gated or spec.get("schedulerName") == FARGATE_SCHEDULER


def capacity_type(pod: Mapping[str, Any]) -> str:
    """FARGATE_SPOT tasks carry a nodeSelector on the capacity type; the node must match it."""
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    return "SPOT" if selector.get(CAPACITY_TYPE) == "SPOT" else "ON_DEMAND"


def uses_fargate(launch_type: str | None, strategy: Iterable[Mapping[str, Any]] | None) -> bool:
    if launch_type == "FARGATE":
        return True
    return any(item.get("capacityProvider") in FARGATE_PROVIDERS for item in strategy or ())


def placement_hook(spec: dict[str, Any], inputs: PlacementInputs) -> list[Diagnostic] | None:
    """Gate Fargate pods and let them tolerate their node's taint.

    A gated pod may still gain a nodeSelector (Kubernetes >= 1.30 allows narrowing scheduling
    directives while gated), which is how the controller pins it to the node it creates; no
    webhook needed. A strategy that only uses FARGATE_SPOT also selects SPOT capacity; mixed
    FARGATE/FARGATE_SPOT strategies are split per pod by the controller.
    """
    if not uses_fargate(inputs.launch_type, inputs.capacity_provider_strategy):
        return None
    gates = spec.setdefault("schedulingGates", [])
    if not any(g.get("name") == GATE for g in gates):
        gates.append({"name": GATE})
    tolerations = spec.setdefault("tolerations", [])
    if FARGATE_TOLERATION not in tolerations:
        tolerations.append(dict(FARGATE_TOLERATION))
    used = [i for i in inputs.capacity_provider_strategy or () if int(i.get("weight") or 0) or i.get("base")]
    if used and all(i.get("capacityProvider") == "FARGATE_SPOT" for i in used):
        spec.setdefault("nodeSelector", {})[CAPACITY_TYPE] = "SPOT"
    return None


# --- the node ------------------------------------------------------------------------------------------


def node_name(region: str, zone_index: int, seq: int) -> str:
    return "fargate-" + private_dns_name(region, zone_index, seq, network=FARGATE_NETWORK)


def pick_zone(zones: list[str], nodes_per_zone: Mapping[str, int]) -> int:
    """The zone with the fewest Fargate nodes (first in list order on ties): EKS spreads pods
    over the profile's subnets."""
    return min(range(len(zones)), key=lambda i: (nodes_per_zone.get(zones[i], 0), i))


def free_name(region: str, zone_index: int, taken: set[str]) -> str:
    seq = 0
    while node_name(region, zone_index, seq) in taken:
        seq += 1
    return node_name(region, zone_index, seq)


def render_node(
    *,
    name: str,
    region: str,
    zone: str,
    size: FargateSize,
    pod_namespace: str,
    pod_name: str,
    pod_uid: str,
    profile: str | None,
    capacity: str = "ON_DEMAND",
) -> dict[str, Any]:
    """A Fargate node: one pod's micro-VM, tainted so nothing else lands there, allocatable
    exactly the provisioned size."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
        "failure-domain.beta.kubernetes.io/zone": zone,
        COMPUTE_TYPE: "fargate",
        CAPACITY_TYPE: capacity,
        ORIGIN_LABEL: "fargate",
        POD_UID_LABEL: pod_uid,
        "type": "kwok",
    }
    if profile:
        labels[PROFILE_LABEL] = profile
    resources = {
        "cpu": f"{size.millicpu}m",
        "memory": f"{size.memory}Mi",
        "pods": "1",
        "ephemeral-storage": f"{size.ephemeral_gib}Gi",
    }
    return simulated_node(
        name=name,
        zone=zone,
        labels=labels,
        capacity=dict(resources),
        allocatable=dict(resources),
        taints=[dict(FARGATE_TAINT)],
        annotations={
            POD_ANNOTATION: f"{pod_namespace}/{pod_name}",
            CAPACITY_ANNOTATION: size.capacity_provisioned,
        },
    )


def pin_patch(pod: Mapping[str, Any], node: str, size: FargateSize, profile: str | None) -> dict[str, Any]:
    """Merge patch for a gated pod: select its node, drop our gate, record the size and profile."""
    spec = pod.get("spec") or {}
    gates = [g for g in spec.get("schedulingGates") or () if g.get("name") != GATE]
    labels = {PROFILE_LABEL: profile} if profile else {}
    tolerations = list(spec.get("tolerations") or ())
    if FARGATE_TOLERATION not in tolerations:
        tolerations.append(dict(FARGATE_TOLERATION))
    return {
        "metadata": {"labels": labels, "annotations": {CAPACITY_ANNOTATION: size.capacity_provisioned}},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": node},
            "schedulingGates": gates or None,
            "tolerations": tolerations,
        },
    }
