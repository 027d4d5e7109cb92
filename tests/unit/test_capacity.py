"""Capacity provider strategy split: base first, then weights, monotone as the service scales."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecsk.core.capacity.providers import (
    StrategyItem,
    addition_order,
    choose_provider,
    deletion_costs,
    next_by_weight,
    split,
    split_by_name,
)


def _s(*items: tuple[str, int, int]) -> list[StrategyItem]:
    return [StrategyItem(name, weight, base) for name, weight, base in items]


def test_documented_example_base_2_weights_1_3_ten_tasks() -> None:
    strategy = _s(("cp-a", 1, 2), ("cp-b", 3, 0))
    assert split_by_name(strategy, 10) == {"cp-a": 4, "cp-b": 6}


def test_base_is_filled_first_whatever_the_order() -> None:
    strategy = _s(("cp-a", 1, 0), ("cp-b", 3, 5))
    assert split(strategy, 3) == [0, 3]
    assert split(strategy, 5) == [0, 5]
    assert split(strategy, 9) == [1, 8]


def test_weight_zero_providers_get_only_their_base() -> None:
    assert split(_s(("a", 0, 0), ("b", 1, 0)), 7) == [0, 7]
    assert split(_s(("a", 0, 2), ("b", 1, 0)), 7) == [2, 5]


def test_no_positive_weight_leaves_the_rest_unplaced() -> None:
    assert split(_s(("a", 0, 2)), 5) == [2]
    assert split(_s(("a", 0, 0)), 5) == [0]


def test_only_the_first_base_counts() -> None:
    assert split(_s(("a", 1, 2), ("b", 1, 3)), 2) == [2, 0]


def test_ties_go_to_list_order() -> None:
    assert split(_s(("a", 1, 0), ("b", 1, 0)), 1) == [1, 0]
    assert split(_s(("b", 1, 0), ("a", 1, 0)), 1) == [1, 0]
    assert split(_s(("a", 1, 0), ("b", 1, 0)), 3) == [2, 1]


def test_one_to_three_sequence() -> None:
    strategy = _s(("a", 1, 0), ("b", 3, 0))
    assert [split(strategy, n) for n in range(9)] == [
        [0, 0], [0, 1], [0, 2], [1, 2], [1, 3], [1, 4], [1, 5], [2, 5], [2, 6],
    ]  # fmt: skip


def test_zero_and_negative_task_counts() -> None:
    assert split(_s(("a", 1, 2)), 0) == [0]
    assert split(_s(("a", 1, 2)), -3) == [0]


def test_aws_dicts_are_accepted() -> None:
    aws = [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 4},
    ]
    assert split_by_name(aws, 6) == {"FARGATE": 2, "FARGATE_SPOT": 4}


def test_next_by_weight_without_weights() -> None:
    assert next_by_weight([0, 0], [0, 0]) is None


_STRATEGIES = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 20)), min_size=1, max_size=6).map(
    lambda xs: [StrategyItem(f"cp{i}", w, b if i == 0 else 0) for i, (w, b) in enumerate(xs)]
)


@settings(max_examples=300, deadline=None)
@given(_STRATEGIES, st.integers(0, 200))
def test_split_properties(strategy: list[StrategyItem], tasks: int) -> None:
    out = split(strategy, tasks)
    base = min(strategy[0].base, tasks)
    total_w = sum(s.weight for s in strategy)
    # everything placed when some weight is positive; only the base otherwise
    assert sum(out) == (tasks if total_w else base)
    # weight-0 providers never get more than their base
    for s, n in zip(strategy, out, strict=True):
        if s.weight == 0:
            assert n == (base if s is strategy[0] else 0)
    # every provider within one task of its exact weighted share of the non-base tasks
    if total_w:
        rest = tasks - base
        for i, (s, n) in enumerate(zip(strategy, out, strict=True)):
            weighted = n - (base if i == 0 else 0)
            assert abs(weighted - Fraction(s.weight * rest, total_w)) < 1
    # monotone: one more task never takes a task away from anyone
    more = split(strategy, tasks + 1)
    assert all(b >= a for a, b in zip(out, more, strict=True))


@pytest.mark.parametrize("tasks", range(0, 40))
def test_split_is_stable_when_scaling_up_and_down(tasks: int) -> None:
    strategy = _s(("a", 2, 1), ("b", 3, 0), ("c", 5, 0))
    assert split(strategy, tasks) == split(strategy, tasks)  # deterministic
    if tasks:
        prev = split(strategy, tasks - 1)
        cur = split(strategy, tasks)
        assert sum(c - p for p, c in zip(prev, cur, strict=True)) == 1


# --- realising the split with pods -----------------------------------------------------------------


def test_addition_order_replays_the_split() -> None:
    strategy = _s(("a", 1, 2), ("b", 3, 0))
    order = addition_order(strategy, 10)
    assert order == [0, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    for n in range(11):
        assert [order[:n].count(0), order[:n].count(1)] == split(strategy, n)


def test_addition_order_stops_when_nobody_takes_tasks() -> None:
    assert addition_order(_s(("a", 0, 2)), 5) == [0, 0]


def test_choose_provider_fills_the_biggest_gap() -> None:
    strategy = _s(("a", 1, 2), ("b", 3, 0))
    assert choose_provider(strategy, [0, 0]) == 0  # base first
    assert choose_provider(strategy, [2, 0]) == 1
    assert choose_provider(strategy, [4, 5]) == 1  # split(10) = [4, 6]
    assert choose_provider(strategy, [1, 9]) == 0  # after losing tasks, repair the split
    assert choose_provider(_s(("a", 0, 0)), [0]) is None


def test_choose_provider_reaches_the_split_from_any_start() -> None:
    strategy = _s(("a", 2, 1), ("b", 3, 0), ("c", 5, 0))
    counts = [0, 0, 0]
    for n in range(1, 30):
        i = choose_provider(strategy, counts)
        assert i is not None
        counts[i] += 1
        assert counts == split(strategy, n)


def test_deletion_costs_remove_in_reverse_order() -> None:
    strategy = _s(("a", 1, 2), ("b", 3, 0))
    costs = deletion_costs(strategy, [4, 6])
    assert costs == [[10, 9, 6, 2], [8, 7, 5, 4, 3, 1]]
    # removing the lowest-cost tasks one by one walks the split down
    flat = sorted((c, i) for i, cs in enumerate(costs) for c in cs)
    counts = [4, 6]
    for cost, provider in flat:
        counts[provider] -= 1
        assert counts == split(strategy, sum(counts)), cost


def test_deletion_costs_put_surplus_first() -> None:
    strategy = _s(("a", 1, 0), ("b", 1, 0))
    costs = deletion_costs(strategy, [3, 0])  # e.g. b was added to the strategy later
    assert costs == [[3, 1, -2], []]  # the newest surplus task goes first
