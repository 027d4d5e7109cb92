"""The Docker CLI steps of a source deploy: is Docker usable, log in, build, push.

Shared by `ecsk apprunner deploy --source` and `ecsk copilot svc deploy`. Each step either
succeeds or raises DockerError naming the step and the last lines Docker printed, so a deploy
stops before it touches the running service. `run` is injectable: unit tests replay Docker.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence

Run = Callable[..., subprocess.CompletedProcess[str]]


class DockerError(Exception):
    """A Docker step failed; the message says which and why."""


def run_command(args: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=False)


def missing(purpose: str, run: Run = run_command) -> str | None:
    """Why Docker cannot build here, or None. `purpose` says what needs it."""
    if shutil.which("docker") is None:
        return f"docker is not installed ({purpose})"
    proc = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if proc.returncode != 0:
        return f"the Docker daemon is not reachable: {proc.stderr.strip() or proc.stdout.strip()}"
    return None


def step(what: str, args: Sequence[str], stdin: str | None = None, run: Run = run_command) -> None:
    proc = run(args, stdin=stdin)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise DockerError(f"{what} failed: " + " | ".join(detail))


def login(registry: str, user: str, password: str, run: Run = run_command) -> None:
    step("docker login", ["docker", "login", "--username", user, "--password-stdin", registry], password, run)


def build(
    tags: Sequence[str],
    context: str,
    *,
    dockerfile: str | None = None,
    target: str | None = None,
    cache_from: Sequence[str] = (),
    args: Sequence[tuple[str, str]] = (),
    platform: str | None = None,
    run: Run = run_command,
) -> None:
    """`docker build` with Copilot's mapping of `image.build` (file, target, cache, build args).

    `--force-rm`: the classic builder keeps the container of a failed RUN step otherwise, one
    stopped container left on the user's engine per failed deploy."""
    cmd = ["docker", "build", "--force-rm"]
    for tag in tags:
        cmd += ["-t", tag]
    if dockerfile:
        cmd += ["-f", dockerfile]
    if target:
        cmd += ["--target", target]
    for cache in cache_from:
        cmd += ["--cache-from", cache]
    for key, value in args:
        cmd += ["--build-arg", f"{key}={value}"]
    if platform:
        cmd += ["--platform", platform]
    step("docker build", [*cmd, context], run=run)


def push(tag: str, run: Run = run_command) -> None:
    step("docker push", ["docker", "push", tag], run=run)


def prune_label(label: str, run: Run = run_command) -> None:
    """Remove the untagged images carrying `label` (a finished multi-stage build's stages);
    best effort: a leftover only costs disk."""
    run(["docker", "image", "prune", "--force", "--filter", f"label={label}"])
