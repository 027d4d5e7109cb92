"""NetworkPolicy enforcement on kind: kube-router's firewall (its network policy controller) as a
DaemonSet, so the policies the operator renders for security groups really block and admit
traffic between real tasks.

Why kube-router and not kube-network-policies (kindnetd's engine): kube-network-policies hands
packets to userspace with nftables' `queue` statement, and kernels built without
CONFIG_NFT_QUEUE (ours) refuse that rule. kube-router enforces with iptables and ipsets only,
which such kernels have (xt_set, the filter table through nft_compat), and runs firewall-only
beside any CNI (`--run-router=false --run-service-proxy=false`), here the netagent's routes.

Built like every other component: the binary from its Go module (`go install`, pinned), the
image on the Debian rootfs (iptables) with Debian's ipset packages, tagged by a hash of the
binary version, the rootfs and the packages, so it is rebuilt only when one changes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ecsk.cluster import binaries
from ecsk.cluster.binaries import Build, Progress
from ecsk.cluster.kind import debian, steps
from ecsk.cluster.kind.kwok import NOT_SIMULATED

VERSION = "v2.1.0"
BUILD = Build(
    name="kube-router",
    version=VERSION,
    binaries={"kube-router": f"github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@{VERSION}"},
)
IMAGE_REPO = "ecsk-kind/kube-router"
DEB_PACKAGES = ("ipset", "libipset13")
NAME = "kube-router"
NAMESPACE = "kube-system"
# Tasks never run on the (tainted) control plane, and `up` loads images onto the workers only.
WORKERS_ONLY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        NOT_SIMULATED,  # a simulated node has no packets to filter
                        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"},
                    ]
                }
            ]
        }
    }
}
ARGS = [
    "--run-router=false",
    "--run-firewall=true",
    "--run-service-proxy=false",
    "--health-port=20244",
    "--metrics-port=0",
    "--v=1",
]


def _debs(ctx: Path, say: Progress) -> list[str]:
    """Debian's ipset packages for the rootfs' suite, fetched with the host's apt (no registry
    of images needed); returns the file names for the cache key."""
    steps.run("kube-router-debs", ["apt-get", "download", *DEB_PACKAGES], say, cwd=ctx)
    return sorted(p.name for p in ctx.glob("*.deb"))


def image(say: Progress) -> str:
    """`ecsk-kind/kube-router:<version>-<hash>`, built when missing."""
    deb = debian.ensure(say)
    ctx = steps.build_dir() / "kube-router-image"
    tag_prefix = f"{IMAGE_REPO}:{VERSION}-"
    cached = _cached_tag(tag_prefix, deb)
    if cached:
        return cached
    binaries.build(BUILD, say, steps.log_dir())
    shutil.rmtree(ctx, ignore_errors=True)
    ctx.mkdir(parents=True)
    debs = _debs(ctx, say)
    tag = tag_prefix + steps.key(deb, debs)
    shutil.copy2(BUILD.cached("kube-router"), ctx / "kube-router")
    (ctx / "Dockerfile").write_text(
        f"FROM {deb}\n"
        "COPY *.deb /tmp/debs/\n"
        "RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs && command -v ipset iptables\n"
        "COPY kube-router /usr/local/bin/kube-router\n"
        f"LABEL ecsk.kube-router.base={deb}\n"
        'ENTRYPOINT ["/usr/local/bin/kube-router"]\n'
    )
    say(f"building {tag} (kube-router {VERSION} from its Go module, Debian's ipset)")
    steps.docker_build("kube-router-image", tag, ctx, say)
    return tag


def _cached_tag(prefix: str, base: str) -> str | None:
    """A tag built before on the same rootfs (the package file names are only known after a
    download, so the cache is found by the base label instead)."""
    listed = subprocess.run(
        [
            "docker",
            "images",
            IMAGE_REPO,
            "--filter",
            f"label=ecsk.kube-router.base={base}",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return next((ref for ref in listed if ref.startswith(prefix)), None)


def manifests(image_ref: str) -> list[dict[str, Any]]:
    """ServiceAccount, RBAC (what its network policy controller watches) and the DaemonSet."""
    labels = {"k8s-app": NAME}
    rules = [
        {
            "apiGroups": [""],
            "resources": ["namespaces", "pods", "services", "nodes", "endpoints"],
            "verbs": ["get", "list", "watch"],
        },
        {
            "apiGroups": ["networking.k8s.io"],
            "resources": ["networkpolicies"],
            "verbs": ["get", "list", "watch"],
        },
        {
            "apiGroups": ["discovery.k8s.io"],
            "resources": ["endpointslices"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch", "update"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
    ]
    container = {
        "name": NAME,
        "image": image_ref,
        "imagePullPolicy": "IfNotPresent",
        "args": ARGS,
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "securityContext": {"privileged": True},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": 20244},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
        },
        "volumeMounts": [
            {"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True},
            {"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
        ],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NAMESPACE}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": NAME,
                        "priorityClassName": "system-node-critical",
                        "hostNetwork": True,
                        "affinity": WORKERS_ONLY,
                        "tolerations": [{"operator": "Exists"}],
                        "containers": [container],
                        "volumes": [
                            {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                            {
                                "name": "xtables-lock",
                                "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"},
                            },
                        ],
                    },
                },
            },
        },
    ]


def install(kubectl: Path, kubeconfig: Path, image_ref: str, say: Progress) -> None:
    say(f"installing kube-router {VERSION} (network policy enforcement) on the real nodes")
    kc = [str(kubectl), "--kubeconfig", str(kubeconfig)]
    text = yaml.safe_dump_all(manifests(image_ref), sort_keys=False)
    steps.run("kube-router-apply", [*kc, "apply", "-f", "-"], say, stdin=text.encode())
    steps.rollout("kube-router-rollout", kc, NAMESPACE, f"daemonset/{NAME}", say, 180)
