"""Reads shared by the launch-type controllers (Fargate, capacity providers).

Both are cluster-level polling loops that must find a task's owner (service or RunTask) and
its capacity provider strategy from nothing but the pod, and both may be scoped to the
namespaces of a namespaced operator.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException

from ecsk.controller.kube import API_VERSION, Kube, KubeError
from ecsk.core.translate.names import LABEL_SERVICE, label_value

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


def owners(kube: Kube, namespaces: list[str] | None) -> Owners:
    """Every service's and RunTask's strategy, keyed like `group_of` keys their pods."""
    out: Owners = {}
    for body in list_custom(kube, "ECSService", namespaces):
        spec = body.get("spec") or {}
        name = spec.get("serviceName") or body["metadata"]["name"]
        cluster = str(spec.get("cluster") or "default").rsplit("/", 1)[-1]
        key = (body["metadata"]["namespace"], f"svc:{label_value(str(name))}")
        out[key] = (spec.get("capacityProviderStrategy") or [], cluster)
    for body in list_custom(kube, "Task", namespaces):
        spec = body.get("spec") or {}
        cluster = str(spec.get("cluster") or "default").rsplit("/", 1)[-1]
        key = (body["metadata"]["namespace"], f"task:{body['metadata']['name']}")
        out[key] = (spec.get("capacityProviderStrategy") or [], cluster)
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
