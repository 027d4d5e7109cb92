"""ECS tasks naming ECR images of the local registry, on the embedded cluster (whose pods never
pull): the operator checks the image before the pod exists (a service's pod as it starts). A
pushed tag runs; a tag the repository does not hold, or a repository that does not exist, stops
the task with the ECS agent's CannotPullContainerError (TaskFailedToStart); a service says so in
its events, keeps trying, and runs once the image is pushed.

The registry, the endpoint (ECS and ECR APIs, the registry's front door) and `docker push` are
test_ecr_live's; an operator of the same account and region watches the same namespace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for
from test_ecr_live import ACCOUNT, HOST, REGION, Env, aws_client, ecr, ecr_env, push

__all__ = ["ecr", "ecr_env"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ecs(ecr_env: Env, crds_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = (*OperatorProcess.TEST_SETTINGS, "--region", REGION, "--account", ACCOUNT)
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    op = OperatorProcess(ecr_env.kubeconfig, ecr_env.namespace, log, settings=settings)
    op.start()
    try:
        yield aws_client("ecs", ecr_env)
    finally:
        op.stop()


def _register(ecs: Any, family: str, image: str) -> None:
    ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "app", "image": image, "memory": 64, "essential": True}],
    )


def _stopped(ecs: Any, arn: str) -> dict[str, Any] | None:
    task: dict[str, Any] = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    return task if task["lastStatus"] == "STOPPED" else None


def test_pushed_tag_runs_missing_tag_and_repository_do_not(ecs: Any, ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="shop/web")
    digest = push(ecr_env, "shop/web", "v1", "web one")  # through the front door: status refreshed

    _register(ecs, "web-ok", f"{HOST}/shop/web:v1")
    arn = ecs.run_task(taskDefinition="web-ok")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    _register(ecs, "web-digest", f"{HOST}/shop/web@{digest}")
    arn = ecs.run_task(taskDefinition="web-digest")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    _register(ecs, "web-v9", f"{HOST}/shop/web:v9")
    arn = ecs.run_task(taskDefinition="web-v9")["tasks"][0]["taskArn"]
    task = wait_for(lambda: _stopped(ecs, arn), timeout=60, what="task stopped")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        f"CannotPullContainerError: Error response from daemon: manifest for {HOST}/shop/web:v9 not "
        "found: manifest unknown: Requested image not found"
    )

    _register(ecs, "nowhere", f"{HOST}/shop/nowhere:v1")
    arn = ecs.run_task(taskDefinition="nowhere")["tasks"][0]["taskArn"]
    task = wait_for(lambda: _stopped(ecs, arn), timeout=60, what="task stopped")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "CannotPullContainerError: The task can\u2019t pull the image. Check whether the image exists. "
        f"Error response from daemon: pull access denied for {HOST}/shop/nowhere, repository does "
        "not exist or may require 'docker login': denied: requested access to the resource is denied"
    )
    pods = kubectl(ecr_env.kubeconfig, "get", "pods", "-n", ecr_env.namespace, "-o", "name").stdout
    assert pods.count("pod/") == 2, pods  # the two that run; the failed ones never had a pod

    # Once the tag is pushed, the same task definition runs.
    push(ecr_env, "shop/web", "v9", "web nine")
    arn = ecs.run_task(taskDefinition="web-v9")["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_service_says_it_cannot_pull(ecs: Any, ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="shop/empty")
    _register(ecs, "empty", f"{HOST}/shop/empty:latest")
    ecs.create_service(serviceName="empty-svc", taskDefinition="empty", desiredCount=1)

    def launch_failure() -> str | None:
        svc = ecs.describe_services(services=["empty-svc"])["services"][0]
        return next((e["message"] for e in svc["events"] if "failed to launch a task" in e["message"]), None)

    message = wait_for(launch_failure, timeout=60, what="the service's launch failure event")
    assert message.startswith(
        "(service empty-svc) failed to launch a task with (error CannotPullContainerError"
    )
    assert f"manifest for {HOST}/shop/empty:latest not found" in message

    # ECS stops each try before it starts (no task runs), and the service keeps trying.
    def stopped_tries() -> list[dict[str, Any]] | None:
        arns = ecs.list_tasks(serviceName="empty-svc", desiredStatus="STOPPED")["taskArns"]
        tasks = ecs.describe_tasks(tasks=arns)["tasks"] if arns else []
        return tasks if len(tasks) >= 2 else None

    tries = wait_for(stopped_tries, timeout=60, what="two stopped tries")
    for task in tries:
        assert task["stopCode"] == "TaskFailedToStart"
        assert task["stoppedReason"] == (
            f"CannotPullContainerError: Error response from daemon: manifest for {HOST}/shop/empty:latest "
            "not found: manifest unknown: Requested image not found"
        )
    assert ecs.describe_services(services=["empty-svc"])["services"][0]["runningCount"] == 0

    # Once the image is pushed, the next try runs (the service was never wedged).
    push(ecr_env, "shop/empty", "latest", "empty at last")

    def running() -> bool:
        return ecs.describe_services(services=["empty-svc"])["services"][0]["runningCount"] == 1

    wait_for(running, timeout=90, what="the service's task running after the push")
    arn = ecs.list_tasks(serviceName="empty-svc", desiredStatus="RUNNING")["taskArns"][0]
    assert ecs.describe_tasks(tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING"
