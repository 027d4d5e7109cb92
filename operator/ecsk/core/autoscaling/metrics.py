"""ECS service utilization from Kubernetes pods and resource metrics (metrics.k8s.io).

ECS's CPUUtilization/MemoryUtilization is what a task uses as a percentage of what it reserves;
ecsk renders the reservation as requests: task-level cpu/memory as pod-level requests
(`spec.resources`), container cpu/memoryReservation as container requests. A pod's utilization is
its usage over its requests, exactly what the HPA's `averageUtilization` measures too (since
Kubernetes 1.34 it divides by the pod-level request when the pod has one). Step scaling alarms use
the same numbers, so both policy types see one metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ecsk.core.common.quantity import quantity_or_none

RESOURCE_FOR_METRIC = {"CPUUtilization": "cpu", "MemoryUtilization": "memory"}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity in base units, None when unreadable (a bad sample is no sample)."""
    return quantity_or_none(value)


def pod_requests(pod: Mapping[str, Any], resource: str) -> Decimal:
    """What the task reserves: the pod-level request when set (the task size, which ECS's
    utilization is a percentage of, and what the HPA's replica calculator uses), else the sum of
    the containers' requests (a limit alone counts as the request, as the apiserver defaults it)."""
    spec = pod.get("spec") or {}
    pod_level = ((spec.get("resources") or {}).get("requests") or {}).get(resource)
    if pod_level is not None:
        q = quantity(pod_level)
        if q is not None:
            return q
    total = Decimal(0)
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        value = (res.get("requests") or {}).get(resource) or (res.get("limits") or {}).get(resource)
        q = quantity(value) if value is not None else None
        total += q or 0
    return total


def pod_utilization(
    pods: Iterable[Mapping[str, Any]], pod_metrics: Iterable[Mapping[str, Any]], resource: str
) -> dict[str, float]:
    """Percent of the reservation in use, per running pod that has both a reservation and a metric
    sample."""
    usage: dict[str, Decimal] = {}
    for m in pod_metrics:
        name = (m.get("metadata") or {}).get("name", "")
        total = Decimal(0)
        for c in m.get("containers") or []:
            q = quantity((c.get("usage") or {}).get(resource, "0"))
            total += q or 0
        usage[name] = total
    out: dict[str, float] = {}
    for pod in pods:
        name = (pod.get("metadata") or {}).get("name", "")
        if (pod.get("status") or {}).get("phase") != "Running" or name not in usage:
            continue
        requested = pod_requests(pod, resource)
        if requested > 0:
            out[name] = float(usage[name] / requested * 100)
    return out


def aggregate_pods(values: Iterable[float], aggregation: str | None) -> float | None:
    """One sample of the service metric; MetricAggregationType picks how pods combine."""
    vals = list(values)
    if not vals:
        return None
    if aggregation == "Minimum":
        return min(vals)
    if aggregation == "Maximum":
        return max(vals)
    return sum(vals) / len(vals)
