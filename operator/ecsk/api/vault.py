"""Labelled Kubernetes Secrets as the store of SSM parameters and Secrets Manager secrets.

One Secret per parameter or secret, in the endpoint's namespace (one namespace = one account and
Region), named by the core's naming rule (`ssm.<path>`, `sm.<name>`) and labelled
`ecs.ecsk.io/store=<ssm|secretsmanager>`, so `kubectl get secrets -l ecs.ecsk.io/store` lists them
and the operator resolves a task's `secrets` from the same objects. Values go in `data` (what
Secrets are for: RBAC, encryption at rest); everything else (versions, labels, dates,
descriptions, tags) is JSON in one annotation, never a value. The exact AWS name is kept in an
annotation too, because the Kubernetes name is derived from it and two AWS names could derive the
same one (`foo` and `/foo`): a lookup compares the stored name before trusting the object.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecsk.api.store import Conflict, Store
from ecsk.core.translate.names import ANN_AWS_METADATA as ANN_META
from ecsk.core.translate.names import ANN_AWS_NAME as ANN_NAME
from ecsk.core.translate.names import LABEL_STORE, MANAGED_BY


@dataclass
class Entry:
    """One stored parameter or secret: its AWS name, metadata (no values) and values by key."""

    name: str
    k8s_name: str
    meta: dict[str, Any]
    data: dict[str, str] = field(default_factory=dict)
    resource_version: str | None = None


def now() -> float:
    return datetime.now(UTC).timestamp()


def _decode(data: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, raw in (data or {}).items():
        try:
            out[key] = base64.b64decode(raw).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue  # not written by ecsk: a foreign key is not a value we serve
    return out


def _entry(body: Mapping[str, Any]) -> Entry | None:
    meta = body.get("metadata") or {}
    ann = meta.get("annotations") or {}
    if ANN_NAME not in ann:
        return None
    try:
        info = json.loads(ann.get(ANN_META) or "{}")
    except ValueError:
        info = {}
    return Entry(
        name=ann[ANN_NAME],
        k8s_name=meta["name"],
        meta=info if isinstance(info, dict) else {},
        data=_decode(body.get("data")),
        resource_version=meta.get("resourceVersion"),
    )


def read(store: Store, kind: str, k8s_name: str, name: str) -> Entry | None:
    """The entry stored for the AWS name `name`, or None (absent, or another name's object)."""
    body = store.get("Secret", k8s_name, fresh=True)
    if body is None or ((body.get("metadata") or {}).get("labels") or {}).get(LABEL_STORE) != kind:
        return None
    entry = _entry(body)
    return entry if entry is not None and entry.name == name else None


def occupant(store: Store, k8s_name: str) -> str | None:
    """The AWS name already stored under `k8s_name` (None when the Kubernetes name is free)."""
    body = store.get("Secret", k8s_name, fresh=True)
    if body is None:
        return None
    entry = _entry(body)
    return entry.name if entry is not None else k8s_name


def list_entries(store: Store, kind: str) -> list[Entry]:
    found = (_entry(b) for b in store.list("Secret", selector=f"{LABEL_STORE}={kind}"))
    return [e for e in found if e is not None]


def _body(kind: str, entry: Entry) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": entry.k8s_name,
        "labels": {LABEL_STORE: kind, MANAGED_BY: "ecsk"},
        "annotations": {ANN_NAME: entry.name, ANN_META: json.dumps(entry.meta, separators=(",", ":"))},
    }
    if entry.resource_version:
        meta["resourceVersion"] = entry.resource_version
    data = {k: base64.b64encode(v.encode()).decode() for k, v in entry.data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta, "data": data}


def create(store: Store, kind: str, entry: Entry) -> bool:
    """False when the Kubernetes name is taken (the caller reports its own AlreadyExists)."""
    try:
        store.create(_body(kind, entry))
    except Conflict:
        return False
    return True


def replace(store: Store, kind: str, entry: Entry) -> bool:
    """PUT with the read resourceVersion; False when someone wrote in between (caller retries)."""
    try:
        store.replace(_body(kind, entry))
    except Conflict:
        return False
    return True


def delete(store: Store, entry: Entry) -> bool:
    return store.delete("Secret", entry.k8s_name)
