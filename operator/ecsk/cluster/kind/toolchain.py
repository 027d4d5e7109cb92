"""Every Go binary the kind path needs, pinned, built from the Go module proxy into the cache.

Same machinery and cache as the embedded cluster (`ecsk.cluster.binaries`): a binary lives at
`$ECSK_HOME/bin/<name>-<version>` and is rebuilt only when its version changes. The Kubernetes
node agents come from the embedded cluster's own wrapper module, so the Go build cache it filled
is reused. Versions are the ones known to build on our machines (docs/kind.md) and the ones
kubeadm v1.37 expects (etcd 3.7.0, coredns v1.14.6, pause 3.10).
"""

from __future__ import annotations

from pathlib import Path

from ecsk.cluster import binaries
from ecsk.cluster.binaries import KUBE_VERSION, Build, Progress

KIND_VERSION = "v0.33.0"
CONTAINERD_VERSION = "v2.4.2"
RUNC_VERSION = "v1.5.3"
CNI_PLUGINS_VERSION = "v1.10.0"
CRICTL_VERSION = "v1.37.0"
COREDNS_VERSION = "v1.14.6"
ETCD_VERSION = "v3.7.0"
LOCAL_PATH_VERSION = "v0.0.30"
PAUSE_VERSION = "3.10"  # the sandbox image kind's containerd config names

_CONTAINERD_TAGS = "no_aufs no_zfs no_btrfs no_devmapper"


def _install(name: str, version: str, module: str, pkgs: dict[str, str], **kw: object) -> Build:
    """A `go install module/pkg@version` build: the module's own go.mod decides everything."""
    binaries_ = {binary: f"{module}{sub}@{version}" for binary, sub in pkgs.items()}
    return Build(name=name, version=version, binaries=binaries_, **kw)  # type: ignore[arg-type]


def builds() -> list[Build]:
    """The builds in the order `ensure` runs them (cheap and likely-cached first)."""
    kube = binaries._kube_ldflags()
    return [
        _install("kind", KIND_VERSION, "sigs.k8s.io/kind", {"kind": ""}),
        Build(
            name="kubernetes-node",
            version=KUBE_VERSION,
            toolchain="kubernetes",
            ldflags=kube,
            binaries={
                "kubelet": "k8s.io/kubernetes/cmd/kubelet",
                "kubeadm": "k8s.io/kubernetes/cmd/kubeadm",
                "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
                "kubectl": "k8s.io/kubernetes/cmd/kubectl",
                "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
                "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
                "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
            },
        ),
        Build(
            name="etcd-kind",
            version=ETCD_VERSION,
            toolchain="etcd-v3.7",
            binaries={"etcd": "ecsk.local/toolchain/etcd"},
        ),
        _install(
            "containerd",
            CONTAINERD_VERSION,
            "github.com/containerd/containerd/v2/cmd",
            {
                "containerd": "/containerd",
                "containerd-shim-runc-v2": "/containerd-shim-runc-v2",
                "ctr": "/ctr",
            },
            tags=_CONTAINERD_TAGS,
        ),
        _install(
            "runc", RUNC_VERSION, "github.com/opencontainers/runc", {"runc": ""}, cgo=True, tags="seccomp"
        ),
        _install(
            "cni-plugins",
            CNI_PLUGINS_VERSION,
            "github.com/containernetworking/plugins/plugins",
            {
                "ptp": "/main/ptp",
                "loopback": "/main/loopback",
                "host-local": "/ipam/host-local",
                "portmap": "/meta/portmap",
            },
        ),
        _install("crictl", CRICTL_VERSION, "sigs.k8s.io/cri-tools/cmd/crictl", {"crictl": ""}),
        _install("coredns", COREDNS_VERSION, "github.com/coredns/coredns", {"coredns": ""}),
        _install(
            "local-path-provisioner",
            LOCAL_PATH_VERSION,
            "github.com/rancher/local-path-provisioner",
            {"local-path-provisioner": ""},
        ),
    ]


def ensure(say: Progress, log_dir: Path) -> dict[str, Path]:
    """Build whatever is missing; return binary name -> cached path."""
    out: dict[str, Path] = {}
    for b in builds():
        binaries.build(b, say, log_dir)
        out.update({name: b.cached(name) for name in b.binaries})
    return out


def versions() -> dict[str, str]:
    """name -> version of every build: the node image's cache key is made from these."""
    return {b.name: b.version for b in builds()}
