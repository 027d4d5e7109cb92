"""Reads shared by the launch-type controllers (Fargate, capacity providers).

Both are cluster-level polling loops that must find a task's owner (service or RunTask) and
its capacity provider strategy from nothing but the pod, and both may be scoped to the
namespaces of a namespaced operator.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any, TypeVar

from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel

from ecsk.controller.kube.client import API_VERSION, Kube, KubeError
from ecsk.core.capacity.validation import validate_cluster
from ecsk.core.models.errors import errors_of
from ecsk.core.models.placement import CapacityProviderStrategyItem
from ecsk.core.translate.names import LABEL_SERVICE, label_value

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
    """Pods as plain dicts (with apiVersion/kind, so Events can point at them)."""
    try:
        if namespaces is None:
            results = [kube.core.list_pod_for_all_namespaces(field_selector=field_selector)]
        else:
            results = [kube.core.list_namespaced_pod(ns, field_selector=field_selector) for ns in namespaces]
    except ApiException as exc:
        raise KubeError(f"list pods: {exc.reason}", exc.status) from exc
    items = [i for r in results for i in kube.api_client.sanitize_for_serialization(r).get("items") or []]
    return [dict(p, apiVersion="v1", kind="Pod") for p in items]


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
