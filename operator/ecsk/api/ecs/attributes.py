"""PutAttributes, DeleteAttributes, ListAttributes: custom attributes of container instances
(nodes), through the same core rules and node patches as `ecsk attributes` (labels the placement
engine's memberOf expressions read, plus ecsk's annotation)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ecsk.api.context import Context, page
from ecsk.api.ecs.clusters import require_cluster
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.placement.attributes import (
    TARGET_TYPE,
    Attribute,
    AttributeRequestError,
    by_target_node,
    delete_patch,
    list_attributes,
    put_patch,
    target_name,
    validate,
)

RETRIES = 5
Patcher = Callable[[Mapping[str, Any], list[Attribute]], dict[str, Any] | None]


def instance_arn(ctx: Context, cluster: str, node: str) -> str:
    return ctx.arn("ecs", f"container-instance/{cluster}/{node}")


def _attributes(params: Mapping[str, Any]) -> list[Attribute]:
    return [
        Attribute(a["name"], a.get("value"), a.get("targetType"), a.get("targetId"))
        for a in params.get("attributes") or []
    ]


def _apply(ctx: Context, attributes: Sequence[Attribute], patch_for: Patcher) -> dict[str, str]:
    """Patch each target node (read-modify-write guarded by resourceVersion, retried on 409);
    returns targetId -> node name."""
    by_node = by_target_node(ctx.store.list("Node"), attributes)
    names = {a.targetId or "": name for name, items in by_node.items() for a in items}
    for name, items in by_node.items():
        for attempt in range(RETRIES):
            live = ctx.store.get("Node", name)
            patch = patch_for(live or {}, items) if live else None
            if patch is None:
                break
            try:
                ctx.store.merge_patch("Node", name, patch)
                break
            except Conflict:
                if attempt == RETRIES - 1:
                    raise AwsError(
                        "ServerException", "The container instance changed concurrently.", 500
                    ) from None
    return names


def _delete_patch(node: Mapping[str, Any], items: list[Attribute]) -> dict[str, Any] | None:
    return delete_patch(node, [a.name for a in items])


def _change(ctx: Context, params: Mapping[str, Any], put: bool) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    attributes = _attributes(params)
    try:
        validate(attributes, put=put)
        names = _apply(ctx, attributes, put_patch if put else _delete_patch)
    except AttributeRequestError as exc:
        raise AwsError(exc.code, exc.message) from None
    out = [
        Attribute(
            a.name, a.value, a.targetType or TARGET_TYPE, instance_arn(ctx, cluster, names[a.targetId or ""])
        ).to_aws()
        for a in attributes
    ]
    return {"attributes": out}


def put_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _change(ctx, params, put=True)


def delete_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _change(ctx, params, put=False)


def list_attributes_op(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    if params.get("attributeValue") is not None and params.get("attributeName") is None:
        raise AwsError(
            "InvalidParameterException", "attributeValue can only be specified together with attributeName."
        )
    rows = list_attributes(ctx.store.list("Node"), params.get("attributeName"), params.get("attributeValue"))
    for row in rows:
        row["targetId"] = instance_arn(ctx, cluster, target_name(row["targetId"]))
    chunk, token = page(rows, params, key=lambda r: f"{r['targetId']}\x00{r['name']}")
    return {"attributes": chunk, **({"nextToken": token} if token else {})}
