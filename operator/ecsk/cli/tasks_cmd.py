"""`ecsk tasks`: the `aws ecs list-tasks` + `describe-tasks` view of what runs on the cluster.

Reads pods directly (pykube-ng, like the other tools) and derives the ECS state with the same
core function the operator uses, so the CLI and the operator's status never disagree.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ecsk.cli.kube_api import pykube_api
from ecsk.core.tasks.status import derive_task_status
from ecsk.core.translate.names import LABEL_CLUSTER, LABEL_SERVICE, MANAGED_BY, label_value

TD_ANNOTATION = "ecs.ecsk.io/task-definition"
ZONE_LABEL = "topology.kubernetes.io/zone"


def _selector(service: str | None, cluster: str | None) -> dict[str, str]:
    sel = {MANAGED_BY: "ecsk"}
    if service:
        sel[LABEL_SERVICE] = label_value(service)
    if cluster:
        sel[LABEL_CLUSTER] = label_value(cluster.rsplit("/", 1)[-1])
    return sel


def rows(pods: list[dict[str, Any]], zones: dict[str, str]) -> list[list[str]]:
    """One table row per task; pure so it is testable without a cluster."""
    out = []
    for pod in pods:
        ts = derive_task_status(pod)
        ann = pod.get("metadata", {}).get("annotations") or {}
        node = ts.node or ""
        labels = pod.get("metadata", {}).get("labels") or {}
        # Label values are sanitised (`service:web` -> `service_web`); show ECS's group name.
        group = f"service:{labels[LABEL_SERVICE]}" if labels.get(LABEL_SERVICE) else (ts.group or "")
        out.append(
            [
                ts.taskId,
                ts.lastStatus,
                ts.desiredStatus,
                ann.get(TD_ANNOTATION, ""),
                zones.get(node, ""),
                node,
                ts.startedAt or "",
                group,
                ts.stopCode or "",
            ]
        )
    return sorted(out, key=lambda r: (r[3], r[6], r[0]))


def tasks(
    service: str | None = typer.Option(None, "--service", "-s", help="Only this service's tasks."),
    cluster: str | None = typer.Option(None, "--cluster", "-c", help="Only this ECS cluster (name or ARN)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Namespace (default: all)."),
) -> None:
    """List ECS tasks (pods rendered by ecsk) with state, revision, zone and instance."""
    import pykube

    api = pykube_api()
    query = pykube.Pod.objects(api, namespace=namespace or pykube.all).filter(
        selector=_selector(service, cluster)
    )
    pods = [p.obj for p in query]
    zones = {n.name: (n.labels or {}).get(ZONE_LABEL, "") for n in pykube.Node.objects(api)}
    table = Table(box=None, header_style="bold")
    for col in (
        "TASK",
        "LAST STATUS",
        "DESIRED",
        "TASK DEFINITION",
        "ZONE",
        "INSTANCE",
        "STARTED",
        "GROUP",
        "STOP CODE",
    ):
        table.add_column(col)
    for row in rows(pods, zones):
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:
        console = Console(width=250)  # piped output: never truncate ids
    console.print(table)
