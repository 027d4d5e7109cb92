"""The Copilot workflow with real containers: a Load Balanced Web Service deployed with
`ecsk copilot svc deploy` to an EC2 environment (kind's workers; Fargate nodes are simulated
there), its tasks serving, and `ecsk copilot svc logs` printing the containers' real output
read through the Kubernetes API. The operator runs inside the kind cluster, watching every
namespace; the environment's namespace is `ct-<random app>-kind`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from kindtest import IMAGE
from typer.testing import CliRunner

from ecsk.cli.main import app as ecsk_app

pytestmark = pytest.mark.kind

PREFIX = "ct-"
MANIFEST = f"""\
name: web
type: Load Balanced Web Service

http:
  path: '/'
image:
  location: {IMAGE}
  port: 8080

cpu: 256
memory: 512
count: 2
variables:
  CONTAINER_NAME: web
"""


@pytest.fixture
def workspace(api: pykube.HTTPClient, kubeconfig: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    app = f"k{uuid.uuid4().hex[:6]}"
    runner = CliRunner(env={"KUBECONFIG": kubeconfig, "ECSK_COPILOT_NAMESPACE_PREFIX": PREFIX})

    def cli(*args: str) -> Any:
        return runner.invoke(ecsk_app, ["copilot", *args, "--dir", str(tmp_path)])

    try:
        yield {"app": app, "ns": f"{PREFIX}{app}-kind", "cli": cli, "root": tmp_path}
    finally:
        for ns in pykube.Namespace.objects(api):
            if ns.name.startswith(f"{PREFIX}{app}-"):
                ns.delete()


def test_copilot_service_serves_and_its_logs_are_real(
    api: pykube.HTTPClient, workspace: dict[str, Any]
) -> None:
    cli, ns, root = workspace["cli"], workspace["ns"], workspace["root"]
    assert cli("app", "init", workspace["app"]).exit_code == 0
    made = cli("env", "init", "--name", "kind", "--launch-type", "EC2")
    assert made.exit_code == 0, made.output
    (root / "copilot" / "web").mkdir(parents=True)
    (root / "copilot" / "web" / "manifest.yml").write_text(MANIFEST)

    done = cli("svc", "deploy", "--name", "web", "--env", "kind", "--wait", "240")
    assert done.exit_code == 0, done.output
    assert "web in kind: COMPLETED: 2/2 tasks running" in done.output

    pods = list(pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": "web"}))
    assert len(pods) == 2
    for pod in pods:  # real workers, not kwok's simulated nodes
        node = pykube.Node.objects(api).get(name=pod.obj["spec"]["nodeName"])
        assert not node.annotations.get("kwok.x-k8s.io/node")

    logs = cli("svc", "logs", "--name", "web", "--env", "kind")
    assert logs.exit_code == 0, logs.output
    lines = [line for line in logs.output.splitlines() if "ecsk-testapp web listening on :8080" in line]
    assert len(lines) == 2  # one per task, each from its own stream
    assert all(line.startswith(f"/copilot/{workspace['app']}-kind-web copilot/web/") for line in lines)

    status = cli("svc", "status", "--name", "web", "--env", "kind")
    assert status.exit_code == 0 and "running: 2" in status.output, status.output

    gone = cli("env", "delete", "--name", "kind")
    assert gone.exit_code == 0 and f"deleted namespace {ns}" in gone.output, gone.output
