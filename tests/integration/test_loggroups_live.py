"""CloudWatch Logs groups as state on a live cluster: CreateLogGroup / retention / DeleteLogGroup
with the aws CLI and boto3 (kept as labelled ConfigMaps kubectl sees), and the awslogs rule the
agent applies as a task starts: once the namespace has log groups, a task whose awslogs group
does not exist stops with the agent's ResourceInitializationError, a service's task too, and
`awslogs-create-group: "true"` creates the group when the task starts instead."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubectl import kubectl
from kubetest import wait_for
from test_api_live import aws, client, endpoint

__all__ = ["endpoint"]  # the fixture, shared with test_api_live

pytestmark = pytest.mark.integration

MISSING = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not "
    "exist. : exit status 1"
)


def _taskdef(family: str, group: str, create: bool = False) -> dict[str, Any]:
    options = {"awslogs-group": group, "awslogs-region": "eu-central-1", "awslogs-stream-prefix": "ecs"}
    if create:
        options["awslogs-create-group"] = "true"
    return {
        "family": family,
        "containerDefinitions": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "memory": 128,
                "essential": True,
                "logConfiguration": {"logDriver": "awslogs", "options": options},
            }
        ],
    }


def _task(ecs: Any, arn: str) -> dict[str, Any]:
    task: dict[str, Any] = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    return task


def _groups(endpoint: str) -> dict[str, Any]:
    out = json.loads(aws(endpoint, "logs", "describe-log-groups").stdout)
    return {g["logGroupName"]: g for g in out["logGroups"]}


def test_log_groups_with_cli_and_the_awslogs_rule(endpoint: str, operator_ns: str, kubeconfig: str) -> None:
    ecs, logs = client("ecs", endpoint), client("logs", endpoint)
    # Before any group exists the store is not in use: a task with an uncreated group runs.
    ecs.register_task_definition(**_taskdef("legacy", "/ecs/legacy"))
    arn = ecs.run_task(taskDefinition="legacy")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    aws(endpoint, "logs", "create-log-group", "--log-group-name", "/ecs/web", "--tags", "team=shop")
    failed = aws(endpoint, "logs", "create-log-group", "--log-group-name", "/ecs/web", check=False)
    assert failed.returncode != 0 and "ResourceAlreadyExistsException" in failed.stderr
    aws(endpoint, "logs", "put-retention-policy", "--log-group-name", "/ecs/web", "--retention-in-days", "7")
    groups = _groups(endpoint)
    assert groups["/ecs/web"]["retentionInDays"] == 7
    assert "/ecs/legacy" in groups  # a running task writes to it
    cms = kubectl(
        kubeconfig, "get", "configmaps", "-n", operator_ns, "-l", "ecs.ecsk.io/store=logs", "-o", "json"
    )
    stored = [cm["data"]["logGroupName"] for cm in json.loads(cms.stdout)["items"]]
    assert stored == ["/ecs/web"]

    # The store is in use now: the agent's rule applies.
    ecs.register_task_definition(**_taskdef("web", "/ecs/web"))
    arn = ecs.run_task(taskDefinition="web")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    ecs.register_task_definition(**_taskdef("api", "/ecs/api"))
    arn = ecs.run_task(taskDefinition="api")["tasks"][0]["taskArn"]
    task = wait_for(lambda: (t := _task(ecs, arn))["lastStatus"] == "STOPPED" and t, timeout=60, what="stop")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == MISSING

    ecs.create_service(serviceName="api-svc", taskDefinition="api", desiredCount=1)

    def stopped_try() -> dict[str, Any] | None:
        arns = ecs.list_tasks(serviceName="api-svc", desiredStatus="STOPPED")["taskArns"]
        return _task(ecs, arns[0]) if arns else None

    assert wait_for(stopped_try, timeout=60, what="the service's stopped try")["stoppedReason"] == MISSING
    svc = ecs.describe_services(services=["api-svc"])["services"][0]
    assert any(f"failed to launch a task with (error {MISSING}" in e["message"] for e in svc["events"])

    # Once the group is created, the service's next try runs.
    logs.create_log_group(logGroupName="/ecs/api")
    wait_for(
        lambda: ecs.describe_services(services=["api-svc"])["services"][0]["runningCount"] == 1,
        timeout=90,
        what="the service's task running once the group exists",
    )

    # awslogs-create-group: the group is created as the task starts.
    ecs.register_task_definition(**_taskdef("worker", "/ecs/worker", create=True))
    arn = ecs.run_task(taskDefinition="worker")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert "/ecs/worker" in _groups(endpoint)
    made = kubectl(kubeconfig, "get", "configmap", "logs.ecs.worker", "-n", operator_ns, "-o", "json")
    assert json.loads(made.stdout)["data"]["logGroupName"] == "/ecs/worker"  # stored, not only seen
    assert logs.describe_log_groups(logGroupNamePrefix="/ecs/worker")["logGroups"][0]["creationTime"] > 0

    aws(endpoint, "logs", "delete-retention-policy", "--log-group-name", "/ecs/web")
    assert "retentionInDays" not in _groups(endpoint)["/ecs/web"]
    aws(endpoint, "logs", "delete-log-group", "--log-group-name", "/ecs/worker")
    gone = aws(endpoint, "logs", "delete-log-group", "--log-group-name", "/ecs/worker", check=False)
    assert gone.returncode != 0 and "The specified log group does not exist." in gone.stderr
