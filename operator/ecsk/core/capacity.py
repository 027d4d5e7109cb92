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
