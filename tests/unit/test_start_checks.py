"""Which service tasks the operator checks before they start (secrets, env files, ECR images,
awslogs groups): a task definition with none of them skips the check and its per-task write."""

from __future__ import annotations

from typing import Any

import pytest

from ecsk.controller.services.starts import needs_start_check
from ecsk.core.models import TaskDefinition

ACCOUNT, REGION = "123456789012", "us-east-1"


def td(**container: Any) -> TaskDefinition:
    base = {"name": "app", "image": "nginx:1.27", "memory": 256, **container}
    return TaskDefinition.model_validate({"family": "web", "containerDefinitions": [base]})


def test_plain_public_image_needs_no_check() -> None:
    assert not needs_start_check(td(), ACCOUNT, REGION)


@pytest.mark.parametrize(
    "container",
    [
        {"image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:v1"},
        {"secrets": [{"name": "DB", "valueFrom": "/prod/db"}]},
        {"environmentFiles": [{"value": "arn:aws:s3:::cfg/app.env", "type": "s3"}]},
        {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}},
    ],
    ids=["ecr-image", "secret", "env-file", "awslogs"],
)
def test_anything_that_can_fail_a_start_is_checked(container: dict[str, Any]) -> None:
    assert needs_start_check(td(**container), ACCOUNT, REGION)


def test_ecr_image_of_another_account_is_not_ours_to_check() -> None:
    other = td(image=f"999999999999.dkr.ecr.{REGION}.amazonaws.com/web:v1")
    assert not needs_start_check(other, ACCOUNT, REGION)
