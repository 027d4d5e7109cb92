"""ECR on kind: the image registry in the cluster, and every node's containerd pulling ECR image
URIs (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `@sha256:...`) from it.

The registry is the embedded cluster's (`ecsk.cluster.registry`: CNCF Distribution built from its
Go module), here as a container of the AWS API endpoint's pod (`manifests/api.yaml`), so the
endpoint's ECR front door (`ecsk.api.ecr.gate`) and its ECR API read the same storage as on the
embedded cluster, and Distribution listens on the pod's loopback only: nothing reaches it but
through the front door. Two doors:

- pushes (and logged-in pulls): the endpoint's `--registry-port`, a NodePort published on
  127.0.0.1:$ECSK_KIND_REGISTRY_PORT of the host, after `aws ecr get-login-password | docker
  login` as on the embedded cluster;
- the nodes' pulls: `--registry-pull-port`, behind the Service `ecsk-registry` at a fixed
  ClusterIP that each node's containerd is told about in
  `/etc/containerd/certs.d/<registry host>/hosts.toml` (kind's documented way to point a
  registry name elsewhere). It serves GET/HEAD only, as the task execution role (what ECS's
  agent pulls with), so repository policies apply to task pulls and no imagePullSecret is needed.

Storage is a host directory under the cluster's work directory, mounted in every node: the API
pod may run on any worker, a restart or a new pod finds every image, and `ecsk kind down` keeps it
(as `ecsk cluster down` keeps the embedded registry's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ecsk.cluster import binaries
from ecsk.cluster import registry as distribution
from ecsk.cluster.binaries import Progress
from ecsk.cluster.kind import images, steps
from ecsk.core.ecr.names import registry_host

IMAGE_REPO = "ecsk-kind/registry"
STORAGE_IN_NODE = "/var/lib/ecsk-registry"
"""The host directory's place in every node and in the API pod (hostPath)."""
CERTS_IN_NODE = "/etc/containerd/certs.d"
BACKEND_PORT = 5000
"""Distribution, on the pod's loopback (the front doors' backend)."""
PUSH_PORT = 4598
"""The front door in the pod (the embedded cluster's port); Service `ecsk-api` port `registry`."""
PULL_PORT = 4596
"""The nodes' pull-only door in the pod."""
PULL_SERVICE = "ecsk-registry"
PULL_CLUSTER_IP = "10.96.0.20"
"""Fixed, so containerd's hosts.toml (written before the cluster exists) can name it: in kind's
default service subnet 10.96.0.0/16, in its lower band the API server never hands out on its own
(10.96.0.10 is the DNS service's, fixed the same way)."""
PULL_SERVICE_PORT = 5000
UID = 10001
"""The endpoint image's user (manifests/api.yaml); Distribution runs as it too, so both write the
storage directory, which `up` hands to that uid on the host."""
CONFIG_SECRET = "ecsk-registry-config"
STORAGE_CLAIM = "ecsk-registry"
STORAGE_SIZE = "20Gi"
"""A hostPath volume's size is not enforced; the claim must state one."""
CONFIG_PATH_PATCH = f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_IN_NODE}"\n'
"""kind's local-registry recipe: containerd reads per-registry hosts.toml files from there."""
NAMESPACE = "ecsk-system"
_APP = "app.kubernetes.io/name"


def pull_server() -> str:
    return f"http://{PULL_CLUSTER_IP}:{PULL_SERVICE_PORT}"


def hosts_toml(server: str) -> str:
    """containerd's host configuration for one registry name: every request for it goes to
    `server` over plain HTTP (the scheme says so), pulls and resolution only."""
    return f'server = "{server}"\n\n[host."{server}"]\n  capabilities = ["pull", "resolve"]\n'


def write_hosts(directory: Path, account: str, region: str) -> Path:
    """`<directory>/<registry host>/hosts.toml`, the directory every node mounts at CERTS_IN_NODE;
    returns the file written."""
    path = directory / registry_host(account, region) / "hosts.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(hosts_toml(pull_server()))
    return path


def node_mounts(storage: Path, certs: Path) -> list[dict[str, Any]]:
    """The kind `extraMounts` every node gets: the registry's storage and containerd's hosts
    directory (read only: the file is written on the host)."""
    return [
        {"hostPath": str(storage), "containerPath": STORAGE_IN_NODE},
        {"hostPath": str(certs), "containerPath": CERTS_IN_NODE, "readOnly": True},
    ]


def prepare_storage(storage: Path) -> None:
    """The storage directory, owned by the pod's uid (a hostPath is not given an fsGroup)."""
    (storage / "data").mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for path in (storage, storage / "data"):
            os.chown(path, UID, UID)


def image(say: Progress) -> str:
    """Distribution FROM scratch, tagged by its version and this recipe (no public image is
    pulled: the binary is the embedded cluster's build)."""
    tag = f"{IMAGE_REPO}:{distribution.VERSION}-{steps.key(distribution.BUILD.binaries, 'scratch', UID)}"
    if steps.image_exists(tag):
        return tag
    binaries.build(distribution.BUILD, say, steps.log_dir())
    say(f"building {tag} (Distribution {distribution.VERSION} FROM scratch)")
    return images.scratch_image(tag, distribution.BUILD.cached("registry"), "/registry", say, str(UID))


def registry_config(secret: str) -> str:
    """Distribution's configuration in the pod: the embedded cluster's, on the pod's loopback."""
    cfg = distribution.config(Path(STORAGE_IN_NODE) / "data", BACKEND_PORT, secret)
    return yaml.safe_dump(cfg, sort_keys=False)


_HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _env(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs.items()]


def api_deployment_patch(registry_image: str) -> dict[str, Any]:
    """Strategic merge patch of the endpoint's Deployment: Distribution beside it, the endpoint
    pointed at it with both doors open, the storage and configuration mounted."""
    storage = {"name": "ecr-storage", "mountPath": STORAGE_IN_NODE}
    api = {
        "name": "api",
        "env": _env(
            {
                "ECSK_REGISTRY_URL": f"http://127.0.0.1:{BACKEND_PORT}",
                "ECSK_REGISTRY_STORAGE": f"{STORAGE_IN_NODE}/data",
                "ECSK_REGISTRY_PORT": str(PUSH_PORT),
                "ECSK_REGISTRY_PULL_PORT": str(PULL_PORT),
            }
        ),
        "ports": [
            {"name": "registry", "containerPort": PUSH_PORT, "protocol": "TCP"},
            {"name": "registry-pull", "containerPort": PULL_PORT, "protocol": "TCP"},
        ],
        "volumeMounts": [storage],
    }
    registry = {
        "name": "registry",
        "image": registry_image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["serve", "/etc/distribution/config.yml"],
        # no tracing exporter: Distribution v3 would otherwise try to reach an OTLP collector
        "env": _env({"OTEL_TRACES_EXPORTER": "none"}),
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": _HARDENED,
        "volumeMounts": [storage, {"name": "ecr-config", "mountPath": "/etc/distribution", "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ecsk-api", "namespace": NAMESPACE},
        "spec": {
            "template": {
                "spec": {
                    "containers": [api, registry],
                    "volumes": [
                        {"name": "ecr-storage", "persistentVolumeClaim": {"claimName": STORAGE_CLAIM}},
                        {"name": "ecr-config", "secret": {"secretName": CONFIG_SECRET}},
                    ],
                }
            }
        },
    }


def push_service_port(node_port: int) -> dict[str, Any]:
    """The front door's entry in the endpoint's Service (a NodePort published on the host)."""
    return {
        "name": "registry",
        "port": PUSH_PORT,
        "protocol": "TCP",
        "targetPort": "registry",
        "nodePort": node_port,
    }


def pull_service() -> dict[str, Any]:
    """The nodes' door, at the ClusterIP containerd's hosts.toml names."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": PULL_SERVICE,
            "namespace": NAMESPACE,
            "labels": {_APP: "ecsk-api"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": PULL_CLUSTER_IP,
            "selector": {_APP: "ecsk-api"},
            "ports": [
                {"name": "pull", "port": PULL_SERVICE_PORT, "targetPort": "registry-pull", "protocol": "TCP"}
            ],
        },
    }


def storage_volume() -> list[dict[str, Any]]:
    """The storage as a PersistentVolume (the node directory every node mounts) and its claim.

    Not a hostPath volume in the pod: `ecsk-system` enforces the `restricted` Pod Security
    Standard, which refuses hostPath volumes in pods but not claims; the PV is the cluster
    administrator's object, as a real cluster's storage would be. Pre-bound by name
    (`volumeName`, no StorageClass), so no provisioner is involved and the data is the host's."""
    access = ["ReadWriteMany"]  # the same directory on every node: any worker may run the pod
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": STORAGE_CLAIM, "labels": {_APP: "ecsk-api"}},
            "spec": {
                "capacity": {"storage": STORAGE_SIZE},
                "accessModes": access,
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "hostPath": {"path": STORAGE_IN_NODE, "type": "Directory"},
                "claimRef": {"namespace": NAMESPACE, "name": STORAGE_CLAIM},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": STORAGE_CLAIM, "namespace": NAMESPACE, "labels": {_APP: "ecsk-api"}},
            "spec": {
                "accessModes": access,
                "storageClassName": "",
                "volumeName": STORAGE_CLAIM,
                "resources": {"requests": {"storage": STORAGE_SIZE}},
            },
        },
    ]


def overlay_parts(directory: Path, registry_image: str, secret: str) -> Iterator[tuple[str, Any]]:
    """What the kind overlay adds for ECR, as (kustomization key, entry): the storage's volume and
    claim and the pull Service (a file in `directory`), the Deployment patch and Distribution's
    configuration (a Secret: it holds the upload-signing secret; its hash suffix rolls the pod
    when it changes)."""
    docs = [*storage_volume(), pull_service()]
    (directory / "ecr.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    (directory / "registry-config.yml").write_text(registry_config(secret))
    yield "resources", "ecr.yaml"
    yield "patches", {"patch": yaml.safe_dump(api_deployment_patch(registry_image), sort_keys=False)}
    yield (
        "secretGenerator",
        {"name": CONFIG_SECRET, "namespace": NAMESPACE, "files": ["config.yml=registry-config.yml"]},
    )
