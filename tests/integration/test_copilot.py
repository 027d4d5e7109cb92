"""The Copilot workflow on a live cluster: app and environment init, a Load Balanced Web Service
from Copilot's documentation deployed unchanged (its count range makes a ScalableTarget and
target-tracking policies), status with running tasks, a Scheduled Job as a ScheduledTask, logs,
and deletes that remove exactly what the workflow made.

The environment namespace is `ct-<random app>-test` (`ECSK_COPILOT_NAMESPACE_PREFIX=ct-`), with
its own operator process watching only it (the `operator_ns` pattern), so runs never collide.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for
from typer.testing import CliRunner

from ecsk.cli.main import app as ecsk_app
from ecsk.core.capacity.fargate import ORIGIN_LABEL, POD_ANNOTATION

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "copilot"
CR = "ecs.ecsk.io/v1alpha1"
PREFIX = "ct-"
JOB_MANIFEST = """\
# Copilot's Scheduled Job sample (docs/manifest/scheduled-job), with an image instead of a
# Dockerfile and without the fields ecsk does not map (retries, timeout, env_file, secrets).
name: report-generator
type: Scheduled Job

on:
  schedule: "@every 5m"
cpu: 256
memory: 512

image:
  location: public.ecr.aws/docker/library/busybox:1.36

variables:
  LOG_LEVEL: info

environments:
  prod:
    cpu: 2048
    memory: 4096
"""


@pytest.fixture(scope="module")
def copilot_env(
    api: pykube.HTTPClient, kubeconfig: str, crds_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A workspace, `app init` + `env init`, and an operator for the environment's namespace."""
    app = f"c{uuid.uuid4().hex[:6]}"
    ns = f"{PREFIX}{app}-test"
    root = tmp_path_factory.mktemp("workspace")
    runner = CliRunner(env={"KUBECONFIG": kubeconfig, "ECSK_COPILOT_NAMESPACE_PREFIX": PREFIX})

    def cli(*args: str) -> Any:
        return runner.invoke(ecsk_app, ["copilot", *args, "--dir", str(root)])

    done = cli("app", "init", app)
    assert done.exit_code == 0, done.output
    done = cli("env", "init", "--name", "test")
    assert done.exit_code == 0, done.output
    assert f"created namespace {ns}" in done.output
    op = OperatorProcess(kubeconfig, ns, tmp_path_factory.mktemp("operator") / "operator.log")
    op.start()
    try:
        yield {"app": app, "ns": ns, "root": root, "cli": cli}
    finally:
        op.stop()
        for leftover in pykube.Namespace.objects(api):  # every environment of this run's app
            if leftover.name.startswith(f"{PREFIX}{app}-"):
                leftover.delete()
        for node in pykube.Node.objects(api).filter(selector={ORIGIN_LABEL: "fargate"}):
            if (node.annotations.get(POD_ANNOTATION) or "").startswith(f"{PREFIX}{app}-"):
                node.delete()


def custom(api: pykube.HTTPClient, ns: str, kind: str, name: str) -> dict[str, Any] | None:
    found = pykube.object_factory(api, CR, kind).objects(api, namespace=ns).get_or_none(name=name)
    return dict(found.obj) if found else None


def labelled(api: pykube.HTTPClient, ns: str, kind: str, svc: str, version: str = CR) -> list[str]:
    cls = pykube.object_factory(api, version, kind)
    sel = {"ecs.ecsk.io/copilot-service": svc}
    return sorted(o.name for o in cls.objects(api, namespace=ns).filter(selector=sel))


def test_documented_lbws_deploys_unchanged_and_scales(
    api: pykube.HTTPClient, copilot_env: dict[str, Any]
) -> None:
    ns, cli, root = copilot_env["ns"], copilot_env["cli"], copilot_env["root"]
    (root / "copilot" / "frontend").mkdir(parents=True)
    shutil.copy(FIXTURES / "lbws-autoscaling.yml", root / "copilot" / "frontend" / "manifest.yml")

    done = cli("svc", "deploy", "--name", "frontend", "--env", "test", "--wait", "180")
    assert done.exit_code == 0, done.output
    assert "warning: http.path: not supported by ecsk" in done.output  # named, not dropped
    assert "frontend in test: COMPLETED: 1/1 tasks running" in done.output

    svc = custom(api, ns, "ECSService", "frontend")
    assert svc is not None and svc["spec"]["cluster"] == f"{copilot_env['app']}-test"
    target = custom(api, ns, "ScalableTarget", "frontend")
    assert target is not None and (target["spec"]["MinCapacity"], target["spec"]["MaxCapacity"]) == (1, 10)
    assert labelled(api, ns, "ScalingPolicy", "frontend") == [
        "frontend-cpu",
        "frontend-requests",
        "frontend-response-time",
    ]
    # the operator renders the service onto Kubernetes: a Deployment with one running pod on Fargate
    deployment = wait_for(
        lambda: pykube.Deployment.objects(api, namespace=ns).get_or_none(name="frontend"), what="Deployment"
    )
    assert deployment.obj["spec"]["replicas"] == 1

    status = cli("svc", "status", "--name", "frontend", "--env", "test")
    assert status.exit_code == 0, status.output
    assert "running: 1" in status.output and "autoscaling: 1-10" in status.output
    assert "RUNNING" in status.output and "PRIMARY" in status.output

    logs = cli("svc", "logs", "--name", "frontend", "--env", "test")
    pod = next(
        iter(pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": "frontend"}))
    )
    node = pykube.Node.objects(api).get(name=pod.obj["spec"]["nodeName"])
    if node.annotations.get("kwok.x-k8s.io/node"):  # the embedded cluster: say so, never an empty log
        assert logs.exit_code == 1 and "simulated node" in logs.output
    else:
        assert logs.exit_code == 0, logs.output

    ls = cli("svc", "ls")
    assert ls.exit_code == 0 and "frontend" in ls.output and "test" in ls.output


def test_scheduled_job_becomes_a_scheduled_task(api: pykube.HTTPClient, copilot_env: dict[str, Any]) -> None:
    ns, cli, root = copilot_env["ns"], copilot_env["cli"], copilot_env["root"]
    (root / "copilot" / "report-generator").mkdir(parents=True)
    (root / "copilot" / "report-generator" / "manifest.yml").write_text(JOB_MANIFEST)
    done = cli("svc", "deploy", "--name", "report-generator", "--env", "test", "--wait", "60")
    assert done.exit_code == 0, done.output
    st = custom(api, ns, "ScheduledTask", "report-generator")
    assert st is not None and st["spec"]["scheduleExpression"] == "rate(5 minutes)"
    job = wait_for(
        lambda: pykube.CronJob.objects(api, namespace=ns).get_or_none(name="report-generator"), what="CronJob"
    )
    assert job.obj["spec"]["schedule"] == "*/5 * * * *"
    status = cli("svc", "status", "--name", "report-generator", "--env", "test")
    assert status.exit_code == 0 and "schedule: rate(5 minutes)" in status.output


def _docker() -> bool:
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    )


def test_a_dockerfile_is_built_pushed_to_the_environments_ecr_and_deployed(
    api: pykube.HTTPClient, copilot_env: dict[str, Any]
) -> None:
    """`image.build`: Docker builds, the push goes through ECR's front door into the
    environment's repository `<app>/api`, the operator's pull check finds the tag, the service
    rolls out; a build that fails changes nothing."""
    if not _docker():
        pytest.skip("Docker is not available here (`ecsk kind host-prep` starts it)")
    ns, cli, root, app = copilot_env["ns"], copilot_env["cli"], copilot_env["root"], copilot_env["app"]
    (root / "api").mkdir()
    (root / "api" / "Dockerfile").write_text(
        'FROM scratch\nCOPY page.txt /page.txt\nCMD ["/serve"]\nEXPOSE 8080\n'
    )
    (root / "api" / "page.txt").write_text("v1")
    made = cli(
        "svc", "init", "--name", "api", "--svc-type", "Backend Service", "--dockerfile", "api/Dockerfile"
    )
    assert made.exit_code == 0, made.output
    try:
        done = cli("svc", "deploy", "--name", "api", "--env", "test", "--tag", "v1", "--wait", "180")
        assert done.exit_code == 0, done.output
        image = f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{app}/api:v1"
        assert f"image {image}" in done.output
        assert "api in test: COMPLETED: 1/1 tasks running" in done.output
        td = custom(api, ns, "TaskDefinition", "api")
        assert td is not None and td["spec"]["containerDefinitions"][0]["image"] == image
        assert labelled(api, ns, "Repository", "api") != []  # the environment's repository, labelled
        repo = next(r for r in pykube.object_factory(api, CR, "Repository").objects(api, namespace=ns))
        assert any("v1" in (i.get("imageTags") or []) for i in repo.obj["status"]["images"])

        (root / "api" / "Dockerfile").write_text("FROM scratch\nRUN /bin/false\n")  # cannot build
        broken = cli("svc", "deploy", "--name", "api", "--env", "test", "--tag", "v2", "--wait", "0")
        assert broken.exit_code == 1 and "docker build failed" in broken.output, broken.output
        assert "Nothing was deployed" in broken.output
        td = custom(api, ns, "TaskDefinition", "api")
        assert td is not None and td["spec"]["containerDefinitions"][0]["image"] == image  # untouched

        gone = cli("svc", "delete", "--name", "api", "--env", "test")
        assert gone.exit_code == 0 and f"deleted Repository {app}/api and its images" in gone.output, (
            gone.output
        )
        assert labelled(api, ns, "Repository", "api") == []
    finally:
        listed = subprocess.run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        ours = [i for i in listed.stdout.split() if f"/{app}/api:" in i]
        if ours:
            subprocess.run(["docker", "rmi", *ours], capture_output=True, check=False)


def test_invalid_manifest_is_refused_and_nothing_is_applied(
    api: pykube.HTTPClient, copilot_env: dict[str, Any]
) -> None:
    ns, cli, root = copilot_env["ns"], copilot_env["cli"], copilot_env["root"]
    (root / "copilot" / "bad").mkdir(parents=True)
    (root / "copilot" / "bad" / "manifest.yml").write_text(
        "name: bad\ntype: Load Balanced Web Service\nimage: {location: nginx, port: 80}\n"
        "cpu: 256\nmemory: 4096\n"
    )
    done = cli("svc", "deploy", "--name", "bad", "--env", "test", "--wait", "0")
    assert done.exit_code == 1
    assert "cpu: Invalid 'cpu' setting for task" in done.output
    assert labelled(api, ns, "TaskDefinition", "bad") == []


def test_delete_removes_exactly_the_workflows_objects(
    api: pykube.HTTPClient, kubeconfig: str, copilot_env: dict[str, Any]
) -> None:
    ns, cli = copilot_env["ns"], copilot_env["cli"]
    bystander = {
        "apiVersion": CR,
        "kind": "TaskDefinition",
        "metadata": {"name": "bystander"},
        "spec": {
            "family": "bystander",
            "containerDefinitions": [{"name": "m", "image": "busybox", "memory": 32}],
        },
    }
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=json.dumps(bystander))

    prod = cli("env", "init", "--name", "prod")  # an environment with nothing else in it
    assert prod.exit_code == 0, prod.output
    prod_ns = f"{PREFIX}{copilot_env['app']}-prod"
    gone = cli("env", "delete", "--name", "prod")
    assert gone.exit_code == 0 and f"deleted namespace {prod_ns}" in gone.output, gone.output

    done = cli("svc", "delete", "--name", "frontend", "--env", "test")
    assert done.exit_code == 0, done.output
    for kind in ("ECSService", "TaskDefinition", "ScalableTarget", "ScalingPolicy"):
        assert labelled(api, ns, kind, "frontend") == [], kind
    wait_for(
        lambda: pykube.Deployment.objects(api, namespace=ns).get_or_none(name="frontend") is None,
        what="the service's Deployment to be garbage-collected",
    )
    assert custom(api, ns, "ScheduledTask", "report-generator") is not None  # another workload stays
    assert custom(api, ns, "TaskDefinition", "bystander") is not None  # not the workflow's: stays

    done = cli("env", "delete", "--name", "test")
    assert done.exit_code == 0, done.output
    assert custom(api, ns, "ScheduledTask", "report-generator") is None
    assert custom(api, ns, "ECSCluster", f"{copilot_env['app']}-test") is None
    # the namespace env init made holds something else: it is kept, and so is that object
    assert (
        f"kept namespace {ns}: it holds objects the workflow did not create (TaskDefinition/bystander)"
        in done.output
    )
    assert custom(api, ns, "TaskDefinition", "bystander") is not None
    done = cli("app", "delete")
    assert done.exit_code == 0, done.output
    assert not (copilot_env["root"] / "copilot" / ".workspace").exists()
    assert (copilot_env["root"] / "copilot" / "frontend" / "manifest.yml").exists()  # manifests stay
