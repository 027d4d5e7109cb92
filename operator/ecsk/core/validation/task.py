"""validate_run_task and validate_scheduled_task: RunTask / EventBridge target rules."""

from __future__ import annotations

import re
from dataclasses import replace

from ecsk.core.common.schedules import ScheduleError, parse_schedule, resolve_timezone
from ecsk.core.models.errors import ValidationIssue
from ecsk.core.models.service import FARGATE_PROVIDERS
from ecsk.core.models.task import RunTask, ScheduledTask
from ecsk.core.models.taskdef import TaskDefinition
from ecsk.core.validation.issues import Issues
from ecsk.core.validation.placement import check_capacity_providers, check_constraints, check_strategies
from ecsk.core.validation.service import check_launch_compatibility, check_network_configuration

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\(\s*(\S+\s+){5}\S+\s*\)$")
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")


def validate_run_task(task: RunTask, td: TaskDefinition | None = None) -> list[ValidationIssue]:
    """RunTask rules; with `td`, also its Fargate fit, network configuration and constraint total."""
    out = Issues()
    if task.count is not None and not 1 <= task.count <= 10:
        out.add("count", "count must be between 1 and 10.", "run-task.count")
    check_capacity_providers(task.capacityProviderStrategy or [], task.launchType, out)
    extra = len(td.placementConstraints or ()) if td is not None else 0
    check_constraints(task.placementConstraints or [], out, extra=extra)
    check_strategies(task.placementStrategy or [], out)
    fargate = task.launchType == "FARGATE" or any(
        item.capacityProvider in FARGATE_PROVIDERS for item in task.capacityProviderStrategy or ()
    )
    if fargate and (task.placementStrategy or task.placementConstraints):
        out.add(
            "placementStrategy" if task.placementStrategy else "placementConstraints",
            "Tasks using the Fargate launch type do not support placement strategies or constraints.",
            "fargate.unsupported",
        )
    if td is not None:
        check_launch_compatibility(td, fargate, task.launchType, out)
        check_network_configuration(td, fargate, task.networkConfiguration, out)
    return out


def _check_schedule(st: ScheduledTask, out: Issues) -> None:
    """Fields and time zone as EventBridge Scheduler checks them: a cron with six fields can
    still name hour 25, a month `JANUARY`, or both day fields (one of them must be `?`)."""
    try:
        resolve_timezone(st.scheduleExpressionTimezone)
    except ScheduleError as exc:
        out.add("scheduleExpressionTimezone", str(exc), "schedule.timezone")
        return
    try:
        parse_schedule(st.scheduleExpression.strip(), st.scheduleExpressionTimezone)
    except ScheduleError as exc:
        out.add("scheduleExpression", str(exc), "schedule.expression")


def validate_scheduled_task(st: ScheduledTask) -> list[ValidationIssue]:
    out = Issues()
    expr = st.scheduleExpression.strip()
    rate = _RATE.match(expr)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            out.add(
                "scheduleExpression",
                "rate() needs a positive value, with a singular unit for 1 and a plural unit otherwise.",
                "schedule.rate",
            )
    elif not _CRON.match(expr) and not _AT.match(expr):
        out.add(
            "scheduleExpression",
            "scheduleExpression must be rate(value unit), "
            "cron(minutes hours day-of-month month day-of-week year) "
            "or at(yyyy-mm-ddThh:mm:ss).",
            "schedule.expression",
        )
    else:
        _check_schedule(st, out)
    params = st.ecsParameters
    if params.taskCount is not None and not 1 <= params.taskCount <= 10:
        out.add("ecsParameters.taskCount", "taskCount must be between 1 and 10.", "schedule.task-count")
    inner = Issues()
    check_capacity_providers(params.capacityProviderStrategy or [], params.launchType, inner)
    check_constraints(params.placementConstraints or [], inner)
    check_strategies(params.placementStrategy or [], inner)
    out.extend(replace(i, path=f"ecsParameters.{i.path}") for i in inner)
    return out
