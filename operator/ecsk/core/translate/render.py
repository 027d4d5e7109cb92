"""Public entry points: task definition -> PodTemplate (+ side objects), service -> workload.

Output is deterministic (same input, same objects in the same order) so the operator's
server-side apply is a no-op on resync; objects are sorted by kind so dependencies (StorageClass,
ServiceAccount, PVC) come before the workloads that use them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ecsk.core.models import ECSService, TaskDefinition
from ecsk.core.translate import explain, names, networking, service
from ecsk.core.translate.template import (
    pod_template,
    revision_of,
    run_placement_hook,
    tag_labels,
)
from ecsk.core.translate.types import Context, Explanation, PlacementInputs, RenderOptions, RenderResult

KIND_ORDER = {
    "StorageClass": 0,
    "PersistentVolume": 1,
    "ServiceAccount": 2,
    "PersistentVolumeClaim": 3,
    "PodTemplate": 4,
    "Deployment": 5,
    "DaemonSet": 5,
    "Service": 6,
    "Ingress": 7,
    "TargetGroupBinding": 8,
    "NetworkPolicy": 9,
}


def finish(objects: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    every = [*ctx.side_objects.values(), *objects]
    return sorted(every, key=lambda o: (KIND_ORDER.get(o["kind"], 99), o["metadata"]["name"]))


def render_task_definition(td: TaskDefinition, options: RenderOptions | None = None) -> RenderResult:
    """A task definition on its own (standalone RunTask shape): a PodTemplate named
    `<family>-<revision>` that the operator stamps Pods from, plus its side objects."""
    opts = options or RenderOptions()
    ctx = Context(opts)
    group = f"family:{td.family}"
    template = pod_template(td, ctx, group, {})
    if td.tags:
        ctx.note("tags", "metadata.labels['tags.ecs.ecsk.io/*']", "labels on the PodTemplate")
    inputs = PlacementInputs(
        task_group=group,
        placement_constraints=[p.to_aws() for p in td.placementConstraints or ()] or None,
        requires_compatibilities=list(td.requiresCompatibilities or ()) or None,
    )
    run_placement_hook(template["spec"], inputs, ctx, len(td.placementConstraints or ()), service=False)
    name = names.dns_label(f"{td.family}-{revision_of(td, opts)}", max_len=63)
    obj = {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {
            "name": name,
            "namespace": opts.namespace,
            "labels": {**template["metadata"]["labels"], **tag_labels(td.tags)},
        },
        "template": template,
    }
    objects = [obj]
    if td.effective_network_mode() == "none":
        sel = {
            names.LABEL_FAMILY: names.label_value(td.family),
            names.LABEL_CLUSTER: names.label_value(opts.cluster),
        }
        objects.append(networking.deny_all_policy(names.object_name(f"{td.family}-none"), sel, ctx))
    explanations = explain.explain("TaskDefinition", td, ctx.notes) if opts.explain else []
    return RenderResult(finish(objects, ctx), explanations, ctx.diagnostics)


def render_service(svc: ECSService, td: TaskDefinition, options: RenderOptions | None = None) -> RenderResult:
    """An ECS service: Deployment (REPLICA) or DaemonSet (DAEMON) with the task definition as its
    pod template, plus Services/Ingress/TargetGroupBinding/NetworkPolicy as the service asks.
    The cluster label comes from the service's `cluster` (name or ARN) when it has one."""
    opts = options or RenderOptions()
    if opts.revision is None and td.revision is None and svc.taskDefinition:
        tail = svc.taskDefinition.rsplit(":", 1)[-1]
        if tail.isdigit() and ":" in svc.taskDefinition:
            opts = replace(opts, revision=int(tail))
    cluster = svc.cluster or svc.clusterArn
    if cluster:  # the service names its cluster; the option is only the default
        opts = replace(opts, cluster=cluster.rsplit("/", 1)[-1])
    ctx = Context(opts)
    objects = service.build_service(svc, td, ctx)
    explanations: list[Any] = []
    if opts.explain:
        svc_notes = {
            k[4:]: Explanation(k[4:], v.k8s_paths, v.note)
            for k, v in ctx.notes.items()
            if k.startswith("svc:")
        }
        td_notes = {k: v for k, v in ctx.notes.items() if not k.startswith("svc:")}
        explanations = [
            *explain.explain("ECSService", svc, svc_notes),
            *explain.explain("TaskDefinition", td, td_notes, prefix="taskDefinition:"),
        ]
    return RenderResult(finish(objects, ctx), explanations, ctx.diagnostics)
