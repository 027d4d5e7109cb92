"""Small polling helpers shared by the integration tests (plain functions, no fixtures)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pykube


def wait_for(
    predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.5, what: str = "condition"
) -> Any:
    """Poll until predicate returns something truthy; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def ready_nodes(api: pykube.HTTPClient) -> list[pykube.Node]:
    return [
        n
        for n in pykube.Node.objects(api)
        if not n.obj["spec"].get("unschedulable")
        and not any(t.get("effect") == "NoSchedule" for t in n.obj["spec"].get("taints", []))
        and any(c["type"] == "Ready" and c["status"] == "True" for c in n.obj["status"].get("conditions", []))
    ]
