"""validate_task_definition: every RegisterTaskDefinition rule in one pass."""

from __future__ import annotations

import re

from ecsk.core.models.taskdef import TaskDefinition
from ecsk.core.validation import containers as ct
from ecsk.core.validation.dependencies import check_dependencies
from ecsk.core.validation.fargate import INVALID_CPU, check_fargate
from ecsk.core.validation.issues import Issues, ValidationIssue
from ecsk.core.validation.placement import check_expression
from ecsk.core.validation.volumes import check_volumes

FAMILY_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
MAX_CONTAINERS = 10
MAX_TASK_CONSTRAINTS = 10


def validate_task_definition(td: TaskDefinition, launch_type: str | None = None) -> list[ValidationIssue]:
    """All problems ECS would refuse at registration (or at launch with `launch_type`).

    `launch_type` FARGATE applies the Fargate rules even when the task definition does not list
    FARGATE in requiresCompatibilities, as ECS does when a service or RunTask asks for Fargate.
    """
    out = Issues()
    fargate = launch_type == "FARGATE" or (launch_type is None and td.requires_fargate)
    if not FAMILY_RE.match(td.family):
        out.add(
            "family",
            "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
            "family.format",
        )
    cpu, memory = _task_size(td, out)
    _check_task_level(td, out)

    count = len(td.containerDefinitions)
    if count == 0:
        out.add("containerDefinitions", "Container list cannot be empty.", "containers.count")
    elif count > MAX_CONTAINERS:
        out.add(
            "containerDefinitions",
            f"The maximum number of containers in a task definition is {MAX_CONTAINERS}",
            "containers.count",
        )
    elif not any(c.is_essential for c in td.containerDefinitions):
        out.add(
            "containerDefinitions",
            "At least one essential container is required for task definition.",
            "containers.essential",
        )

    mode = "awsvpc" if fargate and td.networkMode is None else td.effective_network_mode()
    names: set[str] = set()
    firelens = any(c.firelensConfiguration is not None for c in td.containerDefinitions)
    cpu_sum = 0
    for i, c in enumerate(td.containerDefinitions):
        base = f"containerDefinitions[{i}]"
        ct.check_identity(base, c, out)
        if c.name:
            if c.name in names:
                out.add(
                    f"{base}.name",
                    f"Duplicate container name '{c.name}': container names must be unique.",
                    "container.name-unique",
                )
            names.add(c.name)
        ct.check_memory(base, c, memory, td.memory is not None, out)
        ct.check_ports(base, c, mode, out)
        if c.healthCheck is not None:
            ct.check_health(base, c.healthCheck, out)
        ct.check_container_misc(base, c, mode, out)
        if c.logConfiguration is not None and c.logConfiguration.logDriver == "awsfirelens" and not firelens:
            out.add(
                f"{base}.logConfiguration.logDriver",
                "The awsfirelens log driver requires a container with firelensConfiguration "
                "in the task definition.",
                "log.firelens",
            )
        cpu_sum += c.cpu or 0
    if cpu is not None and cpu_sum > cpu:
        out.add(
            "containerDefinitions",
            f"The sum of container 'cpu' values ({cpu_sum}) is greater than the task 'cpu' ({cpu}).",
            "containers.cpu-exceeds-task",
        )
    check_dependencies(td.containerDefinitions, out)
    check_volumes(td, out)
    if fargate:
        check_fargate(td, cpu, memory, out)
    return out


def _task_size(td: TaskDefinition, out: Issues) -> tuple[int | None, int | None]:
    cpu = memory = None
    try:
        cpu = td.cpu_units()
    except ValueError:
        out.add("cpu", INVALID_CPU, "task.cpu-format")
    try:
        memory = td.memory_mib()
    except ValueError:
        out.add("memory", "Invalid 'memory' setting for task", "task.memory-format")
    return cpu, memory


def _check_task_level(td: TaskDefinition, out: Issues) -> None:
    if not td.executionRoleArn and any(c.secrets for c in td.containerDefinitions):
        # The agent fetches secrets with the execution role; ECS refuses the registration.
        out.add(
            "executionRoleArn",
            "When you are specifying container secrets, you must also specify a value for "
            "'executionRoleArn'.",
            "secrets.execution-role",
        )
    constraints = td.placementConstraints or ()
    if len(constraints) > MAX_TASK_CONSTRAINTS:
        out.add(
            "placementConstraints",
            f"You can specify a maximum of {MAX_TASK_CONSTRAINTS} placement constraints per task.",
            "placement.constraint-count",
        )
    for i, pc in enumerate(constraints):
        if pc.type != "memberOf":
            out.add(
                f"placementConstraints[{i}].type",
                "Task definitions only support the memberOf placement constraint "
                "(distinctInstance is for services and RunTask).",
                "placement.task-definition-type",
            )
        elif not pc.expression:
            out.add(
                f"placementConstraints[{i}].expression",
                "A memberOf constraint requires an expression.",
                "placement.expression",
            )
        else:
            check_expression(f"placementConstraints[{i}]", pc.expression, out)
    if td.ephemeralStorage is not None and not 21 <= td.ephemeralStorage.sizeInGiB <= 200:
        out.add(
            "ephemeralStorage.sizeInGiB",
            "The ephemeral storage size must be between 21 and 200 GiB.",
            "task.ephemeral-storage",
        )
    proxy = td.proxyConfiguration
    if proxy is not None and td.container(proxy.containerName) is None:
        out.add(
            "proxyConfiguration.containerName",
            f"Container '{proxy.containerName}' is not defined in the task definition.",
            "task.proxy-container",
        )
