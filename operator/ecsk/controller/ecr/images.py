"""Read the Repository resources of a task's namespace and say, in the ECS agent's words, which
ECR image of the task cannot be pulled (ecsk.core.ecr.images decides; this only reads).

The operator does not talk to the registry itself: it may run where the registry is not
reachable (in the kind cluster), and the API endpoint already records each repository's images
in its status whenever a push, delete or API call changes them."""

from __future__ import annotations

from ecsk.controller.kube.client import API_VERSION, KindNotServed, Kube
from ecsk.core.ecr.images import first_pull_failure, parse_image
from ecsk.core.models import TaskDefinition


def pull_failure(kube: Kube, namespace: str, td: TaskDefinition, account: str, region: str) -> str | None:
    """The stoppedReason of a task of `td` started now, or None when every image of this
    account's registry can be pulled (images of other registries are not checked)."""
    images = [c.image or "" for c in td.containerDefinitions]
    if not any(parse_image(i, account, region) for i in images):
        return None  # no ECR image: no need to read Repositories
    try:
        repositories = kube.list(API_VERSION, "Repository", namespace)
    except KindNotServed:  # no Repository CRD: no repository exists, as ECR would say
        repositories = []
    return first_pull_failure(images, repositories, account, region)
