"""Scaling activities in DescribeScalingActivities' shape and ECS's words.

Runbooks grep for these sentences, so they follow what Application Auto Scaling and ECS print:
"Setting desired count to N.", "Successfully set desired count to N. Change successfully
fulfilled by ecs.".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

MAX_ACTIVITIES = 20
"""Kept in status, newest first (AWS keeps six weeks; a status object must stay small)."""


def success_message(desired: int) -> str:
    return f"Successfully set desired count to {desired}. Change successfully fulfilled by ecs."


def alarm_cause(resource_id: str, policy: str, high: bool, alarm: str | None = None) -> str:
    """AWS names target tracking alarms TargetTracking-<resource>-AlarmHigh/Low-<uuid>."""
    name = alarm or f"TargetTracking-{resource_id}-Alarm{'High' if high else 'Low'}"
    return f"monitor alarm {name} in state ALARM triggered policy {policy}"


def scheduled_cause(action: str, at: datetime, min_capacity: int | None, max_capacity: int | None) -> str:
    parts = []
    if min_capacity is not None:
        parts.append(f"min-capacity to {min_capacity}")
    if max_capacity is not None:
        parts.append(f"max-capacity to {max_capacity}")
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"scheduled action name {action} was triggered at {stamp}, set {' and '.join(parts)}"


def activity(
    resource_id: str, desired: int, cause: str, now: datetime, description: str | None = None
) -> dict[str, Any]:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    ident = hashlib.sha256(f"{resource_id}|{desired}|{cause}|{stamp}".encode()).hexdigest()
    return {
        "ActivityId": f"{ident[:8]}-{ident[8:12]}-{ident[12:16]}-{ident[16:20]}-{ident[20:32]}",
        "ServiceNamespace": "ecs",
        "ResourceId": resource_id,
        "ScalableDimension": "ecs:service:DesiredCount",
        "Description": description or f"Setting desired count to {desired}.",
        "Cause": cause,
        "StartTime": stamp,
        "EndTime": stamp,
        "StatusCode": "Successful",
        "StatusMessage": success_message(desired),
    }


def prepend(existing: Sequence[Mapping[str, Any]] | None, new: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(new), *(dict(a) for a in existing or ())][:MAX_ACTIVITIES]
