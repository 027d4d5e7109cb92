"""Property tests: every valid generated task definition and service is accepted and renders.

A refusal here is a false refusal (the generator only builds what ECS registers), and a crash
is a bug on any input. The server-side dry run of the same renderings is in
tests/integration/test_fuzz_dry_run.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from ecs_strategies import task_definition_and_service, task_definitions
from ecsk.core.models import parse_service, parse_task_definition
from ecsk.core.translate import RenderOptions, render_service, render_task_definition
from ecsk.core.validation import validate_service, validate_task_definition

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _errors(issues: list[Any]) -> list[str]:
    return [f"{i.path}: {i.message}" for i in issues if getattr(i, "severity", "error") == "error"]


@FUZZ
@given(task_definitions())
def test_generated_task_definitions_are_accepted_and_render(doc: dict[str, Any]) -> None:
    td = parse_task_definition(doc)
    assert _errors(validate_task_definition(td)) == []
    result = render_task_definition(td, RenderOptions(namespace="fuzz"))
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    kinds = [o["kind"] for o in result.objects]
    assert "PodTemplate" in kinds


@FUZZ
@given(task_definition_and_service())
def test_generated_services_are_accepted_and_render(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    td_doc, svc_doc = pair
    td, svc = parse_task_definition(td_doc), parse_service(svc_doc)
    assert _errors(validate_service(svc, td)) == []
    result = render_service(svc, td, RenderOptions(namespace="fuzz"))
    assert [d for d in result.diagnostics if d.severity == "error"] == []
    workloads = [o for o in result.objects if o["kind"] in ("Deployment", "DaemonSet")]
    assert len(workloads) == 1
