"""kubectl for integration tests: the one `ecsk cluster` uses (built or on PATH within skew)."""

from __future__ import annotations

import functools
import subprocess

from ecsk.cluster import binaries


@functools.cache
def _path() -> str:
    return str(binaries.ensure(lambda _m: None, with_metrics_server=False)["kubectl"])


def kubectl(
    kubeconfig: str, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    prefix = ["--kubeconfig", kubeconfig] if kubeconfig else []
    proc = subprocess.run([_path(), *prefix, *args], input=stdin, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc
