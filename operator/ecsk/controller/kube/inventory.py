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
            _nodes[name] = {
                # managedFields: nobody reads them, and on a Node several managers write they are
                # the largest part of its metadata (kept for every node of a large fleet).
                "metadata": {k: v for k, v in meta.items() if k != "managedFields"},
                "spec": body.get("spec") or {},
                "status": body.get("status") or {},
            }
    _seen.set()


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
