"""Typed readings of CQL arguments and of container-instance properties.

Both the evaluator and the compiler go through these helpers, so "what number is this" has exactly
one answer on both sides (e.g. integers follow Go's `strconv.ParseInt`, which is what the Kubernetes
scheduler applies to `Gt`/`Lt` label values, not Python's more lenient `int()`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_INT_RE = re.compile(r"[+-]?[0-9]+")
_DATE_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<time>\d{2}:\d{2}:\d{2})(?P<tz>Z|[+-]\d{2}:\d{2})?)?"
)
_VERSION_RE = re.compile(r"v?(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?")


def parse_int64(text: str) -> int | None:
    """The integer Kubernetes would read from a label value, or None when it would not parse."""
    if not _INT_RE.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


def parse_date(text: str) -> int | None:
    """Epoch seconds for the date forms ECS documents for registeredAt (2018-06-18T22:28:28+00:00,
    ...Z, a local time read as UTC, or a bare date meaning midnight UTC); None for anything else."""
    m = _DATE_RE.fullmatch(text)
    if not m:
        return None
    try:
        if m.group("time") is None:
            moment = datetime.fromisoformat(m.group("date")).replace(tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(f"{m.group('date')}T{m.group('time')}{m.group('tz') or ''}")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        return None
    return epoch_seconds(moment)


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch: registeredAt compares at second precision everywhere."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() // 1)


def agent_version_code(version: str) -> int | None:
    """Agent versions as one sortable integer (major*10^6 + minor*10^3 + patch), so that `<` on
    versions becomes `Lt` on a node label; None when the text is not such a version."""
    m = _VERSION_RE.fullmatch(version.strip())
    if not m:
        return None
    major, minor, patch = (int(g) if g is not None else 0 for g in m.groups())
    return major * 1_000_000 + minor * 1_000 + patch
