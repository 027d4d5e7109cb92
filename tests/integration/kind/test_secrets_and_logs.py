"""The seed's exercise with real containers: put an SSM parameter, a Secrets Manager secret and an
environment file, run a task that references them, read them back from inside the container
(`GET /env/NAME` of the test app), read its output with CloudWatch Logs (boto3 and the aws CLI),
and see a changed value reach a new task but not the running one, as on ECS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from kindtest import IMAGE, exec_in
from kubetest import wait_for
from test_api_live import aws, client

pytestmark = pytest.mark.kind

ROOT = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}


def _env(kubeconfig: str) -> dict[str, str]:
    return dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))


@pytest.fixture
def endpoint(kubeconfig: str, namespace: str, tmp_path: Path) -> Iterator[str]:
    """`ecsk api serve` for the test's namespace (the operator runs inside the kind cluster)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    args = [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(port), "-n", namespace]
    with open(tmp_path / "api.log", "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=_env(kubeconfig))
    try:
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 30, what="endpoint up")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _reader(secret_arn: str) -> dict[str, Any]:
    return {
        "family": "reader",
        "networkMode": "awsvpc",
        "executionRoleArn": ROLE,
        "containerDefinitions": [
            {
                "name": "web",
                "image": IMAGE,
                "cpu": 32,
                "memory": 32,
                "essential": True,
                "environment": [
                    {"name": "CONTAINER_NAME", "value": "web"},
                    {"name": "MODE", "value": "environment"},
                ],
                "secrets": [
                    {"name": "API_KEY", "valueFrom": "/kind/api-key"},
                    {"name": "DB_PASSWORD", "valueFrom": f"{secret_arn}:password::"},
                ],
                "environmentFiles": [{"value": "arn:aws:s3:::kind-cfg/app.env", "type": "s3"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/reader",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }
        ],
    }


def _run(ecs: Any) -> tuple[str, str]:
    """RunTask, wait for RUNNING: (task id, pod name)."""
    arn = ecs.run_task(taskDefinition="reader", networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 2, "MaxAttempts": 90})
    return arn.rsplit("/", 1)[1], arn


def _pod_of(api: pykube.HTTPClient, namespace: str, task_id: str) -> str:
    for pod in pykube.Pod.objects(api, namespace=namespace):
        if pod.obj["metadata"]["uid"].replace("-", "") == task_id:
            return str(pod.obj["metadata"]["name"])
    raise AssertionError(f"no pod for task {task_id}")


def _read(kubeconfig: str, namespace: str, pod: str, name: str) -> str:
    return exec_in(
        kubeconfig, namespace, pod, "web", "/ecsk-testapp", "get", f"http://localhost:8080/env/{name}"
    )


def test_task_reads_parameter_secret_and_env_file_and_its_logs(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str, endpoint: str, tmp_path: Path
) -> None:
    ecs, ssm, sm, logs = (client(s, endpoint) for s in ("ecs", "ssm", "secretsmanager", "logs"))
    ssm.put_parameter(Name="/kind/api-key", Value="key-v1", Type="SecureString")
    made = sm.create_secret(
        Name="kind/db", SecretString=json.dumps({"username": "app", "password": "pw-kind"})
    )
    env_file = tmp_path / "app.env"
    env_file.write_text("# from the file\nGREETING=hello-from-file\nMODE=file\n")
    put = [sys.executable, "-m", "ecsk.cli.main", "envfile", "put", "s3://kind-cfg/app.env", str(env_file)]
    subprocess.run([*put, "-n", namespace], check=True, env=_env(kubeconfig), capture_output=True, timeout=60)
    ecs.register_task_definition(**_reader(made["ARN"]))

    first_id, _ = _run(ecs)
    first = _pod_of(api, namespace, first_id)
    assert _read(kubeconfig, namespace, first, "API_KEY") == "key-v1"
    assert _read(kubeconfig, namespace, first, "DB_PASSWORD") == "pw-kind"
    assert _read(kubeconfig, namespace, first, "GREETING") == "hello-from-file"
    assert _read(kubeconfig, namespace, first, "MODE") == "environment"  # environment beats the file

    # A new value reaches a new task; the running one keeps the value it started with.
    ssm.put_parameter(Name="/kind/api-key", Value="key-v2", Overwrite=True)
    second_id, _ = _run(ecs)
    assert _read(kubeconfig, namespace, _pod_of(api, namespace, second_id), "API_KEY") == "key-v2"
    assert _read(kubeconfig, namespace, first, "API_KEY") == "key-v1"

    # Its output, as CloudWatch Logs shows it: group, stream prefix/container/task-id, events.
    stream = f"ecs/web/{first_id}"
    streams = logs.describe_log_streams(logGroupName="/ecs/reader")["logStreams"]
    assert stream in [s["logStreamName"] for s in streams]
    found = wait_for(
        lambda: logs.filter_log_events(
            logGroupName="/ecs/reader", logStreamNames=[stream], filterPattern="listening"
        )["events"],
        30,
        what="the task's start line in its log stream",
    )
    assert found[0]["message"] == "ecsk-testapp web listening on :8080"
    via_cli = json.loads(
        aws(
            endpoint, "logs", "get-log-events", "--log-group-name", "/ecs/reader",
            "--log-stream-name", stream, "--start-from-head",
        ).stdout
    )  # fmt: skip
    assert "ecsk-testapp web listening on :8080" in [e["message"] for e in via_cli["events"]]


def test_missing_parameter_stops_the_task_on_kind(kubeconfig: str, namespace: str, endpoint: str) -> None:
    ecs, sm = client("ecs", endpoint), client("secretsmanager", endpoint)
    made = sm.create_secret(Name="kind/other", SecretString=json.dumps({"password": "p"}))
    td = _reader(made["ARN"])
    td["containerDefinitions"][0]["environmentFiles"] = []
    ecs.register_task_definition(**td)
    arn = ecs.run_task(taskDefinition="reader", networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(tasks=[arn], WaiterConfig={"Delay": 2, "MaxAttempts": 30})
    task = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].endswith("invalid ssm parameters: /kind/api-key")


def test_service_task_without_its_secret_fails_then_starts_once_it_exists(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str, endpoint: str
) -> None:
    """The kubelet fetches a service task's Secret: while it is missing the task reads as ECS's
    ResourceInitializationError; once the parameter is put, the service's task starts with it."""
    ecs, sm, ssm = client("ecs", endpoint), client("secretsmanager", endpoint), client("ssm", endpoint)
    made = sm.create_secret(Name="kind/svc", SecretString=json.dumps({"password": "svc-pw"}))
    td = _reader(made["ARN"])
    td["containerDefinitions"][0]["environmentFiles"] = []
    ecs.register_task_definition(**td)
    ecs.create_service(
        serviceName="reader", taskDefinition="reader", desiredCount=1, networkConfiguration=NETWORK
    )

    def failed() -> dict[str, Any] | None:
        arns = [
            arn
            for status in ("RUNNING", "STOPPED")
            for arn in ecs.list_tasks(serviceName="reader", desiredStatus=status)["taskArns"]
        ]
        tasks = ecs.describe_tasks(tasks=arns)["tasks"] if arns else []
        return next((t for t in tasks if (t.get("stoppedReason") or "").startswith("ResourceInit")), None)

    task = wait_for(failed, 120, what="the service task failing on its missing secret")
    # The operator checks a new service task before it starts, as the agent does (its wording);
    # on kind the kubelet may report the missing Secret first (ecsk's reading of the kubelet's).
    assert task["stoppedReason"] in (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 "
        "time(s): invalid ssm parameters: /kind/api-key",
        "ResourceInitializationError: unable to pull secrets or registry auth: "
        'secret "ssm.kind.api-key" not found',
    )
    ssm.put_parameter(Name="/kind/api-key", Value="late-key", Type="String")
    ecs.get_waiter("services_stable").wait(services=["reader"], WaiterConfig={"Delay": 3, "MaxAttempts": 60})
    task_id = ecs.list_tasks(serviceName="reader")["taskArns"][0].rsplit("/", 1)[1]
    assert _read(kubeconfig, namespace, _pod_of(api, namespace, task_id), "API_KEY") == "late-key"
