"""TagResource, UntagResource, ListTagsForResource on repository ARNs: `spec.tags` of the
Repository (ECR's tags are `Key`/`Value`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecsk.api.context import Context
from ecsk.api.ecr import common
from ecsk.api.errors import AwsError

MAX_TAGS = 50
Tags = list[dict[str, str]]


def _repository(ctx: Context, arn: str) -> dict[str, Any]:
    fields = arn.split(":", 5)
    if len(fields) != 6 or fields[:3] != ["arn", "aws", "ecr"] or not fields[5].startswith("repository/"):
        raise AwsError(
            "InvalidParameterException",
            f"Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN {arn}'",
        )
    name = fields[5].removeprefix("repository/")
    return common.require(ctx, {"repositoryName": name, "registryId": fields[4]})


def _write(ctx: Context, arn: str, change: Callable[[Tags], Tags]) -> None:
    body = _repository(ctx, arn)

    def retagged(live: dict[str, Any]) -> dict[str, Any]:
        tags = change(list((live.get("spec") or {}).get("tags") or []))
        if len(tags) > MAX_TAGS:
            raise AwsError("TooManyTagsException", f"A repository can have at most {MAX_TAGS} tags.")
        return {**(live.get("spec") or {}), "tags": tags}

    if ctx.store.update_spec(common.KIND, body["metadata"]["name"], retagged) is None:
        raise common.not_found(ctx, common.repo_name(body))


def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    new = {t["Key"]: t.get("Value", "") for t in params["tags"]}
    if any(k.lower().startswith("aws:") for k in new):
        raise AwsError("InvalidTagParameterException", "Tag keys beginning with aws: are reserved.")

    def merge(tags: Tags) -> Tags:
        return [t for t in tags if t["Key"] not in new] + [{"Key": k, "Value": v} for k, v in new.items()]

    _write(ctx, params["resourceArn"], merge)
    return {}


def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    gone = set(params["tagKeys"])
    _write(ctx, params["resourceArn"], lambda tags: [t for t in tags if t["Key"] not in gone])
    return {}


def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = _repository(ctx, params["resourceArn"])
    return {"tags": list((body.get("spec") or {}).get("tags") or [])}
