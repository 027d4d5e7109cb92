"""AWS Copilot's manifest format on ecsk (pure): read a workload manifest, merge its environment
overrides, and translate it into the ECS-shaped custom resources Copilot's CloudFormation would
create (TaskDefinition, ECSService, ScalableTarget/ScalingPolicy, ScheduledTask, AppRunnerService).

`manifest` reads and merges, `fields` names what is not mapped, `values` parses Copilot's value
formats, `overrides` applies `taskdef_overrides`, `translate` renders, `names` says where things
live and how they are labelled, `workspace` reads and writes Copilot's workspace files.
"""

from ecsk.core.copilot.fields import BACKEND, JOB, LBWS, RDWS, SUPPORTED_TYPES
from ecsk.core.copilot.manifest import ManifestError, Workload, load
from ecsk.core.copilot.names import Environment
from ecsk.core.copilot.translate import Build, Rendering, render

__all__ = [
    "BACKEND",
    "JOB",
    "LBWS",
    "RDWS",
    "SUPPORTED_TYPES",
    "Build",
    "Environment",
    "ManifestError",
    "Rendering",
    "Workload",
    "load",
    "render",
]
