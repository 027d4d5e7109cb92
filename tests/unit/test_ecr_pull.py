"""A task's ECR image checked against the local registry before its pod exists (the embedded
cluster never pulls): a repository that does not exist, or a tag or digest it does not hold,
stops the task with the ECS agent's CannotPullContainerError; the image list comes from the
Repository's status, which the API endpoint and the registry's front door keep current. And the
digest a container ran, as DescribeTasks reports it (containers[].imageDigest)."""

from __future__ import annotations

from typing import Any

import pytest
from test_api_ecr import ACCOUNT, D1, D2, SETTINGS, FakeRegistry, FakeStore, fake, ok

from ecsk.api.context import Context
from ecsk.api.ecr import common, gate
from ecsk.core.ecr.images import first_pull_failure, parse_image, pull_failure, status_images
from ecsk.core.tasks.status import derive_task_status, image_digest

__all__ = ["fake"]

REGION = "eu-west-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def _repo(name: str, images: list[dict[str, Any]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name.replace("/", "-")}, "spec": {"repositoryName": name}}
    if images is not None:
        body["status"] = {"imageCount": len(images), "images": images}
    return body


APP = _repo("team/app", status_images([(D1, ["v1", "latest"]), (D2, [])]))


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (f"{HOST}/team/app:v1", ("team/app", "v1", None)),
        (f"{HOST}/team/app", ("team/app", None, None)),
        (f"{HOST}/team/app@{D1}", ("team/app", None, D1)),
        (f"{HOST}/team/app:v1@{D1}", ("team/app", "v1", D1)),
    ],
)
def test_parse_this_accounts_ecr_images(image: str, expected: tuple[str, str | None, str | None]) -> None:
    parsed = parse_image(image, ACCOUNT, REGION)
    assert parsed is not None
    assert (parsed.repository, parsed.tag, parsed.digest) == expected


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.27",
        "public.ecr.aws/nginx/nginx:1.27",
        f"999999999999.dkr.ecr.{REGION}.amazonaws.com/team/app:v1",  # another account
        f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/app:v1",  # another region
    ],
)
def test_other_registries_are_not_checked(image: str) -> None:
    assert parse_image(image, ACCOUNT, REGION) is None
    assert first_pull_failure([image], [], ACCOUNT, REGION) is None


def test_missing_repository_reads_as_the_agent_says() -> None:
    image = parse_image(f"{HOST}/team/gone:v1", ACCOUNT, REGION)
    assert image is not None
    assert pull_failure(image, None) == (
        "CannotPullContainerError: The task can\u2019t pull the image. Check whether the image exists. "
        f"Error response from daemon: pull access denied for {HOST}/team/gone, repository does not "
        "exist or may require 'docker login': denied: requested access to the resource is denied"
    )


@pytest.mark.parametrize(
    ("ref", "pulls"),
    [(":v1", True), (":latest", True), ("", True), (":v9", False), (f"@{D1}", True), (f"@{D2}", True)],
)
def test_tag_or_digest_must_be_in_the_repository(ref: str, pulls: bool) -> None:
    failure = first_pull_failure([f"{HOST}/team/app{ref}"], [APP], ACCOUNT, REGION)
    assert (failure is None) is pulls
    if not pulls:
        assert failure == (
            f"CannotPullContainerError: Error response from daemon: manifest for {HOST}/team/app{ref} "
            "not found: manifest unknown: Requested image not found"
        )


def test_unknown_digest_and_an_untagged_default() -> None:
    other = "sha256:" + "f" * 64
    failure = first_pull_failure([f"{HOST}/team/app@{other}"], [APP], ACCOUNT, REGION)
    assert failure is not None and f"manifest for {HOST}/team/app@{other} not found" in failure
    untagged = _repo("team/app", status_images([(D2, [])]))
    failure = first_pull_failure([f"{HOST}/team/app"], [untagged], ACCOUNT, REGION)
    assert failure is not None and f"manifest for {HOST}/team/app:latest not found" in failure


def test_repository_without_an_image_list_is_checked_for_existence_only() -> None:
    never_listed = _repo("team/app", None)
    assert first_pull_failure([f"{HOST}/team/app:anything"], [never_listed], ACCOUNT, REGION) is None


def test_first_failing_container_wins() -> None:
    images = ["nginx:1.27", f"{HOST}/team/app:v1", f"{HOST}/team/nope:1", f"{HOST}/team/app:v9"]
    failure = first_pull_failure(images, [APP], ACCOUNT, REGION)
    assert failure is not None and f"pull access denied for {HOST}/team/nope," in failure


def test_api_records_each_images_digest_and_tags(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    assert store.objects[common.object_name("team/app")]["status"]["images"] == []
    ok(store, "ListImages", {"repositoryName": "team/app"})
    images = store.objects[common.object_name("team/app")]["status"]["images"]
    assert images == [
        {"imageDigest": "sha256:" + "1" * 64, "imageTags": []},
        {"imageDigest": "sha256:" + "2" * 64, "imageTags": ["latest", "v2"]},
        {"imageDigest": "sha256:" + "3" * 64, "imageTags": ["v3"]},
    ]
    ok(store, "BatchDeleteImage", {"repositoryName": "team/app", "imageIds": [{"imageTag": "v3"}]})
    images = store.objects[common.object_name("team/app")]["status"]["images"]
    assert [i["imageTags"] for i in images] == [[], ["latest", "v2"]]


def test_front_door_refreshes_the_status_after_a_push(fake: tuple[FakeStore, FakeRegistry]) -> None:
    """A `docker push` goes through the gate, not the API: the tag must be visible to the
    operator as soon as the push succeeded, not at the next scheduled pass."""
    store, reg = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    ctx = Context(store, SETTINGS)  # type: ignore[arg-type]
    pushed = "sha256:" + "4" * 64
    reg.repos["team/app"].append(type(reg.repos["team/app"][0])(pushed, ("v4",), 4000.0))
    gate.refresh(ctx, "GET", "/v2/team/app/manifests/v4", 200)  # a pull changes nothing
    gate.refresh(ctx, "PUT", "/v2/team/app/manifests/v4", 500)  # a refused push neither
    assert store.objects[common.object_name("team/app")]["status"]["images"] == []
    gate.refresh(ctx, "PUT", "/v2/team/app/manifests/v4", 201)
    images = store.objects[common.object_name("team/app")]["status"]["images"]
    assert {"imageDigest": pushed, "imageTags": ["v4"]} in images
    body = store.objects[common.object_name("team/app")]
    assert first_pull_failure([f"{HOST}/team/app:v4"], [body], ACCOUNT, REGION) is None
    gate.refresh(ctx, "PUT", "/v2/team/gone/manifests/v4", 201)  # no such repository: no error


# --- the digest a container ran -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_id", "digest"),
    [
        (f"{HOST}/team/app@{D1}", D1),
        (f"docker.io/library/nginx@{D2}", D2),
        (D1, None),  # a config digest (image loaded onto the node, never pulled): not a manifest's
        ("", None),
    ],
)
def test_image_digest_from_the_kubelets_image_id(image_id: str, digest: str | None) -> None:
    assert image_digest({"imageID": image_id}) == digest


def test_describe_tasks_containers_carry_the_image_digest() -> None:
    pod = {
        "metadata": {"name": "p", "uid": "0" * 32},
        "spec": {"nodeName": "n", "containers": [{"name": "app"}, {"name": "side"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "app", "imageID": f"{HOST}/team/app@{D1}", "state": {"running": {}}},
                {"name": "side", "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}},
            ],
        },
    }
    containers = [c.to_dict() for c in derive_task_status(pod).containers]
    assert containers[0]["imageDigest"] == D1
    assert "imageDigest" not in containers[1]


# --- the operator's check ----------------------------------------------------------------------


def _td(*images: str) -> Any:
    from ecsk.core.models import TaskDefinition

    return TaskDefinition.model_validate(
        {
            "family": "app",
            "containerDefinitions": [
                {"name": f"c{i}", "image": image, "memory": 64} for i, image in enumerate(images)
            ],
        }
    )


def test_operator_reads_the_namespaces_repositories() -> None:
    from helpers_fake_kube import FakeKube

    from ecsk.controller.ecr.images import pull_failure as operator_pull_failure

    app = {"apiVersion": "ecs.ecsk.io/v1alpha1", "kind": "Repository", **APP}
    app["metadata"] = {**app["metadata"], "namespace": "ns-a"}
    kube = FakeKube(app, served=("Repository",))
    check = operator_pull_failure
    assert check(kube, "ns-a", _td("nginx:1.27", f"{HOST}/team/app:v1"), ACCOUNT, REGION) is None  # type: ignore[arg-type]
    failure = check(kube, "ns-a", _td(f"{HOST}/team/app:v9"), ACCOUNT, REGION)  # type: ignore[arg-type]
    assert failure is not None and "manifest unknown: Requested image not found" in failure
    # Repositories are per namespace, as the API endpoint serving that namespace keeps them.
    failure = check(kube, "ns-b", _td(f"{HOST}/team/app:v1"), ACCOUNT, REGION)  # type: ignore[arg-type]
    assert failure is not None and "repository does not exist" in failure
    # Without the Repository CRD no repository exists; without an ECR image nothing is read.
    bare = FakeKube()
    failure = check(bare, "ns-a", _td(f"{HOST}/team/app:v1"), ACCOUNT, REGION)  # type: ignore[arg-type]
    assert failure is not None and "repository does not exist" in failure
    assert check(bare, "ns-a", _td("nginx:1.27"), ACCOUNT, REGION) is None  # type: ignore[arg-type]


def test_a_huge_repository_keeps_no_list_and_is_checked_for_existence_only() -> None:
    from ecsk.core.ecr.images import STATUS_IMAGES_MAX

    many = [(f"sha256:{i:064x}", [f"t{i}"]) for i in range(STATUS_IMAGES_MAX + 1)]
    assert status_images(many) is None
    assert status_images(many[:STATUS_IMAGES_MAX]) is not None
    huge = _repo("team/app", None)
    huge["status"] = {"imageCount": len(many), "images": status_images(many)}
    assert first_pull_failure([f"{HOST}/team/app:any"], [huge], ACCOUNT, REGION) is None
