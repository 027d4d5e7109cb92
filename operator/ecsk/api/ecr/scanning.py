"""StartImageScan, DescribeImageScanFindings: answered as ECR answers for an image its basic
scanning does not support. No vulnerability database is reachable here, so ecsk never makes up a
finding: a scan (started, or on push when `scanOnPush` is set) ends UNSUPPORTED_IMAGE with ECR's
`UnsupportedImageError` description, and an image never scanned has no scan."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context
from ecsk.api.ecr import common
from ecsk.api.ecr.backend import StoredImage
from ecsk.api.ecr.images import image_id_text
from ecsk.api.errors import AwsError

UNSUPPORTED = {
    "status": "UNSUPPORTED_IMAGE",
    "description": "UnsupportedImageError: The operating system and/or package manager are not supported.",
}


def _image(ctx: Context, params: Mapping[str, Any]) -> tuple[dict[str, Any], str, StoredImage]:
    body = common.require(ctx, params)
    name = common.repo_name(body)
    image_id = params["imageId"]
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    for image in common.registry(ctx).images(name):
        if (not digest or image.digest == digest) and (not tag or tag in image.tags) and (digest or tag):
            return body, name, image
    raise AwsError(
        "ImageNotFoundException",
        f"The image with imageId {image_id_text(image_id)} does not exist within the repository with name "
        f"{common.in_registry(ctx, name)}",
    )


def _answer(ctx: Context, name: str, image: StoredImage, params: Mapping[str, Any]) -> dict[str, Any]:
    tag = params["imageId"].get("imageTag")
    return {
        "registryId": common.registry_id(ctx),
        "repositoryName": name,
        "imageId": {"imageDigest": image.digest, **({"imageTag": tag} if tag else {})},
    }


def start_image_scan(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body, name, image = _image(ctx, params)
    scans = dict((body.get("status") or {}).get("imageScans") or {})
    scans[image.digest] = int(time.time())
    ctx.store.merge_patch_status(common.KIND, body["metadata"]["name"], {"imageScans": scans})
    return {**_answer(ctx, name, image, params), "imageScanStatus": {"status": "IN_PROGRESS"}}


def describe_image_scan_findings(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    body, name, image = _image(ctx, params)
    scanned = image.digest in ((body.get("status") or {}).get("imageScans") or {})
    on_push = bool(((body.get("spec") or {}).get("imageScanningConfiguration") or {}).get("scanOnPush"))
    if not (scanned or on_push):
        shown = image_id_text(params["imageId"])
        raise AwsError(
            "ScanNotFoundException",
            f"Image scan does not exist for the image with '{shown}' in the repository with name "
            f"{common.in_registry(ctx, name)}",
        )
    return {**_answer(ctx, name, image, params), "imageScanStatus": dict(UNSUPPORTED)}
