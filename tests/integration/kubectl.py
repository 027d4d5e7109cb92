"""kubectl for integration tests: the one `ecsk cluster` uses (built or on PATH within skew)."""

from __future__ import annotations

import functools
import json
import subprocess
from typing import Any

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


def assert_server_accepts(
    kubeconfig: str, objects: list[dict[str, Any]], namespace: str = "", what: str = ""
) -> None:
    """Server-side dry run of `objects` as one List (as `ecsk` applies them): every one accepted."""
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    ns = ["-n", namespace] if namespace else []
    proc = kubectl(
        kubeconfig,
        "apply",
        *ns,
        "--server-side",
        "--dry-run=server",
        "--field-manager",
        "ecsk",
        "-f",
        "-",
        stdin=doc,
        check=False,
    )
    assert proc.returncode == 0, f"{what}: apiserver refused:\n{proc.stderr}"
    assert proc.stdout.count("serverside-applied") == len(objects), proc.stdout
