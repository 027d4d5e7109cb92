"""ECR on kind: `docker push` from the host into the in-cluster registry (after `aws ecr
get-login-password | docker login`), then ECS tasks whose images are ECR URIs, pulled for real by
the workers' containerd through the registry's pull door (ecsk.cluster.kind.ecr).

Driven through the in-cluster endpoint (namespace `default`), so names carry a random suffix and
are removed at the end. The image is the test app already on the host, with a label of its own
(a new image ID) under a repository name no node has seen, so the kubelet must pull it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from botocore.exceptions import ClientError
from kindtest import IMAGE, exec_in
from kubetest import wait_for
from test_api_live import client

from ecsk.cluster.kind import cluster

pytestmark = pytest.mark.kind
HOST = "000000000000.dkr.ecr.us-east-1.amazonaws.com"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}


def _client(service: str) -> Any:
    url = cluster.api_url()
    assert url, "ecsk kind up did not record the endpoint's port"
    return client(service, url)


@pytest.fixture(scope="module")
def ecs(kubeconfig: str) -> Any:
    return _client("ecs")


@pytest.fixture(scope="module")
def ecr(kubeconfig: str) -> Any:
    return _client("ecr")


def _docker(config: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["docker", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def pushed(ecr: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A new repository made with the ECR API and the test app pushed to it as `v1` with docker,
    logged in with GetAuthorizationToken's password: (repository, manifest digest)."""
    address = cluster.registry_address()
    assert address, "ecsk kind up did not record the registry's port"
    repo = f"kind-ecr-{uuid.uuid4().hex[:6]}/app"
    config = tmp_path_factory.mktemp("docker")
    ecr.create_repository(repositoryName=repo)
    local = f"{address}/{repo}:v1"
    try:
        data = ecr.get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        _docker(config, "login", "-u", user, "--password-stdin", address, stdin=password)
        # The test app with one more label: its own image ID. The kubelet (1.37, ensure-secret-pulled-
        # images) records which names an image ID was pulled as; pulling the very image the nodes
        # have preloaded as `ecsk-testapp:latest` under an ECR name would make it re-verify (pull)
        # that preloaded name, which no registry serves.
        dockerfile = f"FROM {IMAGE}\nLABEL ecsk.test.repository={repo}\n"
        _docker(config, "build", "-q", "-t", local, "-", stdin=dockerfile)
        out = _docker(config, "push", local)
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
        assert digest, out
        yield repo, digest[1]
    finally:
        _docker(config, "rmi", local, check=False)
        with contextlib.suppress(ClientError):
            ecr.delete_repository(repositoryName=repo, force=True)


def _web(name: str, image: str, port: int) -> dict[str, Any]:
    env = {"CONTAINER_NAME": name, "PORT": str(port)}
    return {
        "name": name,
        "image": image,
        "cpu": 32,
        "memory": 32,
        "essential": True,
        "environment": [{"name": k, "value": v} for k, v in env.items()],
    }


def _pod_of(api: pykube.HTTPClient, task_id: str) -> dict[str, Any]:
    for pod in pykube.Pod.objects(api, namespace="default"):
        if pod.obj["metadata"]["uid"].replace("-", "") == task_id:
            return dict(pod.obj)
    raise AssertionError(f"no pod for task {task_id}")


def _stopped(ecs: Any, arn: str) -> dict[str, Any] | None:
    task: dict[str, Any] = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    return task if task["lastStatus"] == "STOPPED" else None


def test_task_runs_its_ecr_image_pulled_by_tag_and_by_digest(
    ecs: Any, ecr: Any, pushed: tuple[str, str], api: pykube.HTTPClient, kubeconfig: str
) -> None:
    repo, digest = pushed
    listed = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert [(i["imageDigest"], i["imageTags"]) for i in listed] == [(digest, ["v1"])]
    family = repo.replace("/", "-")
    by_tag, by_digest = f"{HOST}/{repo}:v1", f"{HOST}/{repo}@{digest}"
    ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        containerDefinitions=[_web("web", by_tag, 8080), _web("pinned", by_digest, 8081)],
    )
    arn = ecs.run_task(taskDefinition=family, networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    try:
        ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig={"Delay": 2, "MaxAttempts": 90})
        pod = _pod_of(api, arn.rsplit("/", 1)[1])
        statuses = {s["name"]: s for s in pod["status"]["containerStatuses"]}
        # the kubelet pulled both by their ECR names: containerd resolved them to the pushed manifest
        assert statuses["web"]["imageID"] == f"{HOST}/{repo}@{digest}"
        assert statuses["pinned"]["imageID"] == f"{HOST}/{repo}@{digest}"
        assert {c["image"] for c in pod["spec"]["containers"]} == {by_tag, by_digest}
        # and the pulled image is the real test app, answering in each container
        name = pod["metadata"]["name"]
        for container, port in (("web", 8080), ("pinned", 8081)):
            body = exec_in(
                kubeconfig, "default", name, container, "/ecsk-testapp", "get", f"http://localhost:{port}/"
            )
            assert json.loads(body)["container"] == container
    finally:
        ecs.stop_task(task=arn)
        ecs.deregister_task_definition(taskDefinition=f"{family}:1")


def test_missing_tag_or_repository_stops_the_task_with_cannot_pull(ecs: Any, pushed: tuple[str, str]) -> None:
    repo, _digest = pushed
    family = repo.replace("/", "-") + "-missing"
    expected = {
        f"{HOST}/{repo}:v9": (
            f"CannotPullContainerError: Error response from daemon: manifest for {HOST}/{repo}:v9 not "
            "found: manifest unknown: Requested image not found"
        ),
        f"{HOST}/{repo}-nowhere:v1": (
            "CannotPullContainerError: The task can\u2019t pull the image. Check whether the image exists. "
            f"Error response from daemon: pull access denied for {HOST}/{repo}-nowhere, repository does "
            "not exist or may require 'docker login': denied: requested access to the resource is denied"
        ),
    }
    for revision, (image, reason) in enumerate(expected.items(), start=1):
        ecs.register_task_definition(
            family=family, networkMode="awsvpc", containerDefinitions=[_web("web", image, 8080)]
        )
        arn = ecs.run_task(taskDefinition=f"{family}:{revision}", networkConfiguration=NETWORK)["tasks"][0][
            "taskArn"
        ]
        task = wait_for(lambda arn=arn: _stopped(ecs, arn), timeout=90, what=f"task of {image} stopped")
        assert (task["stopCode"], task["stoppedReason"]) == ("TaskFailedToStart", reason)
        ecs.deregister_task_definition(taskDefinition=f"{family}:{revision}")


def test_repository_policy_refuses_the_nodes_pull(
    ecs: Any, ecr: Any, pushed: tuple[str, str], api: pykube.HTTPClient
) -> None:
    """The nodes pull as the task execution role: a repository policy that does not allow it makes
    the registry refuse the kubelet's real pull, and the task stops with CannotPullContainerError."""
    repo, _digest = pushed
    only_alice = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::000000000000:user/alice"},
                "Action": "ecr:*",
            }
        ],
    }
    ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps(only_alice))
    family = repo.replace("/", "-") + "-denied"
    # a tag no node has (the first test's pull left v1 in a node's containerd): PutImage re-tags
    ecr.put_image(
        repositoryName=repo,
        imageManifest=ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"][0][
            "imageManifest"
        ],
        imageTag="denied",
    )
    ecs.register_task_definition(
        family=family, networkMode="awsvpc", containerDefinitions=[_web("web", f"{HOST}/{repo}:denied", 8080)]
    )
    arn = ecs.run_task(taskDefinition=family, networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
    try:
        task = wait_for(lambda: _stopped(ecs, arn), timeout=150, what="the denied pull stopping the task")
        assert task["stopCode"] == "TaskFailedToStart"
        # the kubelet's own error: containerd asked the pull door (hosts.toml), which refused the role
        reason = task["stoppedReason"]
        pulled = f'failed to pull and unpack image "{HOST}/{repo}:denied"'
        assert reason.startswith(f"CannotPullContainerError: {pulled}")
        assert f"request to http://10.96.0.20:5000/v2/{repo}/manifests/denied" in reason
        assert "403 Forbidden" in reason, reason
        # containerd adds the registry's error body when its request had one (a GET): ECR's words
        if "denied:" in reason:
            assert reason.endswith(
                "denied: User: arn:aws:iam::000000000000:role/ecsTaskExecutionRole is not authorized to "
                "perform: ecr:BatchGetImage on resource: "
                f"arn:aws:ecr:us-east-1:000000000000:repository/{repo} "
                "because no resource-based policy allows the ecr:BatchGetImage action"
            ), reason
    finally:
        ecr.delete_repository_policy(repositoryName=repo)
        ecs.deregister_task_definition(taskDefinition=f"{family}:1")
