"""The pykube client every CLI command talks to the cluster with (the tools layer's client)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def pykube_api(fallback: Path | None = None) -> Any:
    """A client for `KUBECONFIG`; else `fallback` if that file exists; else `~/.kube/config`;
    else the in-cluster service account."""
    import pykube  # imported late: `ecsk render` never needs a client

    path = os.environ.get("KUBECONFIG")
    if not path:
        local = fallback is not None and fallback.is_file()
        path = str(fallback) if local else os.path.expanduser("~/.kube/config")
    if os.path.exists(path):
        return pykube.HTTPClient(pykube.KubeConfig.from_file(path))
    return pykube.HTTPClient(pykube.KubeConfig.from_service_account())
