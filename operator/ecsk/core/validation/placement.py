"""Placement constraints/strategies and capacity provider strategies (services, RunTask, schedules)."""

from __future__ import annotations

import re

from ecsk.core.cql import CQLSyntaxError, parse
from ecsk.core.models.placement import CapacityProviderStrategyItem, PlacementConstraint, PlacementStrategy
from ecsk.core.models.service import FARGATE_PROVIDERS
from ecsk.core.validation.issues import Issues

MAX_CONSTRAINTS = 10
MAX_STRATEGIES = 5
MAX_CAPACITY_PROVIDERS = 6
# attribute names: letters, numbers, hyphens, underscores, slashes, back slashes, periods (PutAttributes)
_SPREAD_FIELD = re.compile(r"^(instanceId|host|attribute:[A-Za-z0-9_./\\-]{1,128})$")
_BINPACK_FIELDS = frozenset({"cpu", "memory"})

FARGATE_MIX = (
    "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups "
    "and Fargate providers. Specify one or the other and try again."
)
LAUNCH_TYPE_AND_STRATEGY = (
    "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
)


def check_expression(at: str, expression: str, out: Issues) -> None:
    """A memberOf expression must parse as cluster query language: ECS refuses the call
    otherwise, so a typo is reported when the document is created, not when a task is placed."""
    try:
        parse(expression)
    except CQLSyntaxError as exc:
        out.add(f"{at}.expression", f"Invalid cluster query expression: {exc}", "placement.cql-syntax")


def check_constraints(constraints: list[PlacementConstraint], out: Issues, extra: int = 0) -> None:
    """`extra` counts constraints the task definition brings: the limit of 10 is for both together."""
    total = len(constraints) + extra
    if total > MAX_CONSTRAINTS:
        out.add(
            "placementConstraints",
            f"You can specify a maximum of {MAX_CONSTRAINTS} placement constraints per task "
            f"(task definition and service/run-task together; got {total}).",
            "placement.constraint-count",
        )
    for i, pc in enumerate(constraints):
        at = f"placementConstraints[{i}]"
        if pc.type not in ("distinctInstance", "memberOf"):
            out.add(f"{at}.type", "type must be distinctInstance or memberOf.", "placement.constraint-type")
        elif pc.type == "memberOf" and not pc.expression:
            out.add(
                f"{at}.expression", "A memberOf constraint requires an expression.", "placement.expression"
            )
        elif pc.type == "memberOf" and pc.expression:
            check_expression(at, pc.expression, out)
        elif pc.type == "distinctInstance" and pc.expression:
            out.add(
                f"{at}.expression",
                "A distinctInstance constraint takes no expression.",
                "placement.expression",
            )


def check_strategies(strategies: list[PlacementStrategy], out: Issues) -> None:
    if len(strategies) > MAX_STRATEGIES:
        out.add(
            "placementStrategy",
            f"You can specify a maximum of {MAX_STRATEGIES} placement strategy rules.",
            "placement.strategy-count",
        )
    for i, ps in enumerate(strategies):
        at = f"placementStrategy[{i}]"
        if ps.type == "random":
            if ps.field:
                out.warn(
                    f"{at}.field",
                    "For the random placement strategy, this field is not used: "
                    "ECS ignores it, and so does ecsk.",
                    "placement.strategy-field",
                )
        elif ps.type == "spread":
            if not ps.field or not _SPREAD_FIELD.match(ps.field):
                out.add(
                    f"{at}.field",
                    "The spread placement strategy needs field instanceId, host or attribute:<name>.",
                    "placement.strategy-field",
                )
        elif ps.type == "binpack":
            if ps.field not in _BINPACK_FIELDS:
                out.add(
                    f"{at}.field",
                    "The binpack placement strategy needs field cpu or memory.",
                    "placement.strategy-field",
                )
        else:
            out.add(f"{at}.type", "type must be random, spread or binpack.", "placement.strategy-type")


def check_capacity_providers(
    items: list[CapacityProviderStrategyItem], launch_type: str | None, out: Issues
) -> None:
    if not items:
        return
    if launch_type is not None:
        out.add("capacityProviderStrategy", LAUNCH_TYPE_AND_STRATEGY, "capacity.launch-type-exclusive")
    if len(items) > MAX_CAPACITY_PROVIDERS:
        out.add(
            "capacityProviderStrategy",
            "A capacity provider strategy can contain a maximum of "
            f"{MAX_CAPACITY_PROVIDERS} capacity providers.",
            "capacity.count",
        )
    with_base = 0
    names: set[str] = set()
    for i, item in enumerate(items):
        at = f"capacityProviderStrategy[{i}]"
        if item.weight is not None and not 0 <= item.weight <= 1000:
            out.add(f"{at}.weight", "weight must be between 0 and 1000.", "capacity.weight")
        if item.base is not None:
            if not 0 <= item.base <= 100000:
                out.add(f"{at}.base", "base must be between 0 and 100000.", "capacity.base")
            if item.base > 0:
                with_base += 1
                if with_base == 2:
                    out.add(
                        f"{at}.base",
                        "Only one capacity provider in a capacity provider strategy can have a base defined.",
                        "capacity.single-base",
                    )
        if item.capacityProvider in names:
            out.add(
                f"{at}.capacityProvider",
                f"Duplicate capacity provider '{item.capacityProvider}'.",
                "capacity.duplicate",
            )
        names.add(item.capacityProvider)
    fargate = names & FARGATE_PROVIDERS
    if fargate and fargate != names:
        out.add(
            "capacityProviderStrategy",
            FARGATE_MIX,
            "capacity.fargate-mix",
        )
