"""The one Kubernetes quantity parser every module shares."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecsk.core.common.quantity import parse_quantity, quantity_or_none


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("2", Decimal(2)),
        (2, Decimal(2)),
        ("512Mi", Decimal(512 * 2**20)),
        ("1.5Gi", Decimal("1.5") * 2**30),
        ("1k", Decimal(1000)),
        ("100n", Decimal("1e-7")),
        ("1e3", Decimal(1000)),
        (" 64Ki ", Decimal(64 * 1024)),
    ],
)
def test_quantities_in_base_units(text: object, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3Mi", "5 Mi", "10XB", True, None])
def test_unreadable_quantities_are_refused_not_misread(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)
    assert quantity_or_none(bad) is None
