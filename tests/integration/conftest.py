"""Fixtures for tests against a live cluster: whatever KUBECONFIG points at.

These tests rely on labels and standard Kubernetes behaviour only, never on kwok specifics, so the
same suite runs against the embedded kwok cluster, a kind cluster or EKS.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pykube
import pytest
from kubetest import OperatorProcess, ecsk_in

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


@pytest.fixture(scope="session")
def crds_installed(kubeconfig: str) -> None:
    """Our CRDs, plus the third-party ones our renderings use (TargetGroupBinding, ...), established."""
    from kubectl import kubectl

    # --force-conflicts: another client (a plain `kubectl apply`) may own fields of the shared CRDs
    kubectl(
        kubeconfig,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager",
        "ecsk",
        "-k",
        str(ROOT / "crds"),
    )
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(ROOT / "tests/fixtures/crds"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")


OPERATORS: dict[str, OperatorProcess] = {}
"""The operator of each `operator_ns` namespace, for tests that restart it."""


@pytest.fixture(scope="module")
def operator_process(operator_ns: str) -> OperatorProcess:
    """The operator process of this module's namespace (kill/start it to test restarts)."""
    return OPERATORS[operator_ns]


@pytest.fixture
def private_home(tmp_path: Path) -> Iterator[Path]:
    """An ECSK_HOME of its own (sharing only the cached binaries), for tests that create, crash or
    reshape a whole local cluster; `ecsk cluster down` afterwards."""
    from ecsk.cluster import paths

    shared_bin = paths.bin_dir()
    if not (shared_bin / "kwokctl-v0.8.0").is_file():
        pytest.skip("the embedded cluster's binaries are not built on this machine")
    home = tmp_path / "ecsk-home"
    home.mkdir()
    (home / "bin").symlink_to(shared_bin)
    yield home
    ecsk_in(home, "cluster", "down")
