"""DescribeServices never shows a stale status as stable: until the operator has observed the
current spec and the current forceNewDeployment token, a pending PRIMARY deployment is shown."""

from __future__ import annotations

from typing import Any

from ecsk.api.ecs import services


def body(generation: int, observed: int, forced: str | None, seen: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "generation": generation, "uid": "u-1"}
    if forced is not None:
        meta["annotations"] = {"ecs.ecsk.io/force-new-deployment": forced}
    status: dict[str, Any] = {"observedGeneration": observed}
    if seen is not None:
        status["observedForceNewDeployment"] = seen
    return {"metadata": meta, "spec": {}, "status": status}


def test_status_counts_as_observed_only_for_the_current_forced_deployment() -> None:
    assert services._observed(body(2, 2, None, None))
    assert not services._observed(body(2, 1, None, None))
    assert not services._observed(body(2, 2, "t2", None))  # forced, operator has not seen it
    assert not services._observed(body(2, 2, "t2", "t1"))  # forced again
    assert services._observed(body(2, 2, "t2", "t2"))
