"""The ECS event for a task the scheduler could not place, naming the closest instance.

`ecsk.core.services.events` already turns kube-scheduler's FailedScheduling summary into ECS's
reason and wording; what the summary lacks is *which* instance ECS would call "the closest
matching". ECS does not publish its choice; ecsk names the instance that satisfies the task's
node constraints and has the most of the missing resource left, which is the one a user would
look at to fix the shortfall.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ecsk.core.cql import node_matches
from ecsk.core.placement.nodes import node_usage, pod_requests
from ecsk.core.services import events as ev

_RESOURCE = {"cpu": "cpu", "memory": "memory"}


def _node_fits_selectors(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    name = str(node["metadata"]["name"])
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (
        ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms")
    return not required or node_matches(required, labels, name)


def closest_instance(
    reason: str,
    pod_spec: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    node_pods: Iterable[Mapping[str, Any]] = (),
) -> str | None:
    """The node ECS would call "closest": constraint-satisfying, most of the missing resource left
    (after the task's own request); for other reasons the first eligible node by name."""
    if not nodes:
        return None
    eligible = [n for n in nodes if _node_fits_selectors(pod_spec, n)] or list(nodes)
    names = sorted(str(n["metadata"]["name"]) for n in eligible)
    resource = _RESOURCE.get(reason)
    if resource is None:
        return names[0]
    usage = node_usage(eligible, node_pods)
    need = pod_requests(pod_spec).get(resource)
    return max(names, key=lambda n: (usage[n].remaining.get(resource) - need, [-ord(c) for c in n]))


def unable_to_place_event(
    service: str,
    scheduler_message: str,
    pod_spec: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    node_pods: Iterable[Mapping[str, Any]] = (),
) -> str | None:
    """ECS's "(service X) was unable to place a task ..." for one FailedScheduling message, or
    None when the message is not a scheduling summary."""
    failure = ev.parse_failed_scheduling(scheduler_message)
    if failure is None:
        return None
    if failure.reason == "no-instances":
        return ev.unable_to_place(service, "no-instances")
    return ev.unable_to_place(
        service, failure.reason, closest_instance(failure.reason, pod_spec, nodes, node_pods)
    )
