"""The AWS API endpoint running in the kind cluster (manifests/api.yaml), driven by boto3 from the
host through the port `ecsk kind up` published (127.0.0.1:$ECSK_KIND_API_PORT, `ecsk api url`).

It serves the `default` namespace, so names here carry a random suffix and are removed at the
end. The tasks are real containers of the test app on the kind workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from kindtest import container
from kubectl import kubectl
from kubetest import wait_for

from ecsk.cluster.kind import cluster

pytestmark = pytest.mark.kind
ARN = "arn:aws:ecs:us-east-1:000000000000"
NET = {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b", "subnet-c"]}}


@pytest.fixture(scope="module")
def url(kubeconfig: str) -> str:
    found = cluster.api_url()
    assert found, "ecsk kind up did not record the endpoint's port"
    cli = subprocess.run(
        [sys.executable, "-m", "ecsk.cli.main", "api", "url"],
        capture_output=True,
        text=True,
        env=dict(os.environ, KUBECONFIG=kubeconfig),
        check=True,
    )
    assert cli.stdout.strip() == found  # `ecsk api url` names the kind endpoint when kind is the target
    return found


@pytest.fixture(scope="module")
def ecs(url: str) -> Any:
    return boto3.client(
        "ecs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 3}),
    )


@pytest.fixture
def names(ecs: Any) -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:6]
    family, svc = f"api-kind-{tag}", f"api-kind-{tag}"
    yield family, svc
    with contextlib.suppress(ClientError):  # already deleted by the test
        ecs.delete_service(service=svc, force=True)


def test_boto3_from_the_host_drives_real_tasks(ecs: Any, kubeconfig: str, names: tuple[str, str]) -> None:
    family, svc = names
    assert "clusterArns" in ecs.list_clusters()
    td = ecs.register_task_definition(
        family=family, networkMode="awsvpc", containerDefinitions=[container("web")]
    )["taskDefinition"]
    assert td["taskDefinitionArn"] == f"{ARN}:task-definition/{family}:1"
    ecs.create_service(serviceName=svc, taskDefinition=family, desiredCount=2, networkConfiguration=NET)
    stable = {"Delay": 3, "MaxAttempts": 80}
    ecs.get_waiter("services_stable").wait(services=[svc], WaiterConfig=stable)
    # the same service from kubectl, in the namespace the endpoint serves
    body = json.loads(kubectl(kubeconfig, "-n", "default", "get", "ecsservice", svc, "-o", "json").stdout)
    assert body["spec"]["desiredCount"] == 2
    first = set(ecs.list_tasks(serviceName=svc)["taskArns"])
    running = ecs.describe_tasks(tasks=sorted(first))["tasks"]
    assert len(running) == 2 and {t["lastStatus"] for t in running} == {"RUNNING"}
    # a real worker is a container instance; its tasks are listed by it
    inst = running[0]["containerInstanceArn"]
    assert running[0]["taskArn"] in ecs.list_tasks(containerInstance=inst)["taskArns"]
    # forceNewDeployment: same revision, every task replaced by a new real container
    ecs.update_service(service=svc, forceNewDeployment=True)
    wait_for(
        lambda: (
            len(set(ecs.list_tasks(serviceName=svc)["taskArns"]) - first) == 2
            and not set(ecs.list_tasks(serviceName=svc)["taskArns"]) & first
        ),
        timeout=180,
        what="forced deployment replaced both tasks",
    )
    ecs.get_waiter("services_stable").wait(services=[svc], WaiterConfig=stable)
    # the replaced tasks stay listed as stopped, with ECS's stop code
    stopped = wait_for(
        lambda: first <= set(ecs.list_tasks(serviceName=svc, desiredStatus="STOPPED")["taskArns"]),
        timeout=60,
        what="replaced tasks listed as STOPPED",
    )
    assert stopped
    gone = ecs.describe_tasks(tasks=sorted(first))["tasks"]
    assert {t["stopCode"] for t in gone} == {"ServiceSchedulerInitiated"}
    ecs.delete_service(service=svc, force=True)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    out = ecs.delete_task_definitions(taskDefinitions=[f"{family}:1"])
    assert out["failures"] == [] and out["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS"
