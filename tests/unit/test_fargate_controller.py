"""The Fargate controller against an in-memory API: placement, refusals, binding, garbage."""

from __future__ import annotations

from typing import Any

from helpers_fake_kube import FakeKube

from ecsk.controller.capacity.fargate import FargateController
from ecsk.core.capacity import fargate as fg
from ecsk.core.capacity.scaling import PROVIDER_LABEL
from ecsk.core.validation.fargate import INVALID_CPU


def _fleet_node(name: str, zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"topology.kubernetes.io/zone": zone, "ecs.ecsk.io/origin": "fleet"},
        },
    }


def _pod(name: str, labels: dict[str, str] | None = None, ns: str = "app", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"containers": [{"name": "c"}], **spec},
    }


def _ecs_pod(name: str, cpu: str, mem: str) -> dict[str, Any]:
    pod = _pod(name, {"ecs.ecsk.io/family": "web"}, schedulingGates=[{"name": fg.GATE}])
    pod["spec"]["resources"] = {
        "requests": {"cpu": cpu, "memory": mem},
        "limits": {"cpu": cpu, "memory": mem},
    }
    return pod


def _profile(name: str, namespace_glob: str) -> dict[str, Any]:
    return {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "FargateProfile",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {"selectors": [{"namespace": namespace_glob}]},
    }


def _fargate_nodes(kube: FakeKube) -> list[dict[str, Any]]:
    return [
        o
        for (k, _, _), o in kube.objects.items()
        if k == "Node" and o["metadata"]["name"].startswith("fargate-")
    ]


def test_ecs_task_gets_a_node_then_is_pinned_once_the_node_is_ready() -> None:
    kube = FakeKube(
        _fleet_node("ip-a", "us-east-1a"), _fleet_node("ip-b", "us-east-1b"), _ecs_pod("t1", "500m", "1Gi")
    )
    ctl = FargateController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    nodes = _fargate_nodes(kube)
    assert len(nodes) == 1
    node = nodes[0]
    assert node["status"]["allocatable"]["cpu"] == "500m"
    assert node["status"]["allocatable"]["memory"] == "1024Mi"
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "us-east-1a"
    assert not [p for p in kube.patches if "spec" in p[2]], "not pinned before the node is Ready"
    kube.ready("Node", node["metadata"]["name"])
    ctl.reconcile_once()
    assert len(_fargate_nodes(kube)) == 1, "the same node is reused"
    pod = kube.objects[("Pod", "app", "t1")]
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/hostname": node["metadata"]["name"]}
    assert "schedulingGates" not in pod["spec"]
    assert pod["metadata"]["annotations"][fg.CAPACITY_ANNOTATION] == "0.5vCPU 1GB"
    assert fg.PROFILE_LABEL not in pod["metadata"]["labels"]  # ECS tasks need no profile


def test_invalid_task_size_is_refused_once_with_ecs_wording() -> None:
    kube = FakeKube(_ecs_pod("bad", "250m", "4Gi"))
    ctl = FargateController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    ctl.reconcile_once()
    assert [e for e in kube.events if INVALID_CPU in e[2]] == [
        ("bad", "FailedScheduling", f"ClientException: {INVALID_CPU}")
    ]
    assert not _fargate_nodes(kube)


def test_plain_pods_need_a_profile_and_are_bound_by_the_fargate_scheduler() -> None:
    kube = FakeKube(
        _profile("fp-b", "ap*"),
        _profile("fp-a", "a?p"),
        _pod("match", schedulerName=fg.FARGATE_SCHEDULER),
        _pod("other", ns="db", schedulerName=fg.FARGATE_SCHEDULER),
        served=("FargateProfile",),
    )
    ctl = FargateController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    (node,) = _fargate_nodes(kube)
    assert node["metadata"]["labels"][fg.PROFILE_LABEL] == "fp-a"
    kube.ready("Node", node["metadata"]["name"])
    ctl.reconcile_once()
    assert kube.bindings == [("app", "match", node["metadata"]["name"])]
    assert kube.objects[("Pod", "app", "match")]["metadata"]["labels"][fg.PROFILE_LABEL] == "fp-a"
    assert any(e[0] == "other" and "no Fargate profile matches" in e[2] for e in kube.events)


def test_nodes_go_when_their_pod_goes_or_is_replaced() -> None:
    kube = FakeKube(_ecs_pod("t1", "250m", "512Mi"))
    ctl = FargateController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    (node,) = _fargate_nodes(kube)
    del kube.objects[("Pod", "app", "t1")]
    again = _ecs_pod("t1", "250m", "512Mi")
    again["metadata"]["uid"] = "new"
    kube.add(again)
    ctl.reconcile_once()  # same name, new uid: the old node is garbage, a new one is created
    assert ("Node", node["metadata"]["name"]) in kube.deleted
    assert len(_fargate_nodes(kube)) == 1


def test_namespaced_controller_ignores_other_namespaces() -> None:
    kube = FakeKube(_ecs_pod("t1", "250m", "512Mi"))
    FargateController(kube, namespaces=["elsewhere"]).reconcile_once()  # type: ignore[arg-type]
    assert not _fargate_nodes(kube)


def test_bad_input_never_crashes() -> None:
    weird = [
        _pod(
            "q", {"ecs.ecsk.io/family": "x"}, schedulingGates=[{"name": fg.GATE}], resources={"requests": "x"}
        ),
        _pod(
            "r",
            schedulingGates=[{"name": fg.GATE}],
            containers=[{"name": "c", "resources": {"limits": {"cpu": "?"}}}],
        ),
        _pod("s", schedulerName=fg.FARGATE_SCHEDULER, containers=None),
    ]
    bad_profile = _profile("broken", "app") | {"spec": {"selectors": [{"labels": {"a": "b"}}]}}
    kube = FakeKube(*weird, bad_profile, _profile("all", "*"), served=("FargateProfile",))
    ctl = FargateController(kube)  # type: ignore[arg-type]
    ctl.reconcile_once()
    ctl.reconcile_once()
    refusals = [e for e in kube.events if e[0] == "broken"]
    assert [e[1] for e in refusals] == ["ValidationFailed"]  # once, though two passes saw it
    assert "selectors[0].namespace: Missing required parameter" in refusals[0][2]
    [valid] = kube.objects[("FargateProfile", "kube-system", "broken")]["status"]["conditions"]
    assert (valid["type"], valid["status"], valid["reason"]) == ("Valid", "False", "ValidationFailed")
    assert any(e[0] == "r" and "unreadable" in e[2] for e in kube.events)


def test_fargate_and_fargate_spot_split_follows_the_strategy() -> None:
    strategy = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 1},
    ]
    service = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "ECSService",
        "metadata": {"name": "web", "namespace": "app"},
        "spec": {"serviceName": "web", "taskDefinition": "td", "capacityProviderStrategy": strategy},
    }
    pods = []
    for i in range(5):
        pod = _ecs_pod(f"t{i}", "250m", "512Mi")
        pod["metadata"]["labels"]["ecs.ecsk.io/service"] = "web"
        pods.append(pod)
    kube = FakeKube(service, *pods, served=("ECSService", "Task"))
    FargateController(kube).reconcile_once()  # type: ignore[arg-type]
    chosen = [kube.objects[("Pod", "app", f"t{i}")]["metadata"]["labels"][PROVIDER_LABEL] for i in range(5)]
    assert chosen.count("FARGATE") == 3  # base 1, then 4 by 1:1
    assert chosen.count("FARGATE_SPOT") == 2
    spot = [n for n in _fargate_nodes(kube) if n["metadata"]["labels"][fg.CAPACITY_TYPE] == "SPOT"]
    assert len(spot) == 2
