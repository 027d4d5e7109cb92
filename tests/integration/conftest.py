"""Fixtures for tests against a live cluster: whatever KUBECONFIG points at.

These tests rely on labels and standard Kubernetes behaviour only, never on kwok specifics, so the
same suite runs against the embedded kwok cluster, a kind cluster or EKS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pykube
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _kubeconfig_path() -> str:
    path = os.environ.get("KUBECONFIG")
    if not path:
        default = Path(os.environ.get("ECSK_HOME", Path.home() / ".cache" / "ecsk")) / "kubeconfig"
        path = str(default)
    return path


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    path = _kubeconfig_path()
    if not Path(path).is_file():
        pytest.fail(f"integration tests need a cluster: no kubeconfig at {path} (run `ecsk cluster up`)")
    return path


@pytest.fixture(scope="session")
def api(kubeconfig: str) -> pykube.HTTPClient:
    return pykube.HTTPClient(pykube.KubeConfig.from_file(kubeconfig), timeout=30)


@pytest.fixture
def namespace(api: pykube.HTTPClient) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (with everything in it)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    ns = pykube.Namespace(api, {"metadata": {"name": name, "labels": {"ecsk.io/test": "true"}}})
    ns.create()
    try:
        yield name
    finally:
        ns.delete()


class OperatorProcess:
    """`ecsk operator -n <namespace>` as a child process, so tests can kill and restart it."""

    def __init__(self, kubeconfig: str, namespace: str, log_path: Path) -> None:
        self.kubeconfig, self.namespace, self.log_path = kubeconfig, namespace, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "ecsk.cli.main",
            "operator",
            "-n",
            self.namespace,
            "--resync",
            "5",
            "--task-retention",
            "20",
            "--healthy-after",
            "8",
        ]
        # ECSK_OPERATOR_KUBECONFIG runs the operator with other credentials (e.g. the manifests'
        # ServiceAccount, to prove the ClusterRole is enough) while the tests keep theirs.
        kubeconfig = os.environ.get("ECSK_OPERATOR_KUBECONFIG") or self.kubeconfig
        env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        """SIGKILL: the restart test wants no graceful shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def operator_ns(
    api: pykube.HTTPClient, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A namespace per test module with its own operator watching only it (CRDs applied first)."""
    from kubectl import kubectl

    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "crds"))
    name = f"op-{uuid.uuid4().hex[:8]}"
    ns = pykube.Namespace(api, {"metadata": {"name": name, "labels": {"ecsk.io/test": "true"}}})
    ns.create()
    op = OperatorProcess(kubeconfig, name, tmp_path_factory.mktemp("operator") / "operator.log")
    op.start()
    OPERATORS[name] = op
    try:
        yield name
    finally:
        op.stop()
        OPERATORS.pop(name, None)
        ns.delete()


OPERATORS: dict[str, OperatorProcess] = {}
"""The operator of each `operator_ns` namespace, for tests that restart it."""


@pytest.fixture(scope="module")
def operator_process(operator_ns: str) -> OperatorProcess:
    """The operator process of this module's namespace (kill/start it to test restarts)."""
    return OPERATORS[operator_ns]
