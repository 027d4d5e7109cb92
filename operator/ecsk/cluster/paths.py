"""Where the local cluster keeps its state: one cache directory outside the repository.

Built binaries are large (hundreds of MB) and slow to build, so they live outside every clone,
keyed by version, and a second clone (or CI run) on the same machine reuses them.
"""

from __future__ import annotations

import os
from pathlib import Path

CLUSTER_NAME = "ecsk"


def home() -> Path:
    """`ECSK_HOME`, default `~/.cache/ecsk`."""
    return Path(os.environ.get("ECSK_HOME", Path.home() / ".cache" / "ecsk")).expanduser()


def bin_dir() -> Path:
    return home() / "bin"


def kwok_workdir() -> Path:
    return home() / "kwok"


def cluster_dir(name: str = CLUSTER_NAME) -> Path:
    return kwok_workdir() / "clusters" / name


def kubeconfig(name: str = CLUSTER_NAME) -> Path:
    """A stable kubeconfig path that `ecsk cluster up` writes and everything else reads."""
    return home() / ("kubeconfig" if name == CLUSTER_NAME else f"kubeconfig-{name}")


def lock_file() -> Path:
    return home() / "cluster.lock"
