"""Lab 12: Amazon ECR: a repository with tagged and untagged images, a `prod` tag added through
the API (no Docker needed), a lifecycle policy that expires untagged images, a repository policy
that lets another account pull, and a service that pulls by ECR URI.

`start` creates the repository (named after the lab namespace, so parallel runs never share
images in the one registry) through the ECR API's own handlers and pushes small images into the
registry over its HTTP API (`ecsk.labs.images`), two of them untagged and three days old. The
check reads the Repository resource the endpoint keeps (policies in its spec, the image list in
its status) and the task definition, and asks the core's pull rule whether a task would start."""

from __future__ import annotations

import json
from typing import Any

from ecsk.core.ecr.images import first_pull_failure, repository_name
from ecsk.core.ecr.names import repository_uri
from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    container,
    ec2_service,
    namespace_for,
    require,
    spec,
    status,
    td_doc,
)

NAME = "web"
DESIRED = 2
ACCOUNT, REGION = "000000000000", "us-east-1"
"""The endpoint's default account and Region (`ecsk api serve`), so the URIs it prints work."""
PARTNER = "111122223333"
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
TAGS = ("v1", "v2", "v3")
UNTAGGED = 2
UNTAGGED_AGE_DAYS = 3
API_PORT = 4612
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire untagged images after a day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
    ]
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "partner-pull",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
            "Action": list(PULL_ACTIONS),
        }
    ],
}


def repo(number: int = 12) -> str:
    """`<lab namespace>/web`: one registry serves every namespace, so the name carries the lab's."""
    return f"{namespace_for(number)}/{NAME}"


def image_uri(tag: str) -> str:
    return f"{repository_uri(ACCOUNT, REGION, repo())}:{tag}"


def _td(image: str) -> Obj:
    return td_doc(NAME, {"family": NAME, "containerDefinitions": [container(NAME, image=image)]})


def _repository(snap: Snapshot) -> Obj | None:
    return next((r for r in snap.ecs.get("Repository", []) if repository_name(r) == repo()), None)


def _json(text: Any) -> dict[str, Any]:
    try:
        doc = json.loads(str(text)) if text else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _lifecycle_problems(body: dict[str, Any], images: list[dict[str, Any]]) -> list[str]:
    rules = _json(body.get("lifecyclePolicyText")).get("rules") or []
    expires_untagged = any(
        (r.get("selection") or {}).get("tagStatus") == "untagged"
        and (r.get("action") or {}).get("type") == "expire"
        for r in rules
        if isinstance(r, dict)
    )
    if not expires_untagged:
        return ["the repository has no lifecycle rule expiring untagged images (put-lifecycle-policy)"]
    left = [i for i in images if not i.get("imageTags")]
    if left:
        return [
            f"{len(left)} untagged image(s) are still in the repository: the lifecycle pass has not run "
            "yet (the endpoint runs one every --lifecycle-interval seconds)"
        ]
    return []


def _allows_partner_pull(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, dict) else principal
    names = aws if isinstance(aws, list) else [aws]
    actions = statement.get("Action")
    acts = actions if isinstance(actions, list) else [actions]
    return (
        statement.get("Effect") == "Allow"
        and any(str(p) in (PARTNER, f"arn:aws:iam::{PARTNER}:root", "*") for p in names)
        and all(any(str(a) in (x, "ecr:*") for a in acts) for x in PULL_ACTIONS)
    )


def _policy_problems(body: dict[str, Any]) -> list[str]:
    statements = _json(body.get("repositoryPolicyText")).get("Statement") or []
    if not any(_allows_partner_pull(s) for s in statements if isinstance(s, dict)):
        return [
            f"the repository policy does not let account {PARTNER} pull ({', '.join(PULL_ACTIONS)}): "
            "set-repository-policy"
        ]
    return []


def _image_problems(snap: Snapshot, repository: Obj, images: list[dict[str, Any]]) -> list[str]:
    out = []
    by_tag = {t: i.get("imageDigest") for i in images for t in i.get("imageTags") or []}
    if "prod" not in by_tag:
        out.append("no image is tagged prod: tag v3's manifest as prod with put-image")
    elif by_tag["prod"] != by_tag.get("v3"):
        out.append("prod names another image than v3: put-image the manifest of v3 under the tag prod")
    td = spec(snap.get("TaskDefinition", NAME))
    images_used = [str(c.get("image") or "") for c in td.get("containerDefinitions") or []]
    if image_uri("prod") not in images_used:
        out.append(
            f"TaskDefinition {NAME} does not pull {image_uri('prod')} (it uses {', '.join(images_used)})"
        )
    elif failure := first_pull_failure(images_used, [repository], ACCOUNT, REGION):
        out.append(f"a new task would stop: {failure}")
    running = snap.running_tasks(NAME)
    from_ecr = [
        p
        for p in running
        if any(c.get("image") == image_uri("prod") for c in p["spec"].get("containers") or [])
    ]
    if len(from_ecr) != DESIRED:
        out.append(f"{len(from_ecr)} of {DESIRED} {NAME} tasks run the image {image_uri('prod')}")
    return out


class EcrLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td("public.ecr.aws/nginx/nginx:1.27"), ec2_service(NAME, DESIRED)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(image_uri("prod"))]

    def seed(self, ctx: Any) -> list[str]:
        from ecsk.labs import images

        return images.seed_repository(ctx, repo(), TAGS, UNTAGGED, UNTAGGED_AGE_DAYS)

    def api_answer(self, ctx: Any) -> list[str]:
        from ecsk.labs import images

        return images.answer_repository(ctx, repo(), "v3", "prod", LIFECYCLE, POLICY)

    def api_reset(self, ctx: Any) -> list[str]:
        from ecsk.labs import images

        return images.delete_repository(ctx, repo())

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        repository = _repository(snap)
        if repository is None:
            return [
                f"repository {repo()} is gone: `ecsk lab reset 12` then `ecsk lab start 12` makes it again"
            ]
        images = list(status(repository).get("images") or [])
        body = spec(repository)
        return (
            _lifecycle_problems(body, images)
            + _policy_problems(body)
            + _image_problems(snap, repository, images)
        )


LAB = EcrLab(
    number=12,
    slug="ecr",
    title="ECR: tags, a lifecycle policy, a repository policy, a task pulling by ECR URI",
    topic="Amazon ECR: private repositories, tags, lifecycle policies, permissions; ECS pulling from ECR",
    runs_on="embedded cluster + its registry (127.0.0.1:4597) and an AWS endpoint on the lab namespace",
    needs_api=True,
    goal=(
        "The repository <lab namespace>/web holds v1, v2, v3 and two old untagged images. Tag v3 as "
        "prod, expire untagged images with a lifecycle policy, let account 111122223333 pull, and run "
        "the service `web` from the ECR image ...:prod instead of the public one."
    ),
    steps=(
        f"An endpoint for the lab namespace with the registry: ecsk api serve -n {{ns}} --port {API_PORT} "
        "--registry-url http://127.0.0.1:4597 --registry-storage ~/.cache/ecsk/registry/data "
        "--lifecycle-interval 10 &   then export AWS_ENDPOINT_URL=$(ecsk api url --port "
        f"{API_PORT}) AWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab AWS_DEFAULT_REGION=us-east-1",
        "aws ecr describe-images --repository-name {ns}/web",
        "MANIFEST=$(aws ecr batch-get-image --repository-name {ns}/web --image-ids imageTag=v3 "
        "--query 'images[0].imageManifest' --output text); aws ecr put-image --repository-name {ns}/web "
        '--image-tag prod --image-manifest "$MANIFEST"',
        "aws ecr put-lifecycle-policy --repository-name {ns}/web "
        "--lifecycle-policy-text file://lifecycle.json "
        "(one rule: tagStatus untagged, sinceImagePushed 1 day, expire; see the guide)",
        "aws ecr set-repository-policy --repository-name {ns}/web --policy-text file://policy.json "
        "(Allow arn:aws:iam::111122223333:root ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, "
        "ecr:BatchCheckLayerAvailability)",
        "kubectl -n {ns} edit taskdefinition web: image: "
        f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{{ns}}/web:prod",
    ),
    hints=(
        "ECR re-tags without Docker: batch-get-image returns the manifest, put-image stores it "
        "under a new tag.",
        'A lifecycle rule selects {{"tagStatus": "untagged"}} and counts days since push; '
        "the action is expire.",
        "Who may pull is the repository policy (a resource policy): Principal the other account's root, "
        "Action the three pull actions.",
    ),
)
