"""ecsk: Amazon ECS, emulated on real Kubernetes."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

__version__ = "0.1.0"


@lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """A hash of this package's Python sources.

    The local cluster's background processes (the operator, the AWS API endpoint) record it when
    they start, so `cluster up` / `make demo` after a `git pull` or a branch switch replaces a
    process still running the old code instead of silently keeping it."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
