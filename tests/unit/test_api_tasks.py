"""ListTasks as ECS filters it: containerInstance, desiredStatus STOPPED including the stopped
service tasks the operator keeps, and DescribeContainerInstances counting the same tasks."""

from __future__ import annotations

from typing import Any

import pytest

from ecsk.api.context import Context, Settings
from ecsk.api.ecs import instances, tasks
from ecsk.api.errors import AwsError
from ecsk.core.services.rollout import deployment_id

RUN = {"running": {"startedAt": "2026-01-01T00:00:05Z"}}


def node(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "m5.large"}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "2", "memory": "8Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(uid: str, on: str, running: bool = True) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-{uid}",
            "namespace": "team",
            "uid": uid * 32,
            "labels": {"ecs.ecsk.io/service": "web", "ecs.ecsk.io/cluster": "default"},
        },
        "spec": {"nodeName": on, "containers": [{"name": "app"}]},
        "status": {
            "phase": "Running" if running else "Pending",
            "containerStatuses": [{"name": "app", "state": RUN if running else {"waiting": {}}}],
            "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
        },
    }


STOPPED = {
    "taskId": "c" * 32,
    "lastStatus": "STOPPED",
    "desiredStatus": "STOPPED",
    "healthStatus": "UNKNOWN",
    "containers": [{"name": "app", "lastStatus": "STOPPED"}],
    "stopCode": "ServiceSchedulerInitiated",
    "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)",
    "stoppedAt": "2026-01-01T01:00:00Z",
    "node": "n1",
    "podName": "web-c",
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
}


class Store:
    namespace = "team"

    def __init__(self) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {
            "Node": [node("n1"), node("n2")],
            "ECSCluster": [{"metadata": {"name": "default"}, "spec": {"clusterName": "default"}}],
            "ECSService": [
                {
                    "metadata": {"name": "web", "uid": "u-1"},
                    "spec": {"serviceName": "web", "desiredCount": 3},
                    "status": {
                        "taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2",
                        "stoppedTasks": [STOPPED],
                    },
                }
            ],
            "Pod": [pod("a", "n1"), pod("b", "n1", running=False), pod("d", "n2")],
        }

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        return self.objects.get(kind, [])

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.list(kind) if o["metadata"]["name"] == name), None)

    def list_all_pods(self, field_selector: str | None = None) -> list[dict[str, Any]]:
        return self.objects["Pod"]


def ctx() -> Context:
    return Context(Store(), Settings())  # type: ignore[arg-type]


def ids(out: dict[str, Any]) -> list[str]:
    return sorted(a.rsplit("/", 1)[1][0] for a in out["taskArns"])


def test_stopped_service_tasks_are_listed_with_desired_status_stopped() -> None:
    c = ctx()
    assert ids(tasks.list_tasks(c, {})) == ["a", "b", "d"]
    assert ids(tasks.list_tasks(c, {"desiredStatus": "STOPPED"})) == ["c"]
    assert ids(tasks.list_tasks(c, {"desiredStatus": "STOPPED", "serviceName": "web"})) == ["c"]
    got = tasks.describe_tasks(c, {"tasks": ["c" * 32]})["tasks"][0]
    assert got["lastStatus"] == "STOPPED" and got["stopCode"] == "ServiceSchedulerInitiated"
    assert got["taskDefinitionArn"].endswith("web:1")  # its own revision, not the service's current one
    assert got["containerInstanceArn"].endswith("container-instance/default/n1")


def test_list_tasks_by_container_instance_matches_describe_counts() -> None:
    c = ctx()
    arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/default/n1"
    assert ids(tasks.list_tasks(c, {"containerInstance": arn})) == ["a", "b"]
    assert ids(tasks.list_tasks(c, {"containerInstance": "n2"})) == ["d"]
    assert ids(tasks.list_tasks(c, {"containerInstance": "n1", "desiredStatus": "STOPPED"})) == ["c"]
    described = instances.describe_container_instances(c, {"containerInstances": ["n1", "n2"]})
    counts = {
        i["containerInstanceArn"].rsplit("/", 1)[1]: (i["runningTasksCount"], i["pendingTasksCount"])
        for i in described["containerInstances"]
    }
    assert counts == {"n1": (2, 1), "n2": (1, 0)}  # running = desired RUNNING, as list-tasks lists
    with pytest.raises(AwsError) as err:
        tasks.list_tasks(c, {"containerInstance": "ghost"})
    assert err.value.code == "InvalidParameterException"


def test_a_terminating_service_pod_is_a_task_the_scheduler_stops() -> None:
    """Its container exited on SIGTERM; ECS still says the service scheduler stopped it."""
    c = ctx()
    dying = pod("e", "n2")
    dying["metadata"]["deletionTimestamp"] = "2026-01-01T01:00:00Z"
    dying["metadata"]["labels"]["ecs.ecsk.io/revision"] = "2"
    dying["status"]["containerStatuses"] = [{"name": "app", "state": {"terminated": {"exitCode": 143}}}]
    c.store.objects["Pod"].append(dying)  # type: ignore[attr-defined]
    assert ids(tasks.list_tasks(c, {"desiredStatus": "STOPPED"})) == ["c", "e"]
    got = tasks.describe_tasks(c, {"tasks": ["e" * 32]})["tasks"][0]
    assert got["stopCode"] == "ServiceSchedulerInitiated"
    assert got["stoppedReason"] == f"Scaling activity initiated by (deployment {deployment_id('u-1', 2)})"
