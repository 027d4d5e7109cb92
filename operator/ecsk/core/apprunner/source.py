"""Automatic deployments: which digest the image's tag points at in the local ECR.

With AutoDeploymentsEnabled, App Runner follows the ImageIdentifier's tag in ECR and deploys
each new image pushed to it. ecsk reads the same fact where the operator can see it: the
Repository resource's `status.images` (digest and tags of every image, written by the AWS
endpoint and the registry's front door on every push). A new digest for the tag starts a
deployment (START_DEPLOYMENT). Images of ECR Public, another account's registry, or pinned by
digest are not followed (App Runner supports automatic deployments for private ECR only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecsk.core.apprunner.models import AppRunnerService
from ecsk.core.ecr.images import EcrImage, parse_image, repository_name


def followed_image(spec: AppRunnerService, account: str, region: str) -> EcrImage | None:
    """The ECR image whose tag the service follows, or None when it follows nothing."""
    repo = spec.image
    if not spec.SourceConfiguration.AutoDeploymentsEnabled or repo.ImageRepositoryType != "ECR":
        return None
    image = parse_image(repo.ImageIdentifier, account, region)
    return image if image is not None and image.digest is None else None


def tag_digest(image: EcrImage, repositories: Iterable[Mapping[str, Any]]) -> str | None:
    """The digest the image's tag (default `latest`) points at, or None when the repository or
    the tag is unknown (nothing to deploy yet: the current instances keep running)."""
    tag = image.tag or "latest"
    for body in repositories:
        if repository_name(body) != image.repository:
            continue
        for entry in (body.get("status") or {}).get("images") or ():
            if tag in (entry.get("imageTags") or ()):
                return str(entry.get("imageDigest"))
    return None
