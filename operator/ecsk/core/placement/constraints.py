"""ECS placement constraints -> required scheduling terms.

Constraints are binding in ECS (no instance fits -> the task stays PENDING), so everything here
becomes a *required* term, and anything that cannot be expressed exactly is an error, never a
weaker term: a task placed where ECS would not place it is a bug, a task left Pending is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecsk.core.cql import (
    CompiledPlacement,
    CQLCompileError,
    CQLError,
    CQLSyntaxError,
    NodeView,
    compile_expressions,
    parse,
)
from ecsk.core.cql.labels import HOSTNAME_TOPOLOGY_KEY, TASK_GROUP_LABEL, task_group_label_value
from ecsk.core.translate.types import Diagnostic
from ecsk.core.validation.placement import MAX_CONSTRAINTS

NEEDS_INVENTORY = "placement.needs-inventory"


@dataclass
class ConstraintPlan:
    compiled: CompiledPlacement = field(default_factory=CompiledPlacement)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def distinct_instance_term(task_group: str) -> dict[str, Any]:
    """One task of the group per instance: required anti-affinity on the hostname. It covers the
    whole group, old revision included, as ECS counts every task of `service:<name>`."""
    return {
        "labelSelector": {"matchLabels": {TASK_GROUP_LABEL: task_group_label_value(task_group)}},
        "topologyKey": HOSTNAME_TOPOLOGY_KEY,
    }


def plan_constraints(
    constraints: Sequence[dict[str, Any]] | None,
    task_group: str,
    inventory: Sequence[NodeView] | None,
) -> ConstraintPlan:
    """Compile every memberOf together (ECS ANDs them) and add distinctInstance.

    Paths index the combined list the translator passes: task definition constraints first, then
    the service's / RunTask's.
    """
    plan = ConstraintPlan()
    items = list(constraints or ())
    if len(items) > MAX_CONSTRAINTS:
        plan.diagnostics.append(
            Diagnostic(
                "error",
                "placementConstraints",
                f"You can specify a maximum of {MAX_CONSTRAINTS} placement constraints per task "
                f"(task definition and service/run-task together; got {len(items)}).",
                "placement.constraint-count",
            )
        )
        return plan
    expressions: list[tuple[int, str]] = []
    distinct = False
    for i, item in enumerate(items):
        kind, expr = item.get("type"), item.get("expression")
        if kind == "distinctInstance":
            distinct = True
        elif kind == "memberOf" and expr:
            expressions.append((i, str(expr)))
        elif kind == "memberOf":
            plan.diagnostics.append(
                Diagnostic(
                    "error",
                    f"placementConstraints[{i}].expression",
                    "A memberOf constraint requires an expression.",
                    "placement.expression",
                )
            )
        else:
            plan.diagnostics.append(
                Diagnostic(
                    "error",
                    f"placementConstraints[{i}].type",
                    "type must be distinctInstance or memberOf.",
                    "placement.constraint-type",
                )
            )
    parsed = []
    for i, text in expressions:
        try:
            parsed.append(parse(text))
        except CQLSyntaxError as exc:
            plan.diagnostics.append(
                Diagnostic("error", f"placementConstraints[{i}].expression", str(exc), "placement.cql-syntax")
            )
    if not plan.ok:
        return plan
    compiled = CompiledPlacement()
    if parsed:
        try:
            compiled = compile_expressions(parsed, inventory)
        except CQLCompileError as exc:
            plan.diagnostics.append(_compile_diagnostic(exc, parsed, inventory))
            return plan
        except CQLError as exc:
            plan.diagnostics.append(Diagnostic("error", "placementConstraints", str(exc), "placement.cql"))
            return plan
    if distinct:
        anti = [*compiled.pod_anti_affinity_terms]
        term = distinct_instance_term(task_group)
        if term not in anti:
            anti.append(term)
        compiled = CompiledPlacement(
            node_selector_terms=compiled.node_selector_terms,
            pod_affinity_terms=compiled.pod_affinity_terms,
            pod_anti_affinity_terms=anti,
            depends_on_inventory=compiled.depends_on_inventory,
            node_label_keys_used=compiled.node_label_keys_used,
        )
    if compiled.matches_nothing:
        plan.diagnostics.append(
            Diagnostic(
                "warning",
                "placementConstraints",
                "no container instance can satisfy the memberOf constraints: tasks will stay PENDING",
                "placement.unsatisfiable",
            )
        )
    plan.compiled = compiled
    return plan


def _compile_diagnostic(
    exc: CQLCompileError, parsed: list[Any], inventory: Sequence[NodeView] | None
) -> Diagnostic:
    """Tell "needs the live nodes" (fine in the operator, impossible offline) from real refusals:
    if an empty inventory makes it compile, only the inventory was missing."""
    if inventory is None:
        try:
            compile_expressions(parsed, [])
        except CQLError:
            pass
        else:
            return Diagnostic(
                "error",
                "placementConstraints",
                "this memberOf expression (a regex =~ / !~, or a negated ordered comparison on an "
                "attribute) can only be resolved against the cluster's live nodes; offline rendering "
                "has no node inventory. The operator resolves it and re-resolves when nodes change. "
                f"({exc})",
                NEEDS_INVENTORY,
            )
    return Diagnostic("error", "placementConstraints", str(exc), "placement.cql-compile")
