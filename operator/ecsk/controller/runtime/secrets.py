"""Can a task start? Its `secrets` must resolve, as the ECS agent fetches them before it starts
any container: read the Secrets the references name (the ones the AWS endpoint stores parameters
and secrets in) and say, in the agent's words, what is missing. Only names and keys are read
back into messages: a value never leaves the Secret."""

from __future__ import annotations

from ecsk.controller.kube.client import Kube
from ecsk.core.models import TaskDefinition
from ecsk.core.translate.secrets import (
    env_file_failure,
    env_files,
    init_failure,
    secret_uses,
    unresolved,
)


def secrets_failure(kube: Kube, namespace: str, td: TaskDefinition) -> str | None:
    """The stoppedReason of a task of `td` started now, or None when every secret and
    environment file resolves (the agent fetches both before any container starts)."""
    missing = [arn for arn, cm in env_files(td) if kube.get("v1", "ConfigMap", cm, namespace) is None]
    if missing:
        return env_file_failure(missing)
    uses = secret_uses(td)
    bodies = {u.secret: kube.get("v1", "Secret", u.secret, namespace) for u in uses}
    problems = [(u, text) for u in uses if (text := unresolved(u, bodies[u.secret])) is not None]
    return init_failure(problems)
