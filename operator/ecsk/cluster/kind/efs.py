"""EFS on kind: a provisioner registered as `efs.csi.aws.com` whose volumes are one directory
every node mounts, so tasks in any zone read what a task in another zone wrote.

The operator renders an efsVolumeConfiguration as a ReadWriteMany claim on an `efs.csi.aws.com`
StorageClass. On AWS the EFS CSI driver mounts an NFS file system there. Our machines' kernel
has neither an NFS client nor an NFS server, so no NFS-based driver (csi-driver-nfs and the like)
can mount anything; what the kind nodes (containers on one host) can really share is a host
directory. `ecsk kind up` mounts `$ECSK_HOME/kind/.../efs` at `SHARED_PATH` in every node, and
runs a second instance of the local-path provisioner kind already ships (same image, no new
build) under the provisioner name `efs.csi.aws.com`, in its shared-file-system mode: volumes
are directories of that mount, ReadWriteMany, bound at once (no node), with no node affinity.
It is a provisioner, not a CSI driver: EFS access points, IAM authorization and encryption in
transit have no meaning here (the directory is plain).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ecsk.cluster.binaries import Progress
from ecsk.cluster.kind import steps

PROVISIONER = "efs.csi.aws.com"
SHARED_PATH = "/var/lib/ecsk-efs"
NAMESPACE = "local-path-storage"  # kind's own provisioner's namespace, account and RBAC
KIND_PROVISIONER = "local-path-provisioner"
KIND_CONFIG = "local-path-config"
NAME = "ecsk-efs-provisioner"
CONFIG = "ecsk-efs-config"


def mount(host_dir: Path) -> dict[str, str]:
    """The kind `extraMounts` entry every node gets."""
    return {"hostPath": str(host_dir), "containerPath": SHARED_PATH}


def manifests(kind_deployment: dict[str, Any], kind_config: dict[str, Any]) -> list[dict[str, Any]]:
    """A ConfigMap and a Deployment beside kind's local-path provisioner, from its own objects
    (image, helper image, helper pod and scripts, placement), so whatever node image made the
    cluster (kind's or ours) supplies the images already loaded on every node."""
    pod = kind_deployment["spec"]["template"]["spec"]
    (kind_container,) = pod["containers"]
    command = list(kind_container["command"])
    helper = command[command.index("--helper-image") + 1]
    data = {k: v for k, v in kind_config["data"].items() if k != "config.json"}
    data["config.json"] = json.dumps({"sharedFileSystemPath": SHARED_PATH}, indent=2)
    labels = {"app": NAME}
    container = {
        "name": "provisioner",
        "image": kind_container["image"],
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "local-path-provisioner",
            "start",
            "--provisioner-name",
            PROVISIONER,
            "--configmap-name",
            CONFIG,
            "--helper-image",
            helper,
            "--config",
            "/etc/config/config.json",
        ],
        "env": [
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "CONFIG_MOUNT_PATH", "value": "/etc/config/"},
        ],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/config/"}],
    }
    spec = {
        "serviceAccountName": pod["serviceAccountName"],
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": CONFIG}}],
    }
    for key in ("tolerations", "nodeSelector"):
        if pod.get(key):
            spec[key] = pod[key]
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG, "namespace": NAMESPACE},
            "data": data,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": spec},
            },
        },
    ]


def install(kubectl: Path, kubeconfig: Path, say: Progress) -> None:
    say(f"installing the {PROVISIONER} provisioner (a directory shared by every node, {SHARED_PATH})")
    kc = [str(kubectl), "--kubeconfig", str(kubeconfig), "-n", NAMESPACE]
    get = lambda kind, name: json.loads(  # noqa: E731
        steps.run(f"efs-read-{kind}", [*kc, "get", kind, name, "-o", "json"], say)
    )
    docs = manifests(get("deployment", KIND_PROVISIONER), get("configmap", KIND_CONFIG))
    text = yaml.safe_dump_all(docs, sort_keys=False)
    steps.run("efs-apply", [*kc, "apply", "-f", "-"], say, stdin=text.encode())
    steps.rollout("efs-rollout", kc, None, f"deployment/{NAME}", say, 120)
