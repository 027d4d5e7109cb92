"""`ecsk load --service S --cpu 80`: simulated load, so a lab can push a service past its target.

kwok's pods use no CPU of their own; the embedded cluster's usage rules (cluster/data/
kwok-usage.yaml) read a percentage of the container requests from pod annotations, which is
exactly how ECS expresses utilization (used / reserved). The load is set on the ECSService too:
the operator copies it onto tasks started later (a scale-out), so the whole service carries it.

Request rates and customized metrics are service-level numbers, not per task: `--requests` is
the total per minute the service's target groups receive (more tasks share it, so a scale-out
lowers the per-target count, as behind a real ALB), `--metric` a CloudWatch metric's value. Both
live only on the ECSService, where ecsk's metrics adapter reads them for the HPA.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from ecsk.cli.kube_api import pykube_api
from ecsk.core.translate.names import LABEL_SERVICE, MANAGED_BY, label_value

CR = "ecs.ecsk.io/v1alpha1"
CPU = "ecs.ecsk.io/usage-cpu-percent"
MEMORY = "ecs.ecsk.io/usage-memory-percent"
REQUESTS = "ecs.ecsk.io/requests-per-minute"
METRICS = "ecs.ecsk.io/metrics"
POD_LEVEL = (CPU, MEMORY)
"""Usage is per task (kwok reads it from each pod); the rest is read from the service."""

console = Console(stderr=True, soft_wrap=True)


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


def parse_metric(text: str) -> tuple[str, float | None]:
    """`Namespace/MetricName=VALUE` (empty VALUE clears) -> ("Namespace/MetricName", value)."""
    key, sep, raw = text.rpartition("=")
    namespace, _, name = key.rpartition("/")
    if not sep or not namespace or not name:
        raise ValueError(f"--metric {text!r}: expected Namespace/MetricName=VALUE")
    if not raw.strip():
        return key, None
    try:
        return key, float(raw)
    except ValueError:
        raise ValueError(f"--metric {text!r}: {raw!r} is not a number") from None


def merge_metrics(current: str | None, changes: dict[str, float | None]) -> str | None:
    """The metrics annotation after `changes` (None removes a metric; None when empty)."""
    try:
        values = json.loads(current or "{}")
    except ValueError:
        values = {}
    if not isinstance(values, dict):
        values = {}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return json.dumps(dict(sorted(values.items())), separators=(",", ":")) if values else None


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
        None,
        help="Requests per minute to the service's target groups in total (ALBRequestCountPerTarget "
        "divides them by the tasks; -1 clears).",
    ),
    metric: list[str] | None = typer.Option(  # noqa: B008
        None,
        "--metric",
        help="A customized metric's value, Namespace/MetricName=VALUE (repeatable; empty VALUE clears).",
    ),
) -> None:
    """Set the simulated load of a service: task utilization, request rate, customized metrics."""
    import pykube

    patch: dict[str, str | None] = load_annotations(cpu, memory, requests)
    try:
        changes = dict(parse_metric(m) for m in metric or ())
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not patch and not changes:
        console.print("[red]error:[/red] give at least one of --cpu, --memory, --requests, --metric")
        raise typer.Exit(2)
    api = pykube_api()
    svc = _find_service(api, namespace, service)
    if svc is None:
        console.print(
            f"[red]error:[/red] ServiceNotFoundException: service {service} not found in {namespace}"
        )
        raise typer.Exit(1)
    if requests is not None and not any(
        "targetgroup/" in str(lb.get("targetGroupArn") or "")
        for lb in (svc.obj.get("spec") or {}).get("loadBalancers") or []
    ):
        console.print(
            "[yellow]warning:[/yellow] the service has no loadBalancers[].targetGroupArn: "
            "no target group receives these requests"
        )
    for attempt in range(5):
        meta: dict[str, Any] = {"annotations": patch}
        if changes:
            current = (svc.obj["metadata"].get("annotations") or {}).get(METRICS)
            patch[METRICS] = merge_metrics(current, changes)
            # A read-modify-write: the resourceVersion makes a concurrent change fail (409), not vanish.
            meta["resourceVersion"] = svc.obj["metadata"]["resourceVersion"]
        try:
            svc.patch({"metadata": meta})
            break
        except pykube.exceptions.HTTPError as exc:
            if exc.code != 409 or attempt == 4:
                raise
            svc.reload()
    pod_patch = {k: v for k, v in patch.items() if k in POD_LEVEL}
    selector = (svc.obj.get("status") or {}).get("selector")
    name = (svc.obj.get("spec") or {}).get("serviceName") or svc.name
    query = pykube.Pod.objects(api, namespace=namespace)
    pods = (
        query.filter(selector=selector)
        if selector
        else query.filter(selector={MANAGED_BY: "ecsk", LABEL_SERVICE: label_value(str(name))})
    )
    count = 0
    for pod in pods if pod_patch else ():
        pod.patch({"metadata": {"annotations": pod_patch}})
        count += 1
    shown = ", ".join(f"{k.rsplit('/', 1)[-1]}={v if v is not None else 'cleared'}" for k, v in patch.items())
    where = f"on {count} task(s)" if pod_patch else "(service-level: read by the metrics adapter)"
    console.print(f"service {name}: {shown} {where}", highlight=False)
