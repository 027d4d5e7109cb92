"""`ecsk cluster up | down | status | kubeconfig | build`: the embedded local cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecsk.cluster import binaries, paths
from ecsk.cluster.embedded import local

app = typer.Typer(
    help="The local control plane (real Kubernetes binaries, kwok nodes).", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)


SELF_MANAGED_LIFECYCLE = {"spot": "SPOT", "on-demand": "ON_DEMAND"}
"""Self-managed nodes have no eks.amazonaws.com/capacityType; their node-lifecycle label says it."""


def _say(message: str) -> None:
    console.print(message, highlight=False)


@app.command()
def up(
    fleet: Annotated[
        Path | None, typer.Option("--fleet", "-f", help="Fleet file (default: 3 zones, 9 nodes).")
    ] = None,
    metrics_server: bool = typer.Option(
        True, help="Run metrics-server (resource metrics; Service Auto Scaling needs it)."
    ),
    api: bool = typer.Option(True, help="Start the AWS API endpoint (`ecsk api url`) on 127.0.0.1."),
    registry: bool = typer.Option(
        True, help="Start the image registry behind ECR; push to 127.0.0.1:4598 ($ECSK_REGISTRY_PORT)."
    ),
) -> None:
    """Build what is missing, start the control plane on 127.0.0.1, create the fleet."""
    try:
        st = local.up(fleet, _say, metrics_server=metrics_server)
    except local.ClusterError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    _print_nodes(st)
    registry_args = _start_registry() if registry else []
    if api:
        _start_api(str(st.kubeconfig), registry_args)


def _start_registry() -> list[str]:
    """The image registry behind ECR; the arguments that point the API endpoint at it."""
    from ecsk.cluster import registry as reg

    try:
        pid, started = reg.start(paths.home(), say=_say)
    except RuntimeError as exc:
        console.print(f"[yellow]warning:[/yellow] {exc}; ECR image calls will fail", highlight=False)
        return []
    state = "started" if started else "already running"
    _say(f"image registry {state} (pid {pid}): push to {reg.HOST}:{reg.port()}/<repository>:<tag>")
    storage = str(reg.storage_dir(paths.home()))
    return ["--registry-url", reg.url(), "--registry-storage", storage, "--registry-port", str(reg.port())]


def _start_api(kubeconfig: str, extra: list[str]) -> None:
    """The endpoint runs beside the cluster like the operator; a taken port is reported, not fatal."""
    from ecsk.api import process

    try:
        pid, started = process.start(paths.home(), kubeconfig, extra=extra)
    except RuntimeError as exc:
        console.print(f"[yellow]warning:[/yellow] {exc}", highlight=False)
        return
    state = "started" if started else "already running"
    _say(f"AWS API endpoint {state} (pid {pid}): AWS_ENDPOINT_URL=$(ecsk api url) aws ecs list-clusters")


@app.command()
def down() -> None:
    """Stop and delete the local cluster (a no-op when there is none)."""
    from ecsk.api import process
    from ecsk.cluster import registry as reg

    if process.stop(paths.home()):
        _say("stopped the AWS API endpoint")
    if reg.stop(paths.home()):
        _say("stopped the image registry (its images stay in the ecsk home directory)")
    try:
        local.down(_say)
    except local.ClusterError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


@app.command()
def status() -> None:
    """Show whether the cluster runs, its components and its nodes."""
    st = local.status()
    if not st.exists:
        _say("no local cluster (run `ecsk cluster up`)")
        raise typer.Exit(3)
    state = "[green]running[/green]" if st.healthy else "[red]not healthy[/red]"
    _say(f"cluster {paths.CLUSTER_NAME}: {state}  kubeconfig: {st.kubeconfig}")
    for name, alive in st.components.items():
        _say(f"  {name:<26} {'up' if alive else 'DOWN'}")
    if st.detail:
        _say(f"  {st.detail}")
    _print_nodes(st)
    if not st.healthy:
        raise typer.Exit(1)
    _print_operators(str(st.kubeconfig))


def _print_operators(kubeconfig: str) -> None:
    """The operators that lead a scope now (their Leases), so a second one is not started blindly."""
    from ecsk.controller.runtime import leader

    try:
        holders = leader.active_operators_at(kubeconfig)
    except Exception as exc:  # status prints what it can
        _say(f"operators: unknown ({exc})")
        return
    if not holders:
        _say("operators: none active")
    for h in holders:
        _say(f"operator: {h.describe()}, renewed {h.renewed_ago or 0:.0f}s ago")


@app.command()
def kubeconfig() -> None:
    """Print the kubeconfig path (for `export KUBECONFIG=$(ecsk cluster kubeconfig)`)."""
    typer.echo(str(paths.kubeconfig()))


@app.command()
def build() -> None:
    """Build (or find in the cache) every control-plane binary, and list them."""
    tools = binaries.ensure(_say)
    for name, path in sorted(tools.paths.items()):
        typer.echo(f"{name:<26} {path}")


def _print_nodes(st: local.Status) -> None:
    if not st.nodes:
        return
    table = Table("NODE", "ZONE", "INSTANCE TYPE", "NODE GROUP", "CAPACITY", "CPU", "MEMORY", "READY")
    for n in st.nodes:
        labels = n["metadata"].get("labels", {})
        alloc = n["status"].get("allocatable", {})
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        table.add_row(
            n["metadata"]["name"],
            labels.get("topology.kubernetes.io/zone", ""),
            labels.get("node.kubernetes.io/instance-type", ""),
            labels.get("eks.amazonaws.com/nodegroup", labels.get("alpha.eksctl.io/nodegroup-name", "")),
            labels.get("eks.amazonaws.com/capacityType")  # managed node groups only
            or SELF_MANAGED_LIFECYCLE.get(labels.get("node-lifecycle", ""), ""),
            alloc.get("cpu", ""),
            alloc.get("memory", ""),
            "Ready" if ready else "NotReady",
        )
    Console(width=None if Console().is_terminal else 160).print(table)
