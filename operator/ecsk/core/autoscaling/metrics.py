"""ECS service utilization from Kubernetes pods and resource metrics (metrics.k8s.io).

ECS's CPUUtilization/MemoryUtilization is what a task uses as a percentage of what it reserves;
ecsk renders the reservation as container requests, so a pod's utilization is its usage over its
requests, exactly what the HPA's `averageUtilization` measures too. Step scaling alarms use the
same numbers, so both policy types see one metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ecsk.core.quantity import quantity_or_none

RESOURCE_FOR_METRIC = {"CPUUtilization": "cpu", "MemoryUtilization": "memory"}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity in base units, None when unreadable (a bad sample is no sample)."""
    return quantity_or_none(value)


def _requests(pod: Mapping[str, Any], resource: str) -> Decimal:
    total = Decimal(0)
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        value = (res.get("requests") or {}).get(resource) or (res.get("limits") or {}).get(resource)
        q = quantity(value) if value is not None else None
        total += q or 0
    return total


def pod_utilization(
    pods: Iterable[Mapping[str, Any]], pod_metrics: Iterable[Mapping[str, Any]], resource: str
) -> dict[str, float]:
    """Percent of requests in use, per running pod that has both requests and a metric sample."""
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
        requested = _requests(pod, resource)
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
