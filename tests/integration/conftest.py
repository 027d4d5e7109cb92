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
