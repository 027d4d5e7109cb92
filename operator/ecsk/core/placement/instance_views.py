"""Container instances as ECS describes them: a node's registered and remaining CPU units and MiB,
its task counts, status (DRAINING when cordoned) and attributes. Pure: plain dicts in and out,
shared by `ecsk instances` and the AWS API endpoint."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ecsk.core.capacity import fargate as fg
from ecsk.core.capacity.fleet import instance_id
from ecsk.core.capacity.scaling import pod_reservation, quantity
from ecsk.core.placement.attributes import custom_attributes

ZONE = "topology.kubernetes.io/zone"
CAPACITY_PROVIDER = "ecs.ecsk.io/capacity-provider"
TERMINAL = {"Succeeded", "Failed"}
ATTRIBUTES = {
    "ecs.availability-zone": ZONE,
    "ecs.instance-type": "node.kubernetes.io/instance-type",
    "ecs.os-type": "kubernetes.io/os",
    "ecs.cpu-architecture": "kubernetes.io/arch",
}


def _units(cores: Decimal) -> int:
    return math.floor(cores * 1024)


def _mib(amount: Decimal) -> int:
    return math.floor(amount / 2**20)


def provider_of(labels: Mapping[str, str]) -> str:
    """Capacity provider, else FARGATE/FARGATE_SPOT, else the node group the node belongs to."""
    if labels.get(CAPACITY_PROVIDER):
        return labels[CAPACITY_PROVIDER]
    if labels.get(fg.COMPUTE_TYPE) == "fargate":
        return "FARGATE_SPOT" if labels.get(fg.CAPACITY_TYPE) == "SPOT" else "FARGATE"
    group = labels.get("eks.amazonaws.com/nodegroup") or labels.get("alpha.eksctl.io/nodegroup-name")
    return f"nodegroup/{group}" if group else ""


def describe(node: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One container instance in describe-container-instances shape (plus the node name)."""
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = str(meta.get("name") or "")
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cpu, mem = _units(quantity(alloc.get("cpu"))), _mib(quantity(alloc.get("memory")))
    used_cpu = used_mem = Decimal(0)
    running = pending = 0
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase")
        if phase in TERMINAL or (pod.get("metadata") or {}).get("namespace") == "kube-system":
            continue
        c, m = pod_reservation(pod.get("spec") or {})
        used_cpu += c
        used_mem += m
        if phase == "Running":
            running += 1
        else:
            pending += 1
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or ()
    )
    fargate = labels.get(fg.COMPUTE_TYPE) == "fargate"
    attributes = [{"name": k, "value": labels[v]} for k, v in ATTRIBUTES.items() if labels.get(v)]
    # Custom attributes (ecsk attributes put), ECS's shape: no "value" key for a valueless one.
    attributes += [
        {"name": k} | ({"value": v} if v else {}) for k, v in sorted(custom_attributes(node).items())
    ]
    return {
        "nodeName": name,
        "ec2InstanceId": labels.get("ecs.ecsk.io/instance-id") or instance_id(name),
        "instanceType": "fargate" if fargate else labels.get("node.kubernetes.io/instance-type", ""),
        "availabilityZone": labels.get(ZONE, ""),
        "capacityProviderName": provider_of(labels),
        "status": "DRAINING" if (node.get("spec") or {}).get("unschedulable") else "ACTIVE",
        "agentConnected": ready,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "registeredResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": mem},
        ],
        "remainingResources": [
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu - _units(used_cpu)},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": mem - math.ceil(used_mem / 2**20)},
        ],
        "attributes": attributes,
    }


def describe_all(
    nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            by_node.setdefault(node, []).append(pod)
    out = [describe(n, by_node.get((n.get("metadata") or {}).get("name", ""), [])) for n in nodes]
    return sorted(out, key=lambda d: (d["capacityProviderName"], d["availabilityZone"], d["nodeName"]))
