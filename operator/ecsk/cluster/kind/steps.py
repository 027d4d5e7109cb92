"""Build steps with a kept log each, and Docker helpers shared by every kind image build.

A step runs one command with its whole output in `$ECSK_HOME/kind/logs/<step>.log`; when it
fails, the error names the step and that log, so a failed image build can be read afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from ecsk.cluster import paths
from ecsk.cluster.binaries import Progress


class StepError(RuntimeError):
    """A build step failed; the message names the step and its log."""


def kind_home() -> Path:
    return paths.home() / "kind"


def log_dir() -> Path:
    return kind_home() / "logs"


def build_dir() -> Path:
    return kind_home() / "build"


def key(*parts: object) -> str:
    """A short stable hash of versions and inputs: the cache key in image tags and file names."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def repo_dir(relative: str) -> Path:
    """A directory of this repository checkout (the kind path builds images from its sources)."""
    root = Path(__file__).resolve().parents[4]
    path = root / relative
    if not path.is_dir():
        raise StepError(f"{path} not found: the kind path runs from a clone of the ecsk repository")
    return path


def module_dir(module_at_version: str) -> Path:
    """A Go module's source in the module cache (downloaded through the module proxy if needed):
    kind's base image files and kwok's manifests come from there, at the pinned version."""
    kind_home().mkdir(parents=True, exist_ok=True)
    try:
        out = subprocess.run(
            ["go", "mod", "download", "-json", module_at_version],
            capture_output=True,
            text=True,
            check=False,
            cwd=kind_home(),
        )
    except FileNotFoundError:
        raise StepError("Go is required (https://go.dev/doc/install); none was found on PATH") from None
    if out.returncode != 0:
        raise StepError(f"go mod download {module_at_version} failed: {(out.stderr or out.stdout).strip()}")
    return Path(json.loads(out.stdout)["Dir"])


def tree_hash(directory: Path) -> str:
    """A hash of every file's path and content under `directory` (cache key of a built image).
    Bytecode caches are left out, as .dockerignore leaves them out of the image: running the
    tests writes them, and must not make the next `up` rebuild and reload the operator."""
    digest = hashlib.sha256()
    for p in sorted(directory.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            digest.update(str(p.relative_to(directory)).encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def rollout(step: str, kc: list[str], namespace: str | None, workload: str, say: Progress, wait: int) -> None:
    """`kubectl rollout status` of one workload (`deployment/x`, `daemonset/y`) with a bound, as
    every install of `kind up` ends; the step's own timeout leaves kubectl time to report."""
    scope = ["-n", namespace] if namespace else []
    run(step, [*kc, *scope, "rollout", "status", workload, f"--timeout={wait}s"], say, timeout=wait + 20)


def run(
    step: str,
    cmd: list[str],
    say: Progress,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float | None = None,
) -> str:
    """Run one step (niced: our machines are shared), keep its log, raise StepError on failure."""
    log = log_dir() / f"{step.replace('/', '_')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    full = ["nice", "-n", "10", *cmd] if os.name == "posix" else cmd
    try:
        proc = subprocess.run(
            full,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        log.write_bytes(f"$ {' '.join(cmd)}\n".encode() + (exc.stdout or b"") + (exc.stderr or b""))
        raise StepError(f"step {step!r} timed out after {timeout:.0f}s; full log: {log}") from None
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    log.write_text(f"$ {' '.join(cmd)}\n{out}{err}")
    if proc.returncode != 0:
        tail = "\n".join((err or out).strip().splitlines()[-15:])
        raise StepError(f"step {step!r} failed (exit {proc.returncode}); full log: {log}\n{tail}")
    elapsed = time.monotonic() - started
    if elapsed > 5:
        say(f"  {step}: {elapsed:.0f}s")
    return out


def image_exists(ref: str) -> bool:
    return (
        subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode == 0
    )


def docker_build(
    step: str,
    tag: str,
    context: Path,
    say: Progress,
    build_args: dict[str, str] | None = None,
    label: str | None = None,
) -> None:
    """`docker build` with the legacy builder's plain output into the step log; `label`
    (`key=value`) marks the image with the version it was built from."""
    args = [f"--build-arg={k}={v}" for k, v in (build_args or {}).items()]
    args += [f"--label={label}"] if label else []
    run(step, ["docker", "build", "--force-rm", "--network=host", "-t", tag, *args, str(context)], say)
