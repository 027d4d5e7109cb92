"""The operator's side of ECS placement: feed the pure engine live nodes, keep scale-in costs on
the pods, and re-render services whose constraints were resolved against the node inventory.

Everything decided here is decided in `ecsk.core.placement`; this module only reads and writes
(through `rt.kube`, so the single field manager and error handling stay the reconcilers').

Wiring (services.py / tasks.py / runtime.py), kept out of those files so their owner decides:
* services: `RenderOptions(..., placement_hook=hook_for(rt, ("ECSService", ns, name)))` in place
  of `capacity.placement_hook` (hook_for chains it);
* tasks: render the PodTemplate without a hook, then per pod
  `hook_for(rt, ("Task", ns, name))(spec, standalone_inputs(task, td))`;
* after observing the service's pods: `sync_deletion_costs(rt, svc_strategy, pods)`;
* watch Nodes and call `node_event(rt, type, body)` from the handler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ecsk.controller.kube import inventory as node_inventory
from ecsk.controller.kube.client import KubeError
from ecsk.controller.runtime.common import Runtime
from ecsk.core.placement import (
    DEFAULT_PROFILES,
    PlacementEngine,
    SchedulerProfiles,
    cost_patches,
    deletion_costs,
    node_views,
    unable_to_place_event,
    with_launch_gates,
)
from ecsk.core.translate import PlacementHook

log = logging.getLogger("ecsk.controller.placement.live")

Key = tuple[str, str, str]

_lock = threading.Lock()
_depends: set[Key] = set()
"""Objects whose last render resolved a regex (or similar) against the node inventory."""
_node_labels: dict[str, dict[str, str]] = {}
"""Last seen labels per node: kubelet heartbeats update Nodes every few seconds, and only a
label change (or a node joining/leaving) can change what a resolved constraint admits."""


class TrackedEngine(PlacementEngine):
    """An engine that records, per reconciled object, whether its placement used the inventory."""

    def __init__(self, key: Key, inventory: Sequence[Any] | None, profiles: SchedulerProfiles) -> None:
        super().__init__(inventory, profiles)
        self.key = key

    def __call__(self, spec: dict[str, Any], inputs: Any) -> list[Any]:
        found = super().__call__(spec, inputs)
        with _lock:
            if self.depends_on_inventory:
                _depends.add(self.key)
            else:
                _depends.discard(self.key)
        return found


_views: dict[str, tuple[str, Any]] = {}
"""Node name -> (resourceVersion, its view): a node is converted again only once it changed, so
a service whose regex needs the inventory costs a lookup per node, not a conversion."""


def inventory(rt: Runtime) -> list[Any]:
    """Live nodes as CQL container instances. Pods are not read: compiling never needs the tasks
    on an instance (task:group becomes pod affinity, which the scheduler evaluates itself)."""
    nodes = sorted(node_inventory.nodes(rt.kube), key=lambda n: str(n["metadata"].get("name", "")))
    out: list[Any] = []
    with _lock:
        for node in nodes:
            name = str(node["metadata"].get("name", ""))
            version = str(node["metadata"].get("resourceVersion", ""))
            memo = _views.get(name)
            if memo is None or not version or memo[0] != version:
                memo = (version, node_views([node])[0])
                _views[name] = memo
            out.append(memo[1])
        if len(_views) > len(nodes):
            live = {str(n["metadata"].get("name", "")) for n in nodes}
            for gone in [k for k in _views if k not in live]:
                del _views[gone]
    return out


class LazyInventory(Sequence[Any]):
    """Node views computed on first use: only memberOf constraints read the inventory, and
    converting every node per reconcile would make a 1,000-node cluster slow for every service."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._views: list[Any] | None = None

    def _get(self) -> list[Any]:
        if self._views is None:
            self._views = inventory(self._rt)
        return self._views

    def __len__(self) -> int:
        return len(self._get())

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get())


def hook_for(rt: Runtime, key: Key, profiles: SchedulerProfiles = DEFAULT_PROFILES) -> PlacementHook:
    """The render hook for one object: the launch-type gates (`ecsk.core.capacity.providers`, which covers
    Fargate) first, then ECS placement on live nodes."""
    nodes: Sequence[Any] | None = LazyInventory(rt)
    if not node_inventory.ready():
        try:
            nodes = inventory(rt)
        except KubeError as exc:
            log.warning("node inventory unavailable (%s); regex constraints will wait", exc)
            nodes = None  # the engine reports `placement.needs-inventory` as an error: nothing applied
    return with_launch_gates(TrackedEngine(key, nodes, profiles))


def sync_deletion_costs(
    rt: Runtime,
    strategies: Sequence[Mapping[str, Any]] | None,
    service_pods: Sequence[Mapping[str, Any]],
) -> int:
    """Annotate the service's pods so the ReplicaSet stops the tasks ECS would stop first.

    `strategies`: the service's placementStrategy as AWS dicts (None -> ECS's default order).
    Returns how many pods were patched (0 on a settled service)."""
    if not service_pods:
        return 0
    nodes = node_inventory.nodes(rt.kube)
    node_pods: list[dict[str, Any]] | None = None
    if any(s.get("type") == "binpack" for s in strategies or ()):
        node_pods = rt.kube.list("v1", "Pod")  # binpack looks at everything on the instance
    costs = deletion_costs(service_pods, nodes, strategies, node_pods)
    patches = cost_patches(service_pods, costs)
    for name, patch in patches.items():
        ns = str(next(p for p in service_pods if p["metadata"]["name"] == name)["metadata"]["namespace"])
        try:
            rt.kube.merge_patch("v1", "Pod", name, ns, patch)
        except KubeError as exc:  # the pod may be gone already; the next pass recomputes
            log.debug("deletion cost on %s/%s: %s", ns, name, exc)
    return len(patches)


def unplaced_message(rt: Runtime, service: str, scheduler_message: str, pod: Mapping[str, Any]) -> str | None:
    """ECS's unable-to-place event naming the constraint-satisfying instance with the most of the
    missing resource left (a drop-in for services._closest_instance + unable_to_place)."""
    try:
        nodes = node_inventory.nodes(rt.kube)
        pods = rt.kube.list("v1", "Pod")
    except KubeError:
        nodes, pods = [], []
    return unable_to_place_event(service, scheduler_message, pod.get("spec") or {}, nodes, pods)


def node_event(rt: Runtime, event_type: str | None, body: Mapping[str, Any]) -> None:
    """A Node changed: if it joined, left or changed labels, re-queue the objects whose placement
    was resolved against the inventory (re-rendering is a no-op when nothing changed)."""
    node_inventory.observe(event_type, body)
    meta = body.get("metadata") or {}
    name = str(meta.get("name", ""))
    labels = dict(meta.get("labels") or {})
    with _lock:
        before = _node_labels.get(name)
        if event_type == "DELETED":
            _node_labels.pop(name, None)
        else:
            _node_labels[name] = labels
        changed = event_type == "DELETED" or before != labels
        keys = sorted(_depends) if changed else []
    for kind, ns, obj in keys:
        rt.enqueue(kind, ns, obj)
