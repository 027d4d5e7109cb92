"""`ecsk operator`: run the operator in this process against the current kubeconfig.

The same entry point serves the in-cluster Deployment (manifests/) and local development, so
what the integration tests start is exactly what ships.
"""

from __future__ import annotations

import logging
from typing import Annotated, cast

import typer

from ecsk.controller.runtime.common import OperatorConfig
from ecsk.core.translate.types import DEFAULT_DEREGISTRATION_DELAY, IMAGE_PULL_POLICY, ImagePullBehavior


def operator(
    liveness: str | None = typer.Option(
        None, "--liveness", help="kopf liveness endpoint, e.g. http://0.0.0.0:8080/healthz."
    ),
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Watch only these namespaces (repeatable)."),
    ] = None,
    resync: float = typer.Option(30.0, help="Seconds between full resyncs of every object."),
    task_retention: float = typer.Option(
        3600.0, help="Seconds a stopped standalone task stays listed in its Task's status."
    ),
    workers: int = typer.Option(4, help="Reconcile worker threads."),
    healthy_after: float = typer.Option(
        40.0, help="Seconds after RUNNING a task without health check counts healthy (ECS: 40)."
    ),
    region: str = typer.Option("us-east-1", help="Region used in ARNs."),
    account: str = typer.Option("000000000000", help="Account id used in ARNs."),
    lease_duration: int = typer.Option(
        10, help="Seconds a standby waits after the leader's last Lease renewal before taking over."
    ),
    renew_deadline: float = typer.Option(
        6.0, help="Seconds the leader keeps acting while Lease renewals fail, then exits."
    ),
    retry_period: float = typer.Option(2.0, help="Seconds between Lease renewals / standby checks."),
    image_pull_behavior: str = typer.Option(
        "default",
        envvar="ECS_IMAGE_PULL_BEHAVIOR",
        help="The ECS agent setting: default | always | once | prefer-cached (imagePullPolicy).",
    ),
    load_balancer_node_ports: bool = typer.Option(
        False,
        envvar="ECSK_LOAD_BALANCER_NODE_PORTS",
        help="Publish load-balanced services as NodePorts (kind: the host reaches them as the ALB).",
    ),
    deregistration_delay: int = typer.Option(
        DEFAULT_DEREGISTRATION_DELAY,
        min=0,
        max=3600,
        envvar="ECSK_DEREGISTRATION_DELAY",
        help="Target groups' deregistration delay in seconds (ELB: 0-3600, default 300): how long a "
        "load-balanced task drains before SIGTERM.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Reconcile ECS custom resources into Kubernetes objects until interrupted.

    Only one operator acts per scope (Lease-based leader election, docs/operator.md): a second
    one stands by and says who is active."""
    from ecsk.controller import operator as runtime  # kopf is imported only when the operator runs
    from ecsk.controller.runtime.leader import Timing

    if image_pull_behavior not in IMAGE_PULL_POLICY:
        raise typer.BadParameter(
            f"ECS_IMAGE_PULL_BEHAVIOR must be one of {', '.join(IMAGE_PULL_POLICY)}, "
            f"not {image_pull_behavior!r}",
            param_hint="--image-pull-behavior",
        )

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("kopf").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # one line per liveness probe
    config = OperatorConfig(
        resync_seconds=resync,
        task_retention_seconds=task_retention,
        region=region,
        account=account,
        workers=workers,
        healthy_after_seconds=healthy_after,
        image_pull_behavior=cast(ImagePullBehavior, image_pull_behavior),
        load_balancer_node_ports=load_balancer_node_ports,
        deregistration_delay=deregistration_delay,
    )
    try:
        timing = Timing(lease_duration, renew_deadline, retry_period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    runtime.run(config, liveness=liveness, namespaces=list(namespace or []) or None, timing=timing)
