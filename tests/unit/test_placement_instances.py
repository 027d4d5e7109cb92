"""Operator-maintained instance labels (runningTasksCount, registeredAt, agentConnected,
agentVersion): what they say, that only changes are written, batching, and scope."""

from __future__ import annotations

import copy
from typing import Any

from helpers_fake_kube import FakeKube

from ecsk.controller.placement.instances import InstanceLabeler
from ecsk.core.cql import compile_expression, evaluate, parse
from ecsk.core.cql.kube import node_matches
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    AGENT_VERSION_LABEL,
    REGISTERED_AT_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
)
from ecsk.core.placement import node_view
from ecsk.core.placement.instances import (
    NAMESPACE_LABEL,
    in_scope,
    instance_labels,
    is_running_task,
    label_patch,
)
from ecsk.core.placement.nodes import AGENT_VERSION_ANNOTATION, DEFAULT_AGENT_VERSION

CREATED = "2026-01-02T03:04:05Z"
CREATED_EPOCH = "1767323045"


def node(
    name: str,
    *,
    ready: bool = True,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    rv: str = "1",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "resourceVersion": rv,
            "creationTimestamp": CREATED,
            "labels": {"kubernetes.io/hostname": name, **(labels or {})},
            "annotations": dict(annotations or {}),
        },
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def task_pod(
    name: str, node_name: str | None, phase: str = "Running", ns: str = "ns", managed: bool = True
) -> dict[str, Any]:
    labels = {"ecs.ecsk.io/task-group": "family_web--h0123456789"}
    if managed:
        labels["app.kubernetes.io/managed-by"] = "ecsk"
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if node_name:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels},
        "spec": spec,
        "status": {"phase": phase},
    }


# --- pure --------------------------------------------------------------------------------------


def test_instance_labels_encode_each_subject_as_the_compiler_reads_it() -> None:
    labels = instance_labels(node("a"), 3)
    assert labels == {
        RUNNING_TASKS_COUNT_LABEL: "3",
        REGISTERED_AT_LABEL: CREATED_EPOCH,
        AGENT_CONNECTED_LABEL: "true",
        AGENT_VERSION_LABEL: "1089003",
    }
    assert DEFAULT_AGENT_VERSION == "1.89.3"
    assert instance_labels(node("a", ready=False), 0)[AGENT_CONNECTED_LABEL] == "false"


def test_agent_version_annotation_overrides_the_default_and_a_typo_does_not() -> None:
    pinned = node("a", annotations={AGENT_VERSION_ANNOTATION: "1.14.5"})
    assert instance_labels(pinned, 0)[AGENT_VERSION_LABEL] == "1014005"
    assert node_view(pinned).agent_version == "1.14.5"
    typo = node("a", annotations={AGENT_VERSION_ANNOTATION: "latest"})
    assert instance_labels(typo, 0)[AGENT_VERSION_LABEL] == "1089003"


def test_labelled_node_is_admitted_exactly_when_evaluate_admits_it() -> None:
    """The contract with the compiler: labels written here make compiled terms agree with CQL."""
    exprs = [
        "runningTasksCount == 0",
        "runningTasksCount > 1",
        "not runningTasksCount <= 2",
        "agentConnected == true",
        "agentConnected != true",
        "agentVersion >= 1.50.0",
        "agentVersion < 1.15.0",
        "registeredAt > 2026-01-01",
        "registeredAt < 2026-01-02T03:04:05Z",
    ]
    fleet = [
        node("idle"),
        node("busy"),
        node("down", ready=False),
        node("old", annotations={AGENT_VERSION_ANNOTATION: "1.14.5"}),
    ]
    counts = {"idle": 0, "busy": 3, "down": 1, "old": 2}
    for n in fleet:
        n["metadata"]["labels"].update(instance_labels(n, counts[n["metadata"]["name"]]))
    for text in exprs:
        compiled = compile_expression(text)
        for n in fleet:
            want = evaluate(parse(text), node_view(n))
            got = node_matches(compiled.node_selector_terms, n["metadata"]["labels"], n["metadata"]["name"])
            assert got == want, (text, n["metadata"]["name"])


def test_label_patch_names_only_the_labels_that_differ() -> None:
    n = node("a", labels={"team": "x", RUNNING_TASKS_COUNT_LABEL: "1", AGENT_CONNECTED_LABEL: "true"})
    desired = instance_labels(n, 2)
    patch = label_patch(n, desired)
    assert patch == {
        "metadata": {
            "labels": {
                AGENT_VERSION_LABEL: "1089003",
                REGISTERED_AT_LABEL: CREATED_EPOCH,
                RUNNING_TASKS_COUNT_LABEL: "2",
            }
        }
    }
    n["metadata"]["labels"].update(patch["metadata"]["labels"])
    assert label_patch(n, desired) is None


def test_fargate_nodes_and_foreign_namespaces_are_out_of_scope() -> None:
    assert in_scope(node("a"), None)
    assert not in_scope(node("f", labels={"eks.amazonaws.com/compute-type": "fargate"}), None)
    assert not in_scope(node("a"), ["team"])
    assert in_scope(node("a", labels={NAMESPACE_LABEL: "team"}), ["team", "other"])
    assert not in_scope(node("a", labels={NAMESPACE_LABEL: "else"}), ["team"])


def test_only_bound_running_ecsk_task_pods_count() -> None:
    assert is_running_task(task_pod("p", "a"))
    assert not is_running_task(task_pod("p", "a", phase="Pending"))
    assert not is_running_task(task_pod("p", "a", phase="Succeeded"))
    assert not is_running_task(task_pod("p", None))
    assert not is_running_task(task_pod("p", "a", managed=False))
    stopping = task_pod("p", "a")
    stopping["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not is_running_task(stopping)


# --- the controller ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def labeler(kube: FakeKube, namespaces: list[str] | None = None) -> tuple[InstanceLabeler, Clock]:
    clock = Clock()
    lab = InstanceLabeler(lambda: kube, namespaces=namespaces, min_gap=2.0, clock=clock)  # type: ignore[arg-type, return-value]
    for (kind, _, _), obj in list(kube.objects.items()):
        if kind == "Node":
            lab.node_event(None, copy.deepcopy(obj))
    return lab, clock


def node_labels(kube: FakeKube, name: str) -> dict[str, str]:
    return dict(kube.objects[("Node", "", name)]["metadata"]["labels"])


def test_first_pass_counts_the_listed_tasks_then_a_resync_writes_nothing() -> None:
    kube = FakeKube(
        node("a"), node("b"), task_pod("t1", "a"), task_pod("t2", "a"), task_pod("t3", "b", "Pending")
    )
    lab, clock = labeler(kube)
    assert lab.flush() == 2
    assert node_labels(kube, "a")[RUNNING_TASKS_COUNT_LABEL] == "2"
    assert node_labels(kube, "b")[RUNNING_TASKS_COUNT_LABEL] == "0"
    assert node_labels(kube, "a")["kubernetes.io/hostname"] == "a"  # other labels untouched
    # The watch echoes our writes and re-delivers everything on resync: nothing to write.
    clock.now += 60
    for name in ("a", "b"):
        lab.node_event("MODIFIED", copy.deepcopy(kube.objects[("Node", "", name)]))
    for p in ("t1", "t2", "t3"):
        lab.pod_event("MODIFIED", copy.deepcopy(kube.objects[("Pod", "ns", p)]))
    kube.patches.clear()
    assert lab.flush() == 0
    assert kube.patches == []


def test_a_burst_of_task_starts_is_one_patch_per_node_per_gap() -> None:
    kube = FakeKube(node("a"))
    lab, clock = labeler(kube)
    lab.flush()
    kube.patches.clear()
    clock.now += 0.5  # within min_gap of the first write
    for i in range(100):
        lab.pod_event("ADDED", task_pod(f"t{i}", "a"))
    assert lab.flush() == 0  # written moments ago: waits
    clock.now += 2.0
    assert lab.flush() == 1
    assert kube.patches == [("Node", "a", {"metadata": {"labels": {RUNNING_TASKS_COUNT_LABEL: "100"}}})]
    for i in range(40):
        lab.pod_event("DELETED", task_pod(f"t{i}", "a"))
    clock.now += 2.0
    lab.flush()
    assert node_labels(kube, "a")[RUNNING_TASKS_COUNT_LABEL] == "60"


def test_status_churn_of_a_running_task_does_not_dirty_its_node() -> None:
    kube = FakeKube(node("a"), task_pod("t1", "a"))
    lab, clock = labeler(kube)
    lab.flush()
    clock.now += 10
    kube.patches.clear()
    lab.pod_event("MODIFIED", task_pod("t1", "a"))
    assert lab.flush() == 0 and kube.patches == []


def test_a_stale_watch_event_does_not_undo_our_write() -> None:
    kube = FakeKube(node("a", rv="5"))
    lab, clock = labeler(kube)
    kube.objects[("Node", "", "a")]["metadata"]["resourceVersion"] = "6"  # the patch response's rv
    lab.flush()
    stale = node("a", rv="5")  # the pre-patch object, delivered late
    lab.node_event("MODIFIED", stale)
    clock.now += 10
    kube.patches.clear()
    assert lab.flush() == 0


def test_node_readiness_flips_agent_connected() -> None:
    kube = FakeKube(node("a"))
    lab, clock = labeler(kube)
    lab.flush()
    down = copy.deepcopy(kube.objects[("Node", "", "a")])
    down["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    down["metadata"]["resourceVersion"] = "2"
    lab.node_event("MODIFIED", down)
    clock.now += 10
    kube.patches.clear()
    assert lab.flush() == 1
    assert kube.patches == [("Node", "a", {"metadata": {"labels": {AGENT_CONNECTED_LABEL: "false"}}})]


def test_a_namespaced_operator_labels_only_its_namespace_nodes() -> None:
    kube = FakeKube(
        node("mine", labels={NAMESPACE_LABEL: "team"}), node("shared"), task_pod("t", "mine", ns="team")
    )
    lab, _ = labeler(kube, ["team"])
    assert lab.flush() == 1
    assert node_labels(kube, "mine")[RUNNING_TASKS_COUNT_LABEL] == "1"
    assert RUNNING_TASKS_COUNT_LABEL not in node_labels(kube, "shared")


def test_fargate_nodes_get_no_instance_labels() -> None:
    kube = FakeKube(node("fargate-ip-1", labels={"eks.amazonaws.com/compute-type": "fargate"}))
    lab, _ = labeler(kube)
    assert lab.flush() == 0
    assert RUNNING_TASKS_COUNT_LABEL not in node_labels(kube, "fargate-ip-1")


def test_events_seen_before_the_seeding_list_win_over_it() -> None:
    """A pod deleted between kopf's event and our list must not come back from the list."""
    kube = FakeKube(node("a"), task_pod("t1", "a"))
    lab, _ = labeler(kube)
    lab.pod_event("DELETED", task_pod("t1", "a"))
    lab.flush()
    assert node_labels(kube, "a")[RUNNING_TASKS_COUNT_LABEL] == "0"


def test_a_deleted_node_is_forgotten() -> None:
    kube = FakeKube(node("a"))
    lab, _ = labeler(kube)
    lab.node_event("DELETED", node("a"))
    assert lab.flush() == 0


def test_a_node_joining_the_namespace_later_is_labelled_and_one_leaving_is_left_alone() -> None:
    kube = FakeKube(node("n"))
    lab, clock = labeler(kube, ["team"])
    assert lab.flush() == 0
    joined = node("n", labels={NAMESPACE_LABEL: "team"}, rv="2")
    kube.objects[("Node", "", "n")] = copy.deepcopy(joined)
    lab.node_event("MODIFIED", joined)
    assert lab.flush() == 1
    left = copy.deepcopy(kube.objects[("Node", "", "n")])
    left["metadata"]["labels"][NAMESPACE_LABEL] = "else"
    left["metadata"]["resourceVersion"] = "3"
    lab.node_event("MODIFIED", left)
    lab.pod_event("ADDED", task_pod("t", "n", ns="team"))
    clock.now += 10
    kube.patches.clear()
    assert lab.flush() == 0 and kube.patches == []
