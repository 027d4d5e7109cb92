"""The ECR API without a cluster or a registry process: the calls through `server.dispatch` on a
fake store and a fake registry, and the registry client's reading of Distribution's storage
layout on a directory laid out as the filesystem driver writes it."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from ecsk.api import server
from ecsk.api.context import Context, Settings
from ecsk.api.ecr import auth, common, lifecycle
from ecsk.api.ecr.backend import Manifest, Registry, StoredImage
from ecsk.api.store import Conflict

ECR = "AmazonEC2ContainerRegistry_V20150921"
ACCOUNT = "123456789012"
STORAGE = tempfile.mkdtemp(prefix="ecsk-ecr-unit-")
SETTINGS = Settings(region="eu-west-1", account=ACCOUNT, registry_url="http://r", registry_storage=STORAGE)
D1, D2, D3 = (f"sha256:{c * 64}" for c in "123")


class FakeStore:
    namespace = "test"

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["kind"] == kind]

    def get(self, kind: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
        return self.objects.get(name)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        if name in self.objects:
            raise Conflict(name)
        body = {**obj, "metadata": {**obj["metadata"], "creationTimestamp": "2026-01-02T03:04:05Z"}}
        self.objects[name] = body
        return body

    def update_spec(self, kind: str, name: str, mutate: Any) -> dict[str, Any] | None:
        body = self.objects.get(name)
        if body is None:
            return None
        body["spec"] = mutate(body)
        return body

    def merge_patch_status(self, kind: str, name: str, status: dict[str, Any]) -> dict[str, Any] | None:
        body = self.objects[name]
        body["status"] = {**(body.get("status") or {}), **status}
        return body

    def delete(self, kind: str, name: str) -> bool:
        return self.objects.pop(name, None) is not None


class FakeRegistry:
    """Images by repository; deletes behave as Distribution's: a digest takes its tags along."""

    def __init__(self, images: dict[str, list[StoredImage]]) -> None:
        self.repos = images
        self.deleted: list[tuple[str, str]] = []
        self.put: list[tuple[str, str]] = []

    def images(self, repo: str) -> list[StoredImage]:
        return list(self.repos.get(repo, []))

    def delete(self, repo: str, ref: str) -> bool:
        self.deleted.append((repo, ref))
        kept = []
        for i in self.repos.get(repo, []):
            if i.digest == ref:
                continue
            kept.append(StoredImage(i.digest, tuple(t for t in i.tags if t != ref), i.pushed_at))
        self.repos[repo] = kept
        return True

    def manifest(self, repo: str, ref: str, accept: Any = None) -> Manifest | None:
        doc = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "layers": [{"size": 10}, {"size": 5}],
        }
        return Manifest(json.dumps(doc).encode(), doc["mediaType"], ref)

    def size(self, repo: str, manifest: Manifest) -> int:
        return 15

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        self.put.append((repo, ref))
        return ""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeStore, FakeRegistry]:
    reg = FakeRegistry(
        {
            "team/app": [
                StoredImage(D1, (), 1000.0),
                StoredImage(D2, ("latest", "v2"), 2000.0),
                StoredImage(D3, ("v3",), 3000.0),
            ]
        }
    )
    monkeypatch.setattr(common, "registry", lambda _ctx: reg)
    return FakeStore(), reg


def call(store: FakeStore, op: str, body: dict[str, Any]) -> server.Response:
    headers = {"X-Amz-Target": f"{ECR}.{op}", "Content-Type": "application/x-amz-json-1.1"}
    return server.dispatch(store, SETTINGS, "POST", "/", headers, json.dumps(body).encode())  # type: ignore[arg-type]


def ok(store: FakeStore, op: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = call(store, op, body)
    assert resp.status == 200, resp.body
    return resp.body


def error(store: FakeStore, op: str, body: dict[str, Any]) -> tuple[str, str]:
    resp = call(store, op, body)
    assert resp.status == 400, resp.body
    return resp.body["__type"], resp.body["message"]


def test_create_repository_names_uri_and_refusals(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    repo = ok(store, "CreateRepository", {"repositoryName": "team/app"})["repository"]
    assert repo["repositoryUri"] == f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/app"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert store.objects[common.object_name("team/app")]["status"]["imageCount"] == 0
    assert (
        error(store, "CreateRepository", {"repositoryName": "team/app"})[0]
        == "RepositoryAlreadyExistsException"
    )
    code, message = error(store, "CreateRepository", {"repositoryName": "Team/App"})
    assert code == "InvalidParameterException"
    assert message == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        "'must satisfy regular expression "
        "'[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*''"
    )
    for bad in ("a/", "-ab", "ab//c", "ab..c", "ab_-c"):
        assert error(store, "CreateRepository", {"repositoryName": bad})[0] == "InvalidParameterException", (
            bad
        )
    for good in ("ab", "a__b", "a---b", "project-a/nginx-web-app", "a.b_c/d-e"):
        assert call(store, "CreateRepository", {"repositoryName": good}).status == 200, good
    tagged = {"repositoryName": "dup-tags", "tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    assert error(store, "CreateRepository", tagged)[0] == "InvalidTagParameterException"
    excl = {"repositoryName": "excl", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}
    assert "ecsk does not support" in error(store, "CreateRepository", excl)[1]


def test_missing_repository_and_other_registry(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    code, message = error(store, "ListImages", {"repositoryName": "ghost"})
    assert (code, message) == (
        "RepositoryNotFoundException",
        f"The repository with name 'ghost' does not exist in the registry with id '{ACCOUNT}'",
    )
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    code, message = error(store, "ListImages", {"repositoryName": "team/app", "registryId": "999999999999"})
    assert code == "RepositoryNotFoundException" and "'999999999999'" in message


def test_list_images_one_entry_per_tag_and_filters(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    ids = ok(store, "ListImages", {"repositoryName": "team/app"})["imageIds"]
    assert ids == [
        {"imageDigest": D1},
        {"imageDigest": D2, "imageTag": "latest"},
        {"imageDigest": D2, "imageTag": "v2"},
        {"imageDigest": D3, "imageTag": "v3"},
    ]
    untagged = ok(store, "ListImages", {"repositoryName": "team/app", "filter": {"tagStatus": "UNTAGGED"}})
    assert untagged["imageIds"] == [{"imageDigest": D1}]
    first = ok(store, "ListImages", {"repositoryName": "team/app", "maxResults": 3})
    rest = ok(store, "ListImages", {"repositoryName": "team/app", "nextToken": first["nextToken"]})
    assert first["imageIds"] + rest["imageIds"] == ids
    assert store.objects[common.object_name("team/app")]["status"]["imageCount"] == 3
    assert error(store, "ListImages", {"repositoryName": "team/app", "maxResults": 1001})[0] == (
        "InvalidParameterException"
    )


def test_describe_images_details_and_not_found_wording(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    details = ok(store, "DescribeImages", {"repositoryName": "team/app", "imageIds": [{"imageTag": "v2"}]})
    (d,) = details["imageDetails"]
    assert d["imageDigest"] == D2 and d["imageTags"] == ["latest", "v2"] and d["imageSizeInBytes"] == 15
    assert d["imagePushedAt"] == 2000.0 and d["registryId"] == ACCOUNT
    code, message = error(
        store,
        "DescribeImages",
        {"repositoryName": "team/app", "imageIds": [{"imageDigest": D1, "imageTag": "v3"}]},
    )
    assert code == "ImageNotFoundException"
    assert message == (
        f"The image with imageId {{imageDigest:'{D1}', imageTag:'v3'}} does not exist within the repository "
        f"with name 'team/app' in the registry with id '{ACCOUNT}'"
    )


def test_batch_delete_tag_digest_and_failures(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, reg = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    out = ok(
        store,
        "BatchDeleteImage",
        {
            "repositoryName": "team/app",
            "imageIds": [
                {"imageTag": "latest"},  # not the image's last tag: only the tag goes
                {"imageTag": "v3"},  # its last tag: the image goes
                {"imageDigest": D1, "imageTag": "v2"},  # tag and digest disagree
                {},
                {"imageDigest": "sha256:nothex"},
            ],
        },
    )
    assert reg.deleted == [("team/app", "latest"), ("team/app", D3)]
    assert out["imageIds"] == [
        {"imageDigest": D2, "imageTag": "latest"},
        {"imageDigest": D3, "imageTag": "v3"},
    ]
    assert [f["failureCode"] for f in out["failures"]] == [
        "ImageTagDoesNotMatchDigest",
        "MissingDigestAndTag",
        "InvalidImageDigest",
    ]


def test_put_image_refusals(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, reg = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app", "imageTagMutability": "IMMUTABLE"})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    code, message = error(
        store, "PutImage", {"repositoryName": "team/app", "imageManifest": manifest, "imageTag": "v3"}
    )
    assert code == "ImageTagAlreadyExistsException"
    assert message == (
        "The image tag 'v3' already exists in the 'team/app' repository and cannot be overwritten "
        "because the repository is immutable."
    )
    wrong = {"repositoryName": "team/app", "imageManifest": manifest, "imageDigest": D1}
    assert error(store, "PutImage", wrong)[0] == "ImageDigestDoesNotMatchException"
    bare = {"repositoryName": "team/app", "imageManifest": json.dumps({"schemaVersion": 2})}
    assert "imageManifestMediaType" in error(store, "PutImage", bare)[1]
    ok(store, "PutImage", {"repositoryName": "team/app", "imageManifest": manifest, "imageTag": "new"})
    assert reg.put == [("team/app", "new")]


def test_delete_repository_needs_force_when_it_has_images(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, reg = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    code, message = error(store, "DeleteRepository", {"repositoryName": "team/app"})
    assert code == "RepositoryNotEmptyException"
    assert message == (
        f"The repository with name 'team/app' in registry with id '{ACCOUNT}' "
        "cannot be deleted because it still contains images"
    )
    ok(store, "DeleteRepository", {"repositoryName": "team/app", "force": True})
    assert reg.repos["team/app"] == [] and store.objects == {}


def test_authorization_token_is_aws_user_and_expires_in_12_hours(
    fake: tuple[FakeStore, FakeRegistry],
) -> None:
    store, _ = fake
    (data,) = ok(store, "GetAuthorizationToken", {})["authorizationData"]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password.startswith("ecsk.")
    assert data["proxyEndpoint"] == f"https://{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"


def test_lifecycle_policy_calls_and_scheduled_run(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, reg = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    assert error(store, "GetLifecyclePolicy", {"repositoryName": "team/app"}) == (
        "LifecyclePolicyNotFoundException",
        "Lifecycle policy does not exist for the repository with name 'team/app' "
        f"in the registry with id '{ACCOUNT}'",
    )
    text = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                    "action": {"type": "expire"},
                }
            ]
        }
    )
    code, message = error(
        store,
        "PutLifecyclePolicy",
        {"repositoryName": "team/app", "lifecyclePolicyText": text[:-1] + " " * 20},
    )
    assert code == "InvalidParameterException" and "Could not map policyString" in message
    ok(store, "PutLifecyclePolicy", {"repositoryName": "team/app", "lifecyclePolicyText": text})
    ok(store, "StartLifecyclePolicyPreview", {"repositoryName": "team/app"})
    preview = ok(
        store, "GetLifecyclePolicyPreview", {"repositoryName": "team/app", "filter": {"tagStatus": "TAGGED"}}
    )
    assert [(r["imageDigest"], r["appliedRulePriority"]) for r in preview["previewResults"]] == [(D2, 1)]
    assert reg.deleted == []
    assert lifecycle.run_once(Context(store, SETTINGS)) == {"team/app": 2}  # type: ignore[arg-type]
    assert reg.deleted == [("team/app", D1), ("team/app", D2)]
    status = store.objects[common.object_name("team/app")]["status"]
    assert status["imageCount"] == 1 and status["lifecycleLastEvaluatedAt"]
    assert ok(store, "GetLifecyclePolicy", {"repositoryName": "team/app"})["lastEvaluatedAt"]


def test_registry_reads_the_filesystem_layout(tmp_path: Path) -> None:
    root = tmp_path / "docker/registry/v2/repositories/team/app/_manifests"
    for digest, when in ((D1, 100.0), (D2, 200.0)):
        link = root / "revisions/sha256" / digest.removeprefix("sha256:") / "link"
        link.parent.mkdir(parents=True)
        link.write_text(digest)
        os.utime(link, (when, when))
    for tag, digest in (("v2", D2), ("latest", D2)):
        current = root / "tags" / tag / "current/link"
        current.parent.mkdir(parents=True)
        current.write_text(digest)
    images = Registry("http://unused", tmp_path).images("team/app")
    assert images == [StoredImage(D1, (), 100.0), StoredImage(D2, ("latest", "v2"), 200.0)]
    assert Registry("http://unused", tmp_path).images("nothing/here") == []


def test_gate_refuses_what_ecr_refuses_at_push(fake: tuple[FakeStore, FakeRegistry]) -> None:
    from ecsk.api.ecr import gate

    store, _ = fake
    ctx = Context(store, SETTINGS)  # type: ignore[arg-type]
    alice = basic(auth.password(SETTINGS, "alice", time.time() + 60))

    def check(method: str, path: str, manifest: bytes | None) -> None:
        gate.check(ctx, method, path, manifest, alice)

    Refusal = gate.Refusal
    check("GET", "/v2/", None)  # the version check is no repository's business
    with pytest.raises(Refusal) as err:
        check("POST", "/v2/team/app/blobs/uploads/", None)
    assert (err.value.status, err.value.code) == (404, "NAME_UNKNOWN")
    assert err.value.message == (
        f"The repository with name 'team/app' does not exist in the registry with id '{ACCOUNT}'"
    )
    ok(store, "CreateRepository", {"repositoryName": "team/app", "imageTagMutability": "IMMUTABLE"})
    check("POST", "/v2/team/app/blobs/uploads/", None)
    check("PUT", "/v2/team/app/manifests/new-tag", b"{}")  # a new tag is fine
    check("PUT", f"/v2/team/app/manifests/{D1}", b"{}")  # by digest: no tag moves
    with pytest.raises(Refusal) as err:
        check("PUT", "/v2/team/app/manifests/v3", b'{"other": "image"}')
    assert (err.value.status, err.value.code) == (400, "TAG_INVALID")
    assert "cannot be overwritten because the repository is immutable." in err.value.message
    ok(store, "PutImageTagMutability", {"repositoryName": "team/app", "imageTagMutability": "MUTABLE"})
    check("PUT", "/v2/team/app/manifests/v3", b'{"other": "image"}')


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()


def test_gate_needs_a_valid_unexpired_login(fake: tuple[FakeStore, FakeRegistry]) -> None:
    from ecsk.api.ecr.gate import Refusal, check

    store, _ = fake
    ctx = Context(store, SETTINGS)  # type: ignore[arg-type]
    for header in (
        None,
        "Bearer x",
        basic("not-a-token"),
        "Basic " + base64.b64encode(b"AWS:ecsk.e30.00").decode(),
    ):
        with pytest.raises(Refusal) as err:
            check(ctx, "GET", "/v2/", None, header)
        assert (err.value.status, err.value.code, err.value.challenge) == (401, "UNAUTHORIZED", True)
    forged = auth.password(Settings(account=ACCOUNT, registry_storage=None), "alice", time.time() + 60)
    with pytest.raises(Refusal):  # signed with another key
        check(ctx, "GET", "/v2/", None, basic(forged))
    with pytest.raises(Refusal) as err:
        check(ctx, "GET", "/v2/", None, basic(auth.password(SETTINGS, "alice", time.time() - 1)))
    assert (err.value.status, err.value.code) == (403, "DENIED")
    assert err.value.message == "Your authorization token has expired. Reauthenticate and try again."
    login = auth.login(SETTINGS, basic(auth.password(SETTINGS, "alice", time.time() + 60)))
    assert login.principal == f"arn:aws:iam::{ACCOUNT}:user/alice" and not login.expired


def test_gate_enforces_the_repository_policy(fake: tuple[FakeStore, FakeRegistry]) -> None:
    from ecsk.api.ecr.gate import Refusal, action, check, without_mount

    store, _ = fake
    ctx = Context(store, SETTINGS)  # type: ignore[arg-type]
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "pull",
                "Effect": "Allow",
                "Principal": {
                    "AWS": [f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/bob"]
                },
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                "Action": "ecr:*",
            },
            {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchDeleteImage"},
        ],
    }
    ok(store, "SetRepositoryPolicy", {"repositoryName": "team/app", "policyText": json.dumps(policy)})
    assert (
        json.loads(ok(store, "GetRepositoryPolicy", {"repositoryName": "team/app"})["policyText"]) == policy
    )

    def as_(user: str) -> str:
        return basic(auth.password(SETTINGS, user, time.time() + 60))

    check(ctx, "GET", f"/v2/team/app/manifests/{D2}", None, as_("bob"))  # bob may pull
    check(ctx, "PUT", "/v2/team/app/manifests/new", b"{}", as_("alice"))  # alice may push
    with pytest.raises(Refusal) as err:
        check(ctx, "POST", "/v2/team/app/blobs/uploads/", None, as_("bob"))
    assert (err.value.status, err.value.code) == (403, "DENIED")
    assert err.value.message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: ecr:InitiateLayerUpload "
        f"on resource: arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/app "
        "because no resource-based policy allows the ecr:InitiateLayerUpload action"
    )
    with pytest.raises(Refusal) as err:
        check(ctx, "GET", "/v2/team/app/blobs/sha256:ab", None, as_("carol"))
    assert "ecr:GetDownloadUrlForLayer" in err.value.message
    with pytest.raises(Refusal) as err:
        check(ctx, "DELETE", f"/v2/team/app/manifests/{D2}", None, as_("alice"))
    assert err.value.message.endswith("with an explicit deny in a resource-based policy")
    ok(store, "DeleteRepositoryPolicy", {"repositoryName": "team/app"})
    check(ctx, "GET", "/v2/team/app/blobs/sha256:ab", None, as_("carol"))  # no policy: the account may
    assert error(store, "GetRepositoryPolicy", {"repositoryName": "team/app"})[0] == (
        "RepositoryPolicyNotFoundException"
    )
    assert action("HEAD", "blobs", "/v2/r/blobs/sha256:x") == "ecr:BatchCheckLayerAvailability"
    assert action("PATCH", "blobs", "/v2/r/blobs/uploads/123") == "ecr:UploadLayerPart"
    assert action("GET", "tags", "/v2/r/tags/list") == "ecr:ListImages"
    assert without_mount("/v2/r/blobs/uploads/?mount=sha256:x&from=other") == "/v2/r/blobs/uploads/"


def test_nodes_pull_door_pulls_as_the_execution_role_and_only_pulls(
    fake: tuple[FakeStore, FakeRegistry],
) -> None:
    """The kind nodes' door (`--registry-pull-port`): no login (containerd has none), every request
    is the task execution role's, as ECS's agent pulls; pushes and deletes are refused there."""
    from ecsk.api.ecr.gate import Refusal, check, execution_role

    store, _ = fake
    ctx = Context(store, SETTINGS)  # type: ignore[arg-type]
    role = execution_role(ACCOUNT)
    assert role == f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
    with pytest.raises(Refusal) as err:  # no such repository: ECR's words, as for a login
        check(ctx, "GET", "/v2/team/app/manifests/v2?ns=x", None, None, role)
    assert (err.value.status, err.value.code) == (404, "NAME_UNKNOWN")
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    check(ctx, "GET", "/v2/", None, None, role)
    check(ctx, "HEAD", "/v2/team/app/manifests/v2", None, None, role)  # no policy: the account's role may
    check(ctx, "GET", f"/v2/team/app/blobs/{D1}", None, None, role)
    for method, path in (
        ("POST", "/v2/team/app/blobs/uploads/"),
        ("PUT", "/v2/team/app/manifests/v9"),
        ("DELETE", f"/v2/team/app/manifests/{D2}"),
    ):
        with pytest.raises(Refusal) as err:
            check(ctx, method, path, b"{}", basic(auth.password(SETTINGS, "alice", time.time() + 60)), role)
        assert (err.value.status, err.value.code) == (405, "UNSUPPORTED")
    only_alice = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "ecr:*"}
        ],
    }
    ok(store, "SetRepositoryPolicy", {"repositoryName": "team/app", "policyText": json.dumps(only_alice)})
    with pytest.raises(Refusal) as err:  # the policy does not name the role: the task cannot pull
        check(ctx, "GET", "/v2/team/app/manifests/v2", None, None, role)
    assert err.value.message.startswith(f"User: {role} is not authorized to perform: ecr:BatchGetImage")


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
        {"Effect": "Maybe", "Principal": "*", "Action": "ecr:*"},
        {"Effect": "Allow", "Action": "ecr:*"},
        {"Effect": "Allow", "Principal": {"Service": "x"}, "Action": "ecr:*"},
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Condition": {"StringEquals": {}}},
    ],
)
def test_repository_policy_refusals(fake: tuple[FakeStore, FakeRegistry], statement: dict[str, Any]) -> None:
    store, _ = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    code, message = error(store, "SetRepositoryPolicy", {"repositoryName": "team/app", "policyText": text})
    assert code == "InvalidParameterException"
    assert message.startswith(
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
    )


def test_scanning_answers_as_for_an_unsupported_image(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    ok(store, "CreateRepository", {"repositoryName": "team/app"})
    ref = {"repositoryName": "team/app", "imageId": {"imageTag": "v3"}}
    code, message = error(store, "DescribeImageScanFindings", ref)
    assert code == "ScanNotFoundException"
    assert message.startswith(
        "Image scan does not exist for the image with '{imageDigest:'null', imageTag:'v3'}'"
    )
    started = ok(store, "StartImageScan", ref)
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert started["imageId"] == {"imageDigest": D3, "imageTag": "v3"}
    found = ok(store, "DescribeImageScanFindings", ref)
    assert found["imageScanStatus"] == {
        "status": "UNSUPPORTED_IMAGE",
        "description": "UnsupportedImageError: "
        "The operating system and/or package manager are not supported.",
    }
    assert "imageScanFindings" not in found  # no made-up findings
    missing = {"repositoryName": "team/app", "imageId": {"imageTag": "nope"}}
    assert error(store, "StartImageScan", missing)[0] == "ImageNotFoundException"
    ok(
        store,
        "CreateRepository",
        {"repositoryName": "on-push", "imageScanningConfiguration": {"scanOnPush": True}},
    )
    fake[1].repos["on-push"] = [StoredImage(D1, ("v1",), 1.0)]
    pushed = {"repositoryName": "on-push", "imageId": {"imageDigest": D1}}
    assert ok(store, "DescribeImageScanFindings", pushed)["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"


def test_repository_tags(fake: tuple[FakeStore, FakeRegistry]) -> None:
    store, _ = fake
    arn = ok(store, "CreateRepository", {"repositoryName": "team/app", "tags": [{"Key": "a", "Value": "1"}]})[
        "repository"
    ]["repositoryArn"]
    ok(
        store,
        "TagResource",
        {"resourceArn": arn, "tags": [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}]},
    )
    assert ok(store, "ListTagsForResource", {"resourceArn": arn})["tags"] == [
        {"Key": "a", "Value": "2"},
        {"Key": "b", "Value": "3"},
    ]
    ok(store, "UntagResource", {"resourceArn": arn, "tagKeys": ["a"]})
    assert ok(store, "ListTagsForResource", {"resourceArn": arn})["tags"] == [{"Key": "b", "Value": "3"}]
    many = [{"Key": f"k{i}", "Value": ""} for i in range(50)]
    assert error(store, "TagResource", {"resourceArn": arn, "tags": many})[0] == "TooManyTagsException"
    reserved = [{"Key": "aws:x", "Value": ""}]
    assert (
        error(store, "TagResource", {"resourceArn": arn, "tags": reserved})[0]
        == "InvalidTagParameterException"
    )
    other = arn.replace(ACCOUNT, "999999999999")
    assert error(store, "ListTagsForResource", {"resourceArn": other})[0] == "RepositoryNotFoundException"
    bad = {"resourceArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/x"}
    assert error(store, "ListTagsForResource", bad)[0] == "InvalidParameterException"


def test_create_without_the_crd_says_how_to_install_it(fake: tuple[FakeStore, FakeRegistry]) -> None:
    from ecsk.api.store import NotFound

    store, _ = fake

    def no_crd(obj: dict[str, Any]) -> dict[str, Any]:
        raise NotFound("/apis/ecs.ecsk.io/v1alpha1/namespaces/test/repositories")

    store.create = no_crd  # type: ignore[method-assign]
    resp = call(store, "CreateRepository", {"repositoryName": "team/app"})
    assert resp.status == 500 and resp.body["__type"] == "ServerException"
    assert "kubectl apply -k crds/" in resp.body["message"]
