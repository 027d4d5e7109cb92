"""Capacity provider strategies: how many of a service's tasks each provider gets.

ECS publishes the rule only loosely ("base first, then by weight"), so the rounding is ours and
chosen so that scaling never moves a task: after the base, the split is built one task at a time
by the Balinski-Young quota method (each extra task goes to a provider still below its exact
weighted share counting that task; among those the largest weight / (tasks + 1); ties to list
order). Splits therefore grow monotonically with the task count (scaling out only adds tasks,
scaling in only removes them; largest remainder can take a task away, the Alabama paradox), and
every provider stays strictly within one task of its exact share.

Rules (ECS's, where published):
- the provider that sets `base` gets the first `base` tasks, whatever its weight;
- the rest are shared by weight; weight-0 providers get nothing beyond their base;
- with no positive weight, tasks beyond the base cannot be placed (ECS refuses such strategies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ecsk.core.capacity.fargate import placement_hook as fargate_hook
from ecsk.core.capacity.fargate import uses_fargate
from ecsk.core.translate.types import Diagnostic, PlacementInputs


@dataclass(frozen=True, slots=True)
class StrategyItem:
    capacityProvider: str
    weight: int = 0
    base: int = 0

    @classmethod
    def from_aws(cls, item: Mapping[str, Any]) -> StrategyItem:
        return cls(
            str(item.get("capacityProvider") or ""), int(item.get("weight") or 0), int(item.get("base") or 0)
        )


def _items(strategy: Sequence[StrategyItem | Mapping[str, Any]]) -> list[StrategyItem]:
    return [s if isinstance(s, StrategyItem) else StrategyItem.from_aws(s) for s in strategy]


def next_by_weight(weights: Sequence[int], counts: Sequence[int]) -> int | None:
    """Index of the provider that gets the next weighted task (Balinski-Young quota method).

    Eligible: providers still below their exact share counting the new task (so nobody exceeds
    its upper quota); among them the largest weight / (count + 1) wins (Jefferson's divisor),
    ties to list order. This keeps every provider within one task of its share and never takes
    a task away when the count grows.
    """
    total_w = sum(w for w in weights if w > 0)
    if total_w <= 0:
        return None
    k = sum(counts) + 1
    best: int | None = None
    best_priority = Fraction(-1)
    for i, (w, c) in enumerate(zip(weights, counts, strict=True)):
        if w <= 0 or Fraction(w * k, total_w) <= c:
            continue
        priority = Fraction(w, c + 1)
        if priority > best_priority:
            best, best_priority = i, priority
    return best


def split(strategy: Sequence[StrategyItem | Mapping[str, Any]], tasks: int) -> list[int]:
    """Tasks per provider, in strategy order. Tasks that no provider can take are left out (the
    sum is then below `tasks`), so callers see an unplaceable remainder instead of a crash."""
    items = _items(strategy)
    out = [0] * len(items)
    left = max(tasks, 0)
    for i, item in enumerate(items):
        if item.base > 0 and left:
            out[i] = min(item.base, left)
            left -= out[i]
            break  # ECS allows one base; a second one is a validation error, not ours to honour
    weights = [it.weight for it in items]
    by_weight = [0] * len(items)
    for _ in range(left):
        nxt = next_by_weight(weights, by_weight)
        if nxt is None:
            break
        by_weight[nxt] += 1
    return [a + b for a, b in zip(out, by_weight, strict=True)]


def split_by_name(strategy: Sequence[StrategyItem | Mapping[str, Any]], tasks: int) -> dict[str, int]:
    items = _items(strategy)
    counts = split(items, tasks)
    return {it.capacityProvider: n for it, n in zip(items, counts, strict=True)}


def addition_order(strategy: Sequence[StrategyItem | Mapping[str, Any]], tasks: int) -> list[int]:
    """Which provider receives the 1st, 2nd, ... task: the k-th entry is where split(k) grew.

    Scale-in removes tasks in the reverse of this order, which keeps split(n) for every n."""
    items = _items(strategy)
    order: list[int] = []
    prev = [0] * len(items)
    for k in range(1, tasks + 1):
        cur = split(items, k)
        grown = next((i for i, (a, b) in enumerate(zip(prev, cur, strict=True)) if b > a), None)
        if grown is None:
            break
        order.append(grown)
        prev = cur
    return order


def choose_provider(
    strategy: Sequence[StrategyItem | Mapping[str, Any]], counts: Sequence[int]
) -> int | None:
    """Where the next task of a service goes, given its live tasks per provider: the provider
    furthest below its share of split(n + 1) (ties to list order); None when nobody can take it."""
    items = _items(strategy)
    target = split(items, sum(counts) + 1)
    best: int | None = None
    best_gap = 0
    for i, (want, have) in enumerate(zip(target, counts, strict=True)):
        if want - have > best_gap:
            best, best_gap = i, want - have
    return best


def deletion_costs(
    strategy: Sequence[StrategyItem | Mapping[str, Any]], counts: Sequence[int]
) -> list[list[int]]:
    """Per provider, the `controller.kubernetes.io/pod-deletion-cost` of its 1st, 2nd, ... task
    (oldest first): the task added last in `addition_order` gets the lowest cost, so a
    Deployment scale-in removes tasks exactly in reverse and the split holds at every size.
    Tasks beyond a provider's share (after a strategy change) get the lowest costs of all."""
    items = _items(strategy)
    order = addition_order(items, sum(counts))
    costs: list[list[int]] = [[] for _ in items]
    for k, provider in enumerate(order):
        if len(costs[provider]) < counts[provider]:
            costs[provider].append(len(order) - k)
    for i, c in enumerate(counts):
        while len(costs[i]) < c:
            costs[i].append(-len(costs[i]))  # surplus: remove first, newest first
    return costs


CAPACITY_GATE = "ecs.ecsk.io/capacity-provider"
"""Scheduling gate on tasks of an ASG capacity provider strategy: the controller picks each
task's provider (keeping the base/weight split), adds the matching nodeSelector, lifts the gate."""


def placement_hook(spec: dict[str, Any], inputs: PlacementInputs) -> list[Diagnostic] | None:
    """The launch-type hook the operator installs: Fargate tasks get the Fargate gate, tasks of an
    ASG capacity provider strategy get the capacity gate; everything else is left alone."""
    if uses_fargate(inputs.launch_type, inputs.capacity_provider_strategy):
        return fargate_hook(spec, inputs)
    if inputs.launch_type is None and inputs.capacity_provider_strategy:
        gates = spec.setdefault("schedulingGates", [])
        if not any(g.get("name") == CAPACITY_GATE for g in gates):
            gates.append({"name": CAPACITY_GATE})
    return None
