"""UpdateContainerInstancesState without a cluster: DRAINING cordons the node and evicts only the
service tasks of the endpoint's namespace on it (standalone tasks keep running, as in ECS)."""

from __future__ import annotations

from typing import Any

from ecsk.api.context import Context, Settings
from ecsk.api.ecs import instances


def node(name: str, unschedulable: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "m5.large"}},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "allocatable": {"cpu": "2", "memory": "8Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(name: str, ns: str, on: str, service: bool) -> dict[str, Any]:
    labels = {"ecs.ecsk.io/service": "web"} if service else {"ecs.ecsk.io/task": "job"}
    return {
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"nodeName": on, "containers": []},
        "status": {"phase": "Running"},
    }


class Store:
    namespace = "team"

    def __init__(self) -> None:
        self.nodes = {"n1": node("n1"), "n2": node("n2")}
        self.pods = [
            pod("web-1", "team", "n1", True),
            pod("job-1", "team", "n1", False),
            pod("other-1", "elsewhere", "n1", True),
            pod("web-2", "team", "n2", True),
        ]
        self.evicted: list[str] = []

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        if kind == "ECSCluster":
            return [{"metadata": {"name": "default"}, "spec": {"clusterName": "default"}}]
        return list(self.nodes.values()) if kind == "Node" else []

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.list(kind) if o["metadata"]["name"] == name), None)

    def list_all_pods(self, field_selector: str | None = None) -> list[dict[str, Any]]:
        if field_selector:
            on = field_selector.split("=", 1)[1]
            return [p for p in self.pods if p["spec"]["nodeName"] == on]
        return self.pods

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.nodes[name]["spec"].update(patch["spec"])
        return self.nodes[name]

    def evict(self, name: str) -> bool:
        self.evicted.append(name)
        return True


def test_draining_cordons_and_evicts_only_service_tasks() -> None:
    store = Store()
    ctx = Context(store, Settings())  # type: ignore[arg-type]
    out = instances.update_container_instances_state(
        ctx, {"containerInstances": ["n1", "ghost"], "status": "DRAINING"}
    )
    assert store.nodes["n1"]["spec"]["unschedulable"] is True
    assert store.nodes["n2"]["spec"]["unschedulable"] is False
    assert store.evicted == ["web-1"]  # not the standalone task, not another namespace's pod
    assert out["containerInstances"][0]["status"] == "DRAINING"
    assert out["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:000000000000:container-instance/default/ghost", "reason": "MISSING"}
    ]
    again = instances.update_container_instances_state(
        ctx, {"containerInstances": ["n1"], "status": "ACTIVE"}
    )
    assert store.nodes["n1"]["spec"]["unschedulable"] is False
    assert again["containerInstances"][0]["status"] == "ACTIVE"
    listed = instances.list_container_instances(ctx, {"status": "ACTIVE"})["containerInstanceArns"]
    assert [a.rsplit("/", 1)[1] for a in listed] == ["n1", "n2"]
