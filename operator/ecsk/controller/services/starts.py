"""What the ECS agent checks before it starts a task, in its order: it fetches the secrets,
pulls the images, then starts the log driver (whose stream needs the awslogs group). Used by
RunTask (tasks) and by service tasks, so both stop with the same stoppedReason."""

from __future__ import annotations

from ecsk.controller.ecr.images import pull_failure
from ecsk.controller.kube.client import Kube
from ecsk.controller.runtime.loggroups import log_group_failure
from ecsk.controller.runtime.secrets import secrets_failure
from ecsk.core.ecr.images import parse_image
from ecsk.core.models import TaskDefinition
from ecsk.core.translate.loggroups import awslogs_groups
from ecsk.core.translate.secrets import env_files, secret_uses


def needs_start_check(td: TaskDefinition, account: str, region: str) -> bool:
    """Whether anything can stop a task of `td` before it starts: secrets, environment files,
    an image of this account's ECR, or an awslogs group. Without any, a service need not check
    (nor mark) its new tasks: one write per task saved, which matters at hundreds of tasks."""
    return bool(
        secret_uses(td)
        or env_files(td)
        or awslogs_groups(td)
        or any(parse_image(c.image or "", account, region) for c in td.containerDefinitions)
    )


def start_failure(kube: Kube, ns: str, td: TaskDefinition, account: str, region: str) -> str | None:
    """Why a task of `td` started now fails before its containers run, in the agent's words;
    None when it starts (awslogs groups it asks to create are created then)."""
    return (
        secrets_failure(kube, ns, td)
        or pull_failure(kube, ns, td, account, region)
        or log_group_failure(kube, ns, td)
    )
