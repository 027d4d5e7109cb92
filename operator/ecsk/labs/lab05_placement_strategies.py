"""Lab 05: task placement strategies: binpack, spread, random, and a combination (spread over
zones, then binpack inside each zone), observed on where the tasks land."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ecsk.core.capacity.fargate import COMPUTE_TYPE
from ecsk.labs.engine import (
    ZONE,
    Lab,
    Obj,
    Snapshot,
    container,
    ec2_service,
    require,
    spec,
    strategy_has,
    td_doc,
)

NAME = "web"
DESIRED = 6
AZ = "attribute:ecs.availability-zone"
PACKED = [{"type": "binpack", "field": "memory"}]
COMBINED = [{"type": "spread", "field": AZ}, {"type": "binpack", "field": "memory"}]


def _service(strategy: list[dict[str, str]]) -> Obj:
    return ec2_service(NAME, DESIRED, placementStrategy=strategy)


def _strategy_problems(strategies: list[dict[str, Any]]) -> list[str]:
    out = []
    if not strategy_has(strategies, "spread", AZ):
        out.append(f"the service still has no spread on {AZ}")
    elif str(strategies[0].get("type", "")).lower() != "spread":
        out.append(f"spread on {AZ} must come first: strategies are applied in order")
    if not strategy_has(strategies, "binpack", "memory"):
        out.append(
            "keep binpack on memory after the spread: inside each zone, fill instances before using new ones"
        )
    return out


def zone_counts(snap: Snapshot, tasks: list[Obj]) -> dict[str, int]:
    """Tasks per availability zone, every zone of the EC2 fleet listed (an empty zone counts)."""
    zones = {
        (n["metadata"].get("labels") or {}).get(ZONE, "")
        for n in snap.nodes
        if (n["metadata"].get("labels") or {}).get(COMPUTE_TYPE) != "fargate"
    }
    counts = Counter(snap.node_label(p, ZONE) for p in tasks)
    return {zone: counts.get(zone, 0) for zone in sorted(z for z in zones if z)}


def _spread_problems(snap: Snapshot) -> list[str]:
    running = snap.running_tasks(NAME)
    if len(running) != DESIRED:
        return [f"{len(running)} of {DESIRED} tasks are running; wait for the deployment to finish"]
    counts = zone_counts(snap, running)
    if counts and max(counts.values()) - min(counts.values()) > 1:
        zone, most = max(counts.items(), key=lambda kv: kv[1])
        listing = ", ".join(f"{z}: {n}" for z, n in counts.items())
        return [f"{most} of {DESIRED} tasks are in {zone} ({listing}): not spread evenly over the zones"]
    return []


class PlacementStrategiesLab(Lab):
    def starting_objects(self) -> list[Obj]:
        td = td_doc(NAME, {"family": NAME, "containerDefinitions": [container("web", memory=256)]})
        return [td, _service(PACKED)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_service(COMBINED)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        strategies = list(spec(snap.get("ECSService", NAME)).get("placementStrategy") or [])
        return _strategy_problems(strategies) + _spread_problems(snap)


LAB = PlacementStrategiesLab(
    number=5,
    slug="placement-strategies",
    title="Placement strategies: binpack, spread, random, combined",
    topic="ECS task placement strategies (binpack, random, spread; mixed)",
    goal=(
        f"The service `{NAME}` ({DESIRED} tasks) is binpacked on memory. "
        "Keep the cost saving inside each zone but survive a zone failure: "
        "spread over availability zones first, then binpack on memory."
    ),
    steps=(
        "See the packing: ecsk placement -n {ns} --service web",
        "Edit the service: kubectl -n {ns} edit ecsservice web  (placementStrategy)",
        "placementStrategy: [{{type: spread, field: attribute:ecs.availability-zone}}, "
        "{{type: binpack, field: memory}}]",
        "Watch the tasks move: ecsk placement -n {ns} --service web",
    ),
    hints=(
        "Strategies are a list, applied in order: the first decides, the next ones break ties.",
        "The zone is the built-in attribute attribute:ecs.availability-zone.",
        "Spread first, binpack second: the other order packs everything into one zone.",
    ),
)
