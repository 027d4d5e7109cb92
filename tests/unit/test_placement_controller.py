"""The operator glue: inventory hook, deletion-cost patches, node-change re-queues (fake API)."""

from __future__ import annotations

from typing import Any

from ecsk.controller.placement import live as ctl
from ecsk.controller.runtime.common import OperatorConfig
from ecsk.core.placement import DELETION_COST_ANNOTATION
from ecsk.core.translate import PlacementInputs


def node(name: str, zone: str, itype: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": itype},
        },
        "status": {
            "allocatable": {"cpu": "2", "memory": "4Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(name: str, node_name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "labels": {}},
        "spec": {"nodeName": node_name, "containers": [{"name": "c"}]},
        "status": {"phase": "Running"},
    }


class FakeKube:
    def __init__(self, nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        self.objects = {"Node": nodes, "Pod": pods}
        self.patches: list[tuple[str, dict[str, Any]]] = []

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return list(self.objects[kind])

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: dict[str, Any],
        subresource: str | None = None,
    ) -> dict[str, Any]:
        self.patches.append((name, patch))
        return {}


class FakeRuntime:
    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube
        self.config = OperatorConfig()
        self.queued: list[tuple[str, str, str]] = []

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None:
        self.queued.append((kind, namespace, name))

    def cached(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def cached_all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return []

    def remember(self, obj: Any) -> None:
        pass


NODES = [node("a", "za", "m5.large"), node("b", "zb", "c5.large")]
REGEX = PlacementInputs(
    task_group="service:web",
    scheduling_strategy="REPLICA",
    placement_constraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ 'm5\\..*'"}],
)


def test_hook_resolves_regexes_on_live_nodes_and_requeues_on_label_changes() -> None:
    rt = FakeRuntime(FakeKube(NODES, []))
    key = ("ECSService", "ns", "web")
    spec: dict[str, Any] = {}
    assert ctl.hook_for(rt, key)(spec, REGEX) == []  # type: ignore[arg-type]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms[0]["matchExpressions"][0]["values"] == ["m5.large"]
    ctl.node_event(rt, "ADDED", NODES[0])  # type: ignore[arg-type]
    assert key in rt.queued
    rt.queued.clear()
    ctl.node_event(rt, "MODIFIED", NODES[0])  # type: ignore[arg-type]
    assert rt.queued == []  # heartbeat: same labels
    ctl.node_event(rt, "DELETED", NODES[0])  # type: ignore[arg-type]
    assert key in rt.queued


def test_deletion_costs_patch_only_what_changed() -> None:
    pods = [pod("p1", "a"), pod("p2", "a"), pod("p3", "b")]
    kube = FakeKube(NODES, pods)
    rt = FakeRuntime(kube)
    assert ctl.sync_deletion_costs(rt, None, pods) == 3  # type: ignore[arg-type]
    costs = {name: patch["metadata"]["annotations"][DELETION_COST_ANNOTATION] for name, patch in kube.patches}
    assert costs["p3"] != "0"  # zone za has two tasks: one of them goes first
    for p in pods:
        p["metadata"]["annotations"] = {DELETION_COST_ANNOTATION: costs[p["metadata"]["name"]]}
    assert ctl.sync_deletion_costs(rt, None, pods) == 0  # type: ignore[arg-type]


def test_unplaced_message_names_an_instance() -> None:
    rt = FakeRuntime(FakeKube(NODES, []))
    msg = ctl.unplaced_message(rt, "web", "0/2 nodes are available: 2 Insufficient memory.", pod("x", ""))  # type: ignore[arg-type]
    assert msg is not None and "container-instance" in msg and "insufficient memory" in msg
