"""ECS placement strategies -> topology spread constraints and a scheduler profile.

ECS applies strategies lexicographically (each later rule only breaks the ties of the earlier
ones); kube-scheduler adds weighted plugin scores instead. The plan keeps the ECS order where the
two agree and drops rules whose score would *outweigh* an earlier rule, rather than let a
tie-breaker become the main criterion:

* spreads before any binpack/random become topology spread constraints (ScheduleAnyway: best
  effort, like ECS strategies). PodTopologySpread (plugin weight 2) outweighs resource scoring
  (weight 1), so "spread, then binpack" keeps the spread first, as ECS does;
* the first binpack or random picks the scheduler profile, and ends the plan: any later rule is a
  tie-breaker in ECS, and as a score it would outweigh the rule it should only refine. Remaining
  ties are kube-scheduler's to break (deterministically in 1.37, see docs/placement.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecsk.core.cql import CQLEncodingError, attribute_label_key
from ecsk.core.cql.labels import HOSTNAME_TOPOLOGY_KEY, TASK_GROUP_LABEL, task_group_label_value
from ecsk.core.placement.profiles import DEFAULT_PROFILES, SchedulerProfiles
from ecsk.core.translate.types import Diagnostic

AZ_ATTRIBUTE = "attribute:ecs.availability-zone"
SERVICE_DEFAULT_STRATEGY: tuple[dict[str, str], ...] = ({"type": "spread", "field": AZ_ATTRIBUTE},)
"""ECS's default for service tasks when placementStrategy is empty (standalone tasks have none)."""

REVISION_KEY = "pod-template-hash"
"""Added to spread constraints as a matchLabelKey: a rollout's new pods spread among themselves.
Counting the outgoing revision's pods too would balance the *transient* mix and leave the
finished deployment lopsided once the old pods are gone."""


@dataclass
class StrategyPlan:
    """What the strategies ask of the pod spec."""

    scheduler_name: str | None = None
    topology_spread: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[PlacementNote] = field(default_factory=list)
    """What each given rule became, by `placementStrategy[i]` (for `--explain`)."""


PlacementNote = tuple[str, "tuple[str, ...] | None", str]
"""(ECS path relative to the placement inputs, Kubernetes paths or None, text)."""
SPREAD_PATH = "spec.topologySpreadConstraints"
SCHEDULER_PATH = "spec.schedulerName"


def spread_topology_key(field_name: str) -> str:
    """`instanceId` and `host` both mean one domain per instance (ECS: "host has the same effect")."""
    if field_name in ("instanceId", "host"):
        return HOSTNAME_TOPOLOGY_KEY
    if field_name.startswith("attribute:"):
        return attribute_label_key(field_name[len("attribute:") :])
    raise CQLEncodingError(f"spread field {field_name!r} is not instanceId, host or attribute:<name>")


def spread_constraint(topology_key: str, task_group: str) -> dict[str, Any]:
    """maxSkew 1 + ScheduleAnyway: prefer the least-loaded value, but never block a task, because
    ECS strategies are best effort (only constraints are binding)."""
    return {
        "maxSkew": 1,
        "topologyKey": topology_key,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {TASK_GROUP_LABEL: task_group_label_value(task_group)}},
        "matchLabelKeys": [REVISION_KEY],
    }


def plan_strategies(
    strategies: Sequence[dict[str, Any]] | None,
    task_group: str,
    *,
    service: bool,
    profiles: SchedulerProfiles = DEFAULT_PROFILES,
) -> StrategyPlan:
    """`service` selects ECS's service default (spread over AZs) when no strategy is given."""
    plan = StrategyPlan()
    rules = list(strategies or ())
    if not rules and service:
        rules = [dict(r) for r in SERVICE_DEFAULT_STRATEGY]
    seen_keys: set[str] = set()
    decided_by: str | None = None
    for i, rule in enumerate(rules):
        path = f"placementStrategy[{i}]" if strategies else "placementStrategy"
        kind, fld = rule.get("type"), rule.get("field")
        if decided_by is not None:
            plan.diagnostics.append(
                Diagnostic(
                    "info",
                    path,
                    f"{kind}{f' on {fld}' if fld else ''} only breaks ties after {decided_by}; "
                    "it is not rendered, because as a score it would outweigh that rule",
                    "placement.strategy-tie-breaker",
                )
            )
            plan.notes.append((path, None, f"only breaks ties after {decided_by}: not rendered"))
            continue
        if kind == "spread":
            try:
                key = spread_topology_key(str(fld or ""))
            except CQLEncodingError as exc:
                plan.diagnostics.append(
                    Diagnostic("error", f"{path}.field", str(exc), "placement.strategy-field")
                )
                continue
            if key not in seen_keys:
                seen_keys.add(key)
                plan.topology_spread.append(spread_constraint(key, task_group))
                plan.notes.append(
                    (
                        path,
                        (SPREAD_PATH,),
                        f"spread on {fld} -> topology spread constraint on {key} (maxSkew 1, "
                        "ScheduleAnyway: best effort, as ECS strategies are), counting the "
                        f"tasks of {task_group} per revision",
                    )
                )
            else:
                plan.notes.append((path, None, f"spread on {fld}: same domain ({key}) as an earlier spread"))
        elif kind == "binpack":
            if fld not in ("cpu", "memory"):
                plan.diagnostics.append(
                    Diagnostic(
                        "error",
                        f"{path}.field",
                        "The binpack placement strategy needs field cpu or memory.",
                        "placement.strategy-field",
                    )
                )
                continue
            plan.scheduler_name = profiles.binpack(str(fld))
            decided_by = f"binpack on {fld}"
            plan.notes.append(
                (
                    path,
                    (SCHEDULER_PATH,),
                    f"binpack on {fld} -> scheduler profile {plan.scheduler_name} "
                    f"(MostAllocated scoring on {fld}: fill the fullest node that fits first)",
                )
            )
        elif kind == "random":
            plan.scheduler_name = profiles.random
            decided_by = "random"
            plan.notes.append(
                (
                    path,
                    (SCHEDULER_PATH,),
                    f"random -> scheduler profile {plan.scheduler_name} (see docs/placement.md)",
                )
            )
        else:
            plan.diagnostics.append(
                Diagnostic(
                    "error",
                    f"{path}.type",
                    "type must be random, spread or binpack.",
                    "placement.strategy-type",
                )
            )
    return plan
