"""Reads shared by the launch-type controllers (Fargate, capacity providers).

Both are cluster-level polling loops that must find a task's owner (service or RunTask) and
its capacity provider strategy from nothing but the pod, and both may be scoped to the
namespaces of a namespaced operator.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from ecsk.controller.kube.client import API_VERSION, Kube, KubeError, resource_version
from ecsk.core.capacity.fargate import FARGATE_SCHEDULER
from ecsk.core.capacity.validation import validate_cluster
from ecsk.core.models.errors import errors_of
from ecsk.core.models.placement import CapacityProviderStrategyItem
from ecsk.core.translate.names import LABEL_SERVICE, MANAGED_BY, label_value

M = TypeVar("M", bound=BaseModel)

Group = tuple[str, str]
"""(namespace, "svc:<service label>" | "task:<Task name>"): the tasks a strategy splits."""
Owners = dict[Group, tuple[list[dict[str, Any]], str]]
"""Group -> (capacityProviderStrategy as AWS dicts, ECS cluster name)."""


def scopes(namespaces: list[str] | None) -> list[str | None]:
    return list(namespaces) if namespaces else [None]


def labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def list_pods(kube: Kube, namespaces: list[str] | None, field_selector: str = "") -> list[dict[str, Any]]:
    """Pods as plain dicts (with apiVersion/kind, so Events can point at them).

    Raw JSON (`Kube.list`): the typed client built a V1Pod per pod and converted it back, and
    both polling loops list the pending pods every second (9% of the operator's CPU while
    10,000 tasks started, bench/scale_bench.py)."""
    items = [
        p
        for ns in scopes(namespaces)
        for p in kube.list("v1", "Pod", ns, field_selector=field_selector or None)
    ]
    return [dict(p, apiVersion="v1", kind="Pod") for p in items]


class PendingIndex:
    """ecsk's own pods that wait on a scheduling gate or on the fargate-scheduler, fed by the
    operator's pod watch (`observe`) and by the controllers' own pod patches (`remember`).

    Both launch-type loops look at the pending pods every second. Listing them from the API
    decoded every unscheduled task in the cluster each time: while 10,000 tasks started that was
    30% of the operator's CPU (bench/scale_bench.py), though only gated ones concern the loops.
    With the index a pass lists only the pending pods that are not ours (few, usually none) and
    takes ours from memory. Until the watch has delivered a pod, or when the operator's watch
    is not there (a loop run on its own), the loops list every pending pod as before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pods: dict[str, dict[str, Any]] = {}
        self._floor: dict[str, int] = {}
        """uid -> resourceVersion of our own write that took the pod out: an older watch event,
        still showing the gate, must not put it back (the next pass would act on it twice)."""
        self._fed = threading.Event()

    @staticmethod
    def _waits(pod: Mapping[str, Any]) -> bool:
        spec = pod.get("spec") or {}
        if spec.get("nodeName") or (pod.get("metadata") or {}).get("deletionTimestamp"):
            return False
        return bool(spec.get("schedulingGates")) or spec.get("schedulerName") == FARGATE_SCHEDULER

    def observe(self, event_type: str | None, body: Mapping[str, Any], *, own: bool = False) -> None:
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        version = resource_version(body)
        with self._lock:
            if not own:
                self._fed.set()
            floor = self._floor.get(uid)
            if floor is not None:
                if version < floor and event_type != "DELETED":
                    return
                del self._floor[uid]
            old = self._pods.get(uid)
            if old is not None and resource_version(old) > version and event_type != "DELETED":
                return
            if event_type != "DELETED" and self._waits(body):
                self._pods[uid] = {
                    **{k: v for k, v in body.items() if k != "metadata"},
                    "metadata": {k: v for k, v in meta.items() if k != "managedFields"},
                    "apiVersion": "v1",
                    "kind": "Pod",
                }
            else:
                self._pods.pop(uid, None)
                if own and event_type != "DELETED":
                    self._floor[uid] = version

    def remember(self, body: Mapping[str, Any]) -> None:
        """A pod as one of our patches left it (newer than any event the watch has delivered)."""
        self.observe("MODIFIED", body, own=True)

    def fed(self) -> bool:
        return self._fed.is_set()

    def pods(self, namespaces: list[str] | None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(p)
                for p in self._pods.values()
                if namespaces is None or p["metadata"].get("namespace") in namespaces
            ]

    def reset(self) -> None:
        with self._lock:
            self._pods.clear()
            self._floor.clear()
        self._fed.clear()


pending = PendingIndex()
"""The process's index (the operator's pod watch feeds it; see `operator.build_registry`)."""


def pending_pods(kube: Kube, namespaces: list[str] | None) -> list[dict[str, Any]]:
    """Unscheduled pods the launch-type loops may act on: every pending pod that is not ours,
    and ours that wait on a gate or the fargate-scheduler (`PendingIndex`)."""
    if not pending.fed():
        return list_pods(kube, namespaces, field_selector="spec.nodeName=")
    others = [
        dict(p, apiVersion="v1", kind="Pod")
        for ns in scopes(namespaces)
        for p in kube.list(
            "v1", "Pod", ns, label_selector=f"{MANAGED_BY}!=ecsk", field_selector="spec.nodeName="
        )
    ]
    return others + pending.pods(namespaces)


_MISSING: weakref.WeakKeyDictionary[Kube, dict[str, float]] = weakref.WeakKeyDictionary()
MISSING_RETRY = 60.0
"""A kind the cluster does not serve is asked for again only after this long: every miss makes
the dynamic client refetch discovery, too costly for loops that run every second."""


def list_custom(kube: Kube, kind: str, namespaces: list[str] | None) -> list[dict[str, Any]]:
    """Our custom resources of one kind; nothing when the CRD is not installed."""
    missing = _MISSING.setdefault(kube, {})
    if time.monotonic() < missing.get(kind, 0.0):
        return []
    try:
        return [b for ns in scopes(namespaces) for b in kube.list(API_VERSION, kind, ns)]
    except KubeError as exc:
        if exc.status is None:  # not served (no HTTP status): remember; API errors retry next pass
            missing[kind] = time.monotonic() + MISSING_RETRY
        return []


def _cluster(spec: Mapping[str, Any]) -> str:
    return str(spec.get("cluster") or "default").rsplit("/", 1)[-1] or "default"


def cluster_defaults(kube: Kube, namespaces: list[str] | None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(namespace, cluster name) -> the ECSCluster's defaultCapacityProviderStrategy."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for body in list_custom(kube, "ECSCluster", namespaces):
        spec = body.get("spec") or {}
        if errors_of(validate_cluster(spec)):
            continue  # refused (reported on the cluster): its default strategy applies to nothing
        default = spec.get("defaultCapacityProviderStrategy") or []
        if default:
            out[(body["metadata"]["namespace"], str(spec.get("clusterName") or body["metadata"]["name"]))] = (
                default
            )
    return out


def effective_strategy(
    spec: Mapping[str, Any], namespace: str, defaults: Mapping[tuple[str, str], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """ECS: no launch type and no strategy means the cluster's default capacity provider strategy."""
    strategy = list(spec.get("capacityProviderStrategy") or [])
    if strategy or spec.get("launchType"):
        return strategy
    return list(defaults.get((namespace, _cluster(spec)), []))


def with_cluster_default(kube: Kube, namespace: str, model: M) -> M:
    """A service or RunTask model with the cluster default strategy filled in (as ECS records it
    at create time), so the render hook gates its tasks; unchanged when anything is missing."""
    if getattr(model, "launchType", None) or getattr(model, "capacityProviderStrategy", None):
        return model
    try:
        spec = {"cluster": getattr(model, "cluster", None)}
        default = effective_strategy(spec, namespace, cluster_defaults(kube, [namespace]))
        if not default:
            return model
        items = [CapacityProviderStrategyItem.model_validate(i) for i in default]
        return model.model_copy(update={"capacityProviderStrategy": items})
    except Exception:  # a broken ECSCluster must never break a service
        return model


def owners(kube: Kube, namespaces: list[str] | None) -> Owners:
    """Every service's and RunTask's strategy (cluster default applied), keyed like `group_of`."""
    out: Owners = {}
    defaults = cluster_defaults(kube, namespaces)
    for body in list_custom(kube, "ECSService", namespaces):
        spec = body.get("spec") or {}
        ns = body["metadata"]["namespace"]
        name = spec.get("serviceName") or body["metadata"]["name"]
        out[(ns, f"svc:{label_value(str(name))}")] = (effective_strategy(spec, ns, defaults), _cluster(spec))
    for body in list_custom(kube, "Task", namespaces):
        spec = body.get("spec") or {}
        ns = body["metadata"]["namespace"]
        key = (ns, f"task:{body['metadata']['name']}")
        out[key] = (effective_strategy(spec, ns, defaults), _cluster(spec))
    return out


def group_of(pod: Mapping[str, Any]) -> Group:
    meta = pod.get("metadata") or {}
    ns = meta.get("namespace", "")
    svc = (meta.get("labels") or {}).get(LABEL_SERVICE)
    if svc:
        return ns, f"svc:{svc}"
    for ref in meta.get("ownerReferences") or ():
        if ref.get("kind") == "Task":
            return ns, f"task:{ref.get('name')}"
    return ns, ""


TERMINAL = frozenset({"Succeeded", "Failed"})


def alive(pod: Mapping[str, Any]) -> bool:
    """Counts as a task: neither terminating nor finished."""
    meta = pod.get("metadata") or {}
    return not meta.get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in TERMINAL
