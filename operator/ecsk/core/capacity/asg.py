"""The emulated Auto Scaling group behind a capacity provider: which instance a launch creates,
which launches are in flight, and which instances are still warming up.

Three things an ASG does that managed scaling depends on:

* **Mixed instance types.** With several types (a MixedInstancesPolicy), the group's allocation
  strategy picks the type of each launch. Real ASGs also weigh live capacity and Spot prices we
  do not have, so the emulation is deterministic (documented in docs/capacity.md):
  On-Demand `prioritized` = the first type in list order; `lowest-price` = the cheapest
  On-Demand price. Spot `lowest-price` = the cheapest type; `capacity-optimized`,
  `capacity-optimized-prioritized` and `price-capacity-optimized` = the type (Spot pool) with
  the fewest of the group's instances in the zone, so launches diversify over pools as capacity
  optimisation does in practice; ties go to list order, except `price-capacity-optimized`,
  whose ties go to the cheaper type.
* **Launches in flight** are part of the group's state on AWS, not the caller's: a restarted
  operator must resume them, neither launching twice nor forgetting. They are kept in the
  CapacityProvider status (`pendingLaunches`) with wall-clock times.
* **Instance warm-up** (`instanceWarmupPeriod`, default 300 s): for that long after an
  instance is InService (registered), target tracking counts it as capacity when deciding how
  many instances to add (so scale-out is not repeated while it warms) but blocks scale-in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecsk.core.capacity.fleet import INSTANCE_TYPES

IN_SERVICE_ANNOTATION = "ecs.ecsk.io/in-service-at"
"""When the instance registered (RFC 3339): the warm-up clock, kept on the node so it survives
an operator restart."""

ON_DEMAND_DEFAULT = "prioritized"
SPOT_DEFAULT = "price-capacity-optimized"


def to_rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class PendingLaunch:
    """One instance the group has launched that has not registered yet."""

    name: str
    zone: str
    instance_type: str
    launched_at: float
    join_at: float

    def to_status(self) -> dict[str, str]:
        return {
            "name": self.name,
            "zone": self.zone,
            "instanceType": self.instance_type,
            "launchTime": to_rfc3339(self.launched_at),
            "joinTime": to_rfc3339(self.join_at),
        }

    @classmethod
    def from_status(cls, item: Mapping[str, Any]) -> PendingLaunch | None:
        """None for an entry we cannot read (hand-edited, older format): it is dropped, and the
        next pass plans whatever capacity is still missing."""
        try:
            itype = str(item["instanceType"])
            if itype not in INSTANCE_TYPES:
                return None
            return cls(
                name=str(item["name"]),
                zone=str(item["zone"]),
                instance_type=itype,
                launched_at=from_rfc3339(str(item["launchTime"])),
                join_at=from_rfc3339(str(item["joinTime"])),
            )
        except (KeyError, TypeError, ValueError):
            return None


def launches_from_status(status: Mapping[str, Any] | None) -> list[PendingLaunch]:
    items = (status or {}).get("pendingLaunches") or ()
    out = [PendingLaunch.from_status(i) for i in items if isinstance(i, Mapping)]
    return [launch for launch in out if launch is not None]


def launches_to_status(launches: Iterable[PendingLaunch]) -> list[dict[str, str]]:
    return [launch.to_status() for launch in launches]


def split_due(
    launches: Sequence[PendingLaunch], now: float
) -> tuple[list[PendingLaunch], list[PendingLaunch]]:
    """(due to register now, still booting)."""
    due = [launch for launch in launches if launch.join_at <= now]
    return due, [launch for launch in launches if launch.join_at > now]


def choose_instance_type(
    types: Sequence[str],
    capacity_type: str,
    *,
    on_demand_strategy: str | None = None,
    spot_strategy: str | None = None,
    in_zone: Mapping[str, int] | None = None,
) -> str:
    """The instance type of the next launch in one zone (`in_zone`: the group's instances per
    type there, launches in flight included)."""
    counts = Counter(in_zone or {})
    order = {name: i for i, name in enumerate(types)}

    def price(name: str) -> float:
        return INSTANCE_TYPES[name].price

    if capacity_type == "SPOT":
        strategy = spot_strategy or SPOT_DEFAULT
        if strategy == "lowest-price":
            return min(types, key=lambda t: (price(t), order[t]))
        if strategy == "price-capacity-optimized":
            return min(types, key=lambda t: (counts[t], price(t), order[t]))
        return min(types, key=lambda t: (counts[t], order[t]))  # capacity-optimized(-prioritized)
    if (on_demand_strategy or ON_DEMAND_DEFAULT) == "lowest-price":
        return min(types, key=lambda t: (price(t), order[t]))
    return types[0]  # prioritized: the first type always has capacity here


@dataclass(frozen=True)
class Instance:
    """What launch planning needs to know about a member of the group (registered or not)."""

    zone: str
    instance_type: str


def plan_launches(
    count: int,
    *,
    zones: Sequence[str],
    members: Iterable[Instance],
    types: Sequence[str],
    capacity_type: str,
    on_demand_strategy: str | None = None,
    spot_strategy: str | None = None,
) -> list[Instance]:
    """Zone and type of `count` new instances: ASG AZ balancing first (the zone with the fewest
    of the group's instances, ties in zone order), then the allocation strategy in that zone."""
    per_zone: Counter[str] = Counter()
    per_pool: Counter[tuple[str, str]] = Counter()
    for member in members:
        per_zone[member.zone] += 1
        per_pool[(member.zone, member.instance_type)] += 1
    out = []
    for _ in range(count):
        zone = min(zones, key=lambda z: (per_zone[z], zones.index(z)))
        itype = choose_instance_type(
            types,
            capacity_type,
            on_demand_strategy=on_demand_strategy,
            spot_strategy=spot_strategy,
            in_zone={t: per_pool[(zone, t)] for t in types},
        )
        per_zone[zone] += 1
        per_pool[(zone, itype)] += 1
        out.append(Instance(zone, itype))
    return out


def warming_up(node: Mapping[str, Any], now: float, warmup: float) -> bool:
    """Registered less than `warmup` seconds ago. An instance without the annotation (created
    by an older operator) counts as warm: blocking scale-in forever would be worse."""
    stamp = ((node.get("metadata") or {}).get("annotations") or {}).get(IN_SERVICE_ANNOTATION)
    if not stamp:
        return False
    try:
        return now - from_rfc3339(str(stamp)) < warmup
    except ValueError:
        return False
