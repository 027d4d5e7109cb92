"""`ecsk kind host-prep | check | build | up | down | status`: a kind cluster with real containers.

`host-prep` is for CI and build hosts only (root, Debian): it installs and starts a Docker
engine. `up` never changes the host: without a running Docker engine it says what to run and
exits non-zero before creating anything.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from ecsk.cluster.kind import cluster, config, host, images, nodeimage

app = typer.Typer(
    help="kind cluster with real containers (needs Docker; see README 'The kind path').",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")
# Every expected failure is a RuntimeError (HostError, StepError, KindError, a failed Go build,
# no Go on PATH); a step that hangs past its timeout too.
_ERRORS = (RuntimeError, subprocess.TimeoutExpired)


def _say(message: str) -> None:
    console.print(message, highlight=False)


def _guard(fn: Callable[[], T]) -> T:
    """Known failures become one clear line and exit code 1, never a traceback."""
    try:
        return fn()
    except _ERRORS as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@app.command("host-prep")
def host_prep() -> None:
    """CI/build hosts only (root, Debian, no systemd): install docker.io and the build
    dependencies, register the runc capability wrapper, start dockerd. Idempotent."""
    _guard(lambda: host.host_prep(_say))


@app.command()
def check() -> None:
    """Exit 0 when a Docker engine answers (the kind path can run here), else say why, exit 1.
    `make test` asks this to decide whether to run the real-container suite."""
    problem = host.docker_problem()
    if problem:
        _say(problem)
        raise typer.Exit(1)
    _say("Docker engine answers: the kind path can run here")


@app.command()
def build() -> None:
    """Build (or pull) every image the kind cluster needs, without creating the cluster."""

    def run() -> None:
        host.require_docker()
        _say(f"node image: {cluster.node_image(_say, None)}")
        _say(f"test app: {images.testapp_image(_say)}")
        _say(f"operator: {images.operator_image(_say)}")

    _guard(run)


@app.command()
def up(
    node_image: Annotated[
        str | None, typer.Option("--node-image", help="Use this kind node image instead of choosing.")
    ] = None,
    fleet: Annotated[
        Path | None,
        typer.Option("--fleet", "-f", help="Fleet file: its first node group labels the workers."),
    ] = None,
) -> None:
    """Create (or reuse) the kind cluster and install ecsk into it. Idempotent."""
    path = _guard(lambda: cluster.up(_say, node_image_ref=node_image, fleet_file=fleet))
    typer.echo(str(path))


@app.command()
def down() -> None:
    """Delete the kind cluster, its network and its kubeconfig (a no-op when there is none)."""
    _guard(lambda: cluster.down(_say))


@app.command()
def status() -> None:
    """Show whether the kind cluster exists, its nodes and the images it was made from."""
    st = _guard(cluster.status)
    if not st.exists:
        _say("no kind cluster (run `ecsk kind up`)")
        raise typer.Exit(1)
    _say(f"kind cluster {cluster.name()}  kubeconfig: {cluster.kubeconfig()}")
    for line in st.nodes:
        _say(f"  {line}")
    for key in ("nodeImage", "images"):
        if key in st.state:
            _say(f"  {key}: {st.state[key]}")
    lb = st.state.get("loadBalancerPorts")
    if lb:
        first, last = lb["hostBase"], lb["hostBase"] + lb["count"] - 1
        _say(
            f"  load balancers: 127.0.0.1:{first}-{last} -> node ports {config.NODE_PORT_BASE}-"
            f"{config.NODE_PORT_BASE + lb['count'] - 1} (a service's port: host base + nodePort - "
            f"{config.NODE_PORT_BASE})"
        )
    _say(f"  node image recipe for this version: {nodeimage.image_ref()}")
