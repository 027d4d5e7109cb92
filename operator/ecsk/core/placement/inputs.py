"""PlacementInputs for standalone tasks (RunTask, scheduled tasks).

The translator builds the inputs of a service itself; a standalone task's placement comes from
two documents, the task definition (memberOf only) and the RunTask call or EventBridge target
(constraints, strategies, launch type, group). ECS combines them, and the operator needs one
`PlacementInputs` for the pod it creates. Rendering the PodTemplate without the hook and then
placing each pod with these inputs applies every constraint exactly once.
"""

from __future__ import annotations

from ecsk.core.models import TaskDefinition
from ecsk.core.models.task import EcsParameters, RunTask
from ecsk.core.translate.types import PlacementInputs


def standalone_inputs(call: RunTask | EcsParameters, td: TaskDefinition) -> PlacementInputs:
    """Task group: the call's `group`, else ECS's default `family:<family>`."""
    constraints = [p.to_aws() for p in [*(td.placementConstraints or ()), *(call.placementConstraints or ())]]
    return PlacementInputs(
        task_group=call.group or f"family:{td.family}",
        launch_type=call.launchType,
        capacity_provider_strategy=[c.to_aws() for c in call.capacityProviderStrategy or ()] or None,
        placement_constraints=constraints or None,
        placement_strategy=[p.to_aws() for p in call.placementStrategy or ()] or None,
        requires_compatibilities=list(td.requiresCompatibilities or ()) or None,
        scheduling_strategy=None,
    )
