"""SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy: `spec.repositoryPolicyText`
of the Repository; the registry's front door enforces it (`ecsk.api.ecr.gate`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context
from ecsk.api.ecr import common
from ecsk.api.errors import AwsError
from ecsk.core.ecr.policy import RepositoryPolicyError, parse


def _policy(ctx: Context, body: Mapping[str, Any]) -> str:
    text = (body.get("spec") or {}).get("repositoryPolicyText")
    if not text:
        raise AwsError(
            "RepositoryPolicyNotFoundException",
            "Repository policy does not exist for the repository with name "
            f"{common.in_registry(ctx, common.repo_name(body))}",
        )
    return str(text)


def _answer(ctx: Context, body: Mapping[str, Any], text: str) -> dict[str, Any]:
    return {
        "registryId": common.registry_id(ctx),
        "repositoryName": common.repo_name(body),
        "policyText": text,
    }


def _write(ctx: Context, body: Mapping[str, Any], text: str | None) -> None:
    def change(live: dict[str, Any]) -> dict[str, Any]:
        spec = {k: v for k, v in (live.get("spec") or {}).items() if k != "repositoryPolicyText"}
        return {**spec, "repositoryPolicyText": text} if text else spec

    if ctx.store.update_spec(common.KIND, body["metadata"]["name"], change) is None:
        raise common.not_found(ctx, common.repo_name(body))


def set_repository_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    text = str(params["policyText"])
    try:
        parse(text)
    except RepositoryPolicyError as exc:
        raise AwsError("InvalidParameterException", f"{exc} ({exc.reason})") from None
    _write(ctx, body, text)
    return _answer(ctx, body, text)


def get_repository_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    return _answer(ctx, body, _policy(ctx, body))


def delete_repository_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    text = _policy(ctx, body)
    _write(ctx, body, None)
    return _answer(ctx, body, text)
