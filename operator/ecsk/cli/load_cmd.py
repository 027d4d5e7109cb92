"""`ecsk load --service S --cpu 80`: simulated load, so a lab can push a service past its target.

kwok's pods use no CPU of their own; the embedded cluster's usage rules (cluster/data/
kwok-usage.yaml) read a percentage of the container requests from pod annotations, which is
exactly how ECS expresses utilization (used / reserved). The load is set on the ECSService too:
the operator copies it onto tasks started later (a scale-out), so the whole service carries it.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console

from ecsk.core.translate.names import LABEL_SERVICE, MANAGED_BY, label_value

CR = "ecs.ecsk.io/v1alpha1"
CPU = "ecs.ecsk.io/usage-cpu-percent"
MEMORY = "ecs.ecsk.io/usage-memory-percent"
REQUESTS = "ecs.ecsk.io/requests-per-target"

console = Console(stderr=True, soft_wrap=True)


def _api() -> Any:
    import pykube

    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    config = (
        pykube.KubeConfig.from_file(path)
        if os.path.exists(path)
        else pykube.KubeConfig.from_service_account()
    )
    return pykube.HTTPClient(config)


def load_annotations(
    cpu: float | None, memory: float | None, requests: float | None
) -> dict[str, str | None]:
    """Merge-patch annotations: a negative value clears the simulated load for that metric."""
    out: dict[str, str | None] = {}
    for key, value in ((CPU, cpu), (MEMORY, memory), (REQUESTS, requests)):
        if value is None:
            continue
        out[key] = None if value < 0 else f"{value:g}"
    return out


def _find_service(api: Any, namespace: str, service: str) -> Any:
    import pykube

    cls = pykube.object_factory(api, CR, "ECSService")
    for obj in cls.objects(api, namespace=namespace):
        spec = obj.obj.get("spec") or {}
        if obj.name == service or spec.get("serviceName") == service:
            return obj
    return None


def load(
    service: str = typer.Option(..., "--service", "-s", help="ECS service (object name or serviceName)."),
    namespace: str = typer.Option("default", "--namespace", "-n"),
    cpu: float | None = typer.Option(None, help="CPU utilization, % of the task's reservation (-1 clears)."),
    memory: float | None = typer.Option(None, help="Memory utilization, % of the reservation (-1 clears)."),
    requests: float | None = typer.Option(
        None, help="ALB requests per target per minute (recorded; not yet served as a metric)."
    ),
) -> None:
    """Set the simulated utilization of every task of a service (and of tasks it starts later)."""
    import pykube

    patch = load_annotations(cpu, memory, requests)
    if not patch:
        console.print("[red]error:[/red] give at least one of --cpu, --memory, --requests")
        raise typer.Exit(2)
    api = _api()
    svc = _find_service(api, namespace, service)
    if svc is None:
        console.print(
            f"[red]error:[/red] ServiceNotFoundException: service {service} not found in {namespace}"
        )
        raise typer.Exit(1)
    svc.patch({"metadata": {"annotations": patch}})
    selector = (svc.obj.get("status") or {}).get("selector")
    name = (svc.obj.get("spec") or {}).get("serviceName") or svc.name
    query = pykube.Pod.objects(api, namespace=namespace)
    pods = (
        query.filter(selector=selector)
        if selector
        else query.filter(selector={MANAGED_BY: "ecsk", LABEL_SERVICE: label_value(str(name))})
    )
    count = 0
    for pod in pods:
        pod.patch({"metadata": {"annotations": patch}})
        count += 1
    shown = ", ".join(f"{k.rsplit('/', 1)[-1]}={v if v is not None else 'cleared'}" for k, v in patch.items())
    console.print(f"service {name}: {shown} on {count} task(s)", highlight=False)
