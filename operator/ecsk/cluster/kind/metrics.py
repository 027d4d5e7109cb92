"""metrics-server inside the kind cluster: resource metrics for Service Auto Scaling.

The embedded cluster's metrics-server manifest (RBAC, Service, APIService; kwokctl runs the
binary as a process there) plus a Deployment running the same pinned binary as a pod, with the
flags the embedded cluster uses (InternalIP, the node's own kubelet port, insecure kubelet TLS,
10 s resolution). It scrapes the real kubelets of the kind workers and kwok's kubelet-style
endpoints of the simulated nodes alike.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import yaml

from ecsk.cluster.binaries import METRICS_SERVER_VERSION, Progress
from ecsk.cluster.binaries import ensure as ensure_binaries
from ecsk.cluster.kind import images, steps
from ecsk.cluster.kind.kwok import REAL_NODES_ONLY

IMAGE = f"registry.k8s.io/metrics-server/metrics-server:{METRICS_SERVER_VERSION}"
ARGS = [
    "--cert-dir=/tmp",
    "--secure-port=10250",
    "--kubelet-preferred-address-types=InternalIP",
    "--kubelet-use-node-status-port",
    "--kubelet-insecure-tls",
    "--metric-resolution=10s",
    "--kubelet-request-timeout=5s",
]


def image(say: Progress) -> str:
    """The release image where it can be pulled, else the same name built FROM scratch."""
    binary = lambda: ensure_binaries(say, with_metrics_server=True)["metrics-server"]  # noqa: E731
    return images.released_or_scratch(IMAGE, binary, "/metrics-server", say, user="65534:65534")


def deployment() -> dict[str, object]:
    labels = {"k8s-app": "metrics-server"}
    container = {
        "name": "metrics-server",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ARGS,
        "ports": [{"name": "https", "containerPort": 10250, "protocol": "TCP"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "metrics-server", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "metrics-server",
                    "priorityClassName": "system-cluster-critical",
                    "affinity": REAL_NODES_ONLY,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def overlay(directory: Path) -> str:
    """The embedded cluster's manifest (by relative path) plus the Deployment."""
    manifest = Path(str(resources.files("ecsk.cluster") / "data" / "metrics-server"))
    (directory / "deployment.yaml").write_text(yaml.safe_dump(deployment(), sort_keys=False))
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(manifest, directory), "deployment.yaml"],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def install(kubectl: Path, kubeconfig: Path, say: Progress) -> None:
    directory = steps.kind_home() / "metrics-server"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(overlay(directory))
    say(f"installing metrics-server {METRICS_SERVER_VERSION} in the cluster")
    kc = [str(kubectl), "--kubeconfig", str(kubeconfig)]
    steps.run("metrics-server-apply", [*kc, "apply", "-k", str(directory)], say)
    steps.rollout("metrics-server-rollout", kc, "kube-system", "deployment/metrics-server", say, 180)
