"""DescribeLogGroups (the created groups, see groups, and those running tasks write to);
DescribeLogStreams, GetLogEvents, FilterLogEvents on the task pods' output.

GetLogEvents tokens are positions in the stream (`f/<n>` forward, `b/<n>` backward) and, as
CloudWatch does, the forward token comes back unchanged at the end of the stream, which is how
clients know to stop (or to wait, when following). Filter patterns: the simple term syntax
(terms that must all appear, "quoted phrases", `?term` for any-of, `-term` to exclude).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context, page
from ecsk.api.errors import AwsError
from ecsk.api.logs.groups import Group, stored_groups
from ecsk.api.logs.streams import Event, Stream, all_streams, events, group_streams

MAX_EVENTS = 10000
_TOKEN = re.compile(r"^([fb])/(\d+)$")


def _group_name(ctx: Context, p: Mapping[str, Any]) -> str:
    ident = p.get("logGroupIdentifier")
    name = p.get("logGroupName")
    if ident and name:
        raise AwsError(
            "InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters."
        )
    if ident:
        return str(ident).split(":log-group:", 1)[-1].removesuffix(":*")
    if not name:
        raise AwsError(
            "InvalidParameterException", "Either LogGroupName or LogGroupIdentifier must be specified."
        )
    return str(name)


def _group_arn(ctx: Context, group: str) -> str:
    return ctx.arn("logs", f"log-group:{group}")


def _paged(
    items: list[Any], p: Mapping[str, Any], key: Any, limit: int, reverse: bool = False
) -> tuple[list[Any], str | None]:
    params = {"maxResults": p.get("limit"), "nextToken": p.get("nextToken")}
    return page(items, params, key=key, limit=limit, error="InvalidParameterException", reverse=reverse)


def _retention(stored: Mapping[str, Group], name: str) -> int | None:
    group = stored.get(name)
    return group.retention if group else None


def describe_log_groups(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    prefix, pattern = p.get("logGroupNamePrefix"), p.get("logGroupNamePattern")
    if prefix and pattern:
        raise AwsError(
            "InvalidParameterException",
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        )
    stored = stored_groups(ctx)
    created: dict[str, int] = {g.name: g.created_ms for g in stored.values()}
    for s in all_streams(ctx):  # a group a running task writes to is listed even if never created
        if s.group not in stored:
            created[s.group] = min(created.get(s.group, s.created_ms), s.created_ms)
    names = [
        g
        for g in created
        if (not prefix or g.startswith(prefix))
        and (not pattern or pattern.lower() in g.lower())
        and (not p.get("logGroupIdentifiers") or g in p["logGroupIdentifiers"])
    ]
    chunk, token = _paged(names, p, key=lambda g: g, limit=50)
    groups = [
        {
            "logGroupName": g,
            "creationTime": created[g],
            "metricFilterCount": 0,
            "arn": f"{_group_arn(ctx, g)}:*",
            "logGroupArn": _group_arn(ctx, g),
            "storedBytes": 0,
            "logGroupClass": "STANDARD",
            **({"retentionInDays": r} if (r := _retention(stored, g)) else {}),
        }
        for g in chunk
    ]
    return {"logGroups": groups, **({"nextToken": token} if token else {})}


def describe_log_streams(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    group = _group_name(ctx, p)
    order = p.get("orderBy") or "LogStreamName"
    prefix = p.get("logStreamNamePrefix")
    if prefix and order == "LastEventTime":
        raise AwsError(
            "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."
        )
    found = [s for s in group_streams(ctx, group) if not prefix or s.name.startswith(prefix)]
    key = (lambda s: s.name) if order == "LogStreamName" else (lambda s: f"{s.created_ms:015d}{s.name}")
    chunk, token = _paged(found, p, key=key, limit=50, reverse=bool(p.get("descending")))
    out = [
        {
            "logStreamName": s.name,
            "creationTime": s.created_ms,
            "arn": f"{_group_arn(ctx, group)}:log-stream:{s.name}",
            "storedBytes": 0,
        }
        for s in chunk
    ]
    return {"logStreams": out, **({"nextToken": token} if token else {})}


def _in_window(e: Event, p: Mapping[str, Any]) -> bool:
    start, end = p.get("startTime"), p.get("endTime")
    return (start is None or e.timestamp >= start) and (end is None or e.timestamp < end)


def _event_out(e: Event) -> dict[str, Any]:
    return {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.timestamp}


def _token(raw: str | None) -> tuple[str, int] | None:
    if raw is None:
        return None
    m = _TOKEN.match(raw)
    if not m:
        raise AwsError("InvalidParameterException", "The specified nextToken is invalid.")
    return m.group(1), int(m.group(2))


def get_log_events(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    group = _group_name(ctx, p)
    stream = next((s for s in group_streams(ctx, group) if s.name == p["logStreamName"]), None)
    if stream is None:
        raise AwsError("ResourceNotFoundException", "The specified log stream does not exist.")
    found = [e for e in events(ctx, [stream])[stream.name] if _in_window(e, p)]
    limit = int(p.get("limit") or MAX_EVENTS)
    token = _token(p.get("nextToken"))
    if token is not None:
        direction, at = token
        lo, hi = (at, at + limit) if direction == "f" else (max(0, at - limit), at)
    elif p.get("startFromHead"):
        lo, hi = 0, limit
    else:
        lo, hi = max(0, len(found) - limit), len(found)
    hi = min(hi, len(found))
    lo = min(lo, hi)
    return {
        "events": [_event_out(e) for e in found[lo:hi]],
        "nextForwardToken": f"f/{hi:020d}",
        "nextBackwardToken": f"b/{lo:020d}",
    }


def _matcher(pattern: str | None) -> Any:
    """A predicate for CloudWatch's simple term patterns (case-sensitive, as CloudWatch is)."""
    text = (pattern or "").strip()
    if text.startswith("{") or text.startswith("["):
        raise AwsError(
            "InvalidParameterException",
            'ecsk supports simple term filter patterns (terms, "phrases", ?any, -exclude), not JSON or '
            "space-delimited patterns.",
        )
    try:
        terms = shlex.split(text)
    except ValueError:
        raise AwsError("InvalidParameterException", "Invalid character(s) in term") from None
    anyof = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]
    exclude = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    required = [t for t in terms if not t.startswith(("?", "-"))]

    def hit(message: str) -> bool:
        if anyof:
            return any(t in message for t in anyof)
        return all(t in message for t in required) and not any(t in message for t in exclude)

    return hit


def filter_log_events(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    group = _group_name(ctx, p)
    names, prefix = p.get("logStreamNames"), p.get("logStreamNamePrefix")
    if names and prefix:
        raise AwsError(
            "InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually exclusive."
        )
    chosen: list[Stream] = [
        s
        for s in group_streams(ctx, group)
        if (not names or s.name in names) and (not prefix or s.name.startswith(prefix))
    ]
    hit = _matcher(p.get("filterPattern"))
    rows = [
        {"logStreamName": name, **_event_out(e), "eventId": f"{e.timestamp:015d}{i:08d}{name}"}
        for name, found in events(ctx, chosen).items()
        for i, e in enumerate(found)
        if _in_window(e, p) and hit(e.message)
    ]
    chunk, token = _paged(
        rows,
        {"limit": p.get("limit"), "nextToken": p.get("nextToken")},
        key=lambda r: r["eventId"],
        limit=MAX_EVENTS,
    )
    searched = [{"logStreamName": s.name, "searchedCompletely": True} for s in chosen]
    return {"events": chunk, "searchedLogStreams": searched, **({"nextToken": token} if token else {})}
