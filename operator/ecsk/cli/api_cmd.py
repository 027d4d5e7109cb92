"""`ecsk api serve | url`: the AWS API endpoint (aws CLI, boto3, SDKs) for the ECS resources."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ecsk.api.context import DEFAULT_ACCOUNT, DEFAULT_NAMESPACE, DEFAULT_PORT, DEFAULT_REGION, MAX_BODY_BYTES

app = typer.Typer(
    help="The AWS API endpoint: point the aws CLI or an SDK at `ecsk api url`.", no_args_is_help=True
)

HOST = "127.0.0.1"


def _port() -> int:
    return int(os.environ.get("ECSK_API_PORT") or DEFAULT_PORT)


def _kind_target() -> bool:
    """Is the kind cluster the one kubectl talks to ($KUBECONFIG is `ecsk kind up`'s)?"""
    from ecsk.cluster.kind import cluster as kind

    current = os.environ.get("KUBECONFIG")
    if not current:
        return False
    return Path(current).expanduser().resolve() == kind.kubeconfig().resolve()


@app.command()
def url(
    port: Annotated[int | None, typer.Option(help="Port (default: $ECSK_API_PORT or 4599).")] = None,
    kind: Annotated[
        bool | None,
        typer.Option(
            "--kind/--embedded",
            help="The kind cluster's endpoint (`ecsk kind up`, $ECSK_KIND_CLUSTER) or the embedded "
            "cluster's; default: kind when $KUBECONFIG is the kind cluster's kubeconfig.",
        ),
    ] = None,
) -> None:
    """Print the endpoint URL: `AWS_ENDPOINT_URL=$(ecsk api url) aws ecs list-clusters`."""
    if port is None and (kind if kind is not None else _kind_target()):
        from ecsk.cluster.kind import cluster as kind_cluster

        found = kind_cluster.api_url()
        if found is None:
            typer.echo(
                f"error: kind cluster {kind_cluster.name()} has not published its endpoint: "
                "run `ecsk kind up`",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(found)
        return
    typer.echo(f"http://{HOST}:{port or _port()}")


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="Port on 127.0.0.1 (default: $ECSK_API_PORT or 4599).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (in a Pod: 0.0.0.0).")] = HOST,
    namespace: Annotated[
        str,
        typer.Option(
            "--namespace", "-n", envvar="ECSK_API_NAMESPACE", help="Namespace holding the ECS resources."
        ),
    ] = DEFAULT_NAMESPACE,
    region: Annotated[str, typer.Option(envvar="ECSK_REGION", help="Region in every ARN.")] = DEFAULT_REGION,
    account: Annotated[
        str, typer.Option(envvar="ECSK_ACCOUNT", help="Account id in every ARN.")
    ] = DEFAULT_ACCOUNT,
    access_keys: Annotated[
        str | None,
        typer.Option(
            "--access-keys",
            envvar="ECSK_API_ACCESS_KEYS",
            help="Strict mode: only these keys, signatures verified (AKID:SECRET,AKID2:SECRET2).",
        ),
    ] = None,
    register_timeout: Annotated[
        float, typer.Option(help="Seconds RegisterTaskDefinition/RunTask wait for the operator.")
    ] = 20.0,
    max_body: Annotated[int, typer.Option(help="Largest request body in bytes.")] = MAX_BODY_BYTES,
    cache: Annotated[
        bool, typer.Option(help="Serve reads from watches of the custom resources (see docs/api.md).")
    ] = True,
    registry_url: Annotated[
        str | None,
        typer.Option(
            envvar="ECSK_REGISTRY_URL", help="The image registry behind ECR (`cluster up` passes it)."
        ),
    ] = None,
    registry_storage: Annotated[
        str | None,
        typer.Option(envvar="ECSK_REGISTRY_STORAGE", help="That registry's filesystem root directory."),
    ] = None,
    registry_port: Annotated[
        int | None,
        typer.Option(
            envvar="ECSK_REGISTRY_PORT",
            help="Serve the registry's front door (ECR's push/pull refusals) on this port of --host.",
        ),
    ] = None,
    registry_pull_port: Annotated[
        int | None,
        typer.Option(
            envvar="ECSK_REGISTRY_PULL_PORT",
            help="Also serve a pull-only front door on this port, where the cluster's nodes pull as "
            "the task execution role (no login; see docs/ecr.md 'On kind').",
        ),
    ] = None,
    registry_pull_principal: Annotated[
        str | None,
        typer.Option(
            envvar="ECSK_REGISTRY_PULL_PRINCIPAL",
            help="The IAM principal of the pull-only door (default: the account's ecsTaskExecutionRole).",
        ),
    ] = None,
    lifecycle_interval: Annotated[
        float,
        typer.Option(envvar="ECSK_LIFECYCLE_INTERVAL", help="Seconds between ECR lifecycle policy runs."),
    ] = 60.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Serve AWS JSON 1.1 (ECS, Application Auto Scaling) until interrupted."""
    from ecsk.api import server, sigv4
    from ecsk.api.context import Settings
    from ecsk.api.store import Store

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if len(account) != 12 or not account.isdigit():
        raise typer.BadParameter("an account id is 12 digits", param_hint="--account")
    try:
        keys = sigv4.parse_keys(access_keys) if access_keys else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--access-keys") from None
    settings = Settings(
        region, account, namespace, keys, max_body, register_timeout, registry_url, registry_storage
    )
    bound = port or _port()
    store = Store(namespace)
    try:
        httpd = server.serve(host, bound, store, settings)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{bound}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    mode = "strict (signatures verified)" if keys else "any credentials accepted"
    logging.getLogger("ecsk.api").info(
        "serving http://%s:%d for namespace %s, %s/%s, %s", host, bound, namespace, region, account, mode
    )
    if cache:
        store.start_cache(timeout=0)  # reads go to the API server until each watch has synced
    lifecycle = _start_lifecycle(store, settings, lifecycle_interval)
    if registry_port and not _start_gate(host, registry_port, store, settings):
        httpd.server_close()
        raise typer.Exit(1)
    if registry_pull_port and not _start_gate(
        host, registry_pull_port, store, settings, registry_pull_principal or _execution_role(account)
    ):
        httpd.server_close()
        raise typer.Exit(1)
    try:
        httpd.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if lifecycle is not None:
            lifecycle.stop.set()
        store.stop_cache()
        httpd.server_close()


def _start_lifecycle(store: Any, settings: Any, interval: float) -> Any:
    """ECR lifecycle policies run beside the endpoint when it has a registry to expire images in."""
    if not (settings.registry_url and settings.registry_storage) or interval <= 0:
        return None
    from ecsk.api.context import Context
    from ecsk.api.ecr.lifecycle import Scheduler

    scheduler = Scheduler(Context(store, settings), interval)
    scheduler.start()
    logging.getLogger("ecsk.api").info(
        "image registry %s; lifecycle policies run every %gs", settings.registry_url, interval
    )
    return scheduler


def _execution_role(account: str) -> str:
    from ecsk.api.ecr import gate

    return gate.execution_role(account)


def _start_gate(host: str, port: int, store: Any, settings: Any, pull_principal: str | None = None) -> bool:
    """The registry's front door, in a thread: pushes and pulls go through it (or, with
    `pull_principal`, the nodes' pulls only)."""
    import threading

    from ecsk.api.ecr import gate

    if not settings.registry_url:
        typer.echo("error: --registry-port and --registry-pull-port need --registry-url", err=True)
        return False
    try:
        door = gate.serve(host, port, store, settings, pull_principal)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        return False
    threading.Thread(target=door.serve_forever, name=f"registry-gate-{port}", daemon=True).start()
    what = f"pull-only door as {pull_principal}" if pull_principal else "front door"
    logging.getLogger("ecsk.api").info(
        "registry %s http://%s:%d -> %s", what, host, port, settings.registry_url
    )
    return True
