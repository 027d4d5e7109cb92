"""Fixtures for the real-container suite: the kind cluster `ecsk kind up` made.

Selected with `-m kind` (`make kind-test`); skipped, with the reason, otherwise or when there is
no kind kubeconfig, so `pytest tests` never starts real containers by accident. The operator runs
inside the cluster (manifests/), watching every namespace, so each test only needs the fresh
`namespace` of ../conftest.py; only the kubeconfig differs from the integration suite's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def kind_kubeconfig() -> Path:
    explicit = os.environ.get("ECSK_KIND_KUBECONFIG")
    if explicit:
        return Path(explicit)
    from ecsk.cluster.kind import cluster  # the same rule `ecsk kind up` wrote it by ($ECSK_KIND_CLUSTER)

    return cluster.kubeconfig()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run only when asked for (`-m kind`) and only where a kind cluster exists: `pytest tests`
    (the embedded-cluster run) never starts real containers by accident."""
    if "kind" not in str(config.option.markexpr or ""):
        reason = "real-container test: select with -m kind (make kind-test)"
    elif not kind_kubeconfig().is_file():
        reason = f"no kind cluster ({kind_kubeconfig()} missing): run `ecsk kind up`"
    else:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "kind" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    return str(kind_kubeconfig())
