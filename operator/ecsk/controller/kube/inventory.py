"""The node inventory, fed by the operator's Node watch.

Placement, Fargate zone choice and the closest-instance hint all read every node; listing them
from the API server on each reconcile would cost O(nodes) traffic per service per resync (at
1,000 nodes that dominated the operator's CPU and memory). The watch delivers every change, so
readers get the same facts from memory.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ecsk.controller.kube.client import Kube

_lock = threading.Lock()
_nodes: dict[str, dict[str, Any]] = {}
_seen = threading.Event()


def observe(event_type: str | None, body: Mapping[str, Any]) -> None:
    """Record one Node watch event (kopf delivers the initial listing as events too)."""
    meta = body.get("metadata") or {}
    name = str(meta.get("name", ""))
    with _lock:
        if event_type == "DELETED":
            _nodes.pop(name, None)
        else:
            _nodes[name] = _slim(meta, body)
    _seen.set()


_UNREAD_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def _slim(meta: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """What readers use, for every node of a large fleet: managedFields (several managers write a
    Node) and a kubectl-applied node's copy of itself are never read; see `_STATUS_FIELDS`."""
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _UNREAD_ANNOTATIONS}
    kept = {k: v for k, v in meta.items() if k not in ("managedFields", "annotations")}
    if annotations:
        kept["annotations"] = annotations
    st = body.get("status") or {}
    status = {k: st[k] for k in _STATUS_FIELDS if k in st}
    status["conditions"] = conditions(st)
    return {"metadata": kept, "spec": body.get("spec") or {}, "status": status}


_STATUS_FIELDS = ("allocatable", "capacity", "phase")
"""What placement, Fargate zones and the closest-instance hint read of a node's status (with
the conditions' type and status): addresses, images, daemon endpoints and the conditions'
messages and timestamps were most of each stored node, and no reader of this cache uses them."""


def conditions(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A node's conditions as type and status only (readiness is all anything here asks)."""
    return [{"type": c.get("type"), "status": c.get("status")} for c in status.get("conditions") or ()]


def nodes(kube: Kube) -> list[dict[str, Any]]:
    """Every node: from the watch once it has spoken, else (at start-up) a live list."""
    if _seen.is_set():
        with _lock:
            return list(_nodes.values())
    return kube.list("v1", "Node")


def ready() -> bool:
    """True once the watch has delivered nodes (reads are then served from memory)."""
    return _seen.is_set()


def reset() -> None:
    """Forget everything (tests, and an operator restarting in-process)."""
    with _lock:
        _nodes.clear()
    _seen.clear()
