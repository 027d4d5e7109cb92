"""Fargate on a live cluster: one node per pod, sized and labelled like EKS, gone with the pod.

ECS tasks run through `ecsk operator -n <namespace>` (it runs the Fargate controller too);
plain-pod tests run the Fargate controller alone in a thread. Both are scoped to the test's
namespace, so they never touch anything else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from kubectl import kubectl
from kubernetes import config as k8s_config
from kubetest import OperatorProcess, wait_for
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.controller.capacity import fargate as fargate_ctl
from ecsk.controller.kube.client import Kube
from ecsk.core.capacity import fargate as fg

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _apply(kubeconfig: str, namespace: str, *docs: dict[str, Any], check: bool = True) -> Any:
    text = "\n---\n".join(json.dumps(d) for d in docs)
    return kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", stdin=text, check=check)


def fargate_nodes_of(api: pykube.HTTPClient, namespace: str) -> list[pykube.Node]:
    return [
        n
        for n in pykube.Node.objects(api).filter(selector={fg.ORIGIN_LABEL: "fargate"})
        if (n.annotations.get(fg.POD_ANNOTATION) or "").startswith(f"{namespace}/")
    ]


@pytest.fixture
def fargate_nodes_cleaned(kubeconfig: str, api: pykube.HTTPClient, namespace: str) -> Iterator[None]:
    """The FargateProfile CRD is there; our Fargate nodes go on teardown even if a test failed."""
    kubectl(kubeconfig, "apply", "-f", str(REPO / "crds" / "fargateprofiles.ecs.ecsk.io.yaml"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "crd/fargateprofiles.ecs.ecsk.io")
    try:
        yield
    finally:
        for node in fargate_nodes_of(api, namespace):
            node.delete()


@pytest.fixture
def fargate(kubeconfig: str, namespace: str, fargate_nodes_cleaned: None) -> Iterator[None]:
    """The Fargate controller alone, in a thread, scoped to the test's namespace."""
    kube = Kube(k8s_config.new_client_from_config(config_file=kubeconfig))
    stop = threading.Event()
    thread = fargate_ctl.start(kube, stop, interval=0.5, namespaces=[namespace])
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture
def operator(kubeconfig: str, namespace: str, fargate_nodes_cleaned: None) -> Iterator[None]:
    """`ecsk operator -n <namespace>`: its launch-type controllers include Fargate."""
    op = OperatorProcess(kubeconfig, namespace, settings=("--resync", "5"))
    op.start()
    try:
        yield
    finally:
        op.stop()


def _pods(api: pykube.HTTPClient, namespace: str, **selector: str) -> list[pykube.Pod]:
    return list(pykube.Pod.objects(api, namespace=namespace).filter(selector=selector or None))


def _running_on_fargate(api: pykube.HTTPClient, namespace: str, n: int, **selector: str) -> list[pykube.Pod]:
    pods = [
        p
        for p in _pods(api, namespace, **selector)
        if p.obj["status"].get("phase") == "Running"
        and p.obj["spec"].get("nodeName", "").startswith("fargate-")
    ]
    return pods if len(pods) == n else []


def _events(api: pykube.HTTPClient, namespace: str, name: str) -> list[str]:
    return [
        e.obj.get("message", "")
        for e in pykube.Event.objects(api, namespace=namespace)
        if e.obj.get("involvedObject", {}).get("name") == name
    ]


def _pod(
    name: str, labels: dict[str, str], cpu: str = "250m", mem: str = "512Mi", **spec: Any
) -> dict[str, Any]:
    res = {"cpu": cpu, "memory": mem}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "containers": [{"name": "app", "image": "nginx", "resources": {"requests": res, "limits": res}}],
            **spec,
        },
    }


TASK_DEF = {
    "apiVersion": "ecs.ecsk.io/v1alpha1",
    "kind": "TaskDefinition",
    "metadata": {"name": "fg"},
    "spec": {
        "family": "fg",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "nginx", "essential": True}],
    },
}


def test_fargate_tasks_get_one_node_each_and_lose_it_when_stopped(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, operator: None
) -> None:
    task = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "Task",
        "metadata": {"name": "job"},
        "spec": {
            "taskDefinition": "fg",
            "count": 2,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
        },
    }
    _apply(kubeconfig, namespace, TASK_DEF, task)
    pods = wait_for(
        lambda: _running_on_fargate(api, namespace, 2), timeout=90, what="2 Fargate tasks running"
    )
    nodes = {p.obj["spec"]["nodeName"] for p in pods}
    assert len(nodes) == 2, "one node per task"
    for pod in pods:
        assert pod.annotations[fg.CAPACITY_ANNOTATION] == "0.25vCPU 0.5GB"
        node = pykube.Node.objects(api).get(name=pod.obj["spec"]["nodeName"])
        labels = node.labels
        assert labels[fg.COMPUTE_TYPE] == "fargate"
        assert labels["topology.kubernetes.io/zone"].startswith("us-east-1")
        assert labels[fg.CAPACITY_TYPE] == "ON_DEMAND"
        allocatable = node.obj["status"]["allocatable"]
        assert fg.parse_quantity(allocatable["cpu"]) == fg.parse_quantity("250m")
        assert fg.parse_quantity(allocatable["memory"]) == 512 * 2**20
        assert {"key": fg.COMPUTE_TYPE, "value": "fargate", "effect": "NoSchedule"} in node.obj["spec"][
            "taints"
        ]
    # `ecsk instances` lists them as Fargate capacity with the task size registered.
    out = CliRunner().invoke(
        app, ["instances", "-p", "FARGATE", "-o", "json"], env={"KUBECONFIG": kubeconfig}
    )
    assert out.exit_code == 0, out.output
    listed = {i["nodeName"]: i for i in json.loads(out.output)["containerInstances"]}
    for name in nodes:
        assert listed[name]["instanceType"] == "fargate"
        assert listed[name]["registeredResources"][0] == {
            "name": "CPU",
            "type": "INTEGER",
            "integerValue": 256,
        }
        assert listed[name]["runningTasksCount"] == 1
    kubectl(kubeconfig, "delete", "-n", namespace, "tasks.ecs.ecsk.io", "job", "--wait=false")
    wait_for(lambda: not fargate_nodes_of(api, namespace), timeout=60, what="Fargate nodes removed")


def test_invalid_fargate_size_is_refused(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, fargate: None
) -> None:
    bad = json.loads(json.dumps(TASK_DEF))
    bad["spec"]["memory"] = "4096"
    proc = _apply(kubeconfig, namespace, bad, check=False)
    assert proc.returncode != 0
    assert "Invalid 'cpu' setting for task" in proc.stderr
    # A task pod that slipped past admission is refused by the controller with the same words.
    pod = _pod("ecs-bad", {"ecs.ecsk.io/family": "fg"}, schedulingGates=[{"name": fg.GATE}])
    pod["spec"]["resources"] = {
        "requests": {"cpu": "250m", "memory": "4Gi"},
        "limits": {"cpu": "250m", "memory": "4Gi"},
    }
    pod["spec"]["containers"][0].pop("resources")
    too_big = _pod("huge", {"app": "x"}, cpu="17", mem="1Gi", schedulingGates=[{"name": fg.GATE}])
    profile = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "FargateProfile",
        "metadata": {"name": "all"},
        "spec": {"selectors": [{"namespace": namespace}]},
    }
    _apply(kubeconfig, namespace, profile, pod, too_big)
    wait_for(
        lambda: any("Invalid 'cpu' setting for task" in m for m in _events(api, namespace, "ecs-bad")),
        timeout=30,
        what="refusal event",
    )
    wait_for(
        lambda: any("Pod not supported on Fargate" in m for m in _events(api, namespace, "huge")),
        timeout=30,
        what="too-big event",
    )
    assert not fargate_nodes_of(api, namespace)


def test_profiles_with_wildcards_first_alphabetical_wins(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, fargate: None
) -> None:
    def profile(name: str, ns_glob: str, app_glob: str) -> dict[str, Any]:
        return {
            "apiVersion": "ecs.ecsk.io/v1alpha1",
            "kind": "FargateProfile",
            "metadata": {"name": name},
            "spec": {"selectors": [{"namespace": ns_glob, "labels": {"app": app_glob}}]},
        }

    sched = {"schedulerName": fg.FARGATE_SCHEDULER}
    _apply(
        kubeconfig,
        namespace,
        profile("fp-b", f"{namespace[:5]}*", "web*"),
        profile("fp-a", f"{namespace[:-1]}?", "web-special"),
        profile("fp-z", "nomatch-*", "*"),
        _pod("web-1", {"app": "web-1"}, cpu="1", mem="2Gi", **sched),
        _pod("special", {"app": "web-special"}, **sched),
        _pod("db", {"app": "db"}, **sched),
    )
    pods = wait_for(lambda: _running_on_fargate(api, namespace, 2), timeout=60, what="2 profile pods running")
    by_name = {p.name: p for p in pods}
    assert set(by_name) == {"web-1", "special"}
    assert by_name["web-1"].labels[fg.PROFILE_LABEL] == "fp-b"
    assert by_name["special"].labels[fg.PROFILE_LABEL] == "fp-a"
    assert by_name["web-1"].annotations[fg.CAPACITY_ANNOTATION] == "1vCPU 3GB"  # 2 GiB + 256 MiB
    node = pykube.Node.objects(api).get(name=by_name["web-1"].obj["spec"]["nodeName"])
    assert node.labels[fg.PROFILE_LABEL] == "fp-b"
    assert fg.parse_quantity(node.obj["status"]["allocatable"]["memory"]) == 3 * 2**30
    wait_for(
        lambda: any("no Fargate profile matches" in m for m in _events(api, namespace, "db")),
        timeout=30,
        what="unmatched pod event",
    )
    db = pykube.Pod.objects(api, namespace=namespace).get(name="db")
    assert not db.obj["spec"].get("nodeName")
    for name in ("web-1", "special"):
        pykube.Pod.objects(api, namespace=namespace).get(name=name).delete()
    wait_for(lambda: not fargate_nodes_of(api, namespace), timeout=60, what="nodes removed with their pods")


def test_fargate_service_splits_fargate_and_spot_and_scales_in(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, operator: None
) -> None:
    strategy = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3},
    ]
    service = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "ECSService",
        "metadata": {"name": "web"},
        "spec": {
            "serviceName": "web",
            "taskDefinition": "fg",
            "desiredCount": 5,
            "capacityProviderStrategy": strategy,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
        },
    }
    _apply(kubeconfig, namespace, TASK_DEF, service)
    pods = wait_for(
        lambda: _running_on_fargate(api, namespace, 5, **{"ecs.ecsk.io/service": "web"}),
        timeout=90,
        what="5 Fargate service tasks",
    )
    kinds = sorted(
        pykube.Node.objects(api).get(name=p.obj["spec"]["nodeName"]).labels[fg.CAPACITY_TYPE] for p in pods
    )
    assert kinds == ["ON_DEMAND", "ON_DEMAND", "SPOT", "SPOT", "SPOT"]  # base 1, then 4 by 1:3
    kubectl(
        kubeconfig, "patch", "-n", namespace, "ecsservices.ecs.ecsk.io", "web", "--type=merge",
        "-p", json.dumps({"spec": {"desiredCount": 1}}),
    )  # fmt: skip
    wait_for(
        lambda: len(fargate_nodes_of(api, namespace)) == 1, timeout=60, what="scale-in removes Fargate nodes"
    )


def test_fargate_profile_declared_in_the_fleet_file_catches_its_pods(
    kubeconfig: str, api: pykube.HTTPClient, namespace: str, fargate: None
) -> None:
    """What `ecsk cluster up` does with a fleet file's `fargateProfiles`, against this cluster:
    the profile object appears (labelled as the fleet's), and its pods get their own node."""
    from ecsk.cluster import fargate_fleet
    from ecsk.core.capacity.fleet import Fleet

    name = f"fp-fleet-{namespace}"
    fleet = Fleet.model_validate(
        {
            "nodeGroups": [{"name": "unused", "instanceTypes": ["m5.large"]}],  # not applied here
            "fargateProfiles": [
                {
                    "name": name,
                    "namespace": namespace,
                    "selectors": [{"namespace": namespace, "labels": {"app": "fleet-*"}}],
                }
            ],
        }
    )

    def run(*args: str, stdin: str | None = None, timeout: float = 60) -> Any:
        return kubectl(kubeconfig, *args, stdin=stdin, check=False)

    try:
        assert fargate_fleet.apply(run, fleet, lambda _m: None) == [f"{namespace}/{name}"]
        obj = pykube.object_factory(api, "ecs.ecsk.io/v1alpha1", "FargateProfile")
        profile = obj.objects(api, namespace=namespace).get(name=name)
        assert profile.labels[fargate_fleet.ORIGIN_LABEL] == fargate_fleet.ORIGIN_VALUE
        sched = {"schedulerName": fg.FARGATE_SCHEDULER}
        _apply(kubeconfig, namespace, _pod("fleet-web", {"app": "fleet-web"}, **sched))
        (pod,) = wait_for(
            lambda: _running_on_fargate(api, namespace, 1), timeout=60, what="profile pod on Fargate"
        )
        assert pod.labels[fg.PROFILE_LABEL] == name
        node = pykube.Node.objects(api).get(name=pod.obj["spec"]["nodeName"])
        assert node.labels["eks.amazonaws.com/compute-type"] == "fargate"
        assert node.labels[fg.PROFILE_LABEL] == name
    finally:
        kubectl(
            kubeconfig,
            "delete",
            "fargateprofiles.ecs.ecsk.io",
            name,
            "-n",
            namespace,
            "--ignore-not-found",
            check=False,
        )
