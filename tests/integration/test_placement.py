"""ECS placement on the real kube-scheduler: render services with the placement hook, apply the
Deployments, and assert where the scheduler actually put the pods.

The operator does not wire the hook yet, so these tests render with the core and apply with
kubectl; the outcome is still the scheduler's. Everything lives in throw-away namespaces; node
labels and the one test node this module adds are removed afterwards.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pykube
import pytest
from kubectl import kubectl
from kubetest import ready_nodes, tainted_node_like, wait_for

from ecsk.controller.placement import live as ctl_placement
from ecsk.core.cql import attribute_label_key, evaluate, parse
from ecsk.core.models import parse_service, parse_task_definition
from ecsk.core.placement import (
    DEFAULT_PROFILES,
    LEGACY_PROFILES,
    PlacementEngine,
    SchedulerProfiles,
    node_view,
    node_views,
    scale_in_order,
    unable_to_place_event,
)
from ecsk.core.translate import PlacementHook, RenderOptions, render_service

pytestmark = pytest.mark.integration

ZONE = "topology.kubernetes.io/zone"
ITYPE = "node.kubernetes.io/instance-type"


# --- helpers -------------------------------------------------------------------------------------


class _Runtime:
    """Just enough of the operator runtime for `ecsk.controller.placement.live` (its real API wrapper)."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import config as k8s_config

        from ecsk.controller.kube.client import Kube

        self.kube = Kube(k8s_config.new_client_from_config(config_file=kubeconfig))
        self.queued: list[tuple[str, str, str]] = []

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None:
        self.queued.append((kind, namespace, name))


def nodes(api: pykube.HTTPClient) -> list[dict[str, Any]]:
    """Schedulable nodes as dicts (tainted test nodes of other suites are left out)."""
    return [n.obj for n in ready_nodes(api)]


def deploy(
    kubeconfig: str,
    ns: str,
    name: str,
    count: int,
    *,
    engine: PlacementHook,
    cpu: str = "256",
    memory: str = "512",
    constraints: list[dict[str, str]] | None = None,
    strategy: list[dict[str, str]] | None = None,
    tolerations: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    td = parse_task_definition(
        {
            "family": name,
            "cpu": cpu,
            "memory": memory,
            "containerDefinitions": [{"name": "app", "image": "nginx"}],
        }
    )
    doc: dict[str, Any] = {"serviceName": name, "taskDefinition": name, "desiredCount": count}
    if constraints:
        doc["placementConstraints"] = constraints
    if strategy:
        doc["placementStrategy"] = strategy
    result = render_service(parse_service(doc), td, RenderOptions(namespace=ns, placement_hook=engine))
    assert result.ok, result.errors
    dep = next(o for o in result.objects if o["kind"] == "Deployment")
    if tolerations:
        dep["spec"]["template"]["spec"]["tolerations"] = tolerations
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=json.dumps(dep))
    return dep


def pods(api: pykube.HTTPClient, ns: str, service: str) -> list[dict[str, Any]]:
    return [
        p.obj
        for p in pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": service})
        if not p.obj["metadata"].get("deletionTimestamp")
    ]


def placed(
    api: pykube.HTTPClient, ns: str, service: str, count: int, timeout: float = 60
) -> list[dict[str, Any]]:
    """Wait until exactly `count` live pods are bound to nodes; returns them."""

    def check() -> list[dict[str, Any]] | None:
        live = pods(api, ns, service)
        bound = [p for p in live if p["spec"].get("nodeName")]
        return bound if len(bound) == count == len(live) else None

    return list(wait_for(check, timeout=timeout, what=f"{count} pods of {service} bound"))


def by_node(api: pykube.HTTPClient) -> dict[str, dict[str, Any]]:
    return {n.obj["metadata"]["name"]: n.obj for n in pykube.Node.objects(api)}


def zone_counts(api: pykube.HTTPClient, bound: list[dict[str, Any]]) -> Counter[str]:
    all_nodes = by_node(api)
    return Counter(all_nodes[p["spec"]["nodeName"]]["metadata"]["labels"][ZONE] for p in bound)


@pytest.fixture(scope="module")
def profiles(api: pykube.HTTPClient) -> Iterator[SchedulerProfiles]:
    """The per-resource binpack and random profiles exist only in clusters created after they were
    added to the scheduler config; fall back to the single binpack profile otherwise."""
    ns = f"plc-probe-{uuid.uuid4().hex[:6]}"
    pykube.Namespace(api, {"metadata": {"name": ns, "labels": {"ecsk.io/test": "true"}}}).create()
    try:
        pod = pykube.Pod(
            api,
            {
                "metadata": {"name": "probe", "namespace": ns},
                "spec": {
                    "schedulerName": DEFAULT_PROFILES.binpack_memory,
                    "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "1m"}}}],
                },
            },
        )
        pod.create()
        deadline = time.monotonic() + 8
        loaded = False
        while time.monotonic() < deadline and not loaded:
            pod.reload()
            loaded = bool(pod.obj["spec"].get("nodeName"))
            time.sleep(0.5)
        yield DEFAULT_PROFILES if loaded else LEGACY_PROFILES
    finally:
        pykube.Namespace(api, {"metadata": {"name": ns}}).delete()


# --- strategies ----------------------------------------------------------------------------------


def test_default_service_strategy_spreads_nine_tasks_three_per_zone(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    deploy(kubeconfig, namespace, "spread", 9, engine=PlacementEngine())
    bound = placed(api, namespace, "spread", 9)
    counts = zone_counts(api, bound)
    assert sorted(counts.values()) == [3, 3, 3], counts

    # Scale-in keeps the zones balanced: the operator glue annotates ECS's victim order (through
    # the operator's own API wrapper), then the Deployment is scaled to 5.
    all_nodes = list(by_node(api).values())
    rt = _Runtime(kubeconfig)
    assert ctl_placement.sync_deletion_costs(rt, None, bound) == 9  # type: ignore[arg-type]
    assert ctl_placement.sync_deletion_costs(rt, None, pods(api, namespace, "spread")) == 0  # type: ignore[arg-type]
    victims = scale_in_order(bound, all_nodes, None)[:4]
    kubectl(kubeconfig, "-n", namespace, "scale", "deployment/spread", "--replicas=5")
    left = placed(api, namespace, "spread", 5)
    assert {p["metadata"]["name"] for p in left} == {p["metadata"]["name"] for p in bound} - set(victims)
    counts = zone_counts(api, left)
    assert max(counts.values()) - min(counts.values()) <= 1 and len(counts) == 3, counts


def test_binpack_uses_fewer_instances_than_spread(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str, profiles: SchedulerProfiles
) -> None:
    engine = PlacementEngine(profiles=profiles)
    deploy(
        kubeconfig, namespace, "packed", 6, engine=engine, strategy=[{"type": "binpack", "field": "memory"}]
    )
    deploy(
        kubeconfig,
        namespace,
        "spreadout",
        6,
        engine=engine,
        strategy=[{"type": "spread", "field": "instanceId"}],
    )
    packed = {p["spec"]["nodeName"] for p in placed(api, namespace, "packed", 6)}
    spread = {p["spec"]["nodeName"] for p in placed(api, namespace, "spreadout", 6)}
    assert len(spread) == 6, spread
    assert len(packed) < len(spread) and len(packed) <= 3, (packed, spread)


def test_spread_zone_then_instance_uses_every_zone_and_distinct_instances(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    strategy = [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "spread", "field": "instanceId"},
    ]
    deploy(kubeconfig, namespace, "azinst", 6, engine=PlacementEngine(), strategy=strategy)
    bound = placed(api, namespace, "azinst", 6)
    assert sorted(zone_counts(api, bound).values()) == [2, 2, 2]
    assert len({p["spec"]["nodeName"] for p in bound}) == 6


# --- constraints ---------------------------------------------------------------------------------


def test_distinct_instance_leaves_the_extra_tasks_pending(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    fleet = nodes(api)
    want = len(fleet) + 2
    deploy(
        kubeconfig, namespace, "distinct", want, engine=PlacementEngine(), cpu="16", memory="32",
        constraints=[{"type": "distinctInstance"}],
    )  # fmt: skip

    def settled() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        live = pods(api, namespace, "distinct")
        bound = [p for p in live if p["spec"].get("nodeName")]
        unschedulable = [
            p
            for p in live
            if any(
                c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
                for c in p.get("status", {}).get("conditions", [])
            )
        ]
        return (
            (bound, unschedulable) if len(live) == want and len(bound) + len(unschedulable) == want else None
        )

    bound, pending = wait_for(settled, timeout=60, what="distinct pods bound or unschedulable")
    hosts = [p["spec"]["nodeName"] for p in bound]
    assert len(hosts) == len(set(hosts)) == len(fleet)
    assert len(pending) == 2
    message = next(
        c["message"] for c in pending[0]["status"]["conditions"] if c.get("reason") == "Unschedulable"
    )
    event = unable_to_place_event("distinct", message, pending[0]["spec"], fleet)
    assert event is not None
    assert event.startswith(
        "(service distinct) was unable to place a task because no container instance met all of its "
        "requirements."
    )
    assert "didn't match pod anti-affinity rules" in message
    # Other suites share the nodes: a node short of resources is reported first, as ECS would.
    expected = (
        "MemberOf placement constraint unsatisfied." if "Insufficient" not in message else "has insufficient"
    )
    assert expected in event, (message, event)


def test_member_of_expressions_place_every_task_on_a_matching_instance_only(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    fleet = nodes(api)
    attr = f"ecsk-test-{uuid.uuid4().hex[:6]}"
    key = attribute_label_key(attr)
    blue = sorted(n["metadata"]["name"] for n in fleet)[:2]
    for name in blue:
        kubectl(kubeconfig, "label", "node", name, f"{key}=blue")
    try:
        engine = PlacementEngine(node_views([n.obj for n in pykube.Node.objects(api)]))
        cases = {
            "regex": "attribute:ecs.instance-type =~ 'm5\\..*'",
            "inlist": "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            "boolean": "(attribute:ecs.instance-type == c5.large"
            " or attribute:ecs.availability-zone == us-east-1c)"
            " and not attribute:ecs.instance-type == m5.xlarge",
            "custom": f"attribute:{attr} == blue",
        }
        for name, expr in cases.items():
            deploy(
                kubeconfig, namespace, name, 4, engine=engine, cpu="16", memory="32",
                constraints=[{"type": "memberOf", "expression": expr}],
            )  # fmt: skip
        assert engine.depends_on_inventory  # the regex needed the live nodes
        current = by_node(api)
        for name, expr in cases.items():
            bound = placed(api, namespace, name, 4)
            tree = parse(expr)
            for p in bound:
                node = current[p["spec"]["nodeName"]]
                assert evaluate(tree, node_view(node)), (
                    name,
                    p["spec"]["nodeName"],
                    node["metadata"]["labels"],
                )
            if name == "custom":
                assert {p["spec"]["nodeName"] for p in bound} <= set(blue)
            if name == "regex":
                assert all(
                    current[p["spec"]["nodeName"]]["metadata"]["labels"][ITYPE].startswith("m5.")
                    for p in bound
                )
    finally:
        for name in blue:
            kubectl(kubeconfig, "label", "node", name, f"{key}-", check=False)


def test_a_joining_node_that_matches_a_regex_becomes_eligible(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    """The regex admits only the values seen when it was resolved; after a matching node joins,
    re-resolving (what the operator does on node changes) lets the waiting task land there."""
    expr = "attribute:ecs.instance-type =~ 'r5\\..*'"
    constraints = [{"type": "memberOf", "expression": expr}]
    taint_key = "ecs.ecsk.io/test"
    tolerations = [{"key": taint_key, "operator": "Exists", "effect": "NoSchedule"}]
    rt = _Runtime(kubeconfig)  # the operator glue, on the operator's own API wrapper
    key = ("ECSService", namespace, "joiner")
    engine = ctl_placement.hook_for(rt, key)  # type: ignore[arg-type]
    deploy(
        kubeconfig, namespace, "joiner", 1, engine=engine, cpu="16", memory="32",
        constraints=constraints, tolerations=tolerations,
    )  # fmt: skip
    wait_for(
        lambda: [p for p in pods(api, namespace, "joiner") if not p["spec"].get("nodeName")],
        timeout=30,
        what="the r5 task waiting",
    )
    time.sleep(2)
    assert all(not p["spec"].get("nodeName") for p in pods(api, namespace, "joiner"))

    template = nodes(api)[0]
    name = f"ecsk-test-{uuid.uuid4().hex[:8]}"
    node = tainted_node_like(template, name, (taint_key, namespace), {ITYPE: "r5.large"})
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(node))
    try:
        wait_for(
            lambda: any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pykube.Node.objects(api).get(name=name).obj["status"].get("conditions", [])
            ),
            timeout=30,
            what="test node Ready",
        )
        ctl_placement.node_event(rt, "ADDED", pykube.Node.objects(api).get(name=name).obj)  # type: ignore[arg-type]
        assert key in rt.queued  # the operator would re-render the service now
        engine = ctl_placement.hook_for(rt, key)  # type: ignore[arg-type]
        deploy(
            kubeconfig, namespace, "joiner", 1, engine=engine, cpu="16", memory="32",
            constraints=constraints, tolerations=tolerations,
        )  # fmt: skip
        landed = wait_for(
            lambda: [p for p in pods(api, namespace, "joiner") if p["spec"].get("nodeName") == name],
            timeout=60,
            what="the task on the joining node",
        )
        assert landed
    finally:
        kubectl(kubeconfig, "-n", namespace, "delete", "deployment", "joiner", "--wait=false", check=False)
        kubectl(kubeconfig, "delete", "node", name, "--wait=false", check=False)
