"""The pod template shared by the PodTemplate, Deployment and DaemonSet renders, its labels, and
the placement hook call (the CQL engine plugs in there; the core itself never places)."""

from __future__ import annotations

import re
from dataclasses import replace
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
    if ctx.options.deployment_token:
        labels[names.LABEL_DEPLOYMENT_TOKEN] = ctx.options.deployment_token
    ann[f"{names.ANN}task-definition"] = f"{td.family}:{revision_of(td, ctx.options)}"
    return {"metadata": {"labels": labels, "annotations": dict(sorted(ann.items()))}, "spec": spec}


def run_placement_hook(
    spec: dict[str, Any], inputs: PlacementInputs, ctx: Context, td_constraints: int, *, service: bool
) -> None:
    """Call the hook with a note sink, and report its diagnostics under the documents' paths.

    The hook indexes `placementConstraints` over the combined list (the task definition's
    `td_constraints` first, then the service's); here they go back to the document each came
    from: `taskDefinition.placementConstraints[i]` in a service render."""
    hook = ctx.options.placement_hook
    if hook is None:
        return
    found = hook(spec, replace(inputs, note=_note_sink(ctx, td_constraints, service=service)))
    for d in found or ():
        own, local = _document_path(d.path, td_constraints)
        ctx.diagnostics.append(replace(d, path=local if own or not service else f"taskDefinition.{local}"))


_CONSTRAINT = re.compile(r"^placementConstraints\[(\d+)\](.*)$")


def _document_path(path: str, td_constraints: int) -> tuple[bool, str]:
    """(is it the service's, path within its document) for a path of the hook's inputs."""
    match = _CONSTRAINT.match(path)
    if match is None:
        return True, path  # strategies, and whole-list messages, belong to the call
    i, rest = int(match.group(1)), match.group(2)
    if i < td_constraints:
        return False, f"placementConstraints[{i}]{rest}"
    return True, f"placementConstraints[{i - td_constraints}]{rest}"


def _note_sink(ctx: Context, td_constraints: int, *, service: bool) -> NoteSink:
    """Notes go where the service render splits them: `svc:` for the service's own fields."""

    def note(path: str, k8s: tuple[str, ...] | None, text: str) -> None:
        own, local = _document_path(path, td_constraints)
        ctx.note(f"svc:{local}" if service and own else local, k8s, text)

    return note
