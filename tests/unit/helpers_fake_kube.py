"""An in-memory stand-in for `ecsk.controller.kube.client.Kube`, enough for the launch-type controllers.

It records writes so tests can assert on them, and serves lists from plain dicts; merge patches
follow RFC 7386 (None deletes, maps merge, lists replace), as the API server does for them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ecsk.controller.kube.client import KindNotServed


def merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _selected(obj: Mapping[str, Any], selector: str | None) -> bool:
    """Equality-based label selectors (`k=v`, `k!=v`, `k`), as the API server applies them."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


class _Core:
    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube

    def create_namespaced_binding(self, namespace: str, body: Any, **_: Any) -> None:
        name = body.metadata.name
        self.kube.bindings.append((namespace, name, body.target.name))
        self.kube.objects[("Pod", namespace, name)].setdefault("spec", {})["nodeName"] = body.target.name


class _ApiClient:
    @staticmethod
    def sanitize_for_serialization(obj: Any) -> Any:
        return obj


class FakeKube:
    def __init__(self, *objects: dict[str, Any], served: tuple[str, ...] = ()) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.served = set(served)
        self.events: list[tuple[str, str, str]] = []
        self.bindings: list[tuple[str, str, str]] = []
        self.patches: list[tuple[str, str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str]] = []
        self.core = _Core(self)
        self.api_client = _ApiClient()
        for obj in objects:
            self.add(obj)

    def fence(self, what: str) -> None:
        """Writes are always allowed here (the real fence is tested in test_leader.py)."""

    def add(self, obj: dict[str, Any]) -> None:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta.get('name')}")
        self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        if api_version.startswith("ecs.ecsk.io") and kind not in self.served:
            raise KindNotServed(f"{kind} not served")
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in self.objects.items()
            if k == kind
            and (namespace is None or ns == namespace)
            and (field_selector != "spec.nodeName=" or not (o.get("spec") or {}).get("nodeName"))
            and _selected(o, label_selector)
        ]

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        obj = self.objects.get((kind, namespace or "", name))
        return copy.deepcopy(obj) if obj else None

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        meta = obj["metadata"]
        key = (obj["kind"], meta.get("namespace", ""), meta["name"])
        if key in self.objects:
            return None
        self.add(copy.deepcopy(dict(obj)))
        return copy.deepcopy(self.objects[key])

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None, **_: Any) -> bool:
        self.deleted.append((kind, name))
        return self.objects.pop((kind, namespace or "", name), None) is not None

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        **_: Any,
    ) -> dict[str, Any]:
        self.patches.append((kind, name, copy.deepcopy(dict(patch))))
        obj = self.objects[(kind, namespace or "", name)]
        return copy.deepcopy(merge(obj, patch))

    def patch_status(self, obj: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any] | None:
        meta = obj["metadata"]
        live = self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])]
        live["status"] = {**(live.get("status") or {}), **status}
        return copy.deepcopy(live)

    def event(self, obj: Mapping[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        self.events.append((obj["metadata"]["name"], reason, message))

    def ready(self, kind: str, name: str) -> None:
        self.objects[(kind, "", name)].setdefault("status", {})["conditions"] = [
            {"type": "Ready", "status": "True"}
        ]
