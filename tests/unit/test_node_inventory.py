"""The watch-fed node inventory keeps what its readers use, for every node of a large fleet."""

from __future__ import annotations

from typing import Any

from ecsk.controller.kube import inventory
from ecsk.core.placement.nodes import node_allocatable, node_ready, node_view


def _node(ready: str = "True") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "ip-10-0-0-1.ec2.internal",
            "resourceVersion": "7",
            "labels": {"topology.kubernetes.io/zone": "us-east-1a"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...the whole node again...}",
                "ecs.ecsk.io/agent-version": "1.85.0",
            },
            "managedFields": [{"manager": "kwok", "fieldsV1": {"f:status": {}}}],
        },
        "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
        "status": {
            "allocatable": {"cpu": "1930m", "memory": "3114Mi"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": "2026-12-05T10:00:00Z",
                }
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "images": [{"names": ["public.ecr.aws/nginx:1.27"], "sizeBytes": 1}],
        },
    }


def test_stored_nodes_keep_what_readers_use_and_drop_the_rest() -> None:
    inventory.observe("ADDED", _node())
    [stored] = inventory.nodes(None)  # type: ignore[arg-type]
    assert "managedFields" not in stored["metadata"]
    assert stored["metadata"]["annotations"] == {"ecs.ecsk.io/agent-version": "1.85.0"}
    assert stored["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert "images" not in stored["status"] and "addresses" not in stored["status"]
    assert stored["spec"]["taints"]  # the scheduler's view of placement needs them
    assert node_ready(stored) and node_allocatable(stored) == node_allocatable(_node())
    assert node_view(stored) == node_view(_node())  # CQL sees the same container instance


def test_a_not_ready_node_reads_as_not_ready() -> None:
    inventory.observe("ADDED", _node(ready="False"))
    assert not node_ready(inventory.nodes(None)[0])  # type: ignore[arg-type]
