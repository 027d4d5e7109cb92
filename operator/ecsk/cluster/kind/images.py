"""The application images of the kind path: the operator (the project's Dockerfile) and the
test app. Each is tagged with a hash of its inputs and rebuilt only when they change.

The Dockerfile builds FROM python:3.11-slim where that can be pulled (a laptop). Where it cannot
(our machines, air-gapped CI), the same Python is provided by a base built from Debian bookworm
(python3 3.11 in a venv at /usr/local, so pip and the entrypoint behave as in python:*-slim)
and passed as the `PYTHON_IMAGE` build argument.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ecsk.cluster.binaries import Progress
from ecsk.cluster.kind import debian, steps

PUBLIC_PYTHON = "python:3.11-slim"
TESTAPP_IMAGE = "ecsk-testapp:latest"
OPERATOR_REPO = "ecsk-operator"
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")


def pullable(ref: str, timeout: float = 300) -> bool:
    """True when `ref` is present or can be pulled now (a laptop); False on an offline host."""
    if steps.image_exists(ref):
        return True
    try:
        proc = subprocess.run(
            ["docker", "pull", "-q", ref], capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def released_or_scratch(
    ref: str, binary: Callable[[], Path], dest: str, say: Progress, user: str = ""
) -> str:
    """A component's release image where it can be pulled, else the same name built FROM scratch
    around the binary we build from its Go module (`binary` is only called then)."""
    if pullable(ref):
        return ref
    return scratch_image(ref, binary(), dest, say, user)


def scratch_image(ref: str, binary: Path, dest: str, say: Progress, user: str = "") -> str:
    """`ref` built FROM scratch around one static binary (at `dest`, the entry point)."""
    step = ref.rsplit("/", 1)[-1].split(":")[0] + "-image"
    ctx = steps.build_dir() / step
    shutil.rmtree(ctx, ignore_errors=True)
    ctx.mkdir(parents=True)
    shutil.copy2(binary, ctx / "bin")
    lines = [
        "FROM scratch",
        f"COPY bin {dest}",
        *([f"USER {user}"] if user else []),
        f'ENTRYPOINT ["{dest}"]',
    ]
    (ctx / "Dockerfile").write_text("\n".join(lines) + "\n")
    steps.docker_build(step, ref, ctx, say)
    return ref


def python_base(say: Progress) -> str:
    if pullable(PUBLIC_PYTHON):
        return PUBLIC_PYTHON
    return _debian_layer(
        "python-base",
        "ecsk-kind/python:3.11",
        "RUN update-ca-certificates && python3 -m venv /usr/local && /usr/local/bin/python --version\n"
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin LANG=C.UTF-8 \\\n"
        "    PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
        'CMD ["python3"]\n',
        f"{PUBLIC_PYTHON} cannot be pulled: building {{tag}} from Debian's python3",
        say,
    )


@dataclass(frozen=True)
class AptBase:
    """A managed-runtime base: Debian bookworm packages installed with apt on the Debian rootfs
    (apt reaches Debian's mirror; no registry hub is needed). Built the same way on every host,
    so a laptop and CI run one image; cached under a tag keyed by the rootfs, the packages, the
    setup and the local CAs."""

    step: str
    repo_tag: str
    packages: tuple[str, ...]
    check: str
    """Shell run after the install: prints the versions, fails the build if a tool is missing."""
    env: str
    cmd: str

    def body(self) -> str:
        return (
            "RUN update-ca-certificates && apt-get update \\\n"
            "    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\\n"
            f"       {' '.join(self.packages)} \\\n"
            "    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\\n"
            f"    && {self.check}\n"
            f"ENV LANG=C.UTF-8 {self.env}\n"
            f"CMD {json.dumps(self.cmd.split())}\n"
        )


APT_BASES: dict[str, AptBase] = {
    "nodejs": AptBase(
        "nodejs-base",
        "ecsk-kind/nodejs:18",
        ("nodejs", "npm"),
        "node --version && npm --version",
        "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
        "node",
    ),
    "go": AptBase(
        "go-base",
        "ecsk-kind/go:1.19",
        ("golang-go", "git"),
        "mkdir -p /go/bin && go version",
        # Go 1.19 with cgo on needs gcc as soon as it rebuilds the standard library (`go build
        # -trimpath`; 1.20 turns cgo off by itself without a compiler): static builds, and the
        # module and build caches under /go.
        "GOPATH=/go GOCACHE=/go/cache CGO_ENABLED=0 "
        "PATH=/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "go version",
    ),
    "ruby": AptBase(
        "ruby-base",
        "ecsk-kind/ruby:3.1",
        ("ruby", "bundler"),
        "ruby --version && bundle --version",
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "irb",
    ),
    "php": AptBase(
        "php-base",
        "ecsk-kind/php:8.2",
        ("php-cli", "php-fpm"),
        # App Runner's PHP image runs `php-fpm` (Debian names it php-fpm8.2).
        'ln -s "$(ls /usr/sbin/php-fpm8.*)" /usr/local/sbin/php-fpm && php --version && php-fpm --version',
        "",
        "php -a",
    ),
    "corretto": AptBase(
        "java-base",
        "ecsk-kind/java:17",
        ("openjdk-17-jdk-headless", "maven"),
        "java -version && javac -version && mvn --version",
        "",
        "jshell",
    ),
}
"""App Runner managed runtime language -> the Debian packages of its base image."""


def apt_base(language: str, say: Progress) -> str:
    base = APT_BASES[language]
    building = f"building {{tag}} from Debian's {', '.join(base.packages)}"
    return _debian_layer(base.step, base.repo_tag, base.body(), building, say, base.body())


def nodejs_base(say: Progress) -> str:
    """Node.js and npm from Debian's packages: the App Runner nodejs runtimes' base image."""
    return apt_base("nodejs", say)


RUNTIME_BASES: dict[str, Callable[[Progress], str]] = {
    "python": python_base,
    **{language: functools.partial(apt_base, language) for language in APT_BASES},
}
"""App Runner managed runtime language -> its base image (`ecsk.core.apprunner.runtimes`)."""


def runtime_base(language: str, say: Progress) -> str:
    """The base image an App Runner managed runtime of `language` builds on (built if missing)."""
    return RUNTIME_BASES[language](say)


def _debian_layer(step: str, repo_tag: str, body: str, building: str, say: Progress, *inputs: object) -> str:
    """An image FROM the Debian rootfs that trusts this host's local CAs (a build host behind a
    TLS-intercepting proxy trusts its CA locally; pip and npm in the image must too), tagged
    `<repo_tag>-<hash of the rootfs, the CAs and inputs>` and built only when that tag is missing."""
    deb = debian.ensure(say)
    cas = sorted((p.name, p.read_text()) for p in LOCAL_CA_DIR.glob("*.crt"))
    tag = f"{repo_tag}-{steps.key(deb, cas, *inputs)}"
    if steps.image_exists(tag):
        return tag
    say(building.format(tag=tag))
    steps.build_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=steps.build_dir(), prefix=f"{step}-") as tmp:
        ctx = Path(tmp)
        (ctx / "ca").mkdir()
        for crt in LOCAL_CA_DIR.glob("*.crt"):
            shutil.copy2(crt, ctx / "ca" / crt.name)
        (ctx / "Dockerfile").write_text(f"FROM {deb}\nCOPY ca/ /usr/local/share/ca-certificates/\n{body}")
        steps.docker_build(step, tag, ctx, say)
    return tag


def operator_image(say: Progress) -> str:
    """The project's Dockerfile built into `ecsk-operator:<hash of sources and base>`."""
    root = steps.repo_dir(".")
    base = python_base(say)
    inputs = [(root / name).read_text() for name in ("pyproject.toml", "Dockerfile", "README.md")]
    tag = f"{OPERATOR_REPO}:{steps.key(base, steps.tree_hash(root / 'operator' / 'ecsk'), inputs)}"
    if steps.image_exists(tag):
        return tag
    say(f"building the operator image {tag} from the Dockerfile (base {base})")
    steps.docker_build("operator-image", tag, root, say, build_args={"PYTHON_IMAGE": base})
    _drop_older(OPERATOR_REPO, keep=tag)
    return tag


# Several clusters share one Docker engine (ECSK_KIND_CLUSTER, worktrees side by side): a tag
# another `up` built minutes ago may be about to be loaded onto its nodes.
KEEP_RECENT_SECONDS = 3600


def _drop_older(repository: str, keep: str, now: float | None = None) -> None:
    """Untag earlier builds (each holds its own ~200 MB pip layer): the cache keeps one per repo,
    plus any built within the last hour (another cluster's `up` may be loading it)."""
    listed = subprocess.run(
        ["docker", "images", repository, "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    candidates = [ref for ref in listed if ref != keep and not ref.endswith(":<none>")]
    if not candidates:
        return
    created = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Created}}", *candidates],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    stale = [
        ref for ref, when in zip(candidates, created, strict=False) if _age(when, now) > KEEP_RECENT_SECONDS
    ]
    if stale:
        subprocess.run(["docker", "image", "rm", *stale], capture_output=True, check=False)


def _age(created: str, now: float | None) -> float:
    """Seconds since Docker's RFC 3339 `Created` (nanoseconds trimmed); unknown counts as new."""
    try:
        when = datetime.fromisoformat(created[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return 0.0
    return (now if now is not None else time.time()) - when.timestamp()


def testapp_image(say: Progress) -> str:
    """`ecsk-testapp:latest`: the Go test app (testapp/), static, FROM scratch."""
    src = steps.repo_dir("testapp")
    label = f"ecsk.testapp.source={steps.tree_hash(src)}"
    current = subprocess.run(
        ["docker", "image", "inspect", "-f", '{{index .Config.Labels "ecsk.testapp.source"}}', TESTAPP_IMAGE],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if current == label.split("=", 1)[1]:
        return TESTAPP_IMAGE
    say(f"building {TESTAPP_IMAGE} from testapp/")
    ctx = steps.build_dir() / "testapp"
    shutil.rmtree(ctx, ignore_errors=True)
    shutil.copytree(src, ctx, ignore=shutil.ignore_patterns("*_test.go"))
    steps.run(
        "testapp-go-build",
        ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(ctx / "ecsk-testapp"), "."],
        say,
        cwd=src,
        env={"CGO_ENABLED": "0"},
    )
    steps.docker_build("testapp-image", TESTAPP_IMAGE, ctx, say, label=label)
    return TESTAPP_IMAGE
