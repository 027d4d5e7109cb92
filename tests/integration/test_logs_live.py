"""CloudWatch Logs on the embedded cluster, with boto3 and the aws CLI: a task with the awslogs
driver has its group and stream named as on ECS, and reading events says plainly that the
simulated node ran no container (the events themselves are the kind test's)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from test_api_live import aws, client, endpoint

__all__ = ["endpoint"]  # the fixture, shared with test_api_live

pytestmark = pytest.mark.integration


def test_awslogs_groups_streams_and_the_embedded_refusal(endpoint: str) -> None:
    ecs, logs = client("ecs", endpoint), client("logs", endpoint)
    ecs.register_task_definition(
        family="logged",
        containerDefinitions=[
            {
                "name": "web",
                "image": "nginx:1.27",
                "memory": 128,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/logged",
                        "awslogs-region": "eu-central-1",
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }
        ],
    )
    arn = ecs.run_task(taskDefinition="logged")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    task_id = arn.rsplit("/", 1)[1]
    groups = json.loads(
        aws(endpoint, "logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/").stdout
    )
    assert [g["logGroupName"] for g in groups["logGroups"]] == ["/ecs/logged"]
    streams = logs.describe_log_streams(logGroupName="/ecs/logged")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"ecs/web/{task_id}"]
    refused = aws(
        endpoint, "logs", "get-log-events", "--log-group-name", "/ecs/logged",
        "--log-stream-name", f"ecs/web/{task_id}", check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "InvalidOperationException" in refused.stderr
    assert "no container runs" in refused.stderr
    with pytest.raises(ClientError) as err:
        logs.filter_log_events(logGroupName="/ecs/logged")
    assert err.value.response["Error"]["Code"] == "InvalidOperationException"
