"""ECS managed scaling for an emulated Auto Scaling group: how many instances, and what they are.

ECS publishes the metric: CapacityProviderReservation = M / N x 100, where N is the instances
in the group and M the instances needed to run every task, including tasks waiting for capacity
(M counts busy instances plus a bin-packed estimate for the waiting tasks). Managed scaling
drives the group so the metric sits at `targetCapacity`: desired = ceil(M x 100 / target),
moved by at least minimumScalingStepSize and at most maximumScalingStepSize per decision, and
kept in [minSize, maxSize]. Scale-in removes only empty instances (ECS never terminates an
instance that runs tasks while managed termination protection is on; we never evict at all).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ecsk.core.capacity.asg import IN_SERVICE_ANNOTATION
from ecsk.core.capacity.fargate import FargateRefusal, parse_quantity
from ecsk.core.capacity.fleet import InstanceType, private_dns_name, render_ec2_node

NETWORK = 2
"""Second octet of capacity provider instances (fleet 0, Fargate 1): names never collide."""
PROVIDER_LABEL = "ecs.ecsk.io/capacity-provider"
ORIGIN_LABEL = "ecs.ecsk.io/origin"


def quantity(value: Any) -> Decimal:
    """A quantity, or 0 when absent or unreadable: capacity accounting must never crash."""
    try:
        return parse_quantity(value) if value is not None else Decimal(0)
    except FargateRefusal:
        return Decimal(0)


def _req(resources: Mapping[str, Any] | None, key: str) -> Decimal:
    res = resources or {}
    value = (res.get("requests") or {}).get(key)
    return quantity(value if value is not None else (res.get("limits") or {}).get(key))


def pod_reservation(spec: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """(cores, bytes) the scheduler reserves: pod-level resources, else max(app + sidecars, init)."""
    out = []
    for key in ("cpu", "memory"):
        pod_level = _req(spec.get("resources"), key)
        if pod_level:
            out.append(pod_level)
            continue
        inits = spec.get("initContainers") or ()
        app = [*(spec.get("containers") or ()), *(c for c in inits if c.get("restartPolicy") == "Always")]
        plain_init = [c for c in inits if c.get("restartPolicy") != "Always"]
        total = sum((_req(c.get("resources"), key) for c in app), Decimal(0))
        out.append(max(total, max((_req(c.get("resources"), key) for c in plain_init), default=Decimal(0))))
    return out[0], out[1]


def pod_request(spec: Mapping[str, Any]) -> tuple[int, int]:
    """(millicpu, MiB), rounded up, for bin packing."""
    cores, mem = pod_reservation(spec)
    return math.ceil(cores * 1000), math.ceil(mem / 2**20)


def instances_for(pending: Sequence[tuple[int, int]], instance: tuple[int, int]) -> int:
    """First-fit decreasing of (millicpu, MiB) requests into fresh instances of one size.

    A request bigger than an instance still counts one instance (it will never fit; the task
    stays pending, as on ECS, rather than inflating the group without bound)."""
    bins: list[list[int]] = []
    for cpu, mem in sorted(pending, reverse=True):
        for b in bins:
            if b[0] >= cpu and b[1] >= mem:
                b[0] -= cpu
                b[1] -= mem
                break
        else:
            bins.append([max(instance[0] - cpu, 0), max(instance[1] - mem, 0)])
    return len(bins)


@dataclass(frozen=True)
class ScaleOutEstimate:
    """Instances the waiting tasks need, and the tasks left out of the estimate."""

    instances: int
    incompatible: int


def estimate_instances(pending: Sequence[tuple[int, int]], types: Sequence[InstanceType]) -> ScaleOutEstimate:
    """ECS managed scale-out with several instance types: the types are ranked per parameter
    (CPU, memory); the smallest values guard compatibility — a task that does not fit the
    smallest is left out of the calculation — and the largest values size the bin-pack, so the
    estimate is the fewest instances that could hold the tasks (ECS scales out again if the
    instances that arrive are smaller). With one type this is a plain bin-pack."""
    small = (
        min(t.allocatable_millicpu for t in types),
        min(t.allocatable_memory_mib for t in types),
    )
    large = (
        max(t.allocatable_millicpu for t in types),
        max(t.allocatable_memory_mib for t in types),
    )
    fits = [p for p in pending if p[0] <= small[0] and p[1] <= small[1]]
    return ScaleOutEstimate(instances_for(fits, large) if fits else 0, len(pending) - len(fits))


def reservation(needed: int, instances: int) -> float:
    """CapacityProviderReservation in percent (ECS: 100 when both are zero)."""
    if instances == 0:
        return 100.0 if needed == 0 else 200.0
    return needed * 100.0 / instances


def desired_capacity(
    *,
    current: int,
    needed: int,
    target: int,
    min_size: int,
    max_size: int,
    min_step: int = 1,
    max_step: int = 10000,
) -> int:
    """The group size managed scaling asks for, one decision from `current`."""
    low, high = min_size, max(min_size, max_size)
    want = math.ceil(needed * 100 / max(target, 1))
    if want > current:
        step = min(max(want - current, min_step), max_step)
        return max(low, min(high, current + step))
    if want < current:
        step = min(current - want, max_step)
        return max(low, min(high, current - step))
    return max(low, min(high, current))


def instance_name(region: str, zone_index: int, taken: set[str]) -> str:
    seq = 0
    while (name := private_dns_name(region, zone_index, seq, network=NETWORK)) in taken:
        seq += 1
    return name


def render_instance(
    *,
    provider: str,
    name: str,
    region: str,
    zone: str,
    instance_type: InstanceType,
    capacity_type: str,
    in_service_at: str | None = None,
) -> dict[str, Any]:
    """An ASG instance registered as an EKS managed node group node of the provider's name.

    `in_service_at` (RFC 3339) starts the instance's warm-up clock (`ecsk.core.capacity.asg`)."""
    node = render_ec2_node(
        name=name,
        region=region,
        zone=zone,
        instance_type=instance_type,
        group=provider,
        group_kind="managed",
        capacity_type=capacity_type,
        extra_labels={PROVIDER_LABEL: provider, ORIGIN_LABEL: "capacity-provider"},
    )
    if in_service_at:
        node["metadata"]["annotations"][IN_SERVICE_ANNOTATION] = in_service_at
    return node
