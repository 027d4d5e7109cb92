"""Every lab, in workshop order: the ones built, and the ones waiting for a feature (with its issue)."""

from __future__ import annotations

from ecsk.labs import (
    lab01_taskdefs,
    lab02_launch_types,
    lab03_iam_roles,
    lab04_rolling_updates,
    lab05_placement_strategies,
    lab06_placement_constraints,
    lab07_service_autoscaling,
    lab08_capacity_providers,
    lab09_eks_node_types,
    lab10_load_balancing,
    lab11_environment,
    lab12_ecr,
    lab13_bind_mounts,
    lab14_efs,
    lab15_ecs_vs_kubernetes,
    lab16_app_runner,
    lab17_copilot,
)
from ecsk.labs.engine import Lab, PendingLab

LABS: tuple[Lab, ...] = (
    lab01_taskdefs.LAB,
    lab02_launch_types.LAB,
    lab03_iam_roles.LAB,
    lab04_rolling_updates.LAB,
    lab05_placement_strategies.LAB,
    lab06_placement_constraints.LAB,
    lab07_service_autoscaling.LAB,
    lab08_capacity_providers.LAB,
    lab09_eks_node_types.LAB,
    lab10_load_balancing.LAB,
    lab11_environment.LAB,
    lab12_ecr.LAB,
    lab13_bind_mounts.LAB,
    lab14_efs.LAB,
    lab15_ecs_vs_kubernetes.LAB,
    lab16_app_runner.LAB,
    lab17_copilot.LAB,
)

PENDING: tuple[PendingLab, ...] = ()
"""Labs listed before their feature is in ecsk (none now: App Runner and Copilot came with issue 14)."""


class UnknownLab(LookupError):
    """Raised with a sentence the CLI prints as is."""


def find(number: int) -> Lab:
    for lab in LABS:
        if lab.number == number:
            return lab
    for pending in PENDING:
        if pending.number == number:
            raise UnknownLab(
                f"lab {number:02d} ({pending.title}) is pending: it waits for {pending.waits_for}"
            )
    known = ", ".join(str(lab.number) for lab in LABS)
    raise UnknownLab(f"no lab {number}: the labs are {known} (`ecsk lab list`)")
