"""Fuzz: generated valid task definitions and services, in batches, through the real apiserver.

Two doors a user's JSON goes through, both server-side dry runs so nothing is created:
- the custom resources `ecsk import` writes (CRD schemas and CEL rules must admit what ECS admits:
  a refusal here is a false refusal at admission);
- the Kubernetes objects the operator would apply (a refusal is a translation bug).
`ECSK_FUZZ_BATCHES` (default 12) x 25 pairs per run; raise it to fuzz thousands locally.
Hypothesis shrinks a failing batch to the smallest failing document.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubectl import assert_server_accepts

from ecs_strategies import task_definition_and_service
from ecsk.cli.render_cmd import to_custom_resource
from ecsk.core.models import parse_service, parse_task_definition
from ecsk.core.translate import RenderOptions, render_service

pytestmark = pytest.mark.integration

BATCH = 25
FUZZ = settings(
    max_examples=int(os.environ.get("ECSK_FUZZ_BATCHES", "12")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    database=None,
)


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs with distinct families and service names, so one dry run can carry them all."""
    pairs = draw(st.lists(task_definition_and_service(), min_size=1, max_size=BATCH))
    for i, (td, svc) in enumerate(pairs):
        td["family"] = f"{td['family']}-{i}"
        svc["serviceName"] = f"{svc['serviceName']}-{i}"
        svc["taskDefinition"] = td["family"]
    return pairs


@FUZZ
@given(pairs=batches())
def test_generated_documents_pass_admission_and_render_to_accepted_objects(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    custom_resources: list[dict[str, Any]] = []
    rendered: list[dict[str, Any]] = []
    for td_doc, svc_doc in pairs:
        td, svc = parse_task_definition(td_doc), parse_service(svc_doc)
        custom_resources += [to_custom_resource(td), to_custom_resource(svc)]
        result = render_service(svc, td, RenderOptions(namespace=namespace))
        rendered += result.objects
    assert_server_accepts(kubeconfig, custom_resources, namespace, "custom resources")
    assert_server_accepts(kubeconfig, rendered, namespace, "rendered")
