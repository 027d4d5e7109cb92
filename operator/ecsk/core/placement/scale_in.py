"""Which task ECS stops first on scale-in, as `controller.kubernetes.io/pod-deletion-cost` values.

The ReplicaSet controller, scaling down, deletes unscheduled, then not-ready pods first, and among
the rest the lowest deletion cost first. ECS picks victims one at a time, re-evaluating after
each; so we replay ECS's choice until no task is left and give the k-th victim cost k: whatever
the scale-in size, the ReplicaSet's lowest-cost pods are exactly ECS's first victims.

ECS's rules, per strategy, applied in list order (each later rule narrows the ties of the earlier):
* spread on a field: stop a task in the value (zone, instance, attribute) with the most tasks;
* binpack on a resource: stop the task whose instance will have the most of it left afterwards;
* random, and whatever ties remain: any task (here: a stable hash of the pod name, so costs do
  not churn between reconciles);
* no strategy (a service's default): the AZ with the most tasks, then the instance with the most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecsk.core.cql import CQLEncodingError
from ecsk.core.placement.nodes import NodeUsage, Resources, node_usage, pod_requests
from ecsk.core.placement.strategies import AZ_ATTRIBUTE, spread_topology_key

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

SCALE_IN_DEFAULT: tuple[dict[str, str], ...] = (
    {"type": "spread", "field": AZ_ATTRIBUTE},
    {"type": "spread", "field": "instanceId"},
)


@dataclass(frozen=True)
class _Task:
    name: str
    node: str
    requests: Resources
    labels: Mapping[str, str]  # the node's labels, plus kubernetes.io/hostname = node name


def _bound(pod: Mapping[str, Any]) -> bool:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    return (
        bool(spec.get("nodeName"))
        and not meta.get("deletionTimestamp")
        and status.get("phase")
        not in (
            "Succeeded",
            "Failed",
        )
    )


def _tie(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def scale_in_order(
    service_pods: Sequence[Mapping[str, Any]],
    nodes: Sequence[Mapping[str, Any]],
    strategies: Sequence[Mapping[str, Any]] | None,
    node_pods: Iterable[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Pod names in the order ECS would stop them. `node_pods`: every pod on the nodes (binpack
    looks at the whole instance); defaults to the service's own pods."""
    # Only the nodes the service's tasks are on matter (labels for spread, usage for binpack):
    # reading the others made every pass of every service O(cluster nodes).
    hosts = {str(p["spec"]["nodeName"]) for p in service_pods if _bound(p)}
    nodes = [n for n in nodes if str(n["metadata"]["name"]) in hosts]
    node_labels = {
        str(n["metadata"]["name"]): {
            **((n.get("metadata") or {}).get("labels") or {}),
            "kubernetes.io/hostname": str(n["metadata"]["name"]),
        }
        for n in nodes
    }
    usage: dict[str, NodeUsage] = node_usage(nodes, service_pods if node_pods is None else node_pods)
    tasks = [
        _Task(
            str(p["metadata"]["name"]),
            str(p["spec"]["nodeName"]),
            pod_requests(p.get("spec") or {}),
            node_labels.get(
                str(p["spec"]["nodeName"]), {"kubernetes.io/hostname": str(p["spec"]["nodeName"])}
            ),
        )
        for p in service_pods
        if _bound(p)
    ]
    rules = list(strategies or SCALE_IN_DEFAULT)
    freed: dict[str, Resources] = {}
    order: list[str] = []
    remaining = list(tasks)
    while remaining:
        candidates = remaining
        for rule in rules:
            if len(candidates) == 1:
                break
            kind = rule.get("type")
            if kind == "spread":
                try:
                    key = spread_topology_key(str(rule.get("field") or ""))
                except CQLEncodingError:
                    continue  # refused at render time already; never crash the reconcile here
                counts: dict[str, int] = {}
                for t in remaining:
                    counts[t.labels.get(key, "")] = counts.get(t.labels.get(key, ""), 0) + 1
                best = max(counts[t.labels.get(key, "")] for t in candidates)
                candidates = [t for t in candidates if counts[t.labels.get(key, "")] == best]
            elif kind == "binpack":
                res = str(rule.get("field") or "memory")

                def left_after(t: _Task, res: str = res) -> int:
                    u = usage.get(t.node)
                    base = (u.remaining + freed.get(t.node, Resources())).get(res) if u else 0
                    return base + t.requests.get(res)

                top = max(left_after(t) for t in candidates)
                candidates = [t for t in candidates if left_after(t) == top]
            else:  # random: nothing more to narrow
                break
        victim = min(candidates, key=lambda t: _tie(t.name))
        order.append(victim.name)
        freed[victim.node] = freed.get(victim.node, Resources()) + victim.requests
        remaining = [t for t in remaining if t is not victim]
    return order


def deletion_costs(
    service_pods: Sequence[Mapping[str, Any]],
    nodes: Sequence[Mapping[str, Any]],
    strategies: Sequence[Mapping[str, Any]] | None,
    node_pods: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, int]:
    """{pod name: deletion cost}; lower is deleted first. Unscheduled pods are left out: the
    ReplicaSet controller deletes them before any scheduled pod anyway."""
    return {name: i for i, name in enumerate(scale_in_order(service_pods, nodes, strategies, node_pods))}


def cost_patches(
    service_pods: Sequence[Mapping[str, Any]], costs: Mapping[str, int]
) -> dict[str, dict[str, Any]]:
    """Merge patches for the pods whose annotation differs: a settled service patches nothing."""
    out: dict[str, dict[str, Any]] = {}
    for p in service_pods:
        name = str(p["metadata"]["name"])
        if name not in costs:
            continue
        want = str(costs[name])
        have = ((p.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST_ANNOTATION)
        if have != want:
            out[name] = {"metadata": {"annotations": {DELETION_COST_ANNOTATION: want}}}
    return out
