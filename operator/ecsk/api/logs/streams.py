"""Log groups and streams as the awslogs driver names them, found on the task pods.

A container whose `logConfiguration` uses awslogs writes to the group `awslogs-group` and the
stream `<awslogs-stream-prefix>/<container name>/<task id>` (the task id is the pod UID without
dashes, as in every task ARN ecsk gives). The events are the container's real output, read from
the kubelet through the Kubernetes API (`pods/log`, with timestamps): nothing is copied, so a
stream lives as long as its pod, and a pod on a simulated node (kwok: the embedded cluster, or
kwok nodes inside kind) has no output to read, which is said instead of an empty answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecsk.api.context import Context
from ecsk.api.errors import AwsError
from ecsk.core.tasks.status import task_id

LOG_CONFIGURATION = "ecs.ecsk.io/log-configuration"
KWOK_NODE = "kwok.x-k8s.io/node"


@dataclass(frozen=True)
class Stream:
    group: str
    name: str
    pod: str
    container: str
    node: str | None
    created_ms: int


@dataclass(frozen=True)
class Event:
    timestamp: int
    message: str


def millis(text: str | None) -> int:
    if not text:
        return 0
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _configs(pod: Mapping[str, Any]) -> dict[str, Any]:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(LOG_CONFIGURATION)
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def pod_streams(pod: Mapping[str, Any]) -> list[Stream]:
    meta = pod["metadata"]
    out: list[Stream] = []
    for container, conf in sorted(_configs(pod).items()):
        options = (conf or {}).get("options") or {}
        if conf.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            continue
        prefix = options.get("awslogs-stream-prefix")
        tid = task_id(dict(pod))
        name = f"{prefix}/{container}/{tid}" if prefix else f"{container}/{tid}"
        out.append(
            Stream(
                group=str(options["awslogs-group"]),
                name=name,
                pod=meta["name"],
                container=container,
                node=(pod.get("spec") or {}).get("nodeName"),
                created_ms=millis(meta.get("creationTimestamp")),
            )
        )
    return out


def all_streams(ctx: Context) -> list[Stream]:
    return [s for pod in ctx.store.list("Pod") for s in pod_streams(pod)]


def group_streams(ctx: Context, group: str) -> list[Stream]:
    found = [s for s in all_streams(ctx) if s.group == group]
    if not found:
        raise AwsError("ResourceNotFoundException", "The specified log group does not exist.")
    return found


def _simulated(ctx: Context, node: str | None, cache: dict[str, bool]) -> bool:
    if not node:
        return False
    if node not in cache:
        body = ctx.store.get("Node", node) or {}
        cache[node] = bool(((body.get("metadata") or {}).get("annotations") or {}).get(KWOK_NODE))
    return cache[node]


def events(ctx: Context, streams: list[Stream]) -> dict[str, list[Event]]:
    """Each stream's events; refuses when a stream's task runs on a simulated node, whose
    containers never ran (an empty success would read as "the task printed nothing")."""
    cache: dict[str, bool] = {}
    fake = [s for s in streams if _simulated(ctx, s.node, cache)]
    if fake:
        raise AwsError(
            "InvalidOperationException",
            f"Log stream {fake[0].name} belongs to a task on the simulated node {fake[0].node}, where no "
            "container runs (ecsk's embedded cluster, or a kwok node): there is no output to read. "
            "Run the task on the kind cluster (`ecsk kind up`) to read its logs.",
        )
    return {s.name: parse(ctx.store.pod_log(s.pod, s.container) or "") for s in streams}


def parse(text: str) -> list[Event]:
    """`2026-12-04T15:00:00.123456789Z message` lines (the kubelet's timestamps=true format)."""
    out: list[Event] = []
    for line in text.splitlines():
        stamp, _, message = line.partition(" ")
        try:
            when = datetime.fromisoformat(_trim_nanos(stamp).replace("Z", "+00:00"))
        except ValueError:
            if out:  # a continuation without a timestamp: keep it with the previous event
                out[-1] = Event(out[-1].timestamp, f"{out[-1].message}\n{line}")
            continue
        out.append(Event(int(when.timestamp() * 1000), message))
    return out


def _trim_nanos(stamp: str) -> str:
    """Python parses at most microseconds; the kubelet writes nanoseconds."""
    head, dot, frac = stamp.partition(".")
    if not dot:
        return stamp
    digits = "".join(ch for ch in frac if ch.isdigit())
    zone = frac[len(digits) :]
    return f"{head}.{digits[:6]}{zone}"
