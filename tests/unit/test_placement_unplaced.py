"""ECS's unplaceable-task event built from kube-scheduler's FailedScheduling message."""

from __future__ import annotations

from typing import Any

from ecsk.core.placement import closest_instance, unable_to_place_event


def node(name: str, cpu: str, mem: str, zone: str = "us-east-1a") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
        "status": {"allocatable": {"cpu": cpu, "memory": mem}},
    }


def pod_on(name: str, cpu: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"p-{name}-{cpu}"},
        "spec": {"nodeName": name, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
        "status": {"phase": "Running"},
    }


SPEC = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}]}
NODES = [node("small", "1930m", "3114Mi"), node("big", "3920m", "14722Mi", "us-east-1b")]


def test_insufficient_cpu_names_the_instance_with_the_most_cpu_left() -> None:
    msg = (
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod."
    )
    event = unable_to_place_event("web", msg, SPEC, NODES, [pod_on("big", "3000m")])
    assert event == (
        "(service web) was unable to place a task because no container instance met all of its requirements. "
        "The closest matching container-instance small has insufficient CPU units available."
    )


def test_closest_respects_the_node_constraints() -> None:
    spec = {
        **SPEC,
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "topology.kubernetes.io/zone",
                                    "operator": "In",
                                    "values": ["us-east-1a"],
                                }
                            ]
                        }
                    ]
                }
            }
        },
    }
    assert closest_instance("memory", spec, NODES) == "small"
    assert closest_instance("memory", SPEC, NODES) == "big"


def test_memory_port_and_constraint_variants() -> None:
    mem = unable_to_place_event("web", "0/2 nodes are available: 2 Insufficient memory.", SPEC, NODES)
    assert mem is not None and mem.endswith("container-instance big has insufficient memory available.")
    port = unable_to_place_event(
        "web",
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
        SPEC,
        NODES,
    )
    assert port is not None and port.endswith("is already using a port required by your task.")
    cons = unable_to_place_event(
        "web", "0/9 nodes are available: 9 node(s) didn't match Pod's node affinity/selector.", SPEC, NODES
    )
    assert cons is not None and "MemberOf placement constraint unsatisfied." in cons
    anti = unable_to_place_event(
        "web", "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.", SPEC, NODES
    )
    assert anti is not None and "placement constraint" in anti


def test_resources_win_over_constraints_as_the_closest_reason() -> None:
    msg = "0/9 nodes are available: 3 Insufficient cpu, 6 node(s) didn't match Pod's node affinity/selector."
    event = unable_to_place_event("web", msg, SPEC, NODES)
    assert event is not None and "insufficient CPU units" in event


def test_no_nodes_and_non_scheduler_messages() -> None:
    assert unable_to_place_event("web", "no nodes available to schedule pods", SPEC, []) == (
        "(service web) was unable to place a task because no container instance met all of its requirements. "
        "Reason: No Container Instances were found in your cluster."
    )
    assert unable_to_place_event("web", "something else", SPEC, NODES) is None
    assert closest_instance("cpu", SPEC, []) is None
