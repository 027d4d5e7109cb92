"""ECS -> Kubernetes translation (pure): plain dicts out, never a Kubernetes client.

Public API: `render_task_definition`, `render_service`, `RenderOptions`, `RenderResult`,
`Explanation`, `Diagnostic`, `PlacementInputs`. Naming rules: `ecsk.core.translate.names`.
Coverage of every ECS field: `ecsk.core.translate.coverage` (docs/field-coverage.md is generated).
"""

from ecsk.core.translate.render import render_service, render_task_definition
from ecsk.core.translate.types import (
    Diagnostic,
    Explanation,
    PlacementHook,
    PlacementInputs,
    RenderOptions,
    RenderResult,
)

__all__ = [
    "Diagnostic",
    "Explanation",
    "PlacementHook",
    "PlacementInputs",
    "RenderOptions",
    "RenderResult",
    "render_service",
    "render_task_definition",
]
