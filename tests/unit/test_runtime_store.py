"""The operator runtime's object store: which watch events and own writes wake a reconcile."""

from __future__ import annotations

from typing import Any

from ecsk.controller.operator import OperatorRuntime
from ecsk.controller.runtime.common import OperatorConfig


def svc(rv: int, generation: int = 1, desired: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "ECSService",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "resourceVersion": str(rv),
            "generation": generation,
        },
        "spec": {"serviceName": "web", "desiredCount": desired},
    }


def queued(rt: OperatorRuntime) -> int:
    return len(rt.queue)


def test_a_watch_event_queues_its_object_once() -> None:
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    rt.observe("ECSService", "MODIFIED", svc(2))
    assert queued(rt) == 1
    assert rt.cached("ECSService", "shop", "web")["metadata"]["resourceVersion"] == "2"  # type: ignore[index]


def test_the_echo_of_our_own_status_write_does_not_queue_again() -> None:
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    assert rt.queue.get() is not None
    rt.remember(svc(5))  # a status patch: same generation
    rt.observe("ECSService", "MODIFIED", svc(5))  # its watch echo
    rt.observe("ECSService", "MODIFIED", svc(4))  # an older event arriving late
    assert queued(rt) == 0


def test_our_own_spec_write_wakes_the_reconciler() -> None:
    """Autoscaling writes desiredCount and caches the result; the echo is skipped, so the write
    itself must queue the service or the Deployment would wait for the next resync."""
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    key = rt.queue.get()
    assert key is not None
    rt.queue.done(key)
    rt.remember(svc(6, generation=2, desired=5))
    rt.observe("ECSService", "MODIFIED", svc(6, generation=2, desired=5))
    assert queued(rt) == 1


def test_someone_elses_change_queues() -> None:
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    key = rt.queue.get()
    assert key is not None
    rt.queue.done(key)
    rt.observe("ECSService", "MODIFIED", svc(7, generation=2, desired=9))
    assert queued(rt) == 1


def test_deleted_forgets_the_object() -> None:
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    rt.observe("ECSService", "DELETED", svc(2))
    assert rt.cached("ECSService", "shop", "web") is None


def service_pod(name: str, kind: str = "Pod") -> dict[str, Any]:
    return {
        "apiVersion": "v1" if kind == "Pod" else "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop", "labels": {"ecs.ecsk.io/service": "web"}},
    }


def test_deleted_service_pods_are_handed_to_the_next_pass_once() -> None:
    """Their final state becomes the service's stopped tasks (ListTasks desiredStatus=STOPPED)."""
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    rt.child_changed(service_pod("web-a"), "MODIFIED")
    rt.child_changed(service_pod("web-b"), "DELETED")
    rt.child_changed(service_pod("web", kind="Deployment"), "DELETED")  # not a task
    assert [p["metadata"]["name"] for p in rt.deleted_pods("shop", "web")] == ["web-b"]
    assert rt.deleted_pods("shop", "web") == []


def test_a_deleted_services_pods_are_not_kept() -> None:
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    rt.child_changed(service_pod("web-b"), "DELETED")
    rt.observe("ECSService", "DELETED", svc(2))
    assert rt.deleted_pods("shop", "web") == []


def test_pods_deleted_after_their_service_are_not_kept() -> None:
    """The garbage collector deletes a deleted service's pods after it: nothing would ever hand
    them out, so keeping them leaked memory per deleted service (bench/soak_bench.py)."""
    rt = OperatorRuntime(OperatorConfig())
    rt.observe("ECSService", "ADDED", svc(1))
    rt.observe("ECSService", "DELETED", svc(2))
    for i in range(5):
        rt.child_changed(service_pod(f"web-{i}"), "DELETED")
    assert rt._gone_pods == {}


def test_a_pod_event_wakes_the_service_its_label_names() -> None:
    """Found through the label index: the service whose serviceName the pod's label carries, the
    new name after a rename, nothing once the service is deleted."""
    rt = OperatorRuntime(OperatorConfig(coalesce_seconds=0.0))
    other = {**svc(1), "metadata": {**svc(1)["metadata"], "name": "api"}, "spec": {"serviceName": "api"}}
    rt.observe("ECSService", "ADDED", svc(1))
    rt.observe("ECSService", "ADDED", other)
    while len(rt.queue):
        key = rt.queue.get()
        assert key is not None
        rt.queue.done(key)
    rt.child_changed(service_pod("web-a"), "MODIFIED")
    assert rt.queue.get() == ("ECSService", "shop", "web")
    rt.queue.done(("ECSService", "shop", "web"))
    renamed = svc(2, generation=2)
    renamed["spec"]["serviceName"] = "web2"
    rt.observe("ECSService", "MODIFIED", renamed)
    rt.queue.done(rt.queue.get())  # type: ignore[arg-type]
    rt.child_changed(service_pod("web-b"), "MODIFIED")  # labelled for the old name: nobody
    assert len(rt.queue) == 0
    rt.observe("ECSService", "DELETED", svc(3))
    assert rt._by_label == {("shop", "api"): {("ECSService", "shop", "api")}}


def test_a_spec_no_pass_has_seen_goes_before_status_catch_up() -> None:
    rt = OperatorRuntime(OperatorConfig())
    settled = svc(1)
    settled["status"] = {"observedGeneration": 1}
    rt.observe("ECSService", "ADDED", settled)
    fresh = {**svc(2), "metadata": {**svc(2)["metadata"], "name": "new"}}
    rt.observe("ECSService", "ADDED", fresh)  # no status yet: urgent
    assert rt.queue.get() == ("ECSService", "shop", "new")
    assert rt.queue.get() == ("ECSService", "shop", "web")
