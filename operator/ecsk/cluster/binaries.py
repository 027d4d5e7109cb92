"""Build the control plane from Go modules, pinned, and cache the binaries by version.

Nothing here downloads a release binary: every component comes from the Go module proxy and is
compiled locally. The Kubernetes and etcd builds go through wrapper modules kept in
`toolchain/` (their go.mod/go.sum pin every dependency); kwok and metrics-server are built with
`go install module@version`, which honours their own go.mod exactly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ecsk.cluster import paths

KUBE_VERSION = "v1.37.2"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
METRICS_SERVER_VERSION = "v0.9.0"

_KUBE_MINOR = int(KUBE_VERSION.split(".")[1])
_VERSION_PKG = "k8s.io/component-base/version"


def _kube_ldflags() -> str:
    major, minor, _ = KUBE_VERSION.lstrip("v").split(".")
    # kwokctl reads `kube-apiserver --version` to choose flags, so the real version must be
    # stamped in, exactly as the Kubernetes release build does.
    return " ".join(
        [
            "-s -w",
            f"-X {_VERSION_PKG}.gitVersion={KUBE_VERSION}",
            f"-X {_VERSION_PKG}.gitMajor={major}",
            f"-X {_VERSION_PKG}.gitMinor={minor}",
            f"-X {_VERSION_PKG}.gitTreeState=clean",
            f"-X k8s.io/client-go/pkg/version.gitVersion={KUBE_VERSION}",
            f"-X k8s.io/client-go/pkg/version.gitMajor={major}",
            f"-X k8s.io/client-go/pkg/version.gitMinor={minor}",
        ]
    )


@dataclass(frozen=True)
class Build:
    """One `go` invocation producing one or more binaries."""

    name: str
    version: str
    binaries: dict[str, str]  # binary name -> Go package
    toolchain: str | None = None  # wrapper module under toolchain/, else `go install pkg@version`
    ldflags: str = "-s -w"
    optional: bool = False
    cgo: bool = False  # runc links libseccomp; everything else is static Go
    tags: str = ""

    def cached(self, binary: str) -> Path:
        return paths.bin_dir() / f"{binary}-{self.version}"

    def missing(self) -> list[str]:
        return [b for b in self.binaries if not self.cached(b).is_file()]


def _builds() -> list[Build]:
    kwok_ld = (
        f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION.lstrip('v')}"
        f" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion={KUBE_VERSION.lstrip('v')}"
    )
    return [
        Build(
            name="kubernetes",
            version=KUBE_VERSION,
            toolchain="kubernetes",
            ldflags=_kube_ldflags(),
            binaries={
                "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
                "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
                "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
            },
        ),
        Build(
            name="etcd",
            version=ETCD_VERSION,
            toolchain="etcd",
            binaries={"etcd": "ecsk.local/toolchain/etcd"},
        ),
        Build(
            name="kwok",
            version=KWOK_VERSION,
            ldflags=kwok_ld,
            binaries={
                "kwok": f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
                "kwokctl": f"sigs.k8s.io/kwok/cmd/kwokctl@{KWOK_VERSION}",
            },
        ),
        Build(
            name="metrics-server",
            version=METRICS_SERVER_VERSION,
            binaries={
                "metrics-server": f"sigs.k8s.io/metrics-server/cmd/metrics-server@{METRICS_SERVER_VERSION}"
            },
        ),
    ]


_KUBECTL_BUILD = Build(
    name="kubectl",
    version=KUBE_VERSION,
    toolchain="kubernetes",
    ldflags=_kube_ldflags(),
    binaries={"kubectl": "k8s.io/kubernetes/cmd/kubectl"},
)


@dataclass
class Toolset:
    """Resolved paths of every binary the local cluster needs."""

    paths: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


Progress = Callable[[str], None]


def _toolchain_dir(name: str) -> Path:
    return Path(str(resources.files("ecsk.cluster") / "toolchain" / name))


def _go() -> str:
    go = shutil.which("go")
    if not go:
        raise RuntimeError(
            "Go is required to build the control plane (https://go.dev/doc/install); none was found on PATH"
        )
    return go


def _run_with_ticker(
    cmd: list[str], cwd: Path, env: dict[str, str], label: str, say: Progress, log: Path | None = None
) -> None:
    """Run a long build and say how long it has taken so far, every 20 s.

    With `log`, the whole output is kept there (and named on failure), so a failed step can be
    read in full after the fact instead of only its last lines."""
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(20):
            say(f"  … still building {label} ({time.monotonic() - started:.0f}s so far)")

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    finally:
        done.set()
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-30:])
        where = f"; full log: {log}" if log is not None else ""
        raise RuntimeError(f"building {label} failed ({' '.join(cmd)}){where}:\n{tail}")
    say(f"  built {label} in {time.monotonic() - started:.0f}s")


def build(b: Build, say: Progress, log_dir: Path | None = None) -> None:
    """Build every missing binary of `b` into the cache (atomically: temp dir, then rename)."""
    missing = b.missing()
    if not missing:
        return
    paths.bin_dir().mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="1" if b.cgo else "0", GOFLAGS="-trimpath -buildvcs=false")
    log = log_dir / f"go-{b.name}.log" if log_dir is not None else None
    tags = ["-tags", b.tags] if b.tags else []
    with tempfile.TemporaryDirectory(dir=paths.bin_dir(), prefix=f".build-{b.name}-") as tmp:
        out = Path(tmp)
        label = f"{', '.join(missing)} {b.version}"
        say(f"building {label} from Go modules")
        if b.toolchain:
            pkgs = [b.binaries[m] for m in missing]
            cmd = [_go(), "build", *tags, "-ldflags", b.ldflags, "-o", str(out) + "/", *pkgs]
            _run_with_ticker(cmd, _toolchain_dir(b.toolchain), env, label, say, log)
            # A module path's last element names the binary; etcd's wrapper is named after its module.
            for m in missing:
                produced = out / b.binaries[m].rsplit("/", 1)[-1]
                if produced != out / m:
                    produced.rename(out / m)
        else:
            pkgs = [b.binaries[m] for m in missing]
            cmd = [_go(), "install", *tags, "-ldflags", b.ldflags, *pkgs]
            _run_with_ticker(cmd, Path(tmp), dict(env, GOBIN=str(out)), label, say, log)
        for m in missing:
            os.replace(out / m, b.cached(m))


def kubectl_within_skew(path: str) -> bool:
    """kubectl supports one minor version of skew either side of the apiserver."""
    try:
        out = subprocess.run(
            [path, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    match = re.search(r'"minor":\s*"(\d+)', out)
    return match is not None and abs(int(match.group(1)) - _KUBE_MINOR) <= 1


def ensure(say: Progress = print, *, with_metrics_server: bool = True) -> Toolset:
    """Build whatever is missing and return the paths of all binaries."""
    started = time.monotonic()
    tools = Toolset()
    builds = _builds()
    for b in builds:
        if b.name == "metrics-server" and not with_metrics_server:
            continue
        build(b, say)
        for binary in b.binaries:
            tools.paths[binary] = b.cached(binary)
    system_kubectl = shutil.which("kubectl")
    if system_kubectl and kubectl_within_skew(system_kubectl):
        tools.paths["kubectl"] = Path(system_kubectl)
    else:
        if system_kubectl and _KUBECTL_BUILD.missing():
            say(f"kubectl on PATH ({system_kubectl}) is outside the supported version skew")
        build(_KUBECTL_BUILD, say)
        tools.paths["kubectl"] = _KUBECTL_BUILD.cached("kubectl")
    elapsed = time.monotonic() - started
    if elapsed > 5:
        say(f"toolchain ready in {elapsed:.0f}s (cached in {paths.bin_dir()})")
    return tools


def versions() -> dict[str, str]:
    out = {b.name: b.version for b in _builds()}
    out["kubectl"] = KUBE_VERSION
    return out
