"""The operator's only door to the API server: server-side apply, status patches and Events.

Everything goes through one `Kube` object so the rules hold everywhere: one field manager
(`ecsk`), force on conflicts (the operator owns what it renders), compare before writing (a
resync that changes nothing sends nothing), and API errors surface as `KubeError` that the
reconcilers turn into conditions instead of crashes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from ecsk.controller.kube.diff import is_subset

log = logging.getLogger("ecsk.controller")

FIELD_MANAGER = "ecsk"
GROUP = "ecs.ecsk.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class KubeError(RuntimeError):
    """An API call failed in a way the reconcile loop should report and retry, not crash on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KindNotServed(KubeError):
    """The cluster has no such API (a CRD not installed, e.g. the AWS Load Balancer Controller's
    TargetGroupBinding on a plain kind or kwok cluster)."""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _plain(obj: Any) -> Any:
    """Dynamic client results (ResourceInstance) -> plain dicts; the core only speaks dicts."""
    if obj is None:
        return None
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


class Kube:
    """Thin, thread-safe wrapper over the official client's DynamicClient."""

    def __init__(self, api_client: k8s_client.ApiClient | None = None) -> None:
        if api_client is None:
            try:
                k8s_config.load_incluster_config()
            except k8s_config.ConfigException:
                k8s_config.load_kube_config()
            api_client = k8s_client.ApiClient()
        self.api_client = api_client
        self.dyn = DynamicClient(api_client)
        self.core = k8s_client.CoreV1Api(api_client)
        self._lock = threading.Lock()
        self._resources: dict[tuple[str, str], Any] = {}
        self.may_write: Callable[[], bool] = lambda: True
        """Leader election's fence (`Elector.confident`): a process that is not sure it still
        holds its Lease refuses every write here, so a deposed leader that wakes up (SIGSTOP,
        a long GC or CPU starvation) cannot act before its renewal thread notices."""

    def fence(self, what: str) -> None:
        """Raise (the reconcile retries with backoff) unless this process may write now."""
        if not self.may_write():
            raise KubeError(f"{what}: not writing, this operator is not sure it still leads")

    def resource(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        with self._lock:
            if key not in self._resources:
                try:
                    self._resources[key] = self.dyn.resources.get(api_version=api_version, kind=kind)
                except ResourceNotFoundError as exc:
                    raise KindNotServed(f"{kind}.{api_version} is not served by this cluster") from exc
            return self._resources[key]

    def _forget_kind(self, api_version: str, kind: str) -> None:
        with self._lock:
            self._resources.pop((api_version, kind), None)
        try:
            self.dyn.resources.invalidate_cache()  # the client's discovery cache is a shared file
        except Exception:  # best effort: the next lookup still works from the stale cache
            log.debug("discovery cache invalidation failed", exc_info=True)

    # --- reads -------------------------------------------------------------------------------

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        try:
            return _plain(self.dyn.get(self.resource(api_version, kind), name=name, namespace=namespace))
        except NotFoundError:
            return None
        except ApiException as exc:
            raise KubeError(f"get {kind} {namespace}/{name}: {exc.reason}", exc.status) from exc

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        try:
            # Raw JSON, not the client's ResourceInstance: converting thousands of pods through
            # ResourceInstance.to_dict was the operator's single largest CPU cost at scale.
            res = self.dyn.get(
                self.resource(api_version, kind),
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                serialize=False,
            )
        except ApiException as exc:
            raise KubeError(f"list {kind} in {namespace}: {exc.reason}", exc.status) from exc
        items: list[dict[str, Any]] = json.loads(res.data).get("items") or []
        return items

    # --- writes ------------------------------------------------------------------------------

    def apply(
        self, obj: Mapping[str, Any], live: Mapping[str, Any] | None = None, fetch: bool = True
    ) -> tuple[dict[str, Any], bool]:
        """SSA `obj` unless the live object already carries every rendered field (returns live).

        `live` may be given when the caller already fetched it; `fetch=False` says a None `live`
        is known absent (the caller's cache covers the kind). Returns (object, written).
        Shared kinds get their owner reference merged separately (see `SHARED_KINDS`).
        """
        shared_refs: list[dict[str, Any]] = []
        if obj["kind"] in SHARED_KINDS:
            shared_refs = list(obj.get("metadata", {}).get("ownerReferences") or [])
            obj = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "ownerReferences"}}
        obj = stamp_applied(obj)
        meta = obj.get("metadata", {})
        res = self.resource(obj["apiVersion"], obj["kind"])
        namespace = meta.get("namespace") if res.namespaced else None
        if live is None and fetch:
            live = self.get(obj["apiVersion"], obj["kind"], meta["name"], namespace)
        if live is not None and is_subset(obj, live):
            result, written = dict(live), False
        else:
            self.fence(f"apply {obj['kind']} {namespace}/{meta['name']}")
            try:
                out = self.dyn.server_side_apply(
                    res,
                    body=dict(obj),
                    name=meta["name"],
                    namespace=namespace,
                    field_manager=FIELD_MANAGER,
                    force_conflicts=True,
                )
            except ApiException as exc:
                if exc.status == 404 and "page not found" in _body(exc):
                    # The path itself is gone (a CRD deleted after discovery was cached): forget
                    # it, so a later install is found again.
                    self._forget_kind(obj["apiVersion"], obj["kind"])
                    raise KindNotServed(
                        f"{obj['kind']}.{obj['apiVersion']} is not served by this cluster"
                    ) from exc
                raise KubeError(
                    f"apply {obj['kind']} {namespace}/{meta['name']}: {exc.reason}: {_body(exc)}", exc.status
                ) from exc
            log.info("applied %s %s/%s", obj["kind"], namespace or "-", meta["name"])
            result, written = _plain(out), True
        have = {r.get("uid") for r in (result.get("metadata") or {}).get("ownerReferences") or []}
        missing = [r for r in shared_refs if r.get("uid") not in have]
        if missing:
            # Strategic merge on ownerReferences merges by uid: every user keeps its reference,
            # which a single-manager apply could not do (it would replace the previous user's).
            result = self.merge_patch(
                obj["apiVersion"],
                obj["kind"],
                meta["name"],
                namespace,
                {"metadata": {"ownerReferences": missing}},
                content_type="application/strategic-merge-patch+json",
            )
            written = True
        return result, written

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create-only (bare Pods, Jobs): None when the name is taken, so retries never duplicate."""
        meta = obj.get("metadata", {})
        self.fence(f"create {obj['kind']} {meta.get('namespace')}/{meta.get('name')}")
        try:
            out = self.dyn.create(
                self.resource(obj["apiVersion"], obj["kind"]),
                body=dict(obj),
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
            )
        except ApiException as exc:
            if exc.status == 409:
                return None
            raise KubeError(
                f"create {obj['kind']} {meta.get('namespace')}/{meta.get('name')}: {exc.reason}: "
                f"{_body(exc)}",
                exc.status,
            ) from exc
        return _plain(out)

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
    ) -> bool:
        self.fence(f"delete {kind} {namespace}/{name}")
        try:
            self.dyn.delete(
                self.resource(api_version, kind),
                name=name,
                namespace=namespace,
                body={"propagationPolicy": propagation},
            )
        except NotFoundError:
            return False
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise KubeError(f"delete {kind} {namespace}/{name}: {exc.reason}", exc.status) from exc
        return True

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        subresource: str | None = None,
        content_type: str = "application/merge-patch+json",
    ) -> dict[str, Any]:
        self.fence(f"patch {kind} {namespace}/{name}")
        res = self.resource(api_version, kind)
        if subresource:
            res = res.subresources[subresource]
        try:
            out = self.dyn.patch(
                res,
                body=dict(patch),
                name=name,
                namespace=namespace,
                content_type=content_type,
                field_manager=FIELD_MANAGER,
            )
        except ApiException as exc:
            raise KubeError(
                f"patch {kind} {namespace}/{name}: {exc.reason}: {_body(exc)}", exc.status
            ) from exc
        return _plain(out)

    def patch_status(self, obj: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any] | None:
        """Merge-patch the status subresource, only if something differs; None when nothing sent.

        Keys set to None in `status` are removed (merge-patch semantics)."""
        current = obj.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return None
        meta = obj["metadata"]
        changed = ", ".join(sorted(k for k, v in status.items() if current.get(k) != v))
        log.info("status of %s %s/%s: %s", obj["kind"], meta.get("namespace"), meta["name"], changed)
        return self.merge_patch(
            obj["apiVersion"],
            obj["kind"],
            meta["name"],
            meta.get("namespace"),
            {"status": dict(status)},
            subresource="status",
        )

    def event(self, obj: Mapping[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        """A core/v1 Event on the custom resource, so `kubectl describe` shows ECS's messages."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        if not self.may_write():
            log.warning("not posting event %s on %s/%s: not sure we lead", reason, ns, meta["name"])
            return
        stamp = datetime.now(UTC)
        body = k8s_client.CoreV1Event(
            metadata=k8s_client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=ns),
            involved_object=k8s_client.V1ObjectReference(
                api_version=obj.get("apiVersion"),
                kind=obj.get("kind"),
                name=meta["name"],
                namespace=ns,
                uid=meta.get("uid"),
                resource_version=meta.get("resourceVersion"),
            ),
            reason=reason,
            message=message[:1024],
            type=type_,
            count=1,
            first_timestamp=stamp,
            last_timestamp=stamp,
            source=k8s_client.V1EventSource(component="ecsk"),
            reporting_component="ecsk",
            reporting_instance="ecsk-operator",
        )
        try:
            self.core.create_namespaced_event(ns, body)
        except ApiException as exc:  # events are best effort: never fail a reconcile over one
            log.warning("could not post event on %s/%s: %s", ns, meta["name"], exc.reason)


APPLIED_ANNOTATION = f"{GROUP}/applied-hash"


def stamp_applied(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Record a hash of what we applied: the subset test cannot see a field we *stopped*
    rendering, the hash can (a changed hash forces one apply, which drops the field)."""
    out = copy.deepcopy(dict(obj))
    # Owner references stay out of the hash: users of a shared object must agree on its hash.
    content = {
        **out,
        "metadata": {k: v for k, v in out.get("metadata", {}).items() if k != "ownerReferences"},
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    out.setdefault("metadata", {}).setdefault("annotations", {})[APPLIED_ANNOTATION] = digest
    return out


def _body(exc: ApiException) -> str:
    text = str(getattr(exc, "body", "") or "")
    return text[:500]


def resource_version(obj: Mapping[str, Any]) -> int:
    """resourceVersion as a number, 0 if absent. Kubernetes calls it opaque; the caches here
    compare it only to drop an event older than what they already hold, which etcd's revision
    order makes safe on every conformant apiserver."""
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def owner_reference(owner: Mapping[str, Any], controller: bool = True) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


SHARED_KINDS = frozenset({"ServiceAccount", "PersistentVolumeClaim", "ConfigMap", "Secret"})
"""Side objects named after something other than their owner (a task role, a volume), which
several services/tasks of one namespace may render identically. They get a non-controller owner
reference from each user, so Kubernetes deletes them when the last user goes and two users never
fight over `controller: true` (the API allows one)."""


def adopt(
    objects: Iterable[dict[str, Any]], owner: Mapping[str, Any], cluster_scoped_kinds: set[str]
) -> None:
    """Owner references on every namespaced child (cluster-scoped ones cannot have a namespaced owner)."""
    for obj in objects:
        if obj["kind"] in cluster_scoped_kinds:
            continue
        ref = owner_reference(owner, controller=obj["kind"] not in SHARED_KINDS)
        obj.setdefault("metadata", {})["ownerReferences"] = [ref]
