"""TagResource, UntagResource, ListTagsForResource: `spec.tags` of the ECSCluster, ECSService or
Task the ARN names. Task definition revisions are immutable here (their tags are part of the
registered document), so tagging one after registration is refused rather than faked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context
from ecsk.api.ecs.clusters import find_cluster_body
from ecsk.api.ecs.common import tags_out
from ecsk.api.ecs.services import find_service
from ecsk.api.ecs.taskdefs import describe_task_definition, resolve_any
from ecsk.api.errors import AwsError

MAX_TAGS = 50
NOT_FOUND = "The specified resource could not be found."


def _parts(ctx: Context, arn: str) -> list[str]:
    fields = arn.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn" or fields[2] != "ecs":
        raise AwsError("InvalidParameterException", f"Invalid ARN: {arn}")
    return fields[5].split("/")


def _task_resource(ctx: Context, task_id: str) -> dict[str, Any] | None:
    for body in ctx.store.list("Task"):
        if any(r.get("taskId") == task_id for r in (body.get("status") or {}).get("tasks") or []):
            return body
    return None


def _find(ctx: Context, arn: str) -> dict[str, Any] | None:
    parts = _parts(ctx, arn)
    kind = parts[0]
    if kind == "cluster" and len(parts) == 2:
        return find_cluster_body(ctx, parts[1])
    if kind == "service" and len(parts) == 3:
        return find_service(ctx, parts[1], parts[2])
    if kind == "task" and len(parts) == 3:
        return _task_resource(ctx, parts[2])
    if kind == "task-definition":
        resolve_any(ctx, arn, allow_inactive=True)  # a missing revision is ECS's ClientException
        raise AwsError(
            "InvalidParameterException",
            "ecsk keeps task definition revisions immutable: give tags to RegisterTaskDefinition.",
        )
    raise AwsError("InvalidParameterException", f"Invalid ARN: {arn}")


def _existing(body: Mapping[str, Any]) -> list[dict[str, str]]:
    return tags_out((body.get("spec") or {}).get("tags"))


def _write(ctx: Context, arn: str, change: Any) -> None:
    body = _find(ctx, arn)
    if body is None:
        raise AwsError("ResourceNotFoundException", NOT_FOUND)

    def retagged(live: dict[str, Any]) -> dict[str, Any]:
        tags = change(_existing(live))
        if len(tags) > MAX_TAGS:
            raise AwsError("InvalidParameterException", f"A resource can have at most {MAX_TAGS} tags.")
        return {**(live.get("spec") or {}), "tags": tags}

    if ctx.store.update_spec(body["kind"], body["metadata"]["name"], retagged) is None:
        raise AwsError("ResourceNotFoundException", NOT_FOUND)


def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    new = {t["key"]: t.get("value", "") for t in params["tags"]}
    if any(k.lower().startswith("aws:") for k in new):
        raise AwsError("InvalidParameterException", "Tag keys beginning with aws: are reserved.")

    def merge(tags: list[dict[str, str]]) -> list[dict[str, str]]:
        kept = [t for t in tags if t["key"] not in new]
        return kept + [{"key": k, "value": v} for k, v in new.items()]

    _write(ctx, params["resourceArn"], merge)
    return {}


def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    gone = set(params["tagKeys"])
    _write(ctx, params["resourceArn"], lambda tags: [t for t in tags if t["key"] not in gone])
    return {}


def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["resourceArn"]
    if _parts(ctx, arn)[0] == "task-definition":
        return {"tags": describe_task_definition(ctx, {"taskDefinition": arn, "include": ["TAGS"]})["tags"]}
    body = _find(ctx, arn)
    if body is None:
        raise AwsError("ResourceNotFoundException", NOT_FOUND)
    return {"tags": _existing(body)}
