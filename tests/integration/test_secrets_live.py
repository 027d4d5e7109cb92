"""A task's `secrets` on a live cluster: put a parameter and a secret through the AWS endpoint,
run a task that references them, and see the pod read the stored Secrets; a missing one stops
the task with the agent's ResourceInitializationError. No value ever shows in the pod spec,
Events, status or `ecsk render` output. (The values reaching a real process is the kind test.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for
from test_api_live import client, endpoint

__all__ = ["endpoint"]  # the fixture, shared with test_api_live

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
VALUES = ("param-value-7Q2", "pw-value-9Z4")
"""What must never appear outside the Secrets."""


def _taskdef(family: str, secrets: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "family": family,
        "executionRoleArn": ROLE,
        "containerDefinitions": [
            {"name": "app", "image": "nginx:1.27", "memory": 128, "essential": True, "secrets": secrets}
        ],
    }


def _stopped(ecs: Any, arn: str) -> dict[str, Any] | None:
    task: dict[str, Any] = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    return task if task["lastStatus"] == "STOPPED" else None


def _no_values(text: str, where: str) -> None:
    for value in VALUES:
        assert value not in text, f"a secret value leaked into {where}"


def test_missing_then_present_secrets(
    endpoint: str, operator_ns: str, kubeconfig: str, operator_process: OperatorProcess
) -> None:
    ecs, ssm, sm = (client(s, endpoint) for s in ("ecs", "ssm", "secretsmanager"))
    made = sm.create_secret(Name="app/db", SecretString=json.dumps({"password": VALUES[1]}))
    td = _taskdef(
        "with-secrets",
        [
            {"name": "API_KEY", "valueFrom": "/app/api-key"},
            {"name": "DB_PASSWORD", "valueFrom": f"{made['ARN']}:password::"},
        ],
    )
    ecs.register_task_definition(**td)

    # The parameter does not exist yet: the task fails to start, as on ECS.
    arn = ecs.run_task(taskDefinition="with-secrets")["tasks"][0]["taskArn"]
    task = wait_for(lambda: _stopped(ecs, arn), timeout=60, what="task stopped")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 "
        "time(s): invalid ssm parameters: /app/api-key"
    )

    # Put it: a new task starts and reads both from the Secrets the endpoint stored.
    ssm.put_parameter(Name="/app/api-key", Value=VALUES[0], Type="SecureString")
    arn = ecs.run_task(taskDefinition="with-secrets")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", operator_ns, "-o", "json").stdout)
    running = [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in running[0]["spec"]["containers"][0]["env"]}
    assert env == {
        "API_KEY": {"name": "ssm.app.api-key", "key": "value"},
        "DB_PASSWORD": {"name": "sm.app.db", "key": "json.password"},
    }

    # A JSON key the secret does not have stops the task with the agent's words.
    ecs.register_task_definition(
        **_taskdef("bad-key", [{"name": "U", "valueFrom": f"{made['ARN']}:username::"}])
    )
    arn = ecs.run_task(taskDefinition="bad-key")["tasks"][0]["taskArn"]
    task = wait_for(lambda: _stopped(ecs, arn), timeout=60, what="task stopped")
    assert task["stoppedReason"].endswith(
        "unable to retrieve secret from asm: service call has been retried 1 time(s): retrieved "
        "secret from Secrets Manager did not contain json key username"
    )

    # A service whose tasks cannot fetch their secrets says so in its events, in ECS's words.
    ecs.create_service(serviceName="needs-key", taskDefinition="bad-key", desiredCount=1)

    def launch_failure() -> str | None:
        svc = ecs.describe_services(services=["needs-key"])["services"][0]
        return next((e["message"] for e in svc["events"] if "failed to launch a task" in e["message"]), None)

    message = wait_for(launch_failure, timeout=60, what="the service's launch failure event")
    assert message.startswith(
        "(service needs-key) failed to launch a task with (error ResourceInitializationError"
    )
    assert "did not contain json key username" in message

    # Nothing outside the Secrets holds a value: pods, Events, Task status, the endpoint's answers.
    for what in ("pods", "events", "tasks.ecs.ecsk.io", "configmaps"):
        _no_values(kubectl(kubeconfig, "get", what, "-n", operator_ns, "-o", "json").stdout, what)
    _no_values(json.dumps(ecs.describe_tasks(tasks=[arn]), default=str), "DescribeTasks")
    assert operator_process.log_path is not None
    _no_values(operator_process.log_path.read_text(), "the operator's log")


def _ecsk(kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "operator"), KUBECONFIG=kubeconfig)
    return subprocess.run(
        [sys.executable, "-m", "ecsk.cli.main", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_environment_files(endpoint: str, operator_ns: str, kubeconfig: str, tmp_path: Path) -> None:
    ecs = client("ecs", endpoint)
    td = _taskdef("with-env-file", [])
    td["containerDefinitions"][0].pop("secrets")
    td["containerDefinitions"][0]["environmentFiles"] = [
        {"value": "arn:aws:s3:::cfg-bucket/app.env", "type": "s3"}
    ]
    td["containerDefinitions"][0]["environment"] = [{"name": "MODE", "value": "from-environment"}]
    ecs.register_task_definition(**td)
    arn = ecs.run_task(taskDefinition="with-env-file")["tasks"][0]["taskArn"]
    task = wait_for(lambda: _stopped(ecs, arn), timeout=60, what="task stopped")
    assert task["stoppedReason"] == (
        "ResourceInitializationError: failed to download env files: NoSuchKey: The specified key does "
        "not exist: arn:aws:s3:::cfg-bucket/app.env"
    )
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nno equals sign\n")
    refused = _ecsk(kubeconfig, "envfile", "put", "s3://cfg-bucket/app.env", str(bad), "-n", operator_ns)
    assert refused.returncode == 2 and "line 2: not in VARIABLE=VALUE form" in refused.stderr
    good = tmp_path / "app.env"
    good.write_text("# app settings\nMODE=from-file\nGREETING=hello\n")
    put = _ecsk(kubeconfig, "envfile", "put", "s3://cfg-bucket/app.env", str(good), "-n", operator_ns)
    assert put.returncode == 0, put.stderr
    cm = json.loads(
        kubectl(
            kubeconfig, "get", "configmap", "s3.cfg-bucket.app.env", "-n", operator_ns, "-o", "json"
        ).stdout
    )
    assert cm["data"] == {"MODE": "from-file", "GREETING": "hello"}
    arn = ecs.run_task(taskDefinition="with-env-file")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_render_shows_references_not_values(tmp_path: Path) -> None:
    doc = tmp_path / "td.json"
    doc.write_text(json.dumps(_taskdef("render", [{"name": "K", "valueFrom": "/app/api-key"}])))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "operator"))
    out = subprocess.run(
        [sys.executable, "-m", "ecsk.cli.main", "render", "-f", str(doc)],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert "ssm.app.api-key" in out
    _no_values(out, "ecsk render")
