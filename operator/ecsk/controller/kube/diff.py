"""Does the live object already say everything we would apply? (the "write nothing" test)

Server-side apply of an unchanged intent is cheap but still a request per object per resync; at
thousands of services that is the whole API budget. A live object is up to date when every field
we render is present with the same value; extra fields (defaults, other managers, status) are
fine. Quantities and ints-as-strings are compared loosely because the API server normalises them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ecsk.core.common.quantity import quantity_or_none

# Only plain quantities compare loosely: a wider reading ("1e3", "+5") could call two different
# environment values equal and skip a write the user asked for.
_PLAIN_QUANTITY = re.compile(r"^[0-9.]+(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and not _PLAIN_QUANTITY.match(value):
        return None
    if not isinstance(value, int | float | str):
        return None
    return quantity_or_none(value)


def _scalar_equal(want: Any, have: Any) -> bool:
    if want == have:
        return True
    a, b = _quantity(want), _quantity(have)
    return (
        a is not None
        and a == b
        and not (isinstance(want, str) and isinstance(have, str) and want.isdigit() and have.isdigit())
    )


def is_subset(want: Any, have: Any, path: str = "") -> bool:
    """True when `have` contains `want` (dicts: recursively; lists: same length, element-wise)."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return False
        for key, value in want.items():
            if path == "" and key in ("status",):
                continue
            if key not in have:
                if value in (None, {}, []):
                    continue
                return False
            if key == "ownerReferences" and path == ".metadata":
                # Shared side objects carry one reference per user: ours must be among them.
                if not all(any(is_subset(w, h) for h in have[key] or []) for w in value or []):
                    return False
                continue
            if not is_subset(value, have[key], f"{path}.{key}"):
                return False
        return True
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return False
        return all(is_subset(w, h, f"{path}[]") for w, h in zip(want, have, strict=True))
    return _scalar_equal(want, have)
