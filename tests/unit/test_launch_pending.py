"""The launch-type loops' pending pods: ours from the operator's pod watch, the rest from the API."""

from __future__ import annotations

from typing import Any

from helpers_fake_kube import FakeKube

from ecsk.controller.capacity import launch
from ecsk.controller.capacity.fargate import FargateController
from ecsk.core.capacity import fargate as fg
from ecsk.core.translate.names import MANAGED_BY


def _pod(name: str, rv: int, *, ours: bool = True, gated: bool = False, node: str = "") -> dict[str, Any]:
    labels = {MANAGED_BY: "ecsk", "ecs.ecsk.io/family": "web"} if ours else {"app": "plain"}
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if gated:
        spec["schedulingGates"] = [{"name": fg.GATE}]
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "app",
            "uid": f"uid-{name}",
            "resourceVersion": str(rv),
            "labels": labels,
        },
        "spec": spec,
    }


def _names(pods: list[dict[str, Any]]) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods)


def test_before_the_watch_speaks_every_pending_pod_is_listed() -> None:
    kube = FakeKube(_pod("gated", 1, gated=True), _pod("waiting", 2), _pod("bound", 3, node="n1"))
    assert _names(launch.pending_pods(kube, None)) == ["gated", "waiting"]  # type: ignore[arg-type]


def test_fed_by_the_watch_ours_come_from_memory_and_only_when_gated() -> None:
    """An ungated task waiting for the kube-scheduler is none of the loops' business: it is not
    decoded every second any more; a plain pod still comes from the API (no watch covers it)."""
    gated, waiting, plain = _pod("gated", 1, gated=True), _pod("waiting", 2), _pod("plain", 3, ours=False)
    kube = FakeKube(gated, waiting, plain)
    for pod in (gated, waiting):
        launch.pending.observe("ADDED", pod)
    assert _names(launch.pending_pods(kube, None)) == ["gated", "plain"]  # type: ignore[arg-type]
    assert launch.pending_pods(kube, ["elsewhere"]) == []  # type: ignore[arg-type]
    launch.pending.observe("MODIFIED", _pod("gated", 4, node="n1"))  # scheduled: not pending now
    assert _names(launch.pending_pods(kube, None)) == ["plain"]  # type: ignore[arg-type]


def test_an_older_event_never_undoes_our_own_write() -> None:
    """The loop lifted the gate (its patch's response is remembered); the watch then delivers the
    event from before that patch: the pod must not come back, or the next pass pins it twice."""
    launch.pending.observe("ADDED", _pod("t", 5, gated=True))
    launch.pending.remember(_pod("t", 7))  # gate lifted by our patch
    launch.pending.observe("MODIFIED", _pod("t", 6, gated=True))  # late, older event
    assert launch.pending.pods(None) == []
    launch.pending.observe("MODIFIED", _pod("t", 7))  # the echo of our write
    launch.pending.observe("MODIFIED", _pod("t", 9, gated=True))  # gated again later: believed
    assert _names(launch.pending.pods(None)) == ["t"]
    launch.pending.observe("DELETED", _pod("t", 10, gated=True))
    assert launch.pending.pods(None) == []


def test_the_fargate_loop_pins_a_task_it_only_knows_from_the_watch() -> None:
    pod = _pod("t1", 1, gated=True)
    pod["spec"]["resources"] = {"requests": {"cpu": "250m", "memory": "512Mi"}}
    kube = FakeKube(pod)
    launch.pending.observe("ADDED", pod)
    ctl = FargateController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    nodes = [o for (k, _, _), o in kube.objects.items() if k == "Node"]
    assert len(nodes) == 1, "a node is created for the watched task"
    kube.ready("Node", nodes[0]["metadata"]["name"])
    ctl.reconcile_once()
    live = kube.objects[("Pod", "app", "t1")]
    assert "schedulingGates" not in live["spec"], "pinned and released"
    pins = [p for p in kube.patches if p[0] == "Pod" and "spec" in p[2]]
    ctl.reconcile_once()
    assert [p for p in kube.patches if p[0] == "Pod" and "spec" in p[2]] == pins, "pinned once"
