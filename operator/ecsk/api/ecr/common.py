"""What every ECR operation shares: finding a Repository resource, describing it, ECR's errors,
and the registry client of the endpoint's settings.

A Repository resource's object name is derived from the repository name (ECR names may hold `/`,
`.` and `_`); `spec.repositoryName` is the name, so a kubectl user may name the object anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context, epoch
from ecsk.api.ecr.backend import Registry
from ecsk.api.errors import AwsError
from ecsk.api.store import API_VERSION
from ecsk.core.ecr.images import repository_name
from ecsk.core.ecr.names import repository_arn, repository_name_error, repository_uri
from ecsk.core.translate.names import dns_label

KIND = "Repository"


def registry_id(ctx: Context) -> str:
    return ctx.settings.account


def in_registry(ctx: Context, name: str) -> str:
    return f"'{name}' in the registry with id '{registry_id(ctx)}'"


def not_found(ctx: Context, name: str, registry: str | None = None) -> AwsError:
    where = registry or registry_id(ctx)
    return AwsError(
        "RepositoryNotFoundException",
        f"The repository with name '{name}' does not exist in the registry with id '{where}'",
    )


def object_name(repository: str) -> str:
    return dns_label(repository, max_len=63)


repo_name = repository_name
"""A Repository resource's repository name (shared with the operator, ecsk.core.ecr.images)."""


def check_name(name: str) -> None:
    message = repository_name_error(name)
    if message:
        raise AwsError("InvalidParameterException", message)


def find(ctx: Context, name: str) -> dict[str, Any] | None:
    body = ctx.store.get(KIND, object_name(name))
    if body is not None and repo_name(body) == name:
        return body
    return next((b for b in ctx.store.list(KIND) if repo_name(b) == name), None)


def require(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """The repository the request names, in this registry, or RepositoryNotFoundException."""
    name = str(params["repositoryName"])
    registry = params.get("registryId")
    if registry and registry != registry_id(ctx):
        raise not_found(ctx, name, str(registry))
    body = find(ctx, name)
    if body is None:
        raise not_found(ctx, name)
    return body


def resource(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": object_name(name)},
        "spec": dict(spec),
    }


def uri(ctx: Context, name: str) -> str:
    return repository_uri(ctx.settings.account, ctx.settings.region, name)


def describe(ctx: Context, body: Mapping[str, Any]) -> dict[str, Any]:
    spec = body.get("spec") or {}
    name = repo_name(body)
    created = epoch((body.get("metadata") or {}).get("creationTimestamp"))
    out: dict[str, Any] = {
        "repositoryArn": repository_arn(ctx.settings.account, ctx.settings.region, name),
        "registryId": registry_id(ctx),
        "repositoryName": name,
        "repositoryUri": uri(ctx, name),
        "imageTagMutability": spec.get("imageTagMutability") or "MUTABLE",
        "imageScanningConfiguration": {
            "scanOnPush": bool((spec.get("imageScanningConfiguration") or {}).get("scanOnPush"))
        },
        "encryptionConfiguration": spec.get("encryptionConfiguration") or {"encryptionType": "AES256"},
    }
    if created is not None:
        out["createdAt"] = created
    return out


def registry(ctx: Context) -> Registry:
    s = ctx.settings
    if not s.registry_url or not s.registry_storage:
        raise AwsError(
            "ServerException",
            "ecsk's image registry is not configured for this endpoint: start it with `ecsk cluster up`, "
            "or pass `ecsk api serve --registry-url ... --registry-storage ...`.",
            500,
        )
    return Registry(s.registry_url, s.registry_storage)


def has_registry(ctx: Context) -> bool:
    return bool(ctx.settings.registry_url and ctx.settings.registry_storage)
