"""ECS placement through the operator on the real kube-scheduler: RunTask constraints, the
operator-maintained instance labels (runningTasksCount & co.) and `ecsk attributes`.

Every test runs in this module's namespace with its own namespaced operator. Tests that need empty
nodes use two tainted test nodes created here (other suites' `ready_nodes` skip tainted nodes),
labelled `ecs.ecsk.io/namespace=<ours>` so our namespaced operator keeps their instance labels;
they are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import ROOT, ready_nodes, tainted_node_like, wait_for

from ecsk.core.cql import attribute_label_key
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    AGENT_VERSION_LABEL,
    REGISTERED_AT_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
)
from ecsk.core.models import parse_service, parse_task_definition
from ecsk.core.placement import PlacementEngine
from ecsk.core.placement.instances import NAMESPACE_LABEL
from ecsk.core.placement.nodes import ATTRIBUTES_ANNOTATION
from ecsk.core.translate import RenderOptions, render_service

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"
ZONE = "topology.kubernetes.io/zone"
TAINT = "ecs.ecsk.io/test"


# --- helpers -------------------------------------------------------------------------------------


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def task_cr(name: str, count: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": CR,
        "kind": "Task",
        "metadata": {"name": name},
        "spec": {"taskDefinition": "placed", "count": count, **spec},
    }


def task_status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "Task")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj.get("status") or {})


def task_pods(api: pykube.HTTPClient, ns: str, name: str) -> list[dict[str, Any]]:
    return [p.obj for p in pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/task": name})]


def unschedulable(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
        for c in pod.get("status", {}).get("conditions", [])
    )


def node_obj(api: pykube.HTTPClient, name: str) -> dict[str, Any]:
    return dict(pykube.Node.objects(api).get(name=name).obj)


def labels_of(api: pykube.HTTPClient, name: str) -> dict[str, str]:
    return dict(node_obj(api, name)["metadata"].get("labels") or {})


def fleet(api: pykube.HTTPClient) -> list[dict[str, Any]]:
    """The stable fleet nodes (other suites add and remove their own)."""
    return [
        n.obj for n in ready_nodes(api) if n.obj["metadata"]["labels"].get("ecs.ecsk.io/origin") == "fleet"
    ]


def ecsk_write_time(api: pykube.HTTPClient, name: str) -> str | None:
    """When the operator (field manager `ecsk`) last wrote this node."""
    fields = node_obj(api, name)["metadata"].get("managedFields") or []
    return next((str(f.get("time")) for f in fields if f.get("manager") == "ecsk"), None)


def ecsk(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
    return subprocess.run(
        [sys.executable, "-m", "ecsk.cli.main", *args], capture_output=True, text=True, env=env, timeout=60
    )


def deploy_tolerating(kubeconfig: str, ns: str, name: str, expression: str) -> None:
    """A service rendered with the placement hook, tolerating the test nodes' taint (an ECS service
    has no tolerations, so it is applied directly; the scheduler's verdict is what is tested)."""
    td = parse_task_definition(
        {"family": name, "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 32}]}
    )
    svc = parse_service(
        {
            "serviceName": name,
            "taskDefinition": name,
            "desiredCount": 1,
            "placementConstraints": [{"type": "memberOf", "expression": expression}],
        }
    )
    result = render_service(svc, td, RenderOptions(namespace=ns, placement_hook=PlacementEngine()))
    assert result.ok, result.errors
    dep = next(o for o in result.objects if o["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["tolerations"] = [
        {"key": TAINT, "operator": "Exists", "effect": "NoSchedule"}
    ]
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=json.dumps(dep))


def service_pods(api: pykube.HTTPClient, ns: str, service: str) -> list[dict[str, Any]]:
    return [
        p.obj
        for p in pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": service})
        if not p.obj["metadata"].get("deletionTimestamp")
    ]


@pytest.fixture(scope="module")
def taskdef(kubeconfig: str, operator_ns: str) -> str:
    apply(
        kubeconfig,
        operator_ns,
        {
            "apiVersion": CR,
            "kind": "TaskDefinition",
            "metadata": {"name": "placed"},
            "spec": {
                "family": "placed",
                "containerDefinitions": [{"name": "main", "image": "busybox", "memory": 16}],
            },
        },
    )
    return "placed"


@pytest.fixture(scope="module")
def test_nodes(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> Iterator[list[str]]:
    """Two empty, tainted nodes dedicated to this module's namespace."""
    template = fleet(api)[0]
    names = [f"ecsk-test-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        node = tainted_node_like(template, name, (TAINT, operator_ns), {NAMESPACE_LABEL: operator_ns})
        kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(node))
    try:
        for name in names:
            wait_for(
                lambda name=name: any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in node_obj(api, name)["status"].get("conditions", [])
                ),
                timeout=30,
                what=f"test node {name} Ready",
            )
        yield names
    finally:
        for name in names:
            kubectl(kubeconfig, "delete", "node", name, "--wait=false", check=False)


# --- RunTask placement ---------------------------------------------------------------------------


def test_run_task_member_of_a_zone_lands_only_in_that_zone(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, taskdef: str
) -> None:
    expr = "attribute:ecs.availability-zone == us-east-1b"
    apply(
        kubeconfig,
        operator_ns,
        task_cr("inzone", 4, placementConstraints=[{"type": "memberOf", "expression": expr}]),
    )
    bound = wait_for(
        lambda: (
            (ps := task_pods(api, operator_ns, "inzone"))
            and len(ps) == 4
            and all(p["spec"].get("nodeName") for p in ps)
            and ps
        ),
        timeout=45,
        what="4 zone-constrained tasks bound",
    )
    zones = {labels_of(api, p["spec"]["nodeName"])[ZONE] for p in bound}
    assert zones == {"us-east-1b"}


def test_run_task_distinct_instance_leaves_the_extra_tasks_pending(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, taskdef: str
) -> None:
    two = sorted(n["metadata"]["name"] for n in fleet(api))[:2]
    constraints = [
        {"type": "memberOf", "expression": f"ec2InstanceId in [{two[0]}, {two[1]}]"},
        {"type": "distinctInstance"},
    ]
    apply(
        kubeconfig,
        operator_ns,
        task_cr("distinct", 4, group="distinct-run", placementConstraints=constraints),
    )

    def settled() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        ps = task_pods(api, operator_ns, "distinct")
        bound = [p for p in ps if p["spec"].get("nodeName")]
        waiting = [p for p in ps if unschedulable(p)]
        return (bound, waiting) if len(ps) == 4 and len(bound) + len(waiting) == 4 else None

    bound, waiting = wait_for(settled, timeout=45, what="distinct tasks bound or unschedulable")
    assert sorted(p["spec"]["nodeName"] for p in bound) == two
    assert len(waiting) == 2
    records = wait_for(
        lambda: len(r := task_status(api, operator_ns, "distinct").get("tasks") or []) == 4 and r,
        timeout=30,
        what="4 task records",
    )
    assert sorted(r["lastStatus"] for r in records).count("PROVISIONING") == 2


def test_run_task_with_bad_cql_is_refused_in_ecs_words(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, taskdef: str
) -> None:
    constraints = [{"type": "memberOf", "expression": "attribute:stack == a b"}]
    apply(kubeconfig, operator_ns, task_cr("badcql", 1, placementConstraints=constraints))
    cond = wait_for(
        lambda: next(
            (
                c
                for c in task_status(api, operator_ns, "badcql").get("conditions", [])
                if c["type"] == "Valid"
            ),
            None,
        ),
        timeout=30,
        what="Valid condition",
    )
    # Refused by validation (rule placement.cql-syntax), before any placement is attempted.
    assert cond["status"] == "False" and cond["reason"] == "ValidationFailed", cond
    assert cond["message"].startswith("InvalidParameterException: ") and "column" in cond["message"], cond
    assert task_pods(api, operator_ns, "badcql") == []


# --- operator-maintained instance labels ---------------------------------------------------------


def test_running_tasks_count_labels_follow_tasks_and_gate_placement(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, test_nodes: list[str]
) -> None:
    busy, idle = test_nodes
    for name in test_nodes:
        labels = wait_for(
            lambda name=name: (ls := labels_of(api, name)).get(RUNNING_TASKS_COUNT_LABEL) == "0" and ls,
            timeout=20,
            what=f"instance labels on {name}",
        )
        assert labels[AGENT_CONNECTED_LABEL] == "true"
        assert labels[AGENT_VERSION_LABEL] == "1089003"
        assert labels[REGISTERED_AT_LABEL].isdigit()

    # A running ECS task on `busy` (an ecsk task pod, pinned there) moves its count to 1.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "busy-task",
            "namespace": operator_ns,
            "labels": {"app.kubernetes.io/managed-by": "ecsk", "ecs.ecsk.io/task-group": "family_busy"},
        },
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": busy},
            "tolerations": [{"key": TAINT, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"memory": "16Mi"}}}],
        },
    }
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(pod))
    wait_for(
        lambda: labels_of(api, busy).get(RUNNING_TASKS_COUNT_LABEL) == "1", timeout=30, what="busy count 1"
    )

    # memberOf runningTasksCount == 0 among our two nodes: the real scheduler picks the idle one.
    pool = f"ecsk-test-{uuid.uuid4().hex[:6]}"
    for name in test_nodes:
        kubectl(kubeconfig, "label", "node", name, f"{attribute_label_key(pool)}=yes")
    deploy_tolerating(kubeconfig, operator_ns, "idle", f"attribute:{pool} == yes and runningTasksCount == 0")
    placed = wait_for(
        lambda: [p for p in service_pods(api, operator_ns, "idle") if p["spec"].get("nodeName")],
        timeout=30,
        what="the runningTasksCount == 0 task bound",
    )
    assert [p["spec"]["nodeName"] for p in placed] == [idle]
    wait_for(
        lambda: labels_of(api, idle).get(RUNNING_TASKS_COUNT_LABEL) == "1", timeout=30, what="idle count 1"
    )

    # Settled: watch events and resyncs change nothing more (ecsk's managedFields stamp stays put;
    # an identical re-write would not move it, which the unit tests check with a fake API).
    stamps = {name: ecsk_write_time(api, name) for name in test_nodes}
    assert all(stamps.values()), stamps
    time.sleep(7)  # longer than the test operator's 5 s resync
    assert {name: ecsk_write_time(api, name) for name in test_nodes} == stamps

    # Stopping the task brings the count back down.
    kubectl(kubeconfig, "-n", operator_ns, "delete", "pod", "busy-task", "--wait=false")
    wait_for(
        lambda: labels_of(api, busy).get(RUNNING_TASKS_COUNT_LABEL) == "0",
        timeout=30,
        what="busy count back to 0",
    )
    kubectl(kubeconfig, "-n", operator_ns, "delete", "deployment", "idle", "--wait=false", check=False)


# --- ecsk attributes -----------------------------------------------------------------------------


def test_put_attributes_lets_a_waiting_task_run_there_and_delete_removes_it(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, test_nodes: list[str]
) -> None:
    target = test_nodes[1]
    name = f"stack-{uuid.uuid4().hex[:6]}"
    deploy_tolerating(kubeconfig, operator_ns, "attr", f"attribute:{name} == prod")
    wait_for(
        lambda: [p for p in service_pods(api, operator_ns, "attr") if unschedulable(p)],
        timeout=30,
        what="the task waiting for the attribute",
    )

    put = ecsk(
        kubeconfig,
        "attributes",
        "put",
        "--cluster",
        "default",
        "--attributes",
        f"name={name},value=prod,targetId={target}",
    )
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["attributes"][0]["targetId"] == target
    node = node_obj(api, target)
    assert node["metadata"]["labels"][attribute_label_key(name)] == "prod"
    assert json.loads(node["metadata"]["annotations"][ATTRIBUTES_ANNOTATION])[name] == "prod"
    landed = wait_for(
        lambda: [p for p in service_pods(api, operator_ns, "attr") if p["spec"].get("nodeName")],
        timeout=30,
        what="the task on the attributed node",
    )
    assert [p["spec"]["nodeName"] for p in landed] == [target]

    listed = ecsk(kubeconfig, "attributes", "list", "--cluster", "default", "--attribute-name", name)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["attributes"] == [
        {"name": name, "value": "prod", "targetType": "container-instance", "targetId": target}
    ]

    bad = ecsk(
        kubeconfig, "attributes", "put", "--attributes", f"name=ecs.instance-type,value=x,targetId={target}"
    )
    assert bad.returncode != 0 and "InvalidParameterException" in bad.stderr

    gone = ecsk(
        kubeconfig,
        "attributes",
        "delete",
        "--cluster",
        "default",
        "--attributes",
        f"name={name},targetId={target}",
    )
    assert gone.returncode == 0, gone.stderr
    node = node_obj(api, target)
    assert attribute_label_key(name) not in node["metadata"]["labels"]
    assert name not in json.loads(node["metadata"].get("annotations", {}).get(ATTRIBUTES_ANNOTATION) or "{}")
    kubectl(kubeconfig, "-n", operator_ns, "delete", "deployment", "attr", "--wait=false", check=False)


# --- scale-in through the operator ---------------------------------------------------------------


def test_service_scale_in_under_spread_keeps_zones_balanced(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, taskdef: str
) -> None:
    """desiredCount 9 -> 5 on the default AZ spread: the operator ranks the victims (pod-deletion
    cost) before it lowers the Deployment's replicas, so the zones stay within one of each other."""
    svc = {
        "apiVersion": CR,
        "kind": "ECSService",
        "metadata": {"name": "spread9"},
        "spec": {
            "serviceName": "spread9",
            "taskDefinition": "placed",
            "desiredCount": 9,
            "launchType": "EC2",
        },
    }
    apply(kubeconfig, operator_ns, svc)

    def zones_of_running() -> list[str] | None:
        ps = service_pods(api, operator_ns, "spread9")
        if not ps or not all(p.get("status", {}).get("phase") == "Running" for p in ps):
            return None
        return [labels_of(api, p["spec"]["nodeName"])[ZONE] for p in ps]

    nine = wait_for(lambda: (z := zones_of_running()) and len(z) == 9 and z, timeout=60, what="9 running")
    assert sorted(nine.count(z) for z in set(nine)) == [3, 3, 3]
    ranked = wait_for(
        lambda: all(
            "controller.kubernetes.io/pod-deletion-cost" in (p["metadata"].get("annotations") or {})
            for p in service_pods(api, operator_ns, "spread9")
        ),
        timeout=30,
        what="deletion costs on a settled service",
    )
    assert ranked
    kubectl(kubeconfig, "-n", operator_ns, "scale", "ecsservice", "spread9", "--replicas", "5")
    five = wait_for(lambda: (z := zones_of_running()) and len(z) == 5 and z, timeout=60, what="5 running")
    counts = [five.count(z) for z in ("us-east-1a", "us-east-1b", "us-east-1c")]
    assert max(counts) - min(counts) <= 1, counts
