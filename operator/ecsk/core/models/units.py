"""Task-level cpu/memory strings ("1 vCPU", "0.5GB", "1024") to CPU units and MiB.

AWS normalises these on RegisterTaskDefinition (describe output shows "1024"); we do the same so
every later stage compares plain integers.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_CPU_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(vcpus?|cpu\s*units?|units?)?\s*$", re.IGNORECASE)
_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(gb|gib|g|mb|mib|m)?\s*$", re.IGNORECASE)
_GIB_SUFFIXES = frozenset({"gb", "gib", "g"})


def _whole(number: Decimal) -> int:
    if number != number.to_integral_value() or number < 0:
        raise ValueError("not a whole, non-negative amount")
    return int(number)


def parse_cpu_units(value: str) -> int:
    """CPU units (1024 per vCPU); ValueError for text ECS would refuse."""
    match = _CPU_RE.match(value)
    if match is None:
        raise ValueError(f"cannot read {value!r} as CPU units or vCPU")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex only admits decimals
        raise ValueError(str(exc)) from exc
    unit = (match.group(2) or "").lower()
    return _whole(number * 1024) if unit.startswith("vcpu") else _whole(number)


def parse_memory_mib(value: str) -> int:
    """MiB; "GB" is read as GiB, as ECS does ("1GB" registers as 1024)."""
    match = _MEM_RE.match(value)
    if match is None:
        raise ValueError(f"cannot read {value!r} as MiB or GB")
    number = Decimal(match.group(1))
    unit = (match.group(2) or "").lower()
    return _whole(number * 1024) if unit in _GIB_SUFFIXES else _whole(number)
