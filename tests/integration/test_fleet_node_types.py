"""EKS node types side by side from one fleet file: a managed node group, a self-managed group
and a Fargate profile, all visible in `kubectl get nodes`.

Runs a private local cluster (its own ECSK_HOME, sharing only the cached binaries), so the
shared cluster's fleet is never changed; the operator runs cluster-wide there, which is safe
because nothing else uses that cluster. Skipped where the embedded cluster's binaries are not
built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kubectl import kubectl
from kubetest import ecsk_in

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "fleet-eks-node-types.yaml"


def _nodes(kubeconfig: str) -> list[dict[str, Any]]:
    return list(json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json").stdout)["items"])


def _labels(node: dict[str, Any]) -> dict[str, str]:
    return dict(node["metadata"].get("labels") or {})


def test_managed_self_managed_and_fargate_nodes_from_one_fleet_file(private_home: Path) -> None:
    up = ecsk_in(private_home, "cluster", "up", "--fleet", str(SAMPLE), "--no-metrics-server")
    assert up.returncode == 0, up.stderr
    kubeconfig = str(private_home / "kubeconfig")
    nodes = _nodes(kubeconfig)
    managed = [n for n in nodes if _labels(n).get("eks.amazonaws.com/nodegroup") == "ng-managed"]
    assert len(managed) == 3
    for node in managed:
        labels = _labels(node)
        assert labels["eks.amazonaws.com/capacityType"] == "ON_DEMAND"
        assert labels["eks.amazonaws.com/nodegroup-image"].startswith("ami-")
    (self_managed,) = [
        n for n in nodes if _labels(n).get("alpha.eksctl.io/nodegroup-name") == "ng-self-managed-spot"
    ]
    labels = _labels(self_managed)
    assert not [k for k in labels if k.startswith("eks.amazonaws.com/")]
    assert labels["alpha.eksctl.io/cluster-name"] == "ecsk"
    assert labels["node-lifecycle"] == "spot"
    profiles = kubectl(kubeconfig, "get", "fargateprofiles.ecs.ecsk.io", "-A", "-o", "name").stdout.split()
    assert profiles == ["fargateprofile.ecs.ecsk.io/fp-serverless"]

    # The operator (cluster-wide: this cluster is ours alone) gives the profile's pod its node.
    kubectl(kubeconfig, "apply", "--server-side", "-k", str(REPO / "crds"))
    env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(REPO / "operator"))
    operator = subprocess.Popen(
        [sys.executable, "-m", "ecsk.cli.main", "operator"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        kubectl(kubeconfig, "create", "namespace", "serverless")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "serverless", "labels": {"app": "web"}},
            "spec": {
                "schedulerName": "fargate-scheduler",
                "containers": [{"name": "app", "image": "nginx"}],
            },
        }
        kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(pod))
        deadline = time.monotonic() + 90
        fargate: list[dict[str, Any]] = []
        while not fargate and time.monotonic() < deadline:
            time.sleep(1)
            fargate = [
                n for n in _nodes(kubeconfig) if _labels(n).get("eks.amazonaws.com/compute-type") == "fargate"
            ]
        assert fargate, "no Fargate node for the profile's pod"
        assert _labels(fargate[0])["eks.amazonaws.com/fargate-profile"] == "fp-serverless"
        listed = kubectl(kubeconfig, "get", "nodes", "-L", "eks.amazonaws.com/compute-type").stdout
        assert listed.count("fargate-ip-") == 1 and "ip-10-0-0-4" in listed
    finally:
        operator.terminate()
        operator.wait(15)

    # A profile removed from the fleet file is removed from the cluster on the next `up`.
    again = ecsk_in(private_home, "cluster", "up", "--no-metrics-server")
    assert again.returncode == 0, again.stderr
    assert "removing Fargate profile default/fp-serverless" in again.stderr
    assert not kubectl(kubeconfig, "get", "fargateprofiles.ecs.ecsk.io", "-A", "-o", "name").stdout.split()
