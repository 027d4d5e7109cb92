"""What the ECS agent checks before it starts a task, in its order: it fetches the secrets,
pulls the images, then starts the log driver (whose stream needs the awslogs group). Used by
RunTask (tasks) and by service tasks, so both stop with the same stoppedReason."""

from __future__ import annotations

from ecsk.controller.ecr.images import pull_failure
from ecsk.controller.kube.client import Kube
from ecsk.controller.runtime.loggroups import log_group_failure
from ecsk.controller.runtime.secrets import secrets_failure
from ecsk.core.models import TaskDefinition


def start_failure(kube: Kube, ns: str, td: TaskDefinition, account: str, region: str) -> str | None:
    """Why a task of `td` started now fails before its containers run, in the agent's words;
    None when it starts (awslogs groups it asks to create are created then)."""
    return (
        secrets_failure(kube, ns, td)
        or pull_failure(kube, ns, td, account, region)
        or log_group_failure(kube, ns, td)
    )
