"""ListImages, DescribeImages, BatchGetImage, BatchDeleteImage, PutImage: the registry's images,
in ECR's shapes and with ECR's failures."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context, page
from ecsk.api.ecr import common
from ecsk.api.ecr.backend import MANIFEST_TYPES, Registry, RegistryError, StoredImage
from ecsk.api.ecr.repositories import record
from ecsk.api.errors import AwsError
from ecsk.core.ecr.names import valid_digest, valid_tag

NOT_FOUND_REASON = "Requested image not found"


def _filtered(images: list[StoredImage], params: Mapping[str, Any]) -> list[StoredImage]:
    status = (params.get("filter") or {}).get("tagStatus") or "ANY"
    if status == "TAGGED":
        return [i for i in images if i.tags]
    if status == "UNTAGGED":
        return [i for i in images if not i.tags]
    return images


def _repo(ctx: Context, params: Mapping[str, Any]) -> tuple[dict[str, Any], str, Registry]:
    body = common.require(ctx, params)
    return body, common.repo_name(body), common.registry(ctx)


def _listed(ctx: Context, body: Mapping[str, Any], reg: Registry, name: str) -> list[StoredImage]:
    images = reg.images(name)
    record(ctx, body, images)
    return images


def list_images(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body, name, reg = _repo(ctx, params)
    ids: list[dict[str, str]] = []
    for image in _filtered(_listed(ctx, body, reg, name), params):
        ids += [{"imageDigest": image.digest, "imageTag": t} for t in image.tags] or [
            {"imageDigest": image.digest}
        ]
    chunk, token = page(
        ids, params, key=lambda i: f"{i['imageDigest']}/{i.get('imageTag', '')}", limit=1000, default=100
    )
    return {"imageIds": chunk, **({"nextToken": token} if token else {})}


def image_id_text(image_id: Mapping[str, Any]) -> str:
    """How ECR prints an imageId in its messages: `{imageDigest:'null', imageTag:'v1'}`."""
    return (
        f"{{imageDigest:'{image_id.get('imageDigest') or 'null'}', "
        f"imageTag:'{image_id.get('imageTag') or 'null'}'}}"
    )


def _resolve(images: list[StoredImage], image_id: Mapping[str, Any]) -> StoredImage | None:
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    for image in images:
        if (not digest or image.digest == digest) and (not tag or tag in image.tags):
            return image
    return None


def _detail(ctx: Context, reg: Registry, name: str, image: StoredImage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "registryId": common.registry_id(ctx),
        "repositoryName": name,
        "imageDigest": image.digest,
        "imagePushedAt": image.pushed_at,
        "imageStatus": "ACTIVE",
    }
    if image.tags:
        out["imageTags"] = list(image.tags)
    manifest = reg.manifest(name, image.digest)
    if manifest is not None:
        out["imageSizeInBytes"] = reg.size(name, manifest)
        out["imageManifestMediaType"] = manifest.media_type
        config = manifest.json().get("config") or {}
        if config.get("mediaType"):
            out["artifactMediaType"] = config["mediaType"]
    return out


def describe_images(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body, name, reg = _repo(ctx, params)
    images = _listed(ctx, body, reg, name)
    wanted = params.get("imageIds")
    if wanted:
        if params.get("nextToken") or params.get("maxResults"):
            raise AwsError(
                "InvalidParameterException", "nextToken and maxResults cannot be used with imageIds."
            )
        chosen = []
        for image_id in wanted:
            image = _resolve(images, image_id)
            if image is None:
                raise AwsError(
                    "ImageNotFoundException",
                    f"The image with imageId {image_id_text(image_id)} does not exist within the repository "
                    f"with name {common.in_registry(ctx, name)}",
                )
            if image not in chosen:
                chosen.append(image)
        return {"imageDetails": [_detail(ctx, reg, name, i) for i in chosen]}
    chunk, token = page(_filtered(images, params), params, key=lambda i: i.digest, limit=1000, default=100)
    out: dict[str, Any] = {"imageDetails": [_detail(ctx, reg, name, i) for i in chunk]}
    return {**out, **({"nextToken": token} if token else {})}


def _failure(image_id: Mapping[str, Any], code: str, reason: str) -> dict[str, Any]:
    return {"imageId": dict(image_id), "failureCode": code, "failureReason": reason}


def _id_problem(image_id: Mapping[str, Any]) -> dict[str, Any] | None:
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if not digest and not tag:
        return _failure(
            image_id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
        )
    if digest and not valid_digest(str(digest)):
        return _failure(
            image_id,
            "InvalidImageDigest",
            "Invalid request parameters: image digest should satisfy the regex 'sha256:[a-f0-9]{64}'",
        )
    if tag and not valid_tag(str(tag)):
        return _failure(image_id, "InvalidImageTag", "Invalid request parameters: image tag is invalid")
    return None


def _lookup(
    images: list[StoredImage], image_id: Mapping[str, Any]
) -> tuple[StoredImage | None, dict[str, Any] | None]:
    problem = _id_problem(image_id)
    if problem:
        return None, problem
    image = _resolve(images, image_id)
    if image is not None:
        return image, None
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest and tag and _resolve(images, {"imageDigest": digest}) is not None:
        return None, _failure(
            image_id,
            "ImageTagDoesNotMatchDigest",
            "Invalid request parameters: image tag and digest do not match",
        )
    return None, _failure(image_id, "ImageNotFound", NOT_FOUND_REASON)


def batch_get_image(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body, name, reg = _repo(ctx, params)
    images = _listed(ctx, body, reg, name)
    accept = tuple(params.get("acceptedMediaTypes") or MANIFEST_TYPES)
    found, failures = [], []
    for image_id in params["imageIds"]:
        image, failure = _lookup(images, image_id)
        manifest = reg.manifest(name, image.digest, accept) if image is not None else None
        if image is None or manifest is None:
            failures.append(failure or _failure(image_id, "ImageNotFound", NOT_FOUND_REASON))
            continue
        found.append(
            {
                "registryId": common.registry_id(ctx),
                "repositoryName": name,
                "imageId": {
                    "imageDigest": image.digest,
                    **({"imageTag": image_id["imageTag"]} if image_id.get("imageTag") else {}),
                },
                "imageManifest": manifest.body.decode(),
                "imageManifestMediaType": manifest.media_type,
            }
        )
    return {"images": found, "failures": failures}


def batch_delete_image(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """By digest: the image and every tag. By tag: the tag; the image too when it was its last."""
    body, name, reg = _repo(ctx, params)
    images = reg.images(name)
    deleted, failures = [], []
    for image_id in params["imageIds"]:
        image, failure = _lookup(images, image_id)
        if image is None:
            failures.append(failure)
            continue
        tag = image_id.get("imageTag")
        whole = bool(image_id.get("imageDigest")) or set(image.tags) <= {tag}
        reg.delete(name, image.digest if whole else str(tag))
        gone = list(image.tags) if whole else [str(tag)]
        deleted += [{"imageDigest": image.digest, "imageTag": t} for t in gone] or [
            {"imageDigest": image.digest}
        ]
        images = reg.images(name)
    record(ctx, body, images)
    return {"imageIds": deleted, "failures": failures}


def _media_type(params: Mapping[str, Any], manifest: str) -> str:
    try:
        doc = json.loads(manifest)
    except ValueError:
        raise AwsError(
            "InvalidParameterException",
            "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
        ) from None
    media = params.get("imageManifestMediaType") or (doc.get("mediaType") if isinstance(doc, dict) else None)
    if not media:
        raise AwsError(
            "InvalidParameterException",
            "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: "
            "'imageManifestMediaType must be specified when the manifest has no mediaType'",
        )
    return str(media)


def put_image(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Store a manifest (its layers must already be in the repository), optionally under a tag:
    how `aws ecr put-image` re-tags an image without pulling it."""
    body, name, reg = _repo(ctx, params)
    manifest = str(params["imageManifest"])
    media = _media_type(params, manifest)
    tag, digest = params.get("imageTag"), params.get("imageDigest")
    if tag and not valid_tag(str(tag)):
        raise AwsError(
            "InvalidParameterException",
            f"Invalid parameter at 'imageTag' failed to satisfy constraint: 'Invalid tag {tag}'",
        )
    actual = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    if digest and digest != actual:
        raise AwsError(
            "ImageDigestDoesNotMatchException",
            "Invalid parameter at 'imageDigest' failed to satisfy constraint: "
            f"'The digest of the manifest, {actual}, does not match the imageDigest {digest}'",
        )
    images = reg.images(name)
    if tag:
        _check_tag(ctx, body, name, images, str(tag), actual)
    try:
        stored = reg.put_manifest(name, str(tag) if tag else actual, manifest.encode(), media)
    except RegistryError as exc:
        raise _put_error(exc) from None
    record(ctx, body, reg.images(name))
    image_id = {"imageDigest": stored or actual, **({"imageTag": tag} if tag else {})}
    return {
        "image": {
            "registryId": common.registry_id(ctx),
            "repositoryName": name,
            "imageId": image_id,
            "imageManifest": manifest,
            "imageManifestMediaType": media,
        }
    }


def _check_tag(
    ctx: Context, body: Mapping[str, Any], name: str, images: list[StoredImage], tag: str, digest: str
) -> None:
    holder = next((i for i in images if tag in i.tags), None)
    if holder is None:
        return
    if holder.digest == digest:
        raise AwsError(
            "ImageAlreadyExistsException",
            f"Image with digest '{digest}' and tag '{tag}' already exists in the repository with name "
            f"'{name}' in registry with id '{common.registry_id(ctx)}'",
        )
    if (body.get("spec") or {}).get("imageTagMutability") == "IMMUTABLE":
        raise AwsError(
            "ImageTagAlreadyExistsException",
            f"The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten "
            "because the repository is immutable.",
        )


def _put_error(exc: RegistryError) -> AwsError:
    if exc.code in ("MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"):
        return AwsError(
            "LayersNotFoundException",
            f"Layers referenced by the manifest are not in the repository: {exc.message}",
        )
    if exc.code == "MANIFEST_UNKNOWN":
        return AwsError(
            "ReferencedImagesNotFoundException",
            f"Some of the images referenced by the manifest list are not in the repository: {exc.message}",
        )
    return AwsError(
        "InvalidParameterException",
        f"Invalid parameter at 'imageManifest' failed to satisfy constraint: '{exc.message or exc.code}'",
    )
