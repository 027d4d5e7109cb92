"""Kubernetes Nodes and Pods as placement sees them: NodeViews for CQL, resources for scale-in.

Pure functions of the API objects as plain dicts (what `kubectl get -o json`, pykube's `.obj` or
the official client's `to_dict()` + camelCase give), so the operator, the CLI and the unit tests
share one reading of node labels and pod requests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ecsk.core.common.quantity import quantity_or_none
from ecsk.core.cql import ATTRIBUTE_LABEL_PREFIX, WELL_KNOWN_ATTRIBUTE_LABELS, NodeView
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
    TASK_GROUP_LABEL,
    is_hashed,
)
from ecsk.core.cql.values import agent_version_code

ATTRIBUTES_ANNOTATION = "ecs.ecsk.io/attributes"
"""JSON object {name: value} of a node's custom ECS attributes, as PutAttributes gave them.

Label values are encodings that cannot always be decoded (long or unusual values are hashed),
and a regex must see the original value, so whoever writes the `attribute.ecs.ecsk.io/*`
labels should write this annotation too. Without it, verbatim labels are read back as values."""

K8S_TO_ECS_ARCH = {"amd64": "x86_64", "arm64": "arm64"}

AGENT_VERSION_ANNOTATION = "ecs.ecsk.io/agent-version"
"""The ECS agent version a node reports, spelled the ECS way (`1.89.3`). Nodes have no ECS agent;
whoever provisions a node can pin the version `agentVersion` constraints see with this annotation.
The label of the same key holds the sortable integer code the compiler compares."""
DEFAULT_AGENT_VERSION = "1.89.3"
"""What `agentVersion` reads on a node without the annotation: a recent ECS agent (1.89 line), so
constraints written for real fleets (`agentVersion >= 1.50.0`) admit ecsk's nodes."""


def quantity(value: Any) -> Decimal:
    """A Kubernetes quantity in base units; unreadable -> 0 (a display or a ranking must not crash
    on one odd object)."""
    found = quantity_or_none(value) if value is not None else None
    return found if found is not None else Decimal(0)


def millicpu(value: Any) -> int:
    return math.ceil(quantity(value) * 1000)


def mebibytes(value: Any) -> int:
    return math.ceil(quantity(value) / 2**20)


# --- nodes -------------------------------------------------------------------------------------


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def custom_attributes(node: Mapping[str, Any]) -> dict[str, str | None]:
    """Custom attributes of a node: ecsk's annotation (PutAttributes writes it with the labels),
    else the verbatim `attribute.ecs.ecsk.io/*` labels (hashed ones cannot be decoded)."""
    meta = node.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(ATTRIBUTES_ANNOTATION)
    if raw:
        try:
            given = json.loads(raw)
        except ValueError:
            given = None
        if isinstance(given, dict):
            return {str(k): None if v is None else str(v) for k, v in given.items()}
    attrs: dict[str, str | None] = {}
    for key, value in _labels(node).items():
        if key.startswith(ATTRIBUTE_LABEL_PREFIX):
            name = key[len(ATTRIBUTE_LABEL_PREFIX) :]
            if not is_hashed(name) and not is_hashed(value):
                attrs[name] = value
    return attrs


def node_attributes(node: Mapping[str, Any]) -> dict[str, str | None]:
    """ECS attributes of a node: built-ins from the well-known labels (arch spelled the ECS way),
    then the custom ones."""
    labels = _labels(node)
    attrs: dict[str, str | None] = {}
    for name, key in WELL_KNOWN_ATTRIBUTE_LABELS.items():
        if key in labels:
            value = labels[key]
            attrs[name] = K8S_TO_ECS_ARCH.get(value, value) if name == "ecs.cpu-architecture" else value
    attrs.update(custom_attributes(node))
    return attrs


def agent_version(node: Mapping[str, Any]) -> str:
    """The node's agent version: its annotation when that reads as a version, else the default (a
    typo must not make the node fail every `agentVersion` constraint silently)."""
    raw = ((node.get("metadata") or {}).get("annotations") or {}).get(AGENT_VERSION_ANNOTATION)
    if raw and agent_version_code(str(raw)) is not None:
        return str(raw).strip()
    return DEFAULT_AGENT_VERSION


def node_ready(node: Mapping[str, Any]) -> bool:
    """Kubelet's Ready condition: the closest thing a node has to ECS's agentConnected."""
    for c in (node.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def node_created(node: Mapping[str, Any]) -> datetime:
    """The node's creation time, which is ECS's registeredAt for it."""
    raw = (node.get("metadata") or {}).get("creationTimestamp")
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def node_view(node: Mapping[str, Any], pods: Iterable[Mapping[str, Any]] = ()) -> NodeView:
    """A Node (plus, optionally, the pods bound to it) as CQL's container instance.

    The instance id is the Node name: that is what `ec2InstanceId` compiles to (`metadata.name`).
    `pods` fill `task_groups` and the running-task count when the operator's label is absent.
    """
    labels = _labels(node)
    groups = frozenset(g for p in pods if (g := _labels(p).get(TASK_GROUP_LABEL)) and not _finished(p))
    count_label = labels.get(RUNNING_TASKS_COUNT_LABEL, "")
    running = int(count_label) if count_label.isdigit() else sum(1 for p in pods if not _finished(p))
    connected = labels.get(AGENT_CONNECTED_LABEL)
    return NodeView(
        ec2_instance_id=str((node.get("metadata") or {}).get("name", "")),
        attributes=node_attributes(node),
        registered_at=node_created(node),
        running_tasks_count=running,
        agent_connected=node_ready(node) if connected is None else connected == "true",
        agent_version=agent_version(node),
        task_groups=groups,
    )


def node_views(nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]] = ()) -> list[NodeView]:
    """The inventory for `PlacementEngine`, sorted by name so compiled terms are deterministic."""
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    for p in pods:
        name = (p.get("spec") or {}).get("nodeName")
        if name:
            by_node.setdefault(name, []).append(p)
    ordered = sorted(nodes, key=lambda n: str((n.get("metadata") or {}).get("name", "")))
    return [node_view(n, by_node.get(str(n["metadata"]["name"]), ())) for n in ordered]


def _finished(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


# --- resources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    millicpu: int = 0
    memory_mib: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.millicpu + other.millicpu, self.memory_mib + other.memory_mib)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.millicpu - other.millicpu, self.memory_mib - other.memory_mib)

    def get(self, resource: str) -> int:
        return self.millicpu if resource == "cpu" else self.memory_mib


def _requests(resources: Mapping[str, Any] | None) -> Resources:
    """Kubernetes defaults a missing request to the limit."""
    res = resources or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    cpu = req.get("cpu", lim.get("cpu"))
    mem = req.get("memory", lim.get("memory"))
    return Resources(millicpu(cpu), mebibytes(mem))


def pod_requests(spec: Mapping[str, Any]) -> Resources:
    """What the scheduler reserves for a pod: pod-level requests where set (the translator sets
    the ECS task size there), else max(sum of app and sidecar containers, largest init container),
    plus overhead."""
    apps = Resources()
    for c in spec.get("containers") or ():
        apps = apps + _requests(c.get("resources"))
    init_peak = Resources()
    sidecars = Resources()
    for c in spec.get("initContainers") or ():
        r = _requests(c.get("resources"))
        if c.get("restartPolicy") == "Always":
            sidecars = sidecars + r
        init_peak = Resources(
            max(init_peak.millicpu, sidecars.millicpu + r.millicpu),
            max(init_peak.memory_mib, sidecars.memory_mib + r.memory_mib),
        )
    apps = apps + sidecars
    total = Resources(max(apps.millicpu, init_peak.millicpu), max(apps.memory_mib, init_peak.memory_mib))
    pod_level = spec.get("resources") or {}
    if pod_level.get("requests") or pod_level.get("limits"):
        level = _requests(pod_level)
        given = {**(pod_level.get("limits") or {}), **(pod_level.get("requests") or {})}
        total = Resources(
            level.millicpu if "cpu" in given else total.millicpu,
            level.memory_mib if "memory" in given else total.memory_mib,
        )
    return total + _requests({"requests": spec.get("overhead") or {}})


def node_allocatable(node: Mapping[str, Any]) -> Resources:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return Resources(millicpu(alloc.get("cpu")), mebibytes(alloc.get("memory")))


@dataclass(frozen=True)
class NodeUsage:
    """One node's capacity and what the pods on it reserve (all pods, not just one service's:
    ECS's binpack looks at the instance's remaining resources)."""

    name: str
    zone: str
    instance_type: str
    allocatable: Resources
    requested: Resources

    @property
    def remaining(self) -> Resources:
        return self.allocatable - self.requested


def node_usage(nodes: Sequence[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]) -> dict[str, NodeUsage]:
    used: dict[str, Resources] = {}
    for p in pods:
        name = (p.get("spec") or {}).get("nodeName")
        if not name or _finished(p):
            continue
        used[name] = used.get(name, Resources()) + pod_requests(p.get("spec") or {})
    out: dict[str, NodeUsage] = {}
    for n in nodes:
        labels = _labels(n)
        name = str(n["metadata"]["name"])
        out[name] = NodeUsage(
            name=name,
            zone=labels.get(WELL_KNOWN_ATTRIBUTE_LABELS["ecs.availability-zone"], ""),
            instance_type=labels.get(WELL_KNOWN_ATTRIBUTE_LABELS["ecs.instance-type"], ""),
            allocatable=node_allocatable(n),
            requested=used.get(name, Resources()),
        )
    return out
