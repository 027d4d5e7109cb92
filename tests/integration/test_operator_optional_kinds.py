"""A service whose translation includes a kind the cluster does not serve (TargetGroupBinding
without the AWS Load Balancer Controller): the tasks still run and the service says why.

Deletes the TargetGroupBinding CRD for the duration of the test and restores it afterwards if it
was there, so it runs its own operator (a fresh API discovery) in its own namespace.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import OperatorProcess, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "tests" / "fixtures" / "crds" / "targetgroupbinding.yaml"
CRD_NAME = "targetgroupbindings.elbv2.k8s.aws"
CR = "ecs.ecsk.io/v1alpha1"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/0123456789abcdef"


@pytest.fixture
def without_tgb_crd(kubeconfig: str) -> Iterator[None]:
    had = kubectl(kubeconfig, "get", "crd", CRD_NAME, check=False).returncode == 0
    kubectl(kubeconfig, "delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true")
    try:
        yield
    finally:
        if had:
            kubectl(kubeconfig, "apply", "--server-side", "-f", str(CRD))


def test_service_runs_without_an_unserved_integration_kind_and_says_why(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str, without_tgb_crd: None, tmp_path: Path
) -> None:
    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "crds"))
    op = OperatorProcess(kubeconfig, namespace, tmp_path / "operator.log")
    op.start()
    try:
        family = f"lb-{uuid.uuid4().hex[:6]}"
        docs = [
            {
                "apiVersion": CR,
                "kind": "TaskDefinition",
                "metadata": {"name": family},
                "spec": {
                    "family": family,
                    "networkMode": "awsvpc",
                    "containerDefinitions": [
                        {
                            "name": "app",
                            "image": "nginx",
                            "memory": 64,
                            "portMappings": [{"containerPort": 80}],
                        }
                    ],
                },
            },
            {
                "apiVersion": CR,
                "kind": "ECSService",
                "metadata": {"name": "web"},
                "spec": {
                    "serviceName": "web",
                    "taskDefinition": family,
                    "desiredCount": 2,
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"]}},
                    "loadBalancers": [{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}],
                },
            },
        ]
        kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
        cls = pykube.object_factory(api, CR, "ECSService")

        def status() -> dict[str, object]:
            return dict(cls.objects(api, namespace=namespace).get(name="web").obj.get("status") or {})

        try:
            wait_for(lambda: status().get("runningCount") == 2, 60, what="2 tasks running without the CRD")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; service status: {status()}") from exc
        messages = [e["message"] for e in status().get("events") or []]  # type: ignore[union-attr]
        assert any("TargetGroupBinding" in m and "does not serve it" in m for m in messages), messages
        events = json.loads(kubectl(kubeconfig, "-n", namespace, "get", "events", "-o", "json").stdout)[
            "items"
        ]
        assert any(e.get("reason") == "KindNotServed" for e in events)
    finally:
        op.stop()
