"""Images for the ECR lab without Docker: small, valid Docker v2 images pushed straight into the
registry over the distribution HTTP API, and the ECR API's own handlers (in process) for
everything a participant does with `aws ecr` (so the Repository resource ends up exactly as the
endpoint would leave it)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ecsk.api.context import Context
from ecsk.api.ecr import images as ecr_images
from ecsk.api.ecr import lifecycle, policies, repositories
from ecsk.api.errors import AwsError

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(content: str) -> tuple[bytes, str]:
    """A gzipped tar holding one file; returns it and the digest of the uncompressed tar (diff id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = content.encode()
        info = tarfile.TarInfo("etc/image-version")
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), _digest(raw.getvalue())


def _request(method: str, url: str, body: bytes = b"", content_type: str | None = None) -> Any:
    req = urllib.request.Request(url, data=body if method in ("POST", "PUT") else None, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    return urllib.request.urlopen(req, timeout=30)


def _push_blob(base: str, repo: str, data: bytes) -> str:
    digest = _digest(data)
    with _request("POST", f"{base}/v2/{repo}/blobs/uploads/") as started:
        location = started.headers["Location"]
    url = location if location.startswith("http") else base + location
    sep = "&" if "?" in url else "?"
    _request("PUT", f"{url}{sep}digest={digest}", data, "application/octet-stream").close()
    return digest


def push_image(base: str, repo: str, content: str, tag: str | None) -> str:
    """Push a one-layer image; under `tag`, or by digest only (an untagged image). Returns its digest."""
    layer, diff_id = _layer(content)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": _push_blob(base, repo, config)},
        "layers": [{"mediaType": LAYER_TYPE, "size": len(layer), "digest": _push_blob(base, repo, layer)}],
    }
    body = json.dumps(manifest).encode()
    digest = _digest(body)
    _request("PUT", f"{base}/v2/{repo}/manifests/{tag or digest}", body, MANIFEST_TYPE).close()
    return digest


def backdate(storage: str, repo: str, digest: str, days: float) -> None:
    """Make an image look pushed `days` ago: ECR's imagePushedAt is its revision link's time."""
    link = Path(storage, "docker/registry/v2/repositories", repo, "_manifests/revisions/sha256")
    when = time.time() - days * 86400
    os.utime(link / digest.removeprefix("sha256:") / "link", (when, when))


def seed_repository(
    ctx: Context, repo: str, tags: tuple[str, ...], untagged: int, age_days: float
) -> list[str]:
    """Create the repository (CreateRepository) and fill it: one image per tag, and `untagged`
    old images pushed by digest; ListImages then records the image list in its status."""
    settings = ctx.settings
    if not settings.registry_url or not settings.registry_storage:
        raise AwsError("ServerException", "no image registry configured", 500)
    try:
        repositories.create_repository(ctx, {"repositoryName": repo})
    except AwsError as exc:
        if exc.code != "RepositoryAlreadyExistsException":
            raise
    done = [f"created ECR repository {repo}"]
    for tag in tags:
        push_image(settings.registry_url, repo, f"{repo} {tag}\n", tag)
        done.append(f"pushed {repo}:{tag}")
    for n in range(untagged):
        digest = push_image(settings.registry_url, repo, f"{repo} build {n}\n", None)
        backdate(settings.registry_storage, repo, digest, age_days)
        done.append(f"pushed an untagged image of {repo}, {age_days:g} days old")
    ecr_images.list_images(ctx, {"repositoryName": repo})
    return done


def answer_repository(
    ctx: Context,
    repo: str,
    source: str,
    tag: str,
    lifecycle_policy: Mapping[str, Any],
    policy: Mapping[str, Any],
) -> list[str]:
    """What the participant does with `aws ecr`: re-tag, lifecycle policy, repository policy;
    then one lifecycle pass (the endpoint's scheduler would run it within its interval)."""
    name = {"repositoryName": repo}
    found = ecr_images.batch_get_image(ctx, {**name, "imageIds": [{"imageTag": source}]})["images"]
    if not found:
        raise AwsError("ImageNotFoundException", f"{repo}:{source} is not in the registry", 400)
    try:
        ecr_images.put_image(ctx, {**name, "imageTag": tag, "imageManifest": found[0]["imageManifest"]})
    except AwsError as exc:
        if exc.code != "ImageAlreadyExistsException":
            raise
    lifecycle.put_lifecycle_policy(ctx, {**name, "lifecyclePolicyText": json.dumps(lifecycle_policy)})
    policies.set_repository_policy(ctx, {**name, "policyText": json.dumps(policy)})
    expired = lifecycle.run_once(ctx).get(repo, 0)
    return [
        f"tagged {repo}:{source} as {tag}",
        "put the lifecycle policy and the repository policy",
        f"lifecycle pass expired {expired} image(s)",
    ]


def delete_repository(ctx: Context, repo: str) -> list[str]:
    """DeleteRepository with force: the images leave the registry too (a later `start` begins clean)."""
    try:
        repositories.delete_repository(ctx, {"repositoryName": repo, "force": True})
    except AwsError as exc:
        if exc.code == "RepositoryNotFoundException":
            return []
        raise
    return [f"deleted ECR repository {repo} and its images"]
