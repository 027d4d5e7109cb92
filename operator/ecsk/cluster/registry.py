"""The local image registry behind ECR: CNCF Distribution (`registry`, the reference OCI registry
Docker Hub and GitLab run), built from its Go module like the control plane, run as a background
process of `ecsk cluster up` on 127.0.0.1 and storing under `$ECSK_HOME/registry`.

Why Distribution: it is the registry the OCI distribution specification grew out of, it is one
static Go binary with a filesystem driver (a restart loses nothing: every blob, manifest and tag
is a file), and it deletes manifests and tags over its HTTP API, which BatchDeleteImage and
lifecycle policies need. ecsk's ECR API (`ecsk.api.ecr`) talks to it over HTTP and reads the
repository layout of its filesystem driver for what HTTP does not list (untagged manifests and
push times).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from ecsk.cluster import binaries, pidfile

VERSION = "v3.1.2"
"""github.com/distribution/distribution/v3, newest release on the Go module proxy (2026-12)."""
MODULE = "github.com/distribution/distribution/v3/cmd/registry"
DEFAULT_PORT = 4598
"""Where clients push and pull: the API endpoint's front door of the registry (`ecsk.api.ecr.gate`),
fixed beside the endpoint's 4599; `ECSK_REGISTRY_PORT` overrides it."""
DEFAULT_BACKEND_PORT = 4597
"""Distribution itself, behind the front door; `ECSK_REGISTRY_BACKEND_PORT` overrides it."""
HOST = "127.0.0.1"

BUILD = binaries.Build(name="registry", version=VERSION, binaries={"registry": f"{MODULE}@{VERSION}"})


def port() -> int:
    return int(os.environ.get("ECSK_REGISTRY_PORT") or DEFAULT_PORT)


def backend_port() -> int:
    return int(os.environ.get("ECSK_REGISTRY_BACKEND_PORT") or DEFAULT_BACKEND_PORT)


def url(at: int | None = None) -> str:
    """Distribution's own URL (the API endpoint's backend)."""
    return f"http://{HOST}:{at or backend_port()}"


def state_dir(home: Path) -> Path:
    return home / "registry"


def storage_dir(home: Path) -> Path:
    """The filesystem driver's root: `docker/registry/v2/{blobs,repositories}` below it."""
    return state_dir(home) / "data"


def pid_file(home: Path) -> Path:
    return state_dir(home) / "registry.pid"


def log_file(home: Path) -> Path:
    return state_dir(home) / "registry.log"


def config(storage: Path, at: int, secret: str) -> dict[str, Any]:
    """Distribution's configuration: filesystem storage, deletes on (BatchDeleteImage, lifecycle
    expiry), loopback only, no access log (the API asks it often)."""
    return {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}, "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {
                "uploadpurging": {"enabled": True, "age": "24h", "interval": "24h", "dryrun": False}
            },
        },
        "http": {
            "addr": f"{HOST}:{at}",
            "secret": secret,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }


def http_secret(home: Path) -> str:
    """Signs upload state between a client's requests; kept so a restart does not break uploads."""
    path = state_dir(home) / "http-secret"
    if not path.is_file():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


MARKER = b"registry"


def running_pid(home: Path) -> int | None:
    return pidfile.running(pid_file(home), MARKER)


def healthy(at: int) -> bool:
    """The registry answers its API version check (`GET /v2/`)."""
    try:
        with urllib.request.urlopen(f"{url(at)}/v2/", timeout=1.0) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _port_taken(at: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, at)) == 0


def start(
    home: Path, at: int | None = None, say: binaries.Progress = print, wait: float = 20.0
) -> tuple[int, bool]:
    """Build the registry if needed and start it in the background unless ours runs; (pid, started).

    Returns once `/v2/` answers, so a push right after `cluster up` works."""
    at = at or backend_port()
    pid = running_pid(home)
    if pid:
        return pid, False
    if _port_taken(at):
        raise RuntimeError(f"port {at} on {HOST} is taken by another program; set ECSK_REGISTRY_BACKEND_PORT")
    binaries.build(BUILD, say)
    state_dir(home).mkdir(parents=True, exist_ok=True)
    storage_dir(home).mkdir(parents=True, exist_ok=True)
    cfg = state_dir(home) / "config.yml"
    cfg.write_text(yaml.safe_dump(config(storage_dir(home), at, http_secret(home)), sort_keys=False))
    # No tracing exporter: Distribution v3 would otherwise try to reach an OTLP collector.
    env = dict(os.environ, OTEL_TRACES_EXPORTER="none")
    with open(log_file(home), "ab") as log:
        proc = subprocess.Popen(
            [str(BUILD.cached("registry")), "serve", str(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    pid_file(home).write_text(str(proc.pid))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None and not healthy(at):
        time.sleep(0.1)
    if proc.poll() is not None or not healthy(at):
        stop(home)
        raise RuntimeError(f"the image registry did not start; see {log_file(home)}")
    return proc.pid, True


def stop(home: Path) -> bool:
    return pidfile.terminate(pid_file(home), MARKER)
