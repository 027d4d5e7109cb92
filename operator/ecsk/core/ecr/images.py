"""Can a task pull its ECR image? The ECS side of the local registry.

On ECS the agent pulls every image before it starts a task; an image of a repository that does
not exist, or a tag or digest the repository does not hold, stops the task with
`CannotPullContainerError` (stop code TaskFailedToStart). On the embedded cluster pods never
pull, so the operator answers that question itself, before it creates a pod, from what it can
read: the Repository resources (does the repository exist?) and the image list the API endpoint
records in each Repository's status (`status.images`, written whenever the endpoint or the
registry's front door sees the repository change). A Repository whose status has no image list
yet (never touched by the endpoint) is checked for existence only.

The texts are the ECS agent's (amazon-ecs-agent `errormessages`, and the Docker daemon's words it
augments): a missing repository reads "pull access denied for <repo>, repository does not exist
or may require 'docker login'", a missing tag or digest "manifest for <image> not found:
manifest unknown: Requested image not found" (ECR's own text for an unknown image).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.core.ecr.names import registry_host

PULL_ERROR = "CannotPullContainerError: "
# "can\u2019t": the agent's text has a typographic apostrophe (amazon-ecs-agent errormessages).
_IMAGE = re.compile(
    r"^(?P<host>(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


@dataclass(frozen=True)
class EcrImage:
    """An image reference in an ECR registry: `<host>/<repository>[:tag][@digest]`."""

    host: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}"

    @property
    def reference(self) -> str:
        """The image as Docker names it in its error (a digest wins over a tag; no tag is `latest`)."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or 'latest'}"


def parse_image(image: str, account: str, region: str) -> EcrImage | None:
    """The image when it names this account's registry in this region, else None (another
    registry, another account's ECR: ecsk has nothing to say about those)."""
    m = _IMAGE.match(image.strip())
    if not m or m["host"] != registry_host(account, region):
        return None
    return EcrImage(m["host"], m["repo"], m["tag"], m["digest"])


STATUS_IMAGES_MAX = 4000
"""Past this many images the list is not kept in the status (an object must stay well below
etcd's 1.5 MiB); the operator then checks that the repository exists, nothing more."""


def status_images(images: Iterable[tuple[str, Iterable[str]]]) -> list[dict[str, Any]] | None:
    """What a Repository's `status.images` holds: each manifest's digest and tags (sorted, so an
    unchanged repository writes an unchanged status); None (no list) past STATUS_IMAGES_MAX."""
    listed = [{"imageDigest": digest, "imageTags": sorted(tags)} for digest, tags in images]
    if len(listed) > STATUS_IMAGES_MAX:
        return None
    return sorted(listed, key=lambda i: str(i["imageDigest"]))


def _holds(image: EcrImage, recorded: list[Mapping[str, Any]]) -> bool:
    if image.digest:
        return any(i.get("imageDigest") == image.digest for i in recorded)
    tag = image.tag or "latest"
    return any(tag in (i.get("imageTags") or ()) for i in recorded)


def pull_failure(image: EcrImage, repository: Mapping[str, Any] | None) -> str | None:
    """The stoppedReason of a task pulling `image`, `repository` being the Repository resource
    of that name (None when there is none), or None when the pull would succeed."""
    if repository is None:
        return (
            f"{PULL_ERROR}The task can\u2019t pull the image. Check whether the image exists. Error "
            f"response from daemon: pull access denied for {image.name}, repository does not "
            "exist or may require 'docker login': denied: requested access to the resource is denied"
        )
    recorded = (repository.get("status") or {}).get("images")
    if recorded is None or _holds(image, recorded):
        return None
    return (
        f"{PULL_ERROR}Error response from daemon: manifest for {image.reference} not found: "
        "manifest unknown: Requested image not found"
    )


def repository_name(body: Mapping[str, Any]) -> str:
    """A Repository resource's repository name (spec.repositoryName; the object name otherwise)."""
    return str((body.get("spec") or {}).get("repositoryName") or body["metadata"]["name"])


def first_pull_failure(
    images: Iterable[str], repositories: Iterable[Mapping[str, Any]], account: str, region: str
) -> str | None:
    """The first container image of a task that cannot be pulled, in the agent's words."""
    by_name = {repository_name(r): r for r in repositories}
    for raw in images:
        image = parse_image(raw, account, region)
        if image is not None and (failure := pull_failure(image, by_name.get(image.repository))):
            return failure
    return None
