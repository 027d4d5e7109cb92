"""Can a task's awslogs driver start? Read the namespace's log groups (the ConfigMaps the AWS
endpoint's CreateLogGroup writes) and apply the agent's rule (ecsk.core.translate.loggroups):
a missing group stops the task, unless the container asks for `awslogs-create-group`, in which
case the group is created now, as the agent creates it when the task starts."""

from __future__ import annotations

import time

from ecsk.controller.kube.client import Kube
from ecsk.core.models import TaskDefinition
from ecsk.core.translate.loggroups import STORE_LOGS, awslogs_groups, group_configmap, start_plan, stored_name
from ecsk.core.translate.names import LABEL_STORE


def log_group_failure(kube: Kube, namespace: str, td: TaskDefinition) -> str | None:
    """The stoppedReason of a task of `td` started now, or None after creating the groups its
    containers ask for. The rule is enforced once the namespace's log group store is in use."""
    if not awslogs_groups(td):
        return None  # no awslogs container: nothing to read
    stored = kube.list("v1", "ConfigMap", namespace, f"{LABEL_STORE}={STORE_LOGS}")
    names = [n for cm in stored if (n := stored_name(cm))]
    failure, create = start_plan(td, names, enforced=bool(names))
    now_ms = int(time.time() * 1000)
    for group in create:
        kube.create(group_configmap(group, namespace, now_ms))  # None: another task created it first
    return failure
