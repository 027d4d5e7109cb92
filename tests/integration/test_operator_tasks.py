"""Standalone tasks (RunTask) on a live cluster: pods, ECS states, essential exits, stops, retention."""

from __future__ import annotations

import json
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def task_status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "Task")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj.get("status") or {})


def records(api: pykube.HTTPClient, ns: str, name: str) -> dict[int, dict[str, Any]]:
    return {t["index"]: t for t in task_status(api, ns, name).get("tasks") or []}


def task_pods(api: pykube.HTTPClient, ns: str, name: str) -> list[dict[str, Any]]:
    return [p.obj for p in pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/task": name})]


@pytest.fixture(scope="module")
def family(kubeconfig: str, operator_ns: str) -> str:
    apply(
        kubeconfig,
        operator_ns,
        {
            "apiVersion": CR,
            "kind": "TaskDefinition",
            "metadata": {"name": "job"},
            "spec": {
                "family": "job",
                "containerDefinitions": [
                    {"name": "main", "image": "busybox", "memory": 32, "essential": True},
                    {"name": "helper", "image": "busybox", "memory": 32, "essential": False},
                ],
            },
        },
    )
    return "job"


def run_task(kubeconfig: str, ns: str, name: str, count: int) -> None:
    apply(
        kubeconfig,
        ns,
        {
            "apiVersion": CR,
            "kind": "Task",
            "metadata": {"name": name},
            "spec": {"taskDefinition": "job", "count": count, "startedBy": "ci", "group": "batch"},
        },
    )


def exit_container(kubeconfig: str, ns: str, pod: dict[str, Any], container: str, code: int) -> None:
    statuses = []
    for c in pod["spec"]["containers"]:
        state: dict[str, Any] = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
        if c["name"] == container:
            state = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Error",
                    "startedAt": "2026-01-01T00:00:00Z",
                    "finishedAt": "2026-01-01T00:01:00Z",
                }
            }
        statuses.append(
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": "running" in state,
                "restartCount": 0,
                "state": state,
            }
        )
    kubectl(
        kubeconfig,
        "-n",
        ns,
        "patch",
        "pod",
        pod["metadata"]["name"],
        "--subresource=status",
        "--type=strategic",
        "-p",
        json.dumps({"status": {"containerStatuses": statuses}}),
    )


def test_task_runs_count_pods(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, family: str) -> None:
    run_task(kubeconfig, operator_ns, "two", 2)
    wait_for(
        lambda: (
            len(r := records(api, operator_ns, "two")) == 2
            and all(t["lastStatus"] == "RUNNING" for t in r.values())
        ),
        60,
        what="2 RUNNING tasks",
    )
    pods = task_pods(api, operator_ns, "two")
    assert len(pods) == 2
    for p in pods:
        assert p["spec"]["restartPolicy"] == "Never"
        assert p["metadata"]["labels"]["ecs.ecsk.io/task-group"] == "batch"
        assert p["metadata"]["annotations"]["ecs.ecsk.io/started-by"] == "ci"
        assert p["metadata"]["ownerReferences"][0]["kind"] == "Task"
    st = task_status(api, operator_ns, "two")
    assert st["lastStatus"] == "RUNNING" and st["taskDefinitionArn"].endswith("task-definition/job:1")
    t = records(api, operator_ns, "two")[0]
    assert len(t["taskId"]) == 32 and t["taskArn"].endswith(f"task/default/{t['taskId']}")
    assert t["group"] == "batch" and t["startedBy"] == "ci" and t["desiredStatus"] == "RUNNING"


def test_essential_exit_stops_task(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, family: str
) -> None:
    run_task(kubeconfig, operator_ns, "ess", 1)
    wait_for(
        lambda: records(api, operator_ns, "ess").get(0, {}).get("lastStatus") == "RUNNING", 60, what="RUNNING"
    )
    exit_container(kubeconfig, operator_ns, task_pods(api, operator_ns, "ess")[0], "main", 2)
    rec = wait_for(
        lambda: (r := records(api, operator_ns, "ess").get(0)) and r["lastStatus"] == "STOPPED" and r,
        60,
        what="STOPPED",
    )
    assert rec["stopCode"] == "EssentialContainerExited"
    assert rec["stoppedReason"] == "Essential container in task exited"
    assert {c["name"]: c.get("exitCode") for c in rec["containers"]}["main"] == 2
    wait_for(lambda: not task_pods(api, operator_ns, "ess"), 60, what="pod removed")
    assert task_status(api, operator_ns, "ess")["lastStatus"] == "STOPPED"


def test_non_essential_exit_keeps_running(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, family: str
) -> None:
    run_task(kubeconfig, operator_ns, "side", 1)
    wait_for(
        lambda: records(api, operator_ns, "side").get(0, {}).get("lastStatus") == "RUNNING",
        60,
        what="RUNNING",
    )
    exit_container(kubeconfig, operator_ns, task_pods(api, operator_ns, "side")[0], "helper", 0)
    wait_for(
        lambda: any(c.get("exitCode") == 0 for c in records(api, operator_ns, "side")[0]["containers"]),
        60,
        what="helper exit recorded",
    )
    assert records(api, operator_ns, "side")[0]["desiredStatus"] == "RUNNING"
    assert task_pods(api, operator_ns, "side")


def test_user_stop_and_retention(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, family: str
) -> None:
    run_task(kubeconfig, operator_ns, "stopme", 1)
    wait_for(
        lambda: records(api, operator_ns, "stopme").get(0, {}).get("lastStatus") == "RUNNING",
        60,
        what="RUNNING",
    )
    pykube.Pod.objects(api, namespace=operator_ns).get(
        name=task_pods(api, operator_ns, "stopme")[0]["metadata"]["name"]
    ).delete()
    rec = wait_for(
        lambda: (r := records(api, operator_ns, "stopme").get(0)) and r["lastStatus"] == "STOPPED" and r,
        60,
        what="STOPPED",
    )
    assert (rec["stopCode"], rec["stoppedReason"]) == ("UserInitiated", "Task stopped by user")
    assert not task_pods(api, operator_ns, "stopme"), "a stopped standalone task is never restarted"
    # The test operator keeps stopped tasks 20 s.
    wait_for(lambda: not records(api, operator_ns, "stopme"), 90, what="record expired")
    assert task_status(api, operator_ns, "stopme")["launched"] == [0]
    assert not task_pods(api, operator_ns, "stopme")
