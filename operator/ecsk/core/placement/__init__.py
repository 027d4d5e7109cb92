"""ECS task placement on the real kube-scheduler (pure: plain dicts in and out).

* `PlacementEngine` / `place`: the translator's placement hook. memberOf + distinctInstance ->
  required (anti-)affinity merged with what the pod spec already has; strategies -> topology
  spread constraints and a scheduler profile; Fargate/DAEMON refusals in ECS's words.
* `standalone_inputs`: RunTask / scheduled-task inputs (task definition + call, ANDed).
* `node_view(s)`: Nodes as CQL container instances (the inventory regexes resolve against).
* `deletion_costs` / `scale_in_order`: ECS's scale-in victim choice as pod-deletion-cost values.
* `unable_to_place_event` / `closest_instance`: ECS's unplaceable-task event with an instance.

See docs/placement.md for the mapping table, the combination rules and what is approximate.
"""

from ecsk.core.placement.constraints import NEEDS_INVENTORY, distinct_instance_term, plan_constraints
from ecsk.core.placement.hook import (
    DAEMON_STRATEGIES,
    FARGATE_CONSTRAINTS,
    FARGATE_STRATEGIES,
    PlacementEngine,
    PlacementOutcome,
    chain,
    is_fargate,
    offline_hook,
    place,
    with_launch_gates,
)
from ecsk.core.placement.inputs import standalone_inputs
from ecsk.core.placement.merge import drop_absorbed, merge_affinity, merge_topology_spread
from ecsk.core.placement.nodes import (
    ATTRIBUTES_ANNOTATION,
    NodeUsage,
    Resources,
    node_allocatable,
    node_attributes,
    node_usage,
    node_view,
    node_views,
    pod_requests,
    quantity,
)
from ecsk.core.placement.profiles import (
    DEFAULT_PROFILES,
    DEFAULT_SCHEDULER,
    LEGACY_PROFILES,
    SchedulerProfiles,
)
from ecsk.core.placement.scale_in import (
    DELETION_COST_ANNOTATION,
    SCALE_IN_DEFAULT,
    cost_patches,
    deletion_costs,
    scale_in_order,
)
from ecsk.core.placement.strategies import (
    AZ_ATTRIBUTE,
    SERVICE_DEFAULT_STRATEGY,
    StrategyPlan,
    plan_strategies,
    spread_constraint,
    spread_topology_key,
)
from ecsk.core.placement.unplaced import closest_instance, unable_to_place_event

__all__ = [
    "ATTRIBUTES_ANNOTATION",
    "AZ_ATTRIBUTE",
    "DAEMON_STRATEGIES",
    "DEFAULT_PROFILES",
    "DEFAULT_SCHEDULER",
    "DELETION_COST_ANNOTATION",
    "FARGATE_CONSTRAINTS",
    "FARGATE_STRATEGIES",
    "LEGACY_PROFILES",
    "NEEDS_INVENTORY",
    "SCALE_IN_DEFAULT",
    "SERVICE_DEFAULT_STRATEGY",
    "NodeUsage",
    "PlacementEngine",
    "PlacementOutcome",
    "Resources",
    "SchedulerProfiles",
    "StrategyPlan",
    "chain",
    "closest_instance",
    "cost_patches",
    "deletion_costs",
    "distinct_instance_term",
    "drop_absorbed",
    "is_fargate",
    "merge_affinity",
    "merge_topology_spread",
    "node_allocatable",
    "node_attributes",
    "node_usage",
    "node_view",
    "node_views",
    "offline_hook",
    "place",
    "plan_constraints",
    "plan_strategies",
    "pod_requests",
    "quantity",
    "scale_in_order",
    "spread_constraint",
    "spread_topology_key",
    "standalone_inputs",
    "unable_to_place_event",
    "with_launch_gates",
]
