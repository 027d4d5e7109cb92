"""kwok inside the kind cluster: the simulated nodes beside the real ones.

Capacity providers (emulated Auto Scaling groups) and Fargate create Node objects annotated
`kwok.x-k8s.io/node=fake`; on the embedded cluster kwokctl's controller keeps them alive and
plays their pods. Here kwok's own in-cluster install does that (its kustomize manifests at the
pinned version, from the Go module cache, with the fast node/pod stages and the ecsk usage
rules), so real workers run real containers and simulated nodes run simulated pods side by
side. kwok manages only annotated nodes, never the kind workers.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import yaml

from ecsk.cluster.binaries import KWOK_VERSION, Progress
from ecsk.cluster.binaries import ensure as ensure_binaries
from ecsk.cluster.kind import images, steps

IMAGE_REPO = "registry.k8s.io/kwok/kwok"
IMAGE = f"{IMAGE_REPO}:{KWOK_VERSION}"


def image(say: Progress) -> str:
    """kwok's release image where it can be pulled, else the same name built FROM scratch."""
    kwok = lambda: ensure_binaries(say, with_metrics_server=False)["kwok"]  # noqa: E731
    return images.released_or_scratch(IMAGE, kwok, "/usr/local/bin/kwok", say)


# Simulated nodes carry `type: kwok` (ecsk.core.capacity.fleet). kwok's controller must run on a
# real node (on a node it simulates nothing would run it), and kind's own DaemonSets (kindnet,
# kube-proxy; they tolerate every taint) must stay off simulated nodes, or they would take a
# Fargate node's single pod slot, as EKS keeps its DaemonSets off Fargate.
NOT_SIMULATED = {"key": "type", "operator": "NotIn", "values": ["kwok"]}
REAL_NODES_ONLY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [NOT_SIMULATED]}]
        }
    }
}
KIND_DAEMONSETS = ("kindnet", "kube-proxy")
_REAL_NODES_ONLY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "kwok-controller", "namespace": "kube-system"},
    "spec": {"template": {"spec": {"affinity": REAL_NODES_ONLY}}},
}


def overlay(kwok_source: Path, directory: Path) -> str:
    """kwok's kustomize install + fast stages + the usage rules, image pinned to our version."""
    usage = resources.files("ecsk.cluster") / "data" / "kwok-usage.yaml"
    (directory / "kwok-usage.yaml").write_text(usage.read_text())  # files must sit inside the root
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [
            os.path.relpath(kwok_source / "kustomize" / "kwok", directory),
            os.path.relpath(kwok_source / "kustomize" / "stage" / "fast", directory),
            "kwok-usage.yaml",
        ],
        "images": [{"name": IMAGE_REPO, "newTag": KWOK_VERSION}],
        "patches": [{"patch": yaml.safe_dump(_REAL_NODES_ONLY, sort_keys=False)}],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def install(kubectl: Path, kubeconfig: Path, say: Progress) -> None:
    directory = steps.kind_home() / "kwok"
    directory.mkdir(parents=True, exist_ok=True)
    source = steps.module_dir(f"sigs.k8s.io/kwok@{KWOK_VERSION}")
    (directory / "kustomization.yaml").write_text(overlay(source, directory))
    say(f"installing kwok {KWOK_VERSION} in the cluster (simulated Fargate and capacity-provider nodes)")
    kc = [str(kubectl), "--kubeconfig", str(kubeconfig)]
    patch = json.dumps({"spec": {"template": {"spec": {"affinity": REAL_NODES_ONLY}}}})
    for ds in KIND_DAEMONSETS:
        steps.run(
            f"daemonset-{ds}-real-nodes",
            [*kc, "-n", "kube-system", "patch", "daemonset", ds, "-p", patch],
            say,
        )
    # CRDs first: the same apply creates Stage/ClusterResourceUsage objects of those CRDs
    steps.run("kwok-crds", [*kc, "apply", "-k", str(source / "kustomize" / "crd")], say)
    steps.run(
        "kwok-crds-established",
        [*kc, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"],
        say,
    )
    steps.run("kwok-apply", [*kc, "apply", "-k", str(directory)], say)
    steps.rollout("kwok-rollout", kc, "kube-system", "deployment/kwok-controller", say, 180)
