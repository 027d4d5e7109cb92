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
from ecsk.core.placement.strategies import PlacementNote
from ecsk.core.translate.types import Diagnostic
from ecsk.core.validation.placement import MAX_CONSTRAINTS

NEEDS_INVENTORY = "placement.needs-inventory"
DEFERRED = "placement.deferred"
"""Offline only: a memberOf expression left to the operator, which has the live nodes."""

NODE_AFFINITY = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
POD_AFFINITY = "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution"
POD_ANTI_AFFINITY = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"


@dataclass
class ConstraintPlan:
    compiled: CompiledPlacement = field(default_factory=CompiledPlacement)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[PlacementNote] = field(default_factory=list)
    """What each constraint became, by `placementConstraints[i]` (for `--explain`)."""

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
    *,
    offline: bool = False,
) -> ConstraintPlan:
    """Compile every memberOf together (ECS ANDs them) and add distinctInstance.

    Paths index the combined list the translator passes: task definition constraints first, then
    the service's / RunTask's. `offline` (no inventory exists, e.g. `ecsk render`): an expression
    that only the live nodes can resolve is deferred with a warning and the others are rendered;
    the operator (never offline) refuses to apply anything until it has the nodes.
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
    indexes = [i for i, _ in expressions]
    if offline and inventory is None:
        parsed, indexes = _defer_inventory_bound(parsed, expressions, plan)
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
    _note_member_of(plan, compiled, indexes, dict(expressions))
    if distinct:
        anti = [*compiled.pod_anti_affinity_terms]
        term = distinct_instance_term(task_group)
        if term not in anti:
            anti.append(term)
        for i, item in enumerate(items):
            if item.get("type") == "distinctInstance":
                plan.notes.append(
                    (
                        f"placementConstraints[{i}]",
                        (POD_ANTI_AFFINITY,),
                        f"distinctInstance -> required pod anti-affinity on {HOSTNAME_TOPOLOGY_KEY}: "
                        f"at most one task of {task_group} per node",
                    )
                )
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


def _defer_inventory_bound(
    parsed: list[Any], expressions: list[tuple[int, str]], plan: ConstraintPlan
) -> tuple[list[Any], list[int]]:
    """Split off the expressions that compile with no inventory but not without one (regexes,
    negated ordered comparisons): a warning and a note each; the rest are returned to compile."""
    keep: list[Any] = []
    kept: list[int] = []
    for expr, (i, text) in zip(parsed, expressions, strict=True):
        try:
            compile_expressions([expr], None)
        except CQLCompileError as exc:
            if _compile_diagnostic(exc, [expr], None).code != NEEDS_INVENTORY:
                keep.append(expr)  # a real refusal: the combined compile reports it
                kept.append(i)
                continue
            why = (
                f"memberOf {text!r} is deferred to the operator: Kubernetes has no regex or "
                "'not an integer' node selector, so it must be resolved against the cluster's live "
                "nodes (the operator does, and re-resolves when nodes change); this offline render "
                "leaves it out of the node affinity"
            )
            plan.diagnostics.append(
                Diagnostic("warning", f"placementConstraints[{i}].expression", why, DEFERRED)
            )
            plan.notes.append((f"placementConstraints[{i}]", None, why))
            continue
        keep.append(expr)
        kept.append(i)
    return keep, kept


def _note_member_of(
    plan: ConstraintPlan, compiled: CompiledPlacement, indexes: list[int], texts: dict[int, str]
) -> None:
    """One note per rendered memberOf: where the ANDed expressions went."""
    if not indexes:
        return
    targets = tuple(
        path
        for path, terms in (
            (NODE_AFFINITY, compiled.node_selector_terms),
            (POD_AFFINITY, compiled.pod_affinity_terms),
            (POD_ANTI_AFFINITY, compiled.pod_anti_affinity_terms),
        )
        if terms
    )
    together = " (ANDed with the other memberOf constraints)" if len(indexes) > 1 else ""
    for i in indexes:
        plan.notes.append(
            (
                f"placementConstraints[{i}]",
                targets or None,
                f"memberOf {texts[i]!r}{together} -> required scheduling terms: "
                f"{len(compiled.node_selector_terms)} nodeSelectorTerms, "
                f"{len(compiled.pod_affinity_terms)} pod affinity, "
                f"{len(compiled.pod_anti_affinity_terms)} pod anti-affinity (task:group)",
            )
        )


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
