"""validate_service: CreateService rules, plus the ones that need the task definition."""

from __future__ import annotations

import re
from dataclasses import replace

from ecsk.core.models.errors import ValidationIssue
from ecsk.core.models.placement import NetworkConfiguration
from ecsk.core.models.service import ECSService
from ecsk.core.models.taskdef import TaskDefinition
from ecsk.core.validation.issues import Issues
from ecsk.core.validation.placement import check_capacity_providers, check_constraints, check_strategies
from ecsk.core.validation.taskdef import validate_task_definition

SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
NO_NETWORK_CONFIGURATION = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
UNEXPECTED_NETWORK_CONFIGURATION = (
    "Network Configuration is not valid for the given networkMode of this task definition."
)


def validate_service(svc: ECSService, td: TaskDefinition | None = None) -> list[ValidationIssue]:
    """All problems ECS would refuse at CreateService.

    With `td` (the task definition the service runs), cross checks run too, and the task
    definition is re-checked for the service's launch type: issues found there are reported
    under `taskDefinition.` so they are told apart from the service's own fields.
    """
    out = Issues()
    if not SERVICE_NAME_RE.match(svc.serviceName):
        out.add(
            "serviceName",
            "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
            "service.name-format",
        )
    controller = svc.deploymentController.type if svc.deploymentController else "ECS"
    if not svc.taskDefinition and controller != "EXTERNAL":
        out.add(
            "taskDefinition",
            "taskDefinition should not be null or empty.",
            "service.task-definition-required",
        )
    if svc.desiredCount is not None and svc.desiredCount < 0:
        out.add("desiredCount", "desiredCount must be greater than or equal to 0.", "service.desired-count")
    if (
        svc.healthCheckGracePeriodSeconds is not None
        and not 0 <= svc.healthCheckGracePeriodSeconds <= 2147483647
    ):
        out.add(
            "healthCheckGracePeriodSeconds",
            "must be between 0 and 2147483647 seconds",
            "service.grace-period",
        )
    check_capacity_providers(svc.capacityProviderStrategy or [], svc.launchType, out)
    td_constraints = len(td.placementConstraints or ()) if td is not None else 0
    check_constraints(svc.placementConstraints or [], out, extra=td_constraints)
    check_strategies(svc.placementStrategy or [], out)
    _check_deployment(svc, out)
    _check_daemon_and_fargate(svc, out)
    if td is not None:
        _check_against_task_definition(svc, td, out)
    return out


def _check_deployment(svc: ECSService, out: Issues) -> None:
    config = svc.deploymentConfiguration
    if config is None:
        return
    low, high = svc.deployment_percents()
    if config.minimumHealthyPercent is not None and not 0 <= low <= 100:
        out.add(
            "deploymentConfiguration.minimumHealthyPercent",
            "minimumHealthyPercent must be between 0 and 100.",
            "deployment.minimum",
        )
    if config.maximumPercent is not None and high < 0:
        out.add(
            "deploymentConfiguration.maximumPercent",
            "maximumPercent must be 0 or greater.",
            "deployment.maximum",
        )
    elif high < low:
        out.add(
            "deploymentConfiguration.maximumPercent",
            f"maximumPercent ({high}) must be greater than or equal to minimumHealthyPercent ({low}).",
            "deployment.maximum",
        )
    if config.bakeTimeInMinutes is not None and not 0 <= config.bakeTimeInMinutes <= 1440:
        out.add(
            "deploymentConfiguration.bakeTimeInMinutes",
            "must be between 0 and 1440 minutes",
            "deployment.bake-time",
        )


def _check_daemon_and_fargate(svc: ECSService, out: Issues) -> None:
    daemon = svc.effective_scheduling_strategy == "DAEMON"
    fargate = svc.uses_fargate
    if daemon and fargate:
        out.add(
            "schedulingStrategy",
            "The DAEMON scheduling strategy is not supported with the Fargate launch type "
            "or Fargate capacity providers.",
            "service.daemon-fargate",
        )
    if daemon and svc.placementStrategy:
        out.add(
            "placementStrategy",
            "Placement strategies are not supported with the DAEMON scheduling strategy.",
            "service.daemon-strategy",
        )
    if fargate and svc.placementStrategy:
        out.add(
            "placementStrategy",
            "Tasks using the Fargate launch type do not support placementStrategy.",
            "fargate.unsupported",
        )
    if fargate and svc.placementConstraints:
        out.add(
            "placementConstraints",
            "Tasks using the Fargate launch type do not support placementConstraints.",
            "fargate.unsupported",
        )


def check_launch_compatibility(
    td: TaskDefinition, fargate: bool, launch_type: str | None, out: Issues
) -> None:
    """Task definition problems that only this launch type brings, under `taskDefinition.`.

    Problems the task definition has anyway are left to its own validation, so a manifest with
    both documents does not report them twice.
    """
    if not fargate:
        return
    own = set(validate_task_definition(td))
    for issue in validate_task_definition(td, "FARGATE"):
        if issue not in own:
            out.append(
                replace(issue, path=f"taskDefinition.{issue.path}" if issue.path else "taskDefinition")
            )


def check_network_configuration(
    td: TaskDefinition, fargate: bool, config: NetworkConfiguration | None, out: Issues
) -> None:
    mode = "awsvpc" if fargate and td.networkMode is None else td.effective_network_mode()
    awsvpc = config is not None and config.awsvpcConfiguration is not None
    if mode == "awsvpc" and not awsvpc:
        out.add("networkConfiguration", NO_NETWORK_CONFIGURATION, "service.network-configuration")
    elif mode != "awsvpc" and awsvpc:
        out.add("networkConfiguration", UNEXPECTED_NETWORK_CONFIGURATION, "service.network-configuration")


def _check_against_task_definition(svc: ECSService, td: TaskDefinition, out: Issues) -> None:
    fargate = svc.uses_fargate
    check_launch_compatibility(td, fargate, svc.launchType, out)
    check_network_configuration(td, fargate, svc.networkConfiguration, out)
    for i, lb in enumerate(svc.loadBalancers or ()):
        at = f"loadBalancers[{i}]"
        if not lb.containerName or lb.containerPort is None:
            out.add(at, "A load balancer needs containerName and containerPort.", "service.load-balancer")
            continue
        container = td.container(lb.containerName)
        if container is None:
            out.add(
                f"{at}.containerName",
                f"The container {lb.containerName} does not exist in the task definition.",
                "service.load-balancer",
            )
        elif not any(pm.containerPort == lb.containerPort for pm in container.portMappings or ()):
            out.add(
                f"{at}.containerPort",
                f"The container {lb.containerName} did not have a container port {lb.containerPort} defined.",
                "service.load-balancer",
            )
    launch_volumes = {v.name for v in td.volumes or () if v.configuredAtLaunch and v.name}
    for i, vc in enumerate(svc.volumeConfigurations or ()):
        if vc.name not in launch_volumes:
            out.add(
                f"volumeConfigurations[{i}].name",
                f"Volume '{vc.name}' is not a volume with configuredAtLaunch=true in the task definition.",
                "service.volume-configuration",
            )
