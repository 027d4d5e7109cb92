"""CreateRepository, DescribeRepositories, DeleteRepository, PutImageTagMutability on
`Repository` resources; `record` keeps their status (URI, image count: `kubectl get` columns)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ecsk.api.context import Context, page
from ecsk.api.ecr import common
from ecsk.api.ecr.backend import StoredImage
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict, NotFound
from ecsk.core.ecr.images import status_images
from ecsk.core.ecr.models import Repository

SUPPORTED_MUTABILITY = ("MUTABLE", "IMMUTABLE")


def _mutability(value: Any) -> str:
    mutability = str(value or "MUTABLE")
    if mutability not in SUPPORTED_MUTABILITY:
        raise AwsError(
            "InvalidParameterException",
            f"ecsk does not support imageTagMutability {mutability} (exclusion filters); "
            "use MUTABLE or IMMUTABLE.",
        )
    return mutability


def _spec(params: Mapping[str, Any]) -> dict[str, Any]:
    if params.get("imageTagMutabilityExclusionFilters"):
        raise AwsError(
            "InvalidParameterException", "ecsk does not support imageTagMutabilityExclusionFilters."
        )
    spec: dict[str, Any] = {
        "repositoryName": params["repositoryName"],
        "imageTagMutability": _mutability(params.get("imageTagMutability")),
    }
    for key in ("imageScanningConfiguration", "encryptionConfiguration", "tags"):
        if params.get(key) is not None:
            spec[key] = params[key]
    enc = spec.get("encryptionConfiguration")
    if enc and enc.get("encryptionType") == "AES256" and enc.get("kmsKey"):
        raise AwsError(
            "InvalidParameterException",
            "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: "
            "'kmsKey can only be specified when encryptionType is KMS or KMS_DSSE'",
        )
    keys = [t.get("Key") for t in spec.get("tags") or []]
    if len(keys) != len(set(keys)):
        raise AwsError("InvalidTagParameterException", "Duplicate tag keys are not allowed.")
    if any(str(k).lower().startswith("aws:") for k in keys):
        raise AwsError("InvalidTagParameterException", "Tag keys beginning with aws: are reserved.")
    try:
        Repository.model_validate(spec)
    except ValidationError as exc:
        raise AwsError("InvalidParameterException", str(exc.errors()[0]["msg"])) from None
    return spec


def create_repository(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["repositoryName"]
    common.check_name(name)
    registry = params.get("registryId")
    if registry and registry != common.registry_id(ctx):
        raise AwsError(
            "InvalidParameterException", f"Invalid parameter at 'registryId': {registry} is not this account"
        )
    spec = _spec(params)
    if common.find(ctx, name) is not None:
        raise _exists(ctx, name)
    try:
        body = ctx.store.create(common.resource(name, spec))
    except Conflict:
        raise _exists(ctx, name) from None
    except NotFound:
        raise AwsError(
            "ServerException",
            "The Repository custom resource definition is not installed in this cluster: "
            "`kubectl apply -k crds/` (or `--server-side -f crds/repositories.ecs.ecsk.io.yaml`).",
            500,
        ) from None
    record(ctx, body, [])
    return {"repository": common.describe(ctx, body)}


def _exists(ctx: Context, name: str) -> AwsError:
    registry = common.registry_id(ctx)
    return AwsError(
        "RepositoryAlreadyExistsException",
        f"The repository with name '{name}' already exists in the registry with id '{registry}'",
    )


def describe_repositories(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    names = params.get("repositoryNames")
    registry = params.get("registryId")
    if names and (params.get("nextToken") or params.get("maxResults")):
        raise AwsError(
            "InvalidParameterException", "nextToken and maxResults cannot be used with repositoryNames."
        )
    if names:
        found = []
        for name in names:
            if registry and registry != common.registry_id(ctx):
                raise common.not_found(ctx, name, registry)
            body = common.find(ctx, name)
            if body is None:
                raise common.not_found(ctx, name)
            found.append(common.describe(ctx, body))
        return {"repositories": found}
    if registry and registry != common.registry_id(ctx):
        return {"repositories": []}
    every = [common.describe(ctx, b) for b in ctx.store.list(common.KIND)]
    chunk, token = page(every, params, key=lambda r: str(r["repositoryName"]), limit=1000)
    return {"repositories": chunk, **({"nextToken": token} if token else {})}


def delete_repository(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    name = common.repo_name(body)
    images = common.registry(ctx).images(name) if common.has_registry(ctx) else []
    if images and not params.get("force"):
        raise AwsError(
            "RepositoryNotEmptyException",
            f"The repository with name '{name}' in registry with id '{common.registry_id(ctx)}' "
            "cannot be deleted because it still contains images",
        )
    out = common.describe(ctx, body)
    for image in images:  # force: the images go first, so no tag outlives its repository
        common.registry(ctx).delete(name, image.digest)
    ctx.store.delete(common.KIND, body["metadata"]["name"])
    return {"repository": out}


def put_image_tag_mutability(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body = common.require(ctx, params)
    mutability = _mutability(params["imageTagMutability"])
    if params.get("imageTagMutabilityExclusionFilters"):
        raise AwsError(
            "InvalidParameterException", "ecsk does not support imageTagMutabilityExclusionFilters."
        )

    def change(live: dict[str, Any]) -> dict[str, Any]:
        return {**(live.get("spec") or {}), "imageTagMutability": mutability}

    if ctx.store.update_spec(common.KIND, body["metadata"]["name"], change) is None:
        raise common.not_found(ctx, common.repo_name(body))
    return {
        "registryId": common.registry_id(ctx),
        "repositoryName": common.repo_name(body),
        "imageTagMutability": mutability,
    }


def record(ctx: Context, body: Mapping[str, Any], images: Sequence[StoredImage], **extra: Any) -> None:
    """Write the status `kubectl get` shows (URI, image count) and the images' digests and tags,
    which the operator reads to refuse a task whose image is not there (CannotPullContainerError),
    when it changed (a resync writes nothing)."""
    status = {
        "repositoryUri": common.uri(ctx, common.repo_name(body)),
        "imageCount": len(images),
        "images": status_images((i.digest, i.tags) for i in images),
        **extra,
    }
    current = body.get("status") or {}
    if any(current.get(k) != v for k, v in status.items()):
        with contextlib.suppress(AwsError):  # the count is informative; the call itself succeeded
            ctx.store.merge_patch_status(common.KIND, body["metadata"]["name"], status)
