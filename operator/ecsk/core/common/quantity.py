"""Kubernetes resource quantities (`250m`, `512Mi`, `1.5Gi`, `100n`) as exact decimals.

One parser for the whole code base: Fargate sizing, placement, scale-in, utilization and the
operator's "is the live object already what we render" comparison must agree on what a
quantity means, or a no-op resync would start writing.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX: dict[str, Decimal] = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][-+]?[0-9]+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def parse_quantity(value: Any) -> Decimal:
    """The quantity in base units (cores, bytes); ValueError when it is not a quantity."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation as exc:
        raise ValueError(f"not a quantity: {value!r}") from exc


def quantity_or_none(value: Any) -> Decimal | None:
    """For callers to whom an unreadable value means "no value" (a bad sample is no sample)."""
    try:
        return parse_quantity(value)
    except ValueError:
        return None
