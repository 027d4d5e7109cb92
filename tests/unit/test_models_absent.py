"""`null`, and `""` in enum fields, read as absent; files that are not ECS get one clear message.

The fixtures are describe output the way AWS writes it: `"ipcMode": ""`, `"pidMode": ""`,
`"versionConsistency": ""`, `"launchType": ""`, and explicit nulls for unset settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsk.core.models import ECSService, TaskDefinition, load_document, load_text
from ecsk.core.translate.bundle import render_documents
from ecsk.core.translate.explain import given_leaves
from ecsk.core.validation import validate_task_definition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fidelity"


def _load(name: str) -> list[Any]:
    return load_text((FIXTURES / name).read_text())


def test_describe_task_definition_with_empty_enums_and_nulls_loads() -> None:
    [doc] = _load("adot-sidecar-describe.json")
    assert doc.ok, [str(i) for i in doc.issues]
    td = doc.model
    assert isinstance(td, TaskDefinition)
    assert td.ipcMode is None and td.pidMode is None and td.proxyConfiguration is None
    collector, emitter = td.containerDefinitions
    assert collector.versionConsistency is None and collector.linuxParameters is None
    assert collector.startTimeout is None and emitter.healthCheck is None
    # absent, not "set to nothing": --explain does not list them, round trips drop them
    leaves = set(given_leaves(td))
    assert not {"ipcMode", "pidMode", "proxyConfiguration"} & leaves
    assert "containerDefinitions[0].versionConsistency" not in leaves
    spec = td.identity()
    assert "ipcMode" not in spec and "versionConsistency" not in spec["containerDefinitions"][0]


def test_describe_task_definition_with_empty_enums_renders() -> None:
    [item] = render_documents(_load("adot-sidecar-describe.json"))
    assert item.result is not None and item.result.ok
    assert [i.rule for i in item.issues] == ["healthcheck.command-form"]  # a warning, not a refusal


def test_describe_services_with_empty_launch_type_and_nulls_loads() -> None:
    [doc] = _load("webapp-services-describe.json")
    assert doc.ok, [str(i) for i in doc.issues]
    svc = doc.model
    assert isinstance(svc, ECSService)
    assert svc.launchType is None and svc.platformVersion is None and svc.networkConfiguration is None
    assert svc.deploymentConfiguration is not None and svc.deploymentConfiguration.alarms is None
    # with launchType "" read as absent, the capacity provider strategy is not in conflict with it
    assert svc.capacityProviderStrategy and svc.capacityProviderStrategy[0].capacityProvider == "prod-asg"


def test_empty_string_stays_where_it_is_a_value() -> None:
    """Free-text fields keep "": ECS refuses an empty image, and so must we."""
    doc = {"family": "x", "containerDefinitions": [{"name": "a", "image": "", "memory": 64}]}
    [loaded] = load_document(doc)
    assert isinstance(loaded.model, TaskDefinition)
    assert [i.rule for i in validate_task_definition(loaded.model)] == ["container.image-required"]


def test_null_required_field_reads_as_missing() -> None:
    [loaded] = load_document({"family": None, "containerDefinitions": []})
    assert [(i.path, i.rule) for i in loaded.issues] == [("family", "schema.required")]


def test_empty_string_in_an_enum_of_a_custom_resource_reads_as_absent() -> None:
    text = yaml.safe_dump(
        {
            "apiVersion": "ecs.ecsk.io/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": "web"},
            "spec": {
                "networkMode": "",
                "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 64, "essential": None}],
            },
        }
    )
    [loaded] = load_text(text)
    assert isinstance(loaded.model, TaskDefinition)
    assert loaded.model.networkMode is None and loaded.model.containerDefinitions[0].essential is None


FOREIGN: list[tuple[str, Any, str]] = [
    (
        "kubernetes-deployment",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        },
        "This is a Kubernetes Deployment (apps/v1), not an ECS document",
    ),
    (
        "cloudformation",
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Family": "web"}},
                "Svc": {"Type": "AWS::ECS::Service", "Properties": {"DesiredCount": 2}},
            },
        },
        "This is a CloudFormation template (its ECS resources: Svc, TaskDef), not an ECS document",
    ),
    (
        "cloudformation-without-version",
        {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}},
        "This is a CloudFormation template, not an ECS document",
    ),
    (
        "copilot",
        {
            "name": "frontend",
            "type": "Load Balanced Web Service",
            "image": {"build": "Dockerfile"},
            "count": 2,
        },
        "This is an AWS Copilot manifest (Load Balanced Web Service), not an ECS document",
    ),
    (
        "docker-compose",
        {"services": {"web": {"image": "nginx", "ports": ["80:80"]}, "db": {"image": "postgres"}}},
        "This is a docker-compose file, not an ECS document",
    ),
]


@pytest.mark.parametrize(("doc", "start"), [pytest.param(*c[1:], id=c[0]) for c in FOREIGN])
def test_foreign_documents_get_one_message_naming_them(doc: Any, start: str) -> None:
    for text in (json.dumps(doc), yaml.safe_dump(doc)):
        [loaded] = load_text(text)
        assert not loaded.ok and loaded.kind == "Unknown"
        [issue] = loaded.issues
        assert issue.rule == "load.unrecognised"
        assert issue.message.startswith(start), issue.message
        assert "ecsk reads ECS task definitions" in issue.message


def test_describe_services_list_is_not_mistaken_for_compose() -> None:
    [doc] = _load("webapp-services-describe.json")
    assert doc.kind == "ECSService"
