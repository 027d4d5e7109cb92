"""The placement hook the translator calls (`RenderOptions.placement_hook`).

`place` is a pure function of (pod spec, inputs, inventory); `PlacementEngine` wraps it as the
hook and remembers whether any render needed the live node inventory, because the hook signature
returns only diagnostics and the operator must know when to re-render on node changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecsk.core.capacity.fargate import uses_fargate
from ecsk.core.capacity.providers import placement_hook as capacity_hook
from ecsk.core.cql import CQLCompileError, NodeView
from ecsk.core.placement.constraints import plan_constraints
from ecsk.core.placement.merge import merge_affinity, merge_topology_spread
from ecsk.core.placement.profiles import DEFAULT_PROFILES, DEFAULT_SCHEDULER, SchedulerProfiles
from ecsk.core.placement.strategies import plan_strategies
from ecsk.core.translate.types import Diagnostic, PlacementHook, PlacementInputs
from ecsk.core.validation.placement import MAX_STRATEGIES

FARGATE_CONSTRAINTS = "Placement constraints are not supported with FARGATE launch type."
FARGATE_STRATEGIES = "Placement strategies are not supported with FARGATE launch type."
DAEMON_STRATEGIES = "Placement strategies are not supported with the DAEMON scheduling strategy."


@dataclass
class PlacementOutcome:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    depends_on_inventory: bool = False
    node_label_keys: frozenset[str] = frozenset()


def is_fargate(inputs: PlacementInputs) -> bool:
    """Fargate by launch type or capacity provider; with neither, a task definition that is
    compatible with FARGATE only can run nowhere else, so its constraints are refused too."""
    if uses_fargate(inputs.launch_type, inputs.capacity_provider_strategy):
        return True
    return (
        inputs.launch_type is None
        and not inputs.capacity_provider_strategy
        and set(inputs.requires_compatibilities or ()) == {"FARGATE"}
    )


def place(
    spec: dict[str, Any],
    inputs: PlacementInputs,
    inventory: Sequence[NodeView] | None = None,
    profiles: SchedulerProfiles = DEFAULT_PROFILES,
    *,
    offline: bool = False,
) -> PlacementOutcome:
    """Mutate `spec` to carry the ECS placement of `inputs`; errors mean "do not apply".

    `offline` (`ecsk render` / `import`: there are no nodes to read) defers what only the live
    inventory can resolve, with a warning, instead of refusing; everything else is the same code
    the operator runs."""
    out = PlacementOutcome()
    if is_fargate(inputs):
        # Fargate places each task on its own micro-VM (ecsk.core.capacity.fargate); ECS refuses both.
        if inputs.placement_constraints:
            out.diagnostics.append(
                Diagnostic("error", "placementConstraints", FARGATE_CONSTRAINTS, "placement.fargate")
            )
        if inputs.placement_strategy:
            out.diagnostics.append(
                Diagnostic("error", "placementStrategy", FARGATE_STRATEGIES, "placement.fargate")
            )
        return out
    daemon = inputs.scheduling_strategy == "DAEMON"
    strategies = inputs.placement_strategy or []
    if len(strategies) > MAX_STRATEGIES:
        out.diagnostics.append(
            Diagnostic(
                "error",
                "placementStrategy",
                f"You can specify a maximum of {MAX_STRATEGIES} placement strategy rules.",
                "placement.strategy-count",
            )
        )
    if daemon and strategies:
        out.diagnostics.append(
            Diagnostic("error", "placementStrategy", DAEMON_STRATEGIES, "placement.daemon")
        )
    cplan = plan_constraints(inputs.placement_constraints, inputs.task_group, inventory, offline=offline)
    out.diagnostics.extend(cplan.diagnostics)
    out.depends_on_inventory = cplan.compiled.depends_on_inventory or any(
        d.code == "placement.needs-inventory" for d in cplan.diagnostics
    )
    out.node_label_keys = cplan.compiled.node_label_keys_used
    splan = plan_strategies(
        [] if daemon else strategies,
        inputs.task_group,
        service=inputs.scheduling_strategy == "REPLICA",
        profiles=profiles,
    )
    out.diagnostics.extend(splan.diagnostics)
    if any(d.severity == "error" for d in out.diagnostics):
        return out
    if inputs.note is not None:
        for path, k8s, text in [*cplan.notes, *splan.notes]:
            inputs.note(path, k8s, text)
    try:
        out.diagnostics.extend(merge_affinity(spec, cplan.compiled))
    except CQLCompileError as exc:
        out.diagnostics.append(Diagnostic("error", "placementConstraints", str(exc), "placement.cql-compile"))
        return out
    merge_topology_spread(spec, splan.topology_spread)
    if splan.scheduler_name and splan.scheduler_name != DEFAULT_SCHEDULER:
        current = spec.get("schedulerName")
        if current not in (None, DEFAULT_SCHEDULER, splan.scheduler_name):
            out.diagnostics.append(
                Diagnostic(
                    "warning",
                    "placementStrategy",
                    f"the pod already uses scheduler {current!r}; the strategy's profile "
                    f"{splan.scheduler_name!r} is not applied",
                    "placement.scheduler-taken",
                )
            )
        else:
            spec["schedulerName"] = splan.scheduler_name
    return out


class PlacementEngine:
    """The hook object: `RenderOptions(placement_hook=PlacementEngine(inventory))`.

    One engine per render pass (or per inventory snapshot); `depends_on_inventory` is true once
    any placement it made used the node inventory, so the caller knows to re-render when nodes
    join, leave or change labels.
    """

    def __init__(
        self,
        inventory: Sequence[NodeView] | None = None,
        profiles: SchedulerProfiles = DEFAULT_PROFILES,
        *,
        offline: bool = False,
    ) -> None:
        # Kept as given, not copied: the operator passes a lazy sequence that converts the node
        # inventory only when a regex or similar needs it; `list()` here converted every node on
        # every service pass (22% of the operator's CPU with 1,000 nodes, bench/scale_bench.py).
        self.inventory = inventory
        self.profiles = profiles
        self.offline = offline
        self.depends_on_inventory = False
        self.node_label_keys: frozenset[str] = frozenset()

    def __call__(self, spec: dict[str, Any], inputs: PlacementInputs) -> list[Diagnostic]:
        outcome = place(spec, inputs, self.inventory, self.profiles, offline=self.offline)
        self.depends_on_inventory = self.depends_on_inventory or outcome.depends_on_inventory
        self.node_label_keys = self.node_label_keys | outcome.node_label_keys
        return outcome.diagnostics


def chain(*hooks: PlacementHook | None) -> PlacementHook:
    """Run several hooks in order (e.g. `ecsk.core.capacity.fargate.placement_hook`, then the engine):
    `RenderOptions` takes one."""
    active = [h for h in hooks if h is not None]

    def run(spec: dict[str, Any], inputs: PlacementInputs) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for hook in active:
            found.extend(hook(spec, inputs) or ())
        return found

    return run


def with_launch_gates(engine: PlacementHook) -> PlacementHook:
    """The hook every render uses: the launch-type gates (`ecsk.core.capacity.providers`, which
    covers Fargate) first, then ECS placement. The operator passes an engine on live nodes,
    `ecsk render` an offline one: one code path, so the two cannot drift."""
    return chain(capacity_hook, engine)


def offline_hook(profiles: SchedulerProfiles = DEFAULT_PROFILES) -> PlacementHook:
    """Placement for `ecsk render` / `ecsk import`: no node inventory exists, so the few memberOf
    expressions that need one are deferred (see `plan_constraints`); the rest is rendered."""
    return with_launch_gates(PlacementEngine(None, profiles, offline=True))
