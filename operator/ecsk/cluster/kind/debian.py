"""The Debian root filesystem every locally built image starts from (debootstrap, no registry).

One rootfs serves the kind node (systemd, iptables, ...), the images that need a shell or
iptables (kube-proxy, the network agent, local-path's helper) and the operator's Python base
(Debian bookworm's python3 is 3.11, the version the Dockerfile's python:3.11-slim carries).
It is imported as a Docker image tagged with a hash of the suite and the package list, so it is
rebuilt only when that list changes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ecsk.cluster.binaries import Progress
from ecsk.cluster.kind import steps

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    # kind's images/base package list (minus nfs/iscsi/fuse, which the emulator never mounts)
    "systemd",
    "dbus",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "e2fsprogs",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
    # the operator's Python base
    "python3",
    "python3-venv",
)


def image() -> str:
    return f"ecsk-kind/debian:{SUITE}-{steps.key(SUITE, MIRROR, PACKAGES)}"


def ensure(say: Progress) -> str:
    """The rootfs image, built with debootstrap when its tag is not in Docker yet."""
    tag = image()
    if steps.image_exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise steps.StepError(
            "debootstrap is needed to build the node image offline: `apt-get install debootstrap` "
            "(or run `ecsk kind host-prep` on a CI/build host)"
        )
    say(f"building the Debian {SUITE} root filesystem with debootstrap ({tag})")
    steps.build_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=steps.build_dir(), prefix="rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        steps.run(
            "debian-debootstrap",
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), MIRROR],
            say,
        )
        # apt lists and caches are dead weight in every image built on top
        for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        steps.run(
            "debian-import",
            ["docker", "import", "-c", "ENV container=docker", "-", tag],
            say,
            stdin=tar.stdout.read(),
        )
        tar.wait()
    return tag
