"""The kind node image, built from Go modules and Debian packages when it cannot be pulled.

Recipe (docs/kind.md): a Debian rootfs (debootstrap) plus kind's own `images/base` files and the
binaries kind's base image carries (containerd, runc, crictl, CNI plugins) make the base image;
every image kubeadm and kind's manifests name (control plane, kube-proxy, etcd, coredns, pause,
kindnetd, local-path) is built locally under that exact name; `kind build node-image --type file`
then takes a server tarball laid out as a Kubernetes release. kind reads one tag list per image
tar (the first of `repositories` / `manifest.json`), so the tars are rewritten with fully
qualified names and `repositories` first; extra images ride in the apiserver's tar.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ecsk.cluster import binaries
from ecsk.cluster.binaries import KUBE_VERSION, Progress
from ecsk.cluster.kind import debian, steps, toolchain

RECIPE = "1"  # bump when the recipe below changes in a way the version pins do not show


@dataclass(frozen=True)
class Component:
    """One image the node image must hold, built FROM scratch or FROM the Debian rootfs."""

    ref: str  # fully qualified, exactly as kubeadm / kind's manifests name it
    binary: str  # key in the toolchain paths
    dest: str  # path inside the image
    debian: bool = False  # needs a shell / iptables / ip
    entrypoint: bool = True


def kind_source() -> Path:
    """kind's module source (its images/base files and manifests), from the Go module cache."""
    return steps.module_dir(f"sigs.k8s.io/kind@{toolchain.KIND_VERSION}")


def kind_images(src: Path) -> dict[str, str]:
    """The image names kind's node-image build requires besides kubeadm's (read from its source)."""
    text = "".join(
        (src / "pkg/build/nodeimage" / f).read_text() for f in ("const_cni.go", "const_storage.go")
    )
    found = dict(
        re.findall(r'(kindnetdImage|storageProvisionerImage|storageHelperImage)\s*=\s*"([^"]+)"', text)
    )
    config = (src / "images/base/files/etc/containerd/config.toml").read_text()
    sandbox = re.search(r'sandbox_image\s*=\s*"([^"]+)"', config)
    if len(found) != 3 or sandbox is None:
        raise steps.StepError(f"kind {toolchain.KIND_VERSION} source changed: cannot find its image names")
    found["pause"] = sandbox.group(1)
    return found


def kubeadm_images(kubeadm: Path) -> dict[str, str]:
    """component name -> image ref, as `kubeadm config images list` prints them."""
    out = subprocess.run(
        [str(kubeadm), "config", "images", "list", "--kubernetes-version", KUBE_VERSION],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {ref.rsplit("/", 1)[-1].split(":")[0]: ref for ref in out}


def qualified(ref: str) -> str:
    """docker.io/library-style fully qualified name (what containerd stores)."""
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return f"docker.io/library/{ref}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{ref}"
    return ref


def components(kubeadm: Path, src: Path) -> list[Component]:
    kube = kubeadm_images(kubeadm)
    extra = kind_images(src)
    ub = "/usr/local/bin"
    return [
        Component(kube["kube-apiserver"], "kube-apiserver", f"{ub}/kube-apiserver", entrypoint=False),
        Component(
            kube["kube-controller-manager"],
            "kube-controller-manager",
            f"{ub}/kube-controller-manager",
            entrypoint=False,
        ),
        Component(kube["kube-scheduler"], "kube-scheduler", f"{ub}/kube-scheduler", entrypoint=False),
        Component(kube["kube-proxy"], "kube-proxy", f"{ub}/kube-proxy", debian=True, entrypoint=False),
        Component(kube["etcd"], "etcd", f"{ub}/etcd", entrypoint=False),
        Component(kube["coredns"], "coredns", "/coredns"),
        Component(extra["pause"], "pause", "/pause"),
        Component(extra["kindnetdImage"], "netagent", "/bin/kindnetd", debian=True),
        Component(
            extra["storageProvisionerImage"],
            "local-path-provisioner",
            "/usr/bin/local-path-provisioner",
            entrypoint=False,
        ),
        # local-path's helper pods run `sh /script/setup`: any image with a shell will do
        Component(extra["storageHelperImage"], "", "", debian=True, entrypoint=False),
    ]


def image_ref() -> str:
    """The node image tag: changes whenever a pinned version or the recipe changes."""
    k = steps.key(RECIPE, toolchain.versions(), debian.image(), steps.tree_hash(netagent_dir()))
    return f"ecsk-kind/node:{KUBE_VERSION}-{k}"


def _build_pause(out: Path, say: Progress) -> Path:
    """pause from Kubernetes' own pause.c (in the k8s.io/kubernetes module), static."""
    src = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"],
        capture_output=True,
        text=True,
        check=True,
        cwd=binaries._toolchain_dir("kubernetes"),
    ).stdout.strip()
    target = out / "pause"
    steps.run(
        "pause-gcc",
        [
            "gcc",
            "-Os",
            "-static",
            "-Wall",
            "-DVERSION=v" + toolchain.PAUSE_VERSION,
            "-o",
            str(target),
            f"{src}/build/pause/linux/pause.c",
        ],
        say,
    )
    return target


def netagent_dir() -> Path:
    return steps.repo_dir("kind/netagent")


def _build_netagent(out: Path, say: Progress) -> Path:
    target = out / "ecsk-netagent"
    steps.run(
        "netagent-go-build",
        ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(target), "."],
        say,
        cwd=netagent_dir(),
        env={"CGO_ENABLED": "0"},
    )
    return target


def _component_image(c: Component, tools: dict[str, Path], base: str, ctx: Path, say: Progress) -> None:
    ctx.mkdir(parents=True, exist_ok=True)
    lines = [f"FROM {base}" if c.debian else "FROM scratch"]
    if c.binary:
        shutil.copy2(tools[c.binary], ctx / "bin")
        lines.append(f"COPY bin {c.dest}")
    lines.append("ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin")
    if c.entrypoint:
        lines.append(f'ENTRYPOINT ["{c.dest}"]')
    (ctx / "Dockerfile").write_text("\n".join(lines) + "\n")
    step = "image-" + c.ref.rsplit("/", 1)[-1].replace(":", "-")
    steps.docker_build(step, c.ref, ctx, say)


BASE_DOCKERFILE = """FROM {debian}
COPY files/usr/local/bin/ /usr/local/bin/
COPY files/kind/ /kind/
COPY files/etc/ /etc/
COPY bin/containerd bin/containerd-shim-runc-v2 bin/ctr bin/crictl /usr/local/bin/
COPY bin/runc /usr/local/sbin/runc
COPY cni/ /opt/cni/bin/
RUN chmod 755 /kind /kind/bin /kind/bin/* /usr/local/bin/* \\
    && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \\
    && rm -f /lib/systemd/system/multi-user.target.wants/* \\
    && rm -f /etc/systemd/system/*.wants/* \\
    && rm -f /lib/systemd/system/local-fs.target.wants/* \\
    && rm -f /lib/systemd/system/sockets.target.wants/*udev* \\
    && rm -f /lib/systemd/system/sockets.target.wants/*initctl* \\
    && rm -f /lib/systemd/system/basic.target.wants/* \\
    && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \\
    && ln -sf /usr/lib/systemd/systemd /sbin/init \\
    && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
    && systemctl mask systemd-binfmt.service \\
    && mkdir -p /etc/kubernetes/manifests \\
    && ctr oci spec \\
       | jq '.hooks.createContainer[.hooks.createContainer| length] \\
           |= . + {{"path": "/kind/bin/mount-product-files.sh"}}' \\
       | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
    && containerd --version && runc --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
"""


def _base_image(src: Path, tools: dict[str, Path], deb: str, ctx: Path, tag: str, say: Progress) -> None:
    shutil.copytree(src / "images/base/files", ctx / "files")
    for p in (ctx / "files").rglob("*"):
        p.chmod(0o755 if p.is_dir() or "bin" in p.parts else 0o644)
    (ctx / "bin").mkdir()
    (ctx / "cni").mkdir()
    for name in ("containerd", "containerd-shim-runc-v2", "ctr", "crictl", "runc"):
        shutil.copy2(tools[name], ctx / "bin" / name)
    for name in ("ptp", "loopback", "host-local", "portmap"):
        shutil.copy2(tools[name], ctx / "cni" / name)
    (ctx / "Dockerfile").write_text(BASE_DOCKERFILE.format(debian=deb))
    steps.docker_build("node-base", tag, ctx, say)


def _rewrite_archive(src: Path, dst: Path) -> None:
    """Fully qualified tags in manifest.json and `repositories`, `repositories` first."""
    with tarfile.open(src) as tin:
        members = tin.getmembers()
        manifest = json.load(tin.extractfile("manifest.json"))  # type: ignore[arg-type]
        repositories: dict[str, dict[str, str]] = {}
        for entry in manifest:
            entry["RepoTags"] = [qualified(t) for t in entry.get("RepoTags") or []]
            layer_id = entry["Layers"][-1].split("/")[0]
            for t in entry["RepoTags"]:
                repo, tag = t.rsplit(":", 1)
                repositories.setdefault(repo, {})[tag] = layer_id
        with tarfile.open(dst, "w") as tout:
            for name, data in (("repositories", repositories), ("manifest.json", manifest)):
                raw = json.dumps(data).encode()
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                tout.addfile(info, io.BytesIO(raw))
            for m in members:
                if m.name not in ("repositories", "manifest.json"):
                    tout.addfile(m, tin.extractfile(m) if m.isfile() else None)


def _server_tarball(comps: list[Component], tools: dict[str, Path], work: Path, say: Progress) -> Path:
    root = work / "server"
    bindir = root / "kubernetes/server/bin"
    bindir.mkdir(parents=True)
    (root / "kubernetes/version").write_text(KUBE_VERSION + "\n")
    for name in ("kubeadm", "kubelet", "kubectl"):
        shutil.copy2(tools[name], bindir / name)
    by_component = {c.binary: c.ref for c in comps}
    extras = [
        c.ref for c in comps if c.binary not in ("kube-controller-manager", "kube-scheduler", "kube-proxy")
    ]
    groups = {
        "kube-apiserver": extras,  # kube-apiserver first: its tags are the ones kind reads first
        "kube-controller-manager": [by_component["kube-controller-manager"]],
        "kube-scheduler": [by_component["kube-scheduler"]],
        "kube-proxy": [by_component["kube-proxy"]],
    }
    for name, refs in groups.items():
        raw = work / f"{name}.docker.tar"
        steps.run(f"save-{name}", ["docker", "save", "-o", str(raw), *refs], say)
        _rewrite_archive(raw, bindir / f"{name}.tar")
        raw.unlink()
    tgz = work / "kubernetes-server-linux-amd64.tar.gz"
    steps.run("server-tarball", ["tar", "-C", str(root), "-I", "gzip -1", "-cf", str(tgz), "kubernetes"], say)
    shutil.rmtree(root)
    return tgz


def ensure(say: Progress, kind: Path | None = None) -> str:
    """The node image (built when its tag is missing); returns its ref."""
    ref = image_ref()
    if steps.image_exists(ref):
        return ref
    say(f"building the kind node image {ref} (offline recipe; ~10-25 min cold)")
    tools = toolchain.ensure(say, steps.log_dir())
    deb = debian.ensure(say)
    src = kind_source()
    work = steps.build_dir() / f"node-{ref.rsplit(':', 1)[-1]}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tools = dict(tools, pause=_build_pause(work, say), netagent=_build_netagent(work, say))
    comps = components(tools["kubeadm"], src)
    for c in comps:
        _component_image(c, tools, deb, work / "images" / (c.binary or "helper"), say)
    base = f"ecsk-kind/node-base:{ref.rsplit(':', 1)[-1]}"
    _base_image(src, tools, deb, work / "base", base, say)
    tgz = _server_tarball(comps, tools, work, say)
    kind_bin = kind or tools["kind"]
    steps.run(
        "kind-build-node-image",
        [
            str(kind_bin),
            "build",
            "node-image",
            "--type",
            "file",
            str(tgz),
            "--base-image",
            base,
            "--image",
            ref,
        ],
        say,
        timeout=1800,
    )
    shutil.rmtree(work, ignore_errors=True)
    return ref
