"""`ecsk instances`: the `aws ecs describe-container-instances` view of the cluster's nodes.

ECS accounts capacity in CPU units (1024 per vCPU) and MiB, registered minus what placed tasks
reserve; Kubernetes has the same facts as node allocatable and pod requests. The row building is
pure (plain dicts in, plain dicts out) so it is unit-tested without a cluster; only `instances()`
talks to the API server (pykube-ng, like the other tools).
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ecsk.core.capacity.scaling import pod_reservation
from ecsk.core.placement.instance_views import ATTRIBUTES, describe, describe_all, provider_of

__all__ = ["describe", "describe_all", "instances", "pod_reservation", "provider_of"]


def _value(resources: list[dict[str, Any]], name: str) -> int:
    return int(next((r["integerValue"] for r in resources if r["name"] == name), 0))


def instances(
    capacity_provider: str | None = typer.Option(
        None,
        "--capacity-provider",
        "-p",
        help="Only this capacity provider (FARGATE, nodegroup/<name>, ...).",
    ),
    zone: str | None = typer.Option(None, "--zone", "-z", help="Only this availability zone."),
    output: str = typer.Option(
        "table", "--output", "-o", help="table | json (describe-container-instances)."
    ),
) -> None:
    """List container instances (nodes): type, zone, provider, registered/remaining CPU and memory."""
    import pykube

    from ecsk.cli.kube_api import pykube_api

    api = pykube_api()
    nodes = [n.obj for n in pykube.Node.objects(api)]
    pods = [p.obj for p in pykube.Pod.objects(api, namespace=pykube.all)]
    rows = [
        d
        for d in describe_all(nodes, pods)
        if (capacity_provider is None or d["capacityProviderName"] == capacity_provider)
        and (zone is None or d["availabilityZone"] == zone)
    ]
    if output == "json":
        typer.echo(json.dumps({"containerInstances": rows, "failures": []}, indent=2))
        return
    table = Table(box=None, header_style="bold")
    for col in (
        "INSTANCE",
        "TYPE",
        "ZONE",
        "PROVIDER",
        "CPU",
        "CPU FREE",
        "MEM",
        "MEM FREE",
        "TASKS",
        "NODE",
        "ATTRIBUTES",
    ):
        table.add_column(col)
    for d in rows:
        reg, rem = d["registeredResources"], d["remainingResources"]
        table.add_row(
            d["ec2InstanceId"],
            d["instanceType"],
            d["availabilityZone"],
            d["capacityProviderName"],
            str(_value(reg, "CPU")),
            str(_value(rem, "CPU")),
            str(_value(reg, "MEMORY")),
            str(_value(rem, "MEMORY")),
            f"{d['runningTasksCount']}"
            + (f" (+{d['pendingTasksCount']} pending)" if d["pendingTasksCount"] else ""),
            d["nodeName"],
            " ".join(
                f"{a['name']}={a.get('value', '')}" for a in d["attributes"] if a["name"] not in ATTRIBUTES
            ),
        )
    Console().print(table)
