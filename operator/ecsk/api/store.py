"""The endpoint's only store: the custom resources, read and written through the Kubernetes API.

There is no cache and no database: what `kubectl apply` created is what Describe*/List* return,
and what CreateService writes is what `kubectl get` shows. Errors come back as AwsError: a refusal
by the API server (admission, CEL rules) as the caller's fault, an unreachable or failing API
server as a retryable ServerException (HTTP 500, which every SDK retries).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from ecsk.api import cache as wc
from ecsk.api.errors import AwsError

log = logging.getLogger("ecsk.api.store")

GROUP = "ecs.ecsk.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PLURALS = {
    "TaskDefinition": "taskdefinitions",
    "ECSService": "ecsservices",
    "Task": "tasks",
    "ECSCluster": "ecsclusters",
    "CapacityProvider": "capacityproviders",
    "ScalableTarget": "scalabletargets",
    "ScalingPolicy": "scalingpolicies",
    "ScheduledAction": "scheduledactions",
    "Repository": "repositories",
    "AppRunnerService": "apprunnerservices",
    "AppRunnerAutoScalingConfiguration": "apprunnerautoscalingconfigurations",
}
CORE_PLURALS = {
    "ConfigMap": "configmaps",
    "Pod": "pods",
    "Node": "nodes",
    "Event": "events",
    "Secret": "secrets",
}
CLUSTER_SCOPED = {"Node"}
CACHED = (
    "ECSCluster", "ECSService", "TaskDefinition", "Task",
    "ScalableTarget", "ScalingPolicy", "ScheduledAction",
)  # fmt: skip
"""Kinds whose unfiltered reads come from the watch cache (see ecsk.api.cache)."""
TIMEOUT = (3.0, 10.0)
"""Connect and read timeouts: a hung API server must become a retryable error, not a hung call."""


Items = list[dict[str, Any]]
"""(An alias: inside `Store`, `list` names its method.)"""


class Conflict(Exception):
    """The name is taken (create) or the object changed underneath (replace with resourceVersion)."""


class Store:
    """Thread-safe: the official client's ApiClient pools its connections (urllib3)."""

    def __init__(self, namespace: str, api_client: k8s_client.ApiClient | None = None) -> None:
        if api_client is None:
            try:
                k8s_config.load_incluster_config()
            except k8s_config.ConfigException:
                k8s_config.load_kube_config()
            conf = k8s_client.Configuration.get_default_copy()
            conf.connection_pool_maxsize = 32
            api_client = k8s_client.ApiClient(conf)
        self.api = api_client
        self.namespace = namespace
        self.caches: dict[str, wc.KindCache] = {}
        self._stop = threading.Event()

    # --- watch cache ---------------------------------------------------------------------------

    def start_cache(self, kinds: tuple[str, ...] = CACHED, timeout: float = 10.0) -> bool:
        """Serve these kinds' unfiltered reads from watches; True when all synced within `timeout`."""
        for kind in kinds:
            cache = self.caches[kind] = wc.KindCache(kind)
            lister = functools.partial(self._list_rv, kind)
            watcher = functools.partial(self._watch, kind)
            wc.Informer(cache, lister, watcher, self._stop).start()
        return wc.wait_synced(self.caches.values(), timeout)

    def stop_cache(self) -> None:
        self._stop.set()

    def _cache(self, kind: str) -> wc.KindCache | None:
        cache = self.caches.get(kind)
        return cache if cache is not None and cache.synced else None

    def _remember(self, obj: Any) -> None:
        if (
            isinstance(obj, dict)
            and obj.get("kind") in self.caches
            and (obj.get("metadata") or {}).get("name")
        ):
            self.caches[obj["kind"]].put(obj)

    def _list_rv(self, kind: str) -> tuple[Items, str]:
        data = self._call("GET", self._path(kind))
        return data.get("items") or [], str((data.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, kind: str, rv: str) -> Iterator[bytes]:
        query = [
            ("watch", "1"),
            ("resourceVersion", rv),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(wc.WATCH_SECONDS)),
        ]
        url, headers = self._prepared(self._path(kind), query)
        resp = self.api.rest_client.pool_manager.request(
            "GET",
            url,
            headers=headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=TIMEOUT[0], read=wc.WATCH_SECONDS + 30),
        )
        try:
            if resp.status != 200:
                raise RuntimeError(f"watch {kind}: HTTP {resp.status}")
            yield from resp
        finally:
            resp.release_conn()

    # --- paths ---------------------------------------------------------------------------------

    def _path(self, kind: str, name: str | None = None, sub: str | None = None) -> str:
        if kind in PLURALS:
            base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{PLURALS[kind]}"
        elif kind in CLUSTER_SCOPED:
            base = f"/api/v1/{CORE_PLURALS[kind]}"
        else:
            base = f"/api/v1/namespaces/{self.namespace}/{CORE_PLURALS[kind]}"
        if name is not None:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base

    def _prepared(self, path: str, query: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
        """URL and headers for a raw request through the client's own connection pool (its TLS
        and client certificates), with the kubeconfig's bearer token if it has one. Raw requests
        because the endpoint streams watches and passes JSON through untouched; built from the
        Configuration rather than the generated ApiClient helpers, whose names change between
        client releases."""
        cfg = self.api.configuration
        url = cfg.host.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json", **self.api.default_headers}
        for auth in cfg.auth_settings().values():
            if auth.get("in") == "header" and auth.get("value"):
                headers[auth["key"]] = auth["value"]
        return url, headers

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        url, headers = self._prepared(path, query or [])
        headers["Content-Type"] = content_type
        try:
            resp = self.api.rest_client.pool_manager.request(
                method,
                url,
                headers=headers,
                body=None if body is None else json.dumps(body).encode(),
                timeout=urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1]),
            )
            data = resp.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("Kubernetes API unreachable: %s %s: %s", method, path, exc)
            raise unavailable() from None
        if not 200 <= resp.status < 300:
            raise _translate(resp.status, data, str(resp.reason), method, path)
        return json.loads(data) if data else None

    # --- reads ---------------------------------------------------------------------------------

    def get(self, kind: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
        cache = None if fresh else self._cache(kind)
        if cache is not None:
            return cache.get(name)
        try:
            out: dict[str, Any] = self._call("GET", self._path(kind, name))
        except NotFound:
            return None
        return out

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        cache = None if selector else self._cache(kind)
        if cache is not None:
            return cache.items()
        query = [("labelSelector", selector)] if selector else None
        try:
            items: list[dict[str, Any]] = self._call("GET", self._path(kind), query=query).get("items") or []
        except NotFound:
            return []  # a CRD not installed reads as empty, like an account that never used it
        return items

    def list_all_pods(self, field_selector: str | None = None) -> Items:
        """Pods of every namespace: what an instance's remaining resources must subtract."""
        query = [("fieldSelector", field_selector)] if field_selector else None
        items: Items = self._call("GET", "/api/v1/pods", query=query).get("items") or []
        return items

    def pod_log(self, pod: str, container: str) -> str | None:
        """The container's log as the kubelet keeps it, each line prefixed with its RFC 3339
        timestamp; None when there is none to read (not started yet, or the pod is gone)."""
        query = [("container", container), ("timestamps", "true")]
        url, headers = self._prepared(self._path("Pod", pod, "log"), query)
        headers["Accept"] = "*/*"  # the log is text; the API server refuses text/plain here
        try:
            resp = self.api.rest_client.pool_manager.request(
                "GET", url, headers=headers, timeout=urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1])
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("Kubernetes API unreachable: pod log %s: %s", pod, exc)
            raise unavailable() from None
        if resp.status in (400, 404):  # waiting to start, or deleted
            return None
        if not 200 <= resp.status < 300:
            raise _translate(resp.status, resp.data, str(resp.reason), "GET", f"pods/{pod}/log")
        return bytes(resp.data).decode("utf-8", errors="replace")

    # --- writes --------------------------------------------------------------------------------

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self._call("POST", self._path(obj["kind"]), body=dict(obj))
        self._remember(out)
        return out

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT with the object's resourceVersion: the whole spec is the caller's, like an apply of
        a complete manifest, and a concurrent writer makes this a Conflict instead of a lost update."""
        out: dict[str, Any] = self._call(
            "PUT", self._path(obj["kind"], obj["metadata"]["name"]), body=dict(obj)
        )
        self._remember(out)
        return out

    def update_spec(
        self,
        kind: str,
        name: str,
        mutate: Callable[[dict[str, Any]], dict[str, Any]],
        annotations: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Replace the spec with `mutate(object)` (and set `annotations` in the same write),
        re-reading the object (from the API server, not the cache) after a 409: status writes by
        the operator move the resourceVersion on, and only a spec written over a stale read is a
        real conflict. None if the object is gone."""
        for attempt in range(5):
            body = self.get(kind, name, fresh=attempt > 0)
            if body is None:
                return None
            meta = dict(body["metadata"])
            if annotations:
                meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
            try:
                return self.replace({**body, "metadata": meta, "spec": mutate(body)})
            except Conflict:
                continue
        raise AwsError("ServerException", f"{kind} {name} keeps changing concurrently; retry.", 500)

    def merge_patch(self, kind: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = self._call(
                "PATCH", self._path(kind, name), body=dict(patch), content_type="application/merge-patch+json"
            )
        except NotFound:
            return None
        self._remember(out)
        return out

    def merge_patch_status(self, kind: str, name: str, status: Mapping[str, Any]) -> dict[str, Any] | None:
        """Write fields of the status subresource (what the resource's printer columns show)."""
        try:
            out: dict[str, Any] = self._call(
                "PATCH",
                self._path(kind, name, "status"),
                body={"status": dict(status)},
                content_type="application/merge-patch+json",
            )
        except NotFound:
            return None
        self._remember(out)
        return out

    def delete(self, kind: str, name: str, propagation: str = "Background") -> bool:
        try:
            out = self._call("DELETE", self._path(kind, name), body={"propagationPolicy": propagation})
        except NotFound:
            out = None
        self._forget(kind, name, out)
        return out is not None

    def _forget(self, kind: str, name: str, out: Any) -> None:
        cache = self.caches.get(kind)
        if cache is None:
            return
        if isinstance(out, dict) and out.get("kind") == kind and out["metadata"].get("deletionTimestamp"):
            cache.put(out)  # finalizers hold it: it stays, marked as being deleted
            return
        rv = (out or {}).get("metadata", {}).get("resourceVersion") if isinstance(out, dict) else None
        cache.remove(name, int(rv or 0))

    def evict(self, pod: str) -> bool:
        """The eviction API (honours PodDisruptionBudgets, like `kubectl drain`); False if gone."""
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": self.namespace},
        }
        try:
            self._call("POST", self._path("Pod", pod, "eviction"), body=body)
        except NotFound:
            return False
        return True


class NotFound(Exception):
    pass


def unavailable() -> AwsError:
    return AwsError(
        "ServerException",
        "The Kubernetes API server that stores ecsk's resources is unavailable; retry later.",
        500,
    )


def _message(body: Any, reason: str) -> str:
    try:
        return str(json.loads(body or "{}").get("message") or reason)
    except (ValueError, AttributeError, TypeError):
        return reason


def _translate(status: int, body: Any, reason: str, method: str, path: str) -> Exception:
    message = _message(body, reason)
    if status == 404:
        return NotFound(path)
    if status == 409:
        return Conflict(message)
    if status in (400, 422):
        # Admission or the CRD's schema/CEL rules refused it: the same rules, the same words.
        return AwsError("InvalidParameterException", message)
    if status in (401, 403):
        log.error("Kubernetes API refused %s %s: %s", method, path, message)
        return AwsError("ServerException", f"ecsk's Kubernetes credentials may not {method} {path}", 500)
    log.warning("Kubernetes API error %s on %s %s: %s", status, method, path, message)
    return unavailable()
