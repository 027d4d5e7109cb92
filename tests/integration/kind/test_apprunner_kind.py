"""App Runner on kind: the service's URL answers from the host with real containers, and the
instances follow concurrent requests through the in-cluster metrics adapter and the real HPA.

The URL is a name (`<id>.<region>.awsapprunner.com`) no DNS resolves: the host reaches the
service through its published node port (kind's stand-in for App Runner's load balancer), and the
request carries the service's host name, as a client of the real URL would.

The source deploy builds with the host's Docker, pushes through the in-cluster registry's front
door, and the workers' containerd pulls the ECR URI through its pull door: every step real.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pykube
import pytest
import yaml
from kindtest import IMAGE
from kubectl import kubectl
from kubetest import wait_for
from test_api_live import client
from typer.testing import CliRunner

from ecsk.cli.main import app as ecsk_app
from ecsk.cluster.kind import cluster

pytestmark = pytest.mark.kind

CR = "ecs.ecsk.io/v1alpha1"


def _service(name: str) -> dict[str, Any]:
    spec = {
        "ServiceName": name,
        "SourceConfiguration": {
            "ImageRepository": {
                "ImageIdentifier": IMAGE,  # loaded into the nodes by `ecsk kind up`
                "ImageRepositoryType": "ECR_PUBLIC",
                "ImageConfiguration": {"Port": "8080", "RuntimeEnvironmentVariables": {"REVISION": "ar1"}},
            },
            "AutoDeploymentsEnabled": False,
        },
        "InstanceConfiguration": {"Cpu": "0.25 vCPU", "Memory": "0.5 GB"},
        "HealthCheckConfiguration": {"Protocol": "HTTP", "Path": "/health", "Interval": 2},
        "AutoScalingConfiguration": {"MaxConcurrency": 10, "MinSize": 1, "MaxSize": 3},
    }
    return {"apiVersion": CR, "kind": "AppRunnerService", "metadata": {"name": name}, "spec": spec}


def _status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "AppRunnerService")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj.get("status") or {})


def _get(url: str, host: str) -> dict[str, Any] | None:
    req = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # 127.0.0.1 only
            return dict(json.loads(resp.read()))
    except OSError:
        return None


def test_url_serves_from_the_host_and_concurrency_scales_instances(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump(_service("kind-web")))
    st = wait_for(lambda: (s := _status(api, namespace, "kind-web")).get("Status") == "RUNNING" and s, 240,
                  what="RUNNING with a ready instance")  # fmt: skip
    svc = pykube.Service.objects(api, namespace=namespace).get(name="kind-web").obj
    assert svc["spec"]["type"] == "NodePort"
    url = cluster.load_balancer_url(svc["spec"]["ports"][0]["nodePort"])
    answer = wait_for(lambda: _get(url, st["ServiceUrl"]), 90, what=f"{st['ServiceUrl']} answering on {url}")
    assert answer["revision"] == "ar1"  # the service's RuntimeEnvironmentVariables
    assert answer["hostname"].startswith("kind-web-")  # an instance of the service answered

    kubectl(kubeconfig, "-n", namespace, "annotate", "--overwrite", "apprunnerservice", "kind-web",
            "ecs.ecsk.io/concurrent-requests=25")  # fmt: skip
    # ceil(25 / MaxConcurrency 10) = 3 = MaxSize
    wait_for(
        lambda: (
            pykube.Deployment.objects(api, namespace=namespace).get(name="kind-web").obj["spec"]["replicas"]
            == 3
        ),
        180,
        what="3 instances for 25 concurrent requests",
    )
    wait_for(lambda: _status(api, namespace, "kind-web").get("instances") == 3, 180, what="3 ready instances")
    # new instances reach every node's kube-proxy within its sync (seconds, more on a busy host)
    wait_for(
        lambda: len({a["hostname"] for a in (_get(url, st["ServiceUrl"]) for _ in range(15)) if a}) == 3,
        90,
        interval=1,
        what="all three instances answering the URL",
    )


def test_source_deploy_builds_pushes_and_the_nodes_pull_and_serve_it(
    api: pykube.HTTPClient, tmp_path: Path
) -> None:
    endpoint, registry = cluster.api_url(), cluster.registry_address()
    assert endpoint and registry, "ecsk kind up did not record the endpoint's and registry's ports"
    name = f"src-{uuid.uuid4().hex[:6]}"
    revision = f"built-{name}"
    # FROM the test app with a label of its own: a new image ID under a name no node has, so the
    # kubelet must pull it from the registry (see test_ecr_kind.py on preloaded image names).
    (tmp_path / "Dockerfile").write_text(
        f"FROM {IMAGE}\nLABEL ecsk.test.source={name}\nENV REVISION={revision}\n"
    )
    runner, ecr = client("apprunner", endpoint), client("ecr", endpoint)
    arn = ""
    try:
        result = CliRunner().invoke(
            ecsk_app,
            ["apprunner", "deploy", "--source", str(tmp_path), "--name", name,
             "--endpoint", endpoint, "--registry", registry],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        arn = result.output.strip().splitlines()[-1]
        described = wait_for(
            lambda: (s := runner.describe_service(ServiceArn=arn)["Service"])["Status"] == "RUNNING" and s,
            300,
            what=f"{name} RUNNING from its pushed image",
        )
        image = described["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"]
        assert image.endswith(f".dkr.ecr.us-east-1.amazonaws.com/{name}:latest"), image
        pod = next(
            p.obj
            for p in pykube.Pod.objects(api, namespace="default")
            if p.obj["metadata"]["name"].startswith(f"{name}-") and p.obj["status"].get("phase") == "Running"
        )
        pulled = pod["status"]["containerStatuses"][0]["imageID"]
        assert f"/{name}@sha256:" in pulled, pulled  # pulled from the registry, not preloaded
        svc = pykube.Service.objects(api, namespace="default").get(name=name).obj
        url = cluster.load_balancer_url(svc["spec"]["ports"][0]["nodePort"])
        answer = wait_for(lambda: _get(url, described["ServiceUrl"]), 90, what=f"{url} answering")
        assert answer["revision"] == revision  # the ENV of the Dockerfile this test wrote
    finally:
        with contextlib.suppress(Exception):
            runner.delete_service(ServiceArn=arn)
        with contextlib.suppress(Exception):
            ecr.delete_repository(repositoryName=name, force=True)
        listed = subprocess.run(
            ["docker", "image", "ls", "-q", f"{registry}/{name}"], capture_output=True, text=True, check=False
        )
        for image_id in set(listed.stdout.split()):
            subprocess.run(["docker", "rmi", "-f", image_id], capture_output=True, check=False)
