"""`ecsk placement`: zones x instances, the tasks on each and what is left, at a glance.

The point is the workshop moment: apply a binpack service and a spread service and *see* one
fill a few instances while the other lays tasks evenly over zones. The picture is computed by a
pure function (`build_picture`) from Node and Pod dicts, so it is unit-tested without a cluster;
only `placement` talks to the API (pykube-ng, like the other tools).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.columns import Columns
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ecsk.cli.kube_api import pykube_api
from ecsk.core.placement import NodeUsage, node_usage, pod_requests
from ecsk.core.translate.names import LABEL_SERVICE, LABEL_TASK_GROUP, MANAGED_BY, label_value

_FAMILY = "ecs.ecsk.io/family"
_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


@dataclass
class Instance:
    usage: NodeUsage
    tasks: dict[str, int] = field(default_factory=dict)  # task label (service or family) -> count


@dataclass
class Picture:
    zones: dict[str, list[Instance]]
    pending: dict[str, int]
    labels: list[str]  # every task label shown, in colour order

    def zone_counts(self, label: str) -> dict[str, int]:
        return {z: sum(i.tasks.get(label, 0) for i in insts) for z, insts in self.zones.items()}


def _task_label(pod: Mapping[str, Any]) -> str:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if labels.get(LABEL_SERVICE):
        return f"service:{labels[LABEL_SERVICE]}"
    if labels.get(_FAMILY):
        return f"family:{labels[_FAMILY]}"
    return str(labels.get(LABEL_TASK_GROUP, "task"))


def _live(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and not (
        pod.get("metadata") or {}
    ).get("deletionTimestamp")


def is_task(pod: Mapping[str, Any], service: str | None = None, namespace: str | None = None) -> bool:
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_BY) != "ecsk" or not labels.get(LABEL_TASK_GROUP):
        return False
    if namespace and meta.get("namespace") != namespace:
        return False
    return not service or labels.get(LABEL_SERVICE) == label_value(service)


def build_picture(
    nodes: Sequence[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    service: str | None = None,
    namespace: str | None = None,
) -> Picture:
    """`pods`: every pod in the cluster (remaining resources count them all); tasks shown are the
    ecsk ones, narrowed by service and namespace."""
    every = [p for p in pods if _live(p)]
    usage = node_usage(nodes, every)
    instances = {name: Instance(u) for name, u in usage.items()}
    pending: dict[str, int] = {}
    seen: list[str] = []
    for p in every:
        if not is_task(p, service, namespace):
            continue
        label = _task_label(p)
        if label not in seen:
            seen.append(label)
        node = (p.get("spec") or {}).get("nodeName")
        if node in instances:
            inst = instances[node]
            inst.tasks[label] = inst.tasks.get(label, 0) + 1
        elif not node:
            pending[label] = pending.get(label, 0) + 1
    zones: dict[str, list[Instance]] = {}
    for inst in sorted(instances.values(), key=lambda i: (i.usage.zone, i.usage.instance_type, i.usage.name)):
        zones.setdefault(inst.usage.zone or "(no zone)", []).append(inst)
    return Picture(dict(sorted(zones.items())), pending, sorted(seen))


def _bar(left: int, total: int, width: int = 6) -> Text:
    used = 0 if total <= 0 else round(width * (total - left) / total)
    used = min(max(used, 0), width)
    colour = "red" if left < total * 0.1 else "yellow" if left < total * 0.4 else "green"
    return Text("█" * used, style=colour) + Text("░" * (width - used), style="dim")


def _instance_table(insts: list[Instance], colours: Mapping[str, str]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("instance", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("tasks")
    table.add_column("cpu left", justify="right", no_wrap=True)
    table.add_column("mem left", justify="right", no_wrap=True)
    for inst in insts:
        u = inst.usage
        tasks = Text()
        for label, n in sorted(inst.tasks.items()):
            tasks += Text("■" * min(n, 12) + ("+" if n > 12 else ""), style=colours.get(label, "white"))
            tasks += Text(f"{n} ", style="dim")
        left = u.remaining
        cpu = _bar(left.millicpu, u.allocatable.millicpu) + Text(f" {left.millicpu}m")
        mem = _bar(left.memory_mib, u.allocatable.memory_mib) + Text(f" {left.memory_mib}Mi")
        table.add_row(u.name.split(".")[0], u.instance_type, tasks or Text("-", style="dim"), cpu, mem)
    return table


def render_picture(picture: Picture, console: Console) -> None:
    colours = {label: _COLOURS[i % len(_COLOURS)] for i, label in enumerate(picture.labels)}
    panels = []
    for zone, insts in picture.zones.items():
        total = sum(sum(i.tasks.values()) for i in insts)
        panels.append(Panel(_instance_table(insts, colours), title=f"[bold]{zone}[/] · {total} tasks"))
    console.print(Columns(panels, expand=True) if len(panels) <= 3 else Group(*panels))
    legend = Table(box=None, header_style="bold")
    legend.add_column("task group")
    legend.add_column("per zone")
    legend.add_column("instances", justify="right")
    legend.add_column("pending", justify="right")
    for label in picture.labels:
        counts = picture.zone_counts(label)
        used = sum(1 for insts in picture.zones.values() for i in insts if i.tasks.get(label))
        legend.add_row(
            Text("■ " + label, style=colours[label]),
            " / ".join(f"{z}:{n}" for z, n in counts.items()),
            str(used),
            str(picture.pending.get(label, 0)),
        )
    if picture.labels:
        console.print(legend)
    else:
        console.print(Text("no ECS tasks found", style="dim"))


def _api() -> Any:
    from ecsk.cluster import paths

    return pykube_api(fallback=paths.kubeconfig())


def placement(
    service: str | None = typer.Option(None, "--service", "-s", help="Only this service's tasks."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Only tasks in this namespace."),
) -> None:
    """Zones x instances with the tasks on each and the CPU/memory left: binpack vs spread at a glance."""
    import pykube

    api = _api()
    nodes = [n.obj for n in pykube.Node.objects(api)]
    pods = [p.obj for p in pykube.Pod.objects(api, namespace=pykube.all)]
    render_picture(build_picture(nodes, pods, service, namespace), Console())


__all__ = ["Picture", "build_picture", "is_task", "placement", "pod_requests", "render_picture"]
