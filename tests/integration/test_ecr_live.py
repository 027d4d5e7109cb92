"""ECR for real: the Distribution registry (`ecsk.cluster.registry`, built from its Go module) and
the ECR API of the endpoint (`ecsk api serve`), driven by boto3, the aws CLI and Docker.

Images are made offline (`docker import` of a small tar, no hub) and pushed with `docker push`
through the registry after `aws ecr get-login-password | docker login`; the API then lists,
describes, re-tags and deletes them, and lifecycle policies expire them on a one-second schedule.
Docker runs with its own DOCKER_CONFIG, so the machine's login state is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from kubectl import kubectl
from kubetest import wait_for

from ecsk.cluster import registry as reg

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AWS = str(Path(sys.executable).parent / "aws")
ACCOUNT, REGION = "123456789012", "eu-central-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Env:
    endpoint: str
    port: int
    """The registry's front door (the API endpoint's gate), where docker pushes and pulls."""
    backend: int
    """Distribution itself."""
    storage: Path
    docker_config: Path
    namespace: str
    kubeconfig: str

    def docker(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DOCKER_CONFIG=str(self.docker_config))
        proc = subprocess.run(
            ["docker", *args], input=stdin, capture_output=True, text=True, env=env, timeout=180
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
        return proc

    def ref(self, repo: str, tag: str) -> str:
        return f"127.0.0.1:{self.port}/{repo}:{tag}"


@pytest.fixture(scope="module")
def ecr_env(api: Any, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode:
        pytest.skip("docker is not running here")
    import pykube

    kubectl(
        kubeconfig,
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        str(ROOT / "crds/repositories.ecs.ecsk.io.yaml"),
    )
    kubectl(
        kubeconfig, "wait", "--for=condition=Established", "crd/repositories.ecs.ecsk.io", "--timeout=60s"
    )
    home = tmp_path_factory.mktemp("ecr-home")
    backend, port = _free_port(), _free_port()
    reg.start(home, backend, say=lambda _m: None)
    name = f"ecr-{uuid.uuid4().hex[:8]}"
    ns = pykube.Namespace(api, {"metadata": {"name": name, "labels": {"ecsk.io/test": "true"}}})
    ns.create()
    api_port = _free_port()
    args = [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(api_port), "-n", name]
    args += ["--region", REGION, "--account", ACCOUNT, "--registry-url", reg.url(backend)]
    args += ["--registry-storage", str(reg.storage_dir(home)), "--lifecycle-interval", "1"]
    args += ["--registry-port", str(port)]
    env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
    with open(home / "api.log", "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    docker_config = home / "docker"
    docker_config.mkdir()
    e = Env(
        f"http://127.0.0.1:{api_port}", port, backend, reg.storage_dir(home), docker_config, name, kubeconfig
    )
    try:
        wait_for(lambda: _up(api_port) and _up(port), timeout=30, what="endpoint and registry gate listening")
        login(e)
        yield e
    finally:
        proc.terminate()
        proc.wait(10)
        reg.stop(home)
        ns.delete()
        # every image this module made, tags moved off included (they show as <none>)
        listed = e.docker("images", "--format", "{{.Repository}} {{.ID}}", check=False).stdout.splitlines()
        mine = {line.split()[1] for line in listed if line.startswith(f"127.0.0.1:{port}/")}
        if mine:
            e.docker("rmi", "-f", *sorted(mine), check=False)


def _up(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def login(env: Env, access_key: str = "local") -> str:
    """`aws ecr get-login-password | docker login` as the IAM user `access_key` stands for."""
    password = subprocess.run(
        [AWS, "ecr", "get-login-password"],
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            AWS_ENDPOINT_URL=env.endpoint,
            AWS_ACCESS_KEY_ID=access_key,
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        ),
        timeout=120,
        check=True,
    ).stdout
    return env.docker(
        "login", "--username", "AWS", "--password-stdin", f"127.0.0.1:{env.port}", stdin=password
    ).stdout


def aws_client(service: str, env: Env) -> Any:
    """A boto3 client of the endpoint, in this module's account and region."""
    return boto3.client(
        service,
        endpoint_url=env.endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 2}),
    )


@pytest.fixture(scope="module")
def ecr(ecr_env: Env) -> Any:
    return aws_client("ecr", ecr_env)


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def message(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Message"])


def push(env: Env, repo: str, tag: str, content: str) -> str:
    """A one-layer image made offline and pushed with docker; returns its manifest digest."""
    work = env.docker_config.parent / f"img-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    (work / "content.txt").write_text(content)
    with tarfile.open(work / "rootfs.tar", "w") as tar:
        tar.add(work / "content.txt", arcname="content.txt")
    env.docker("import", str(work / "rootfs.tar"), env.ref(repo, tag))
    out = env.docker("push", env.ref(repo, tag)).stdout
    digest = next(w for w in out.split() if w.startswith("sha256:"))
    return digest


def backdate(env: Env, repo: str, digest: str, days: float) -> None:
    """Make an image look pushed `days` ago (its revision link's time is imagePushedAt)."""
    link = env.storage / "docker/registry/v2/repositories" / repo / "_manifests/revisions/sha256"
    path = link / digest.removeprefix("sha256:") / "link"
    when = time.time() - days * 86400
    os.utime(path, (when, when))


# --- repositories ----------------------------------------------------------------------------


def test_create_describe_and_refusals(ecr: Any, ecr_env: Env) -> None:
    made = ecr.create_repository(
        repositoryName="team/web",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "alias/ecr"},
        tags=[{"Key": "team", "Value": "web"}],
    )["repository"]
    assert made["repositoryUri"] == f"{HOST}/team/web"
    assert made["repositoryArn"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/web"
    assert made["imageTagMutability"] == "IMMUTABLE"
    assert made["imageScanningConfiguration"] == {"scanOnPush": True}
    assert made["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "alias/ecr"}
    got = ecr.describe_repositories(repositoryNames=["team/web"])["repositories"][0]
    assert got["repositoryName"] == "team/web" and got["createdAt"]

    with pytest.raises(ClientError) as err:
        ecr.create_repository(repositoryName="team/web")
    assert code(err) == "RepositoryAlreadyExistsException"
    assert (
        message(err)
        == f"The repository with name 'team/web' already exists in the registry with id '{ACCOUNT}'"
    )
    with pytest.raises(ClientError) as err:
        ecr.create_repository(repositoryName="Team_Web")
    assert code(err) == "InvalidParameterException"
    assert "failed to satisfy constraint: 'must satisfy regular expression" in message(err)
    with pytest.raises(ClientError) as err:
        ecr.describe_repositories(repositoryNames=["ghost"])
    assert code(err) == "RepositoryNotFoundException"
    assert (
        message(err) == f"The repository with name 'ghost' does not exist in the registry with id '{ACCOUNT}'"
    )

    ecr.put_image_tag_mutability(repositoryName="team/web", imageTagMutability="MUTABLE")
    got = ecr.describe_repositories(repositoryNames=["team/web"])["repositories"][0]
    assert got["imageTagMutability"] == "MUTABLE"
    # kubectl sees the same repository, with its URI and image count
    table = kubectl(ecr_env.kubeconfig, "get", "repositories", "-n", ecr_env.namespace).stdout
    assert "URI" in table and "IMAGES" in table and f"{HOST}/team/web" in table


def test_kubectl_applied_repository_is_served_and_counted(ecr: Any, ecr_env: Env) -> None:
    doc = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": "from-kubectl", "namespace": ecr_env.namespace},
        "spec": {"repositoryName": "tools/kubectl-made"},
    }
    kubectl(ecr_env.kubeconfig, "apply", "-f", "-", stdin=json.dumps(doc))
    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert "tools/kubectl-made" in names
    push(ecr_env, "tools/kubectl-made", "v1", "applied")

    def counted() -> Any:
        out = kubectl(
            ecr_env.kubeconfig, "get", "repository", "from-kubectl", "-n", ecr_env.namespace, "-o", "json"
        )
        return json.loads(out.stdout).get("status", {}).get("imageCount") == 1

    wait_for(counted, timeout=20, what="the scheduled pass to count the pushed image")
    bad = dict(
        doc, metadata={"name": "bad", "namespace": ecr_env.namespace}, spec={"repositoryName": "Bad Name"}
    )
    refused = kubectl(ecr_env.kubeconfig, "apply", "-f", "-", stdin=json.dumps(bad), check=False)
    assert refused.returncode != 0 and "spec.repositoryName" in refused.stderr


# --- images through docker -------------------------------------------------------------------


def test_docker_login_push_pull_and_the_image_calls(ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="shop/api")
    assert "Login Succeeded" in login(ecr_env)
    token = ecr.get_authorization_token()["authorizationData"][0]
    assert token["proxyEndpoint"] == f"https://{HOST}"

    v1 = push(ecr_env, "shop/api", "v1", "one")
    v2 = push(ecr_env, "shop/api", "v2", "two")
    ecr_env.docker("tag", ecr_env.ref("shop/api", "v2"), ecr_env.ref("shop/api", "latest"))
    ecr_env.docker("push", ecr_env.ref("shop/api", "latest"))
    v1_again = push(ecr_env, "shop/api", "v1", "one, rebuilt")  # moves v1: the old image is untagged

    ids = ecr.list_images(repositoryName="shop/api")["imageIds"]
    assert {(i["imageDigest"], i.get("imageTag")) for i in ids} == {
        (v1, None), (v2, "v2"), (v2, "latest"), (v1_again, "v1"),
    }  # fmt: skip
    untagged = ecr.list_images(repositoryName="shop/api", filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert untagged == [{"imageDigest": v1}]
    first = ecr.list_images(repositoryName="shop/api", maxResults=2)
    rest = ecr.list_images(repositoryName="shop/api", nextToken=first["nextToken"])
    assert len(first["imageIds"]) == 2 and len(rest["imageIds"]) == 2 and "nextToken" not in rest

    details = ecr.describe_images(repositoryName="shop/api", imageIds=[{"imageTag": "latest"}])[
        "imageDetails"
    ]
    assert details[0]["imageDigest"] == v2 and sorted(details[0]["imageTags"]) == ["latest", "v2"]
    assert details[0]["imageSizeInBytes"] > 0 and details[0]["imagePushedAt"]
    assert details[0]["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    with pytest.raises(ClientError) as err:
        ecr.describe_images(repositoryName="shop/api", imageIds=[{"imageTag": "nope"}])
    assert code(err) == "ImageNotFoundException"
    assert message(err) == (
        "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository "
        f"with name 'shop/api' in the registry with id '{ACCOUNT}'"
    )

    got = ecr.batch_get_image(repositoryName="shop/api", imageIds=[{"imageTag": "v2"}, {"imageTag": "gone"}])
    manifest = got["images"][0]["imageManifest"]
    assert got["failures"] == [
        {
            "imageId": {"imageTag": "gone"},
            "failureCode": "ImageNotFound",
            "failureReason": "Requested image not found",
        }
    ]
    # Re-tag without pulling: PutImage with the manifest, then pull the new tag with docker.
    put = ecr.put_image(repositoryName="shop/api", imageManifest=manifest, imageTag="stable")
    assert put["image"]["imageId"] == {"imageDigest": v2, "imageTag": "stable"}
    with pytest.raises(ClientError) as err:
        ecr.put_image(repositoryName="shop/api", imageManifest=manifest, imageTag="stable")
    assert code(err) == "ImageAlreadyExistsException"
    ecr_env.docker("rmi", ecr_env.ref("shop/api", "v2"), ecr_env.ref("shop/api", "latest"))
    pulled = ecr_env.docker("pull", ecr_env.ref("shop/api", "stable")).stdout
    assert v2 in pulled

    # BatchDeleteImage: a tag that is not the image's last goes alone; a digest takes the image.
    out = ecr.batch_delete_image(repositoryName="shop/api", imageIds=[{"imageTag": "latest"}])
    assert out["imageIds"] == [{"imageDigest": v2, "imageTag": "latest"}] and out["failures"] == []
    out = ecr.batch_delete_image(
        repositoryName="shop/api", imageIds=[{"imageDigest": v1}, {"imageTag": "ghost"}]
    )
    assert out["imageIds"] == [{"imageDigest": v1}]
    assert out["failures"][0]["failureCode"] == "ImageNotFound"
    remaining = {
        (i["imageDigest"], i.get("imageTag")) for i in ecr.list_images(repositoryName="shop/api")["imageIds"]
    }
    assert remaining == {(v2, "v2"), (v2, "stable"), (v1_again, "v1")}
    assert ecr_env.docker("pull", ecr_env.ref("shop/api", "latest"), check=False).returncode != 0

    with pytest.raises(ClientError) as err:
        ecr.delete_repository(repositoryName="shop/api")
    assert code(err) == "RepositoryNotEmptyException"
    ecr.delete_repository(repositoryName="shop/api", force=True)
    assert ecr_env.docker("pull", ecr_env.ref("shop/api", "v1"), check=False).returncode != 0
    with pytest.raises(ClientError) as err:
        ecr.list_images(repositoryName="shop/api")
    assert code(err) == "RepositoryNotFoundException"


def test_push_to_a_repository_that_does_not_exist_is_refused(ecr_env: Env) -> None:
    work = ecr_env.docker_config.parent / "ghost"
    work.mkdir()
    (work / "f").write_text("x")
    with tarfile.open(work / "rootfs.tar", "w") as tar:
        tar.add(work / "f", arcname="f")
    ecr_env.docker("import", str(work / "rootfs.tar"), ecr_env.ref("ghost/repo", "v1"))
    out = ecr_env.docker("push", ecr_env.ref("ghost/repo", "v1"), check=False)
    assert out.returncode != 0
    assert (
        "name unknown: The repository with name 'ghost/repo' does not exist in the registry "
        f"with id '{ACCOUNT}'" in out.stderr + out.stdout
    )
    assert not (ecr_env.storage / "docker/registry/v2/repositories/ghost").exists()


def test_immutable_repository_refuses_moving_a_tag(ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    first = push(ecr_env, "locked", "v1", "first")
    ecr_env.docker("push", ecr_env.ref("locked", "v1"))  # the same image again: allowed
    push(ecr_env, "locked", "other", "second")
    # docker push of another image over v1: the registry's front door refuses, in ECR's words
    ecr_env.docker("tag", ecr_env.ref("locked", "other"), ecr_env.ref("locked", "v1"))
    out = ecr_env.docker("push", ecr_env.ref("locked", "v1"), check=False)
    assert out.returncode != 0
    assert (
        "tag invalid: The image tag 'v1' already exists in the 'locked' repository and cannot be "
        "overwritten because the repository is immutable." in out.stderr + out.stdout
    )
    ids = ecr.list_images(repositoryName="locked", filter={"tagStatus": "TAGGED"})["imageIds"]
    assert {"imageDigest": first, "imageTag": "v1"} in ids
    manifest = ecr.batch_get_image(repositoryName="locked", imageIds=[{"imageTag": "other"}])["images"][0]
    with pytest.raises(ClientError) as err:
        ecr.put_image(repositoryName="locked", imageManifest=manifest["imageManifest"], imageTag="v1")
    assert code(err) == "ImageTagAlreadyExistsException"
    assert message(err) == (
        "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten "
        "because the repository is immutable."
    )


# --- lifecycle policies against pushed images ------------------------------------------------


def _policy(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)})


def _rule(
    priority: int, status: str, count: int, count_type: str = "imageCountMoreThan", **kw: Any
) -> dict[str, Any]:
    sel: dict[str, Any] = {"tagStatus": status, "countType": count_type, "countNumber": count, **kw}
    if count_type == "sinceImagePushed":
        sel["countUnit"] = "days"
    return {"rulePriority": priority, "selection": sel, "action": {"type": "expire"}}


def test_lifecycle_preview_then_scheduled_run_deletes_exactly_that(ecr: Any, ecr_env: Env) -> None:
    repo = "life/cycle"
    ecr.create_repository(repositoryName=repo)
    old_untagged = push(ecr_env, repo, "build", "u1")
    newer_untagged = push(ecr_env, repo, "build", "u2")  # u1 loses its tag
    build = push(ecr_env, repo, "build", "u3")  # u2 loses its tag
    prod_old = push(ecr_env, repo, "prod-1", "p1")
    prod_new = push(ecr_env, repo, "prod-2", "p2")
    release = push(ecr_env, repo, "release-1.0-amd64", "r1")
    stale = push(ecr_env, repo, "feature-x", "f1")
    backdate(ecr_env, repo, old_untagged, 3)
    backdate(ecr_env, repo, prod_old, 2)
    backdate(ecr_env, repo, release, 400)
    backdate(ecr_env, repo, stale, 40)
    text = _policy(
        _rule(1, "tagged", 9999, tagPatternList=["release-*-amd64"]),  # protects releases from rule 4
        _rule(2, "tagged", 1, tagPrefixList=["prod-"]),
        _rule(3, "untagged", 1),
        _rule(4, "any", 30, count_type="sinceImagePushed"),
    )
    with pytest.raises(ClientError) as err:
        ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=_policy(_rule(1, "tagged", 1)))
    assert code(err) == "InvalidParameterException"
    assert message(err) == (
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        "'Lifecycle policy validation failure: "
        "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.'"
    )
    with pytest.raises(ClientError) as err:
        ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert code(err) == "LifecyclePolicyPreviewNotFoundException"

    started = ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=text)
    assert started["status"] == "IN_PROGRESS"
    preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
    expected = {(prod_old, 2), (old_untagged, 3), (stale, 4)}
    assert preview["status"] == "COMPLETE"
    assert {(r["imageDigest"], r["appliedRulePriority"]) for r in preview["previewResults"]} == expected
    assert preview["summary"] == {"expiringImageTotalCount": 3}
    assert all(r["action"] == {"type": "EXPIRE"} for r in preview["previewResults"])
    assert len(ecr.list_images(repositoryName=repo)["imageIds"]) == 7  # a preview deletes nothing

    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"] == text

    def digests() -> set[str]:
        return {i["imageDigest"] for i in ecr.list_images(repositoryName=repo)["imageIds"]}

    wait_for(
        lambda: digests() == {newer_untagged, build, prod_new, release}, timeout=30, what="the scheduled run"
    )
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"]
    # every tag left points at a manifest that is still there
    for tag in ("build", "prod-2", "release-1.0-amd64"):
        ecr_env.docker("rmi", ecr_env.ref(repo, tag), check=False)
        ecr_env.docker("pull", ecr_env.ref(repo, tag))
    ecr.delete_lifecycle_policy(repositoryName=repo)
    with pytest.raises(ClientError) as err:
        ecr.get_lifecycle_policy(repositoryName=repo)
    assert code(err) == "LifecyclePolicyNotFoundException"


def test_registry_restart_loses_no_image(ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="durable")
    digest = push(ecr_env, "durable", "v1", "kept")
    home = ecr_env.storage.parent.parent
    reg.stop(home)
    wait_for(lambda: not reg.healthy(ecr_env.backend), timeout=10, what="the registry to stop")
    reg.start(home, ecr_env.backend, say=lambda _m: None)
    ids = ecr.list_images(repositoryName="durable")["imageIds"]
    assert ids == [{"imageDigest": digest, "imageTag": "v1"}]
    ecr_env.docker("rmi", ecr_env.ref("durable", "v1"))
    ecr_env.docker("pull", ecr_env.ref("durable", "v1"))


def test_repository_policy_decides_who_pulls_and_pushes(ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="guarded")
    push(ecr_env, "guarded", "v1", "secret")  # no policy yet: the account's principals may
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlicePulls",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
            }
        ],
    }
    ecr.set_repository_policy(repositoryName="guarded", policyText=json.dumps(policy))
    ecr_env.docker("rmi", ecr_env.ref("guarded", "v1"))
    try:
        out = ecr_env.docker("pull", ecr_env.ref("guarded", "v1"), check=False)  # as `local`
        assert out.returncode != 0
        assert (
            f"denied: User: arn:aws:iam::{ACCOUNT}:user/local is not authorized to perform: "
            f"ecr:BatchGetImage on resource: arn:aws:ecr:{REGION}:{ACCOUNT}:repository/guarded "
            "because no resource-based policy allows the ecr:BatchGetImage action" in out.stderr + out.stdout
        )
        login(ecr_env, "alice")
        ecr_env.docker("pull", ecr_env.ref("guarded", "v1"))
        ecr_env.docker("tag", ecr_env.ref("guarded", "v1"), ecr_env.ref("guarded", "v2"))
        out = ecr_env.docker("push", ecr_env.ref("guarded", "v2"), check=False)  # alice may not push
        assert out.returncode != 0
        assert (
            f"denied: User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: ecr:PutImage"
            in (out.stderr + out.stdout)
        )
        assert [i.get("imageTag") for i in ecr.list_images(repositoryName="guarded")["imageIds"]] == ["v1"]
    finally:
        login(ecr_env)


def test_no_login_no_pull(ecr: Any, ecr_env: Env) -> None:
    ecr.create_repository(repositoryName="needs-login")
    push(ecr_env, "needs-login", "v1", "x")
    ecr_env.docker("rmi", ecr_env.ref("needs-login", "v1"))
    stranger = ecr_env.docker_config.parent / "no-login"
    stranger.mkdir()
    out = subprocess.run(
        ["docker", "pull", ecr_env.ref("needs-login", "v1")],
        capture_output=True,
        text=True,
        env=dict(os.environ, DOCKER_CONFIG=str(stranger)),
        timeout=120,
    )
    assert out.returncode != 0 and "no basic auth credentials" in out.stderr
