"""The pod template shared by the PodTemplate, Deployment and DaemonSet renders, its labels, and
the placement hook call (the CQL engine plugs in there; the core itself never places)."""

from __future__ import annotations

import re
from typing import Any

from ecsk.core.models import TaskDefinition
from ecsk.core.translate import names, pod
from ecsk.core.translate.types import Context, NoteSink, PlacementInputs, RenderOptions


def revision_of(td: TaskDefinition, options: RenderOptions) -> int:
    return options.revision or td.revision or 1


def tag_labels(tags: list[Any] | None) -> dict[str, str]:
    """AWS tags -> `tags.ecs.ecsk.io/<key>` labels, key and value sanitised; `aws:` tags skipped."""
    out: dict[str, str] = {}
    for t in tags or ():
        if not t.key or t.key.startswith("aws:"):
            continue
        out[f"tags.{names.GROUP}/{names.label_name(t.key)}"] = names.label_value(t.value or "")
    return out


def pod_template(
    td: TaskDefinition,
    ctx: Context,
    task_group: str,
    extra_labels: dict[str, str],
    ebs: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The pod template shared by PodTemplate, Deployment and DaemonSet renders."""
    spec, ann = pod.build_pod_spec(td, ctx, ebs=ebs)
    labels = {
        names.MANAGED_BY: "ecsk",
        names.LABEL_CLUSTER: names.label_value(ctx.options.cluster),
        names.LABEL_FAMILY: names.label_value(td.family),
        names.LABEL_REVISION: str(revision_of(td, ctx.options)),
        names.LABEL_TASK_GROUP: names.task_group_value(task_group),
        **extra_labels,
    }
    ann[f"{names.ANN}task-definition"] = f"{td.family}:{revision_of(td, ctx.options)}"
    return {"metadata": {"labels": labels, "annotations": dict(sorted(ann.items()))}, "spec": spec}


def run_placement_hook(spec: dict[str, Any], inputs: PlacementInputs, ctx: Context) -> None:
    hook = ctx.options.placement_hook
    if hook is None:
        return
    found = hook(spec, inputs)
    if found:
        ctx.diagnostics.extend(found)


_CONSTRAINT = re.compile(r"^placementConstraints\[(\d+)\](.*)$")


def placement_note_sink(ctx: Context, td_constraints: int, *, service: bool) -> NoteSink:
    """Map the hook's paths back to the documents: constraints are the task definition's first
    (`td_constraints` of them), then the service's; strategies are the service's. Service paths
    carry the `svc:` prefix the service render splits its notes by."""
    prefix = "svc:" if service else ""

    def note(path: str, k8s: tuple[str, ...] | None, text: str) -> None:
        match = _CONSTRAINT.match(path)
        if match is not None:
            i, rest = int(match.group(1)), match.group(2)
            if i < td_constraints:
                path = f"placementConstraints[{i}]{rest}"
            else:
                path = f"{prefix}placementConstraints[{i - td_constraints}]{rest}"
        else:
            path = f"{prefix}{path}"
        ctx.note(path, k8s, text)

    return note
