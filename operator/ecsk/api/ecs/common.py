"""ECS naming shared by every ECS operation: ARNs (current long format), clusters, tags.

An ECS cluster is not a namespace: one endpoint serves one namespace (one account and Region),
and every ECS resource in it names its cluster in `spec.cluster` (a name or an ARN, `default`
when absent), exactly as manifests applied with kubectl do. See docs/api.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecsk.api.context import Context
from ecsk.api.errors import AwsError
from ecsk.api.store import API_VERSION
from ecsk.core.taskdefs.revisions import TaskDefinitionError, parse_reference
from ecsk.core.translate.names import cluster_name, dns_label

__all__ = ["cluster_name"]

DEFAULT_CLUSTER = "default"


def cluster_arn(ctx: Context, name: str) -> str:
    return ctx.arn("ecs", f"cluster/{name}")


def service_arn(ctx: Context, cluster: str, name: str) -> str:
    return ctx.arn("ecs", f"service/{cluster}/{name}")


def task_arn(ctx: Context, cluster: str, task_id: str) -> str:
    return ctx.arn("ecs", f"task/{cluster}/{task_id}")


def task_definition_arn(ctx: Context, family: str, revision: int) -> str:
    return ctx.arn("ecs", f"task-definition/{family}:{revision}")


def own_task_definition_arn(ctx: Context, arn: str | None) -> str | None:
    """An ARN the operator wrote (with its own --region/--account) in this endpoint's Region and
    account, so every ARN a client sees agrees; anything unparsable is returned unchanged."""
    if not arn:
        return arn
    try:
        ref = parse_reference(arn)
    except TaskDefinitionError:
        return arn
    return task_definition_arn(ctx, ref.family, ref.revision) if ref.revision is not None else arn


def object_name(*parts: str) -> str:
    """A Kubernetes name for an ECS name (ECS allows upper case and `_`): unchanged when already
    valid, else lowercased with a hash, so distinct ECS names never share an object."""
    raw = "--".join(p for p in parts if p)
    return dns_label(raw, max_len=63)


def resource(
    kind: str, name: str, spec: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": dict(spec)}


def tags_out(tags: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    return [
        {"key": str(t.get("key")), "value": str(t.get("value") or "")} for t in tags or [] if t.get("key")
    ]


def wants_tags(params: Mapping[str, Any]) -> bool:
    return "TAGS" in (params.get("include") or [])


def short_name(ref: str, kind: str) -> str:
    """`web`, or the last part of `arn:aws:ecs:...:service/cluster/web`; refuses another kind's ARN."""
    text = ref.strip()
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) < 6 or not parts[5].startswith(f"{kind}/"):
            raise AwsError("InvalidParameterException", f"Invalid {kind} ARN: {text}")
        return parts[5].rsplit("/", 1)[-1]
    return text


def spec_cluster(body: Mapping[str, Any]) -> str:
    return cluster_name((body.get("spec") or {}).get("cluster"))
