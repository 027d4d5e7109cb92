"""ecsk's external metrics adapter as a background process of the local cluster.

Why a local process, registered like metrics-server: kwok pods run no containers, so the API
server's aggregator reaches the adapter through a Service of type ExternalName for 127.0.0.1
and the APIService's port, which is how kwokctl wires metrics-server too. `ecsk cluster up`
starts it (once per ECSK_HOME, under the cluster lock, so parallel test sessions share one) and
`ecsk cluster down` stops it. The adapter is stateless (it reads ECSService annotations at
every request), so one instance serves every namespace and every namespaced operator.

A running adapter is reused only if it was started for the same kubeconfig and the same
adapter code; otherwise it is replaced (a recreated cluster has new credentials, an upgraded
checkout new code).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from ecsk.cluster import paths, pidfile

APISERVICE = "v1beta1.external.metrics.k8s.io"
SERVICE = "ecsk-metrics-adapter"
NAMESPACE = "kube-system"
_SOURCES = (
    "controller/autoscaling/metrics_adapter.py",
    "core/autoscaling/external.py",
    "cli/metrics_adapter_cmd.py",
)

Apply = Callable[[list[dict[str, Any]]], None]


def _dir() -> Path:
    return paths.home() / "metrics-adapter"


def pid_file() -> Path:
    return _dir() / "pid"


def port_file() -> Path:
    return _dir() / "port"


def log_file() -> Path:
    return _dir() / "adapter.log"


def _stamp_file() -> Path:
    return _dir() / "fingerprint"


def fingerprint(kubeconfig: Path) -> str:
    """What a running adapter must have been started with: the kubeconfig and its code."""
    digest = hashlib.sha256()
    with contextlib.suppress(FileNotFoundError):
        digest.update(kubeconfig.read_bytes())
    for name in _SOURCES:
        digest.update((resources.files("ecsk") / name).read_bytes())
    return digest.hexdigest()[:16]


def running_pid() -> int | None:
    return pidfile.running(pid_file(), b"metrics-adapter")


def _port() -> int | None:
    try:
        return int(port_file().read_text())
    except (OSError, ValueError):
        return None


def registration(port: int) -> list[dict[str, Any]]:
    """Service (ExternalName 127.0.0.1, which the aggregator resolves to https://127.0.0.1:<port>
    with the APIService's port) and the APIService for external.metrics.k8s.io."""
    labels = {"app.kubernetes.io/managed-by": "ecsk", "app.kubernetes.io/name": SERVICE}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": labels},
            "spec": {"type": "ExternalName", "externalName": "127.0.0.1"},
        },
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": APISERVICE, "labels": labels},
            "spec": {
                "group": "external.metrics.k8s.io",
                "version": "v1beta1",
                "service": {"name": SERVICE, "namespace": NAMESPACE, "port": port},
                "insecureSkipTLSVerify": True,
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        },
    ]


def ensure(kubeconfig: Path, apply: Apply, say: Callable[[str], None]) -> int:
    """Run the adapter for this cluster (reusing a matching one) and register it; its port."""
    wanted = fingerprint(kubeconfig)
    pid, port = running_pid(), _port()
    current = _stamp_file().read_text().strip() if _stamp_file().is_file() else ""
    if pid is None or port is None or current != wanted:
        if pid is not None:
            say("restarting the metrics adapter (new cluster or new code)")
            stop()
        port = _start(kubeconfig)
        _stamp_file().write_text(wanted)
        say(f"metrics adapter (external.metrics.k8s.io) listening on 127.0.0.1:{port}, log {log_file()}")
    apply(registration(port))
    return port


def _start(kubeconfig: Path, timeout: float = 20) -> int:
    _dir().mkdir(parents=True, exist_ok=True)
    port_file().unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "ecsk.cli.main", "metrics-adapter", "--port", "0"]
    cmd += ["--port-file", str(port_file()), "--cert-dir", str(_dir() / "tls")]
    with open(log_file(), "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, KUBECONFIG=str(kubeconfig)),
            start_new_session=True,
        )
    pid_file().write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while (port := _port()) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"the metrics adapter did not start; see {log_file()}")
        time.sleep(0.1)
    return port


def stop() -> bool:
    for f in (port_file(), _stamp_file()):
        f.unlink(missing_ok=True)
    return pidfile.terminate(pid_file(), b"metrics-adapter")
