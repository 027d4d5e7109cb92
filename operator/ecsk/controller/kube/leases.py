"""The operators' Leases (coordination.k8s.io/v1) in one namespace, as plain dicts.

Leader election (`ecsk.controller.runtime.leader`) needs five calls and exact semantics for two
of them: an update must fail if the Lease changed since it was read (resourceVersion in the
body), and a release must delete only the Lease we still hold (uid + resourceVersion
preconditions). Every call has a short timeout: a renewal that hangs for the client's default
60 s would outlive the renew deadline and leave a deposed leader acting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ecsk.controller.kube.client import KubeError

LEASE_NAMESPACE = "ecsk-system"
"""Every ecsk operator Lease lives here (the namespace manifests/ installs the operator in), so
RBAC grants Lease verbs in this one namespace only, and one LIST sees every active operator."""


class LeaseConflict(KubeError):
    """Someone else created, changed or deleted the Lease since we read it."""


class KubeLeases:
    """Leases in `namespace` through the official client (raw JSON, no model conversion)."""

    def __init__(
        self,
        api_client: k8s_client.ApiClient | None = None,
        namespace: str = LEASE_NAMESPACE,
        timeout: float = 2.0,
    ) -> None:
        self.api_client = api_client or _default_client()
        self.coordination = k8s_client.CoordinationV1Api(self.api_client)
        self.core = k8s_client.CoreV1Api(self.api_client)
        self.namespace = namespace
        self.timeout = timeout

    @classmethod
    def from_kubeconfig(cls, path: str, namespace: str = LEASE_NAMESPACE) -> KubeLeases:
        """For tools (benchmarks, tests, the CLI) that hold a kubeconfig path, not a loaded config."""
        return cls(k8s_config.new_client_from_config(config_file=path), namespace)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            res = self._call(self.coordination.read_namespaced_lease, name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._error("get", name, exc) from exc
        return _json(res)

    def list(self, label_selector: str) -> list[dict[str, Any]]:
        try:
            res = self._call(
                self.coordination.list_namespaced_lease, self.namespace, label_selector=label_selector
            )
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise self._error("list", "", exc) from exc
        items: list[dict[str, Any]] = _json(res).get("items") or []
        return items

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create the Lease; the namespace too on a cluster without manifests/ (local clusters)."""
        try:
            return self._create(body)
        except ApiException as exc:
            if exc.status != 404:
                raise self._error("create", body["metadata"]["name"], exc) from exc
        self._ensure_namespace()
        try:
            return self._create(body)
        except ApiException as exc:
            raise self._error("create", body["metadata"]["name"], exc) from exc

    def replace(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update guarded by the body's resourceVersion: 409 if anyone wrote since we read."""
        name = body["metadata"]["name"]
        try:
            res = self._call(self.coordination.replace_namespaced_lease, name, self.namespace, _any(body))
        except ApiException as exc:
            raise self._error("update", name, exc) from exc
        return _json(res)

    def delete(self, name: str, uid: str, resource_version: str) -> None:
        """Delete only the version we hold (a taken-over Lease fails the preconditions: 409)."""
        options = {"preconditions": {"uid": uid, "resourceVersion": resource_version}}
        try:
            self._call(self.coordination.delete_namespaced_lease, name, self.namespace, body=_any(options))
        except ApiException as exc:
            if exc.status == 404:
                return
            raise self._error("delete", name, exc) from exc

    def _create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return _json(self._call(self.coordination.create_namespaced_lease, self.namespace, _any(body)))

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Raw JSON, the short timeout, and transport failures (API server unreachable, which the
        client raises as urllib3/OS errors) as KubeError: election retries them until its deadline."""
        try:
            return method(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
        except (HTTPError, OSError) as exc:
            raise KubeError(f"Lease API in {self.namespace} unreachable: {exc}") from exc

    def _error(self, verb: str, name: str, exc: ApiException) -> KubeError:
        cls = LeaseConflict if exc.status in (404, 409) else KubeError
        return cls(f"{verb} Lease {self.namespace}/{name}: {exc.status} {exc.reason}", exc.status)

    def _ensure_namespace(self) -> None:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        try:
            self._call(self.core.create_namespace, _any(ns))
        except ApiException as exc:
            if exc.status != 409:
                raise KubeError(
                    f"namespace {self.namespace} (where operator Leases live) is missing and could "
                    f"not be created: {exc.reason}; apply manifests/namespace.yaml",
                    exc.status,
                ) from exc


def _default_client() -> k8s_client.ApiClient:
    try:
        k8s_config.load_incluster_config()
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()
    return k8s_client.ApiClient()


def _any(body: Mapping[str, Any]) -> Any:
    """The client accepts plain dicts wherever its stubs say model objects (it serialises both)."""
    return dict(body)


def _json(res: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(res.data)
    return out
