"""`ecsk placement`: the picture (zones x instances x tasks) is built from plain dicts."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ecsk.cli.placement_cmd import build_picture, render_picture


def node(name: str, zone: str, itype: str = "m5.large") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": itype},
        },
        "status": {"allocatable": {"cpu": "2000m", "memory": "4096Mi"}},
    }


def task(name: str, node_name: str | None, service: str, ns: str = "a", cpu: str = "250m") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {
                "app.kubernetes.io/managed-by": "ecsk",
                "ecs.ecsk.io/service": service,
                "ecs.ecsk.io/task-group": f"service_{service}",
            },
        },
        "spec": {
            **({"nodeName": node_name} if node_name else {}),
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "512Mi"}}}],
        },
        "status": {"phase": "Running" if node_name else "Pending"},
    }


NODES = [
    node("n1.ec2.internal", "z1"),
    node("n2.ec2.internal", "z2"),
    node("n3.ec2.internal", "z2", "c5.large"),
]


def test_picture_groups_tasks_by_zone_and_instance_and_counts_pending() -> None:
    pods = [
        task("w1", "n1.ec2.internal", "web"),
        task("w2", "n2.ec2.internal", "web"),
        task("w3", None, "web"),
        task("p1", "n3.ec2.internal", "packed"),
        task("p2", "n3.ec2.internal", "packed"),
    ]
    pic = build_picture(NODES, pods)
    assert list(pic.zones) == ["z1", "z2"]
    assert pic.labels == ["service:packed", "service:web"]
    assert pic.zone_counts("service:web") == {"z1": 1, "z2": 1}
    assert pic.zone_counts("service:packed") == {"z1": 0, "z2": 2}
    assert pic.pending == {"service:web": 1}
    n3 = next(i for i in pic.zones["z2"] if i.usage.name == "n3.ec2.internal")
    assert n3.tasks == {"service:packed": 2}
    assert n3.usage.remaining.millicpu == 1500


def test_other_pods_use_resources_but_are_not_tasks() -> None:
    other = {
        "metadata": {"name": "x", "namespace": "kube-system", "labels": {}},
        "spec": {
            "nodeName": "n1.ec2.internal",
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}],
        },
        "status": {"phase": "Running"},
    }
    pic = build_picture(NODES, [other])
    assert pic.labels == []
    assert pic.zones["z1"][0].usage.remaining.millicpu == 1000


def test_service_and_namespace_filters() -> None:
    pods = [task("w1", "n1.ec2.internal", "web"), task("a1", "n1.ec2.internal", "api", ns="b")]
    assert build_picture(NODES, pods, service="web").labels == ["service:web"]
    assert build_picture(NODES, pods, namespace="b").labels == ["service:api"]


def test_render_shows_zones_instances_and_the_legend() -> None:
    console = Console(record=True, width=200)
    render_picture(build_picture(NODES, [task("w1", "n1.ec2.internal", "web")]), console)
    out = console.export_text()
    for text in ("z1", "z2", "n1", "m5.large", "service:web", "z1:1 / z2:0", "1750m"):
        assert text in out, out
