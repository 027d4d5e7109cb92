"""Smoke tests proving the cluster is real: the real scheduler, controllers and our fleet labels."""

from __future__ import annotations

import collections
from typing import Any

import pykube
import pytest
from kubetest import ready_nodes, wait_for

pytestmark = pytest.mark.integration

ZONE = "topology.kubernetes.io/zone"


def _pods(api: pykube.HTTPClient, namespace: str, selector: dict[str, str]) -> list[pykube.Pod]:
    return list(pykube.Pod.objects(api).filter(namespace=namespace, selector=selector))


def _running(pods: list[pykube.Pod]) -> bool:
    return bool(pods) and all(p.obj.get("status", {}).get("phase") == "Running" for p in pods)


def _deployment(name: str, replicas: int, pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }


def _container(cpu: str = "100m", memory: str = "128Mi") -> dict[str, Any]:
    return {
        "name": "app",
        "image": "public.ecr.aws/nginx/nginx:1.27",
        "resources": {"requests": {"cpu": cpu, "memory": memory}},
    }


def test_zone_spread_lands_evenly(api: pykube.HTTPClient, namespace: str) -> None:
    zones = sorted({n.labels[ZONE] for n in ready_nodes(api) if ZONE in n.labels})
    assert len(zones) >= 2, f"need nodes in at least two zones, found {zones}"
    per_zone = 2
    spec = {
        "containers": [_container()],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": ZONE,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "spread"}},
            }
        ],
    }
    dep = _deployment("spread", per_zone * len(zones), spec)
    dep["metadata"]["namespace"] = namespace
    pykube.Deployment(api, dep).create()

    pods = wait_for(
        lambda: (
            (p := _pods(api, namespace, {"app": "spread"}))
            and len(p) == per_zone * len(zones)
            and _running(p)
            and p
        ),
        timeout=90,
        what="all spread pods Running",
    )
    node_zone = {n.name: n.labels.get(ZONE) for n in pykube.Node.objects(api)}
    counts = collections.Counter(node_zone[p.obj["spec"]["nodeName"]] for p in pods)
    assert counts == {z: per_zone for z in zones}


def test_pod_larger_than_any_node_stays_pending_with_insufficient_cpu(
    api: pykube.HTTPClient, namespace: str
) -> None:
    biggest = max(_millicores(n.obj["status"]["allocatable"]["cpu"]) for n in ready_nodes(api))
    too_big = f"{biggest + 1000}m"
    pod = pykube.Pod(
        api,
        {
            "metadata": {"name": "huge", "namespace": namespace},
            "spec": {"containers": [_container(cpu=too_big)]},
        },
    )
    pod.create()

    def unschedulable() -> str | None:
        pod.reload()
        for c in pod.obj.get("status", {}).get("conditions", []):
            if c["type"] == "PodScheduled" and c["status"] == "False" and c.get("reason") == "Unschedulable":
                return str(c.get("message", ""))
        return None

    message = wait_for(unschedulable, timeout=60, what="PodScheduled=False/Unschedulable")
    assert "Insufficient cpu" in message
    assert pod.obj["status"]["phase"] == "Pending"
    assert not pod.obj["spec"].get("nodeName")


def _millicores(q: str) -> int:
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def _mebibytes(q: str) -> int:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if q.endswith(suffix):
            return int(float(q[: -len(suffix)]) * factor)
    return int(q) // (1024 * 1024)


def test_binpack_profile_picks_the_most_allocated_node(api: pykube.HTTPClient, namespace: str) -> None:
    nodes = ready_nodes(api)
    # Pre-fill one node to about half of its CPU and memory; every other node stays emptier.
    target = sorted(nodes, key=lambda n: n.name)[len(nodes) // 2]
    alloc = target.obj["status"]["allocatable"]
    filler = pykube.Pod(
        api,
        {
            "metadata": {"name": "filler", "namespace": namespace},
            "spec": {
                "nodeName": target.name,
                "containers": [
                    _container(
                        cpu=f"{_millicores(alloc['cpu']) // 2}m",
                        memory=f"{_mebibytes(alloc['memory']) // 2}Mi",
                    )
                ],
            },
        },
    )
    filler.create()
    wait_for(lambda: filler.reload() or filler.obj["status"].get("phase") == "Running", what="filler Running")

    def place(name: str, scheduler: str | None) -> str:
        spec: dict[str, Any] = {"containers": [_container(cpu="100m", memory="64Mi")]}
        if scheduler:
            spec["schedulerName"] = scheduler
        pod = pykube.Pod(api, {"metadata": {"name": name, "namespace": namespace}, "spec": spec})
        pod.create()
        return str(
            wait_for(lambda: pod.reload() or pod.obj["spec"].get("nodeName"), what=f"{name} scheduled")
        )

    assert place("packed", "ecsk-binpack") == target.name
    # The default profile (least allocated) must not prefer the half-full node: proves the
    # outcome above comes from the profile, not from chance.
    assert place("spread", None) != target.name


def test_node_labels_match_the_fleet_file(api: pykube.HTTPClient) -> None:
    from ecsk.cluster.embedded.local import FLEET_LABEL, FLEET_LABEL_VALUE, load_fleet
    from ecsk.core.capacity.fleet import render_fleet

    live = {n.name: n for n in pykube.Node.objects(api).filter(selector={FLEET_LABEL: FLEET_LABEL_VALUE})}
    if not live:
        pytest.skip("this cluster was not created from an ecsk fleet file (e.g. kind or EKS)")
    expected = render_fleet(load_fleet(None))
    assert sorted(live) == sorted(n["metadata"]["name"] for n in expected)
    for node in expected:
        got = live[node["metadata"]["name"]]
        for key, value in node["metadata"]["labels"].items():
            assert got.labels.get(key) == value, (got.name, key)
        for resource in ("cpu", "memory", "pods"):
            assert got.obj["status"]["allocatable"][resource] == node["status"]["allocatable"][resource]
