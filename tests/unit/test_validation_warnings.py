"""Rules ECS documents but does not enforce: accepted, with a warning that says what happens.

Each case was an error before; ECS registers it (see docs/validation.md for the sources). A
warning never blocks a render and never hides an error found in the same document.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from test_validation_taskdef import ec2_td, fargate_td

from ecsk.core.models import (
    ScheduledTask,
    errors_of,
    load_text,
    parse_service,
    parse_task_definition,
    warnings_of,
)
from ecsk.core.translate.bundle import render_documents
from ecsk.core.validation import (
    ValidationIssue,
    validate_scheduled_task,
    validate_service,
    validate_task_definition,
)
from ecsk.core.validation.containers import (
    HEALTHCHECK_AS_GIVEN,
    HEALTHCHECK_NONE,
    MEMORY_MINIMUM,
    RESERVED_PORT,
)

Doc = dict[str, Any]


def _with(base: Callable[[], Doc], edit: Callable[[Doc], None]) -> Callable[[], Doc]:
    def make() -> Doc:
        doc = copy.deepcopy(base())
        edit(doc)
        return doc

    return make


def _c0(**fields: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["containerDefinitions"][0].update(fields)


def _efs_port(doc: Doc) -> None:
    doc["volumes"] = [
        {"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123", "transitEncryptionPort": 2049}}
    ]


# (id, document, path, message, rule)
TASK_DEFINITION_WARNINGS: list[tuple[str, Callable[[], Doc], str, str, str]] = [
    (
        "healthcheck-without-cmd",  # AWS's ADOT collector samples ship exactly this
        _with(ec2_td, _c0(healthCheck={"command": ["/healthcheck"]})),
        "containerDefinitions[0].healthCheck.command",
        HEALTHCHECK_AS_GIVEN,
        "healthcheck.command-form",
    ),
    (
        "healthcheck-none",
        _with(ec2_td, _c0(healthCheck={"command": ["NONE"]})),
        "containerDefinitions[0].healthCheck.command",
        HEALTHCHECK_NONE,
        "healthcheck.command-form",
    ),
    (
        "reserved-bridge-host-port",
        _with(ec2_td, _c0(portMappings=[{"containerPort": 80, "hostPort": 2375}])),
        "containerDefinitions[0].portMappings[0].hostPort",
        RESERVED_PORT.format(port=2375),
        "ports.reserved",
    ),
    (
        "reserved-host-mode-port",
        _with(
            _with(ec2_td, lambda d: d.update(networkMode="host")),
            _c0(portMappings=[{"containerPort": 51679}]),
        ),
        "containerDefinitions[0].portMappings[0].hostPort",
        RESERVED_PORT.format(port=51679),
        "ports.reserved",
    ),
    (
        "memory-reservation-below-6-mib",
        _with(ec2_td, lambda d: d["containerDefinitions"][1].update(memoryReservation=4)),
        "containerDefinitions[1].memoryReservation",
        MEMORY_MINIMUM.format(field="memoryReservation", label="sidecar"),
        "container.memory-minimum",
    ),
    (
        "efs-transit-port-without-encryption",
        _with(ec2_td, _efs_port),
        "volumes[0].efsVolumeConfiguration.transitEncryptionPort",
        "transitEncryptionPort is only used when transitEncryption is ENABLED: ECS ignores it here, "
        "and so does ecsk.",
        "efs.transit-port",
    ),
]


@pytest.mark.parametrize(
    ("make", "path", "message", "rule"), [pytest.param(*c[1:], id=c[0]) for c in TASK_DEFINITION_WARNINGS]
)
def test_task_definition_rule_is_a_warning(
    make: Callable[[], Doc], path: str, message: str, rule: str
) -> None:
    found = validate_task_definition(parse_task_definition(make()))
    assert found == [ValidationIssue(path, message, rule, "warning")], [str(i) for i in found]
    assert not errors_of(found)


@pytest.mark.parametrize("make", [c[1] for c in TASK_DEFINITION_WARNINGS])
def test_a_warning_does_not_stop_the_render(make: Callable[[], Doc]) -> None:
    [item] = render_documents(load_text(_json(make())))
    assert item.result is not None and item.result.objects
    assert warnings_of(item.issues) and not errors_of(item.issues)


def test_healthcheck_without_cmd_renders_an_exec_probe_of_the_list() -> None:
    doc = _with(ec2_td, _c0(healthCheck={"command": ["/healthcheck"], "interval": 5}))()
    [item] = render_documents(load_text(_json(doc)))
    assert item.result is not None
    web = item.result.objects[-1]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["exec"]["command"] == ["/healthcheck"]


def test_random_strategy_field_is_ignored_with_a_warning() -> None:
    svc = parse_service(
        {
            "serviceName": "web",
            "taskDefinition": "app",
            "placementStrategy": [{"type": "random", "field": "cpu"}],
        }
    )
    found = validate_service(svc)
    assert [(i.path, i.rule, i.severity) for i in found] == [
        ("placementStrategy[0].field", "placement.strategy-field", "warning")
    ]
    assert "not used" in found[0].message


def test_spread_on_attribute_with_back_slash_is_accepted() -> None:
    """PutAttributes allows back slashes in attribute names, so spread on one is valid."""
    svc = parse_service(
        {
            "serviceName": "web",
            "taskDefinition": "app",
            "placementStrategy": [{"type": "spread", "field": "attribute:team\\rack"}],
        }
    )
    assert validate_service(svc) == []


def test_fargate_accepts_pid_mode_task_and_system_controls() -> None:
    """Fargate platform 1.4.0+ (Linux) supports pidMode task and namespaced sysctls."""
    doc = fargate_td()
    doc["pidMode"] = "task"
    doc["containerDefinitions"][0]["systemControls"] = [{"namespace": "net.core.somaxconn", "value": "1024"}]
    assert validate_task_definition(parse_task_definition(doc)) == []


def test_fargate_still_refuses_pid_mode_host() -> None:
    doc = fargate_td()
    doc["pidMode"] = "host"
    found = validate_task_definition(parse_task_definition(doc))
    assert [(i.path, i.message, i.severity) for i in found] == [
        ("pidMode", "On Fargate for Linux containers, the only valid pidMode is task.", "error")
    ]


def test_a_warning_never_hides_an_error() -> None:
    doc = _with(ec2_td, _c0(healthCheck={"command": ["/healthcheck"]}, memory=0))()
    doc["containerDefinitions"][0]["memoryReservation"] = 64  # above memory 0: refused by ECS
    found = validate_task_definition(parse_task_definition(doc))
    assert {i.rule for i in errors_of(found)} == {"container.memory-reservation"}
    assert {i.rule for i in warnings_of(found)} == {"healthcheck.command-form", "container.memory-minimum"}
    [item] = render_documents(load_text(_json(doc)))
    assert item.result is None  # the error blocks; the warnings are still reported with it
    assert {i.severity for i in item.issues} == {"error", "warning"}


def test_scheduled_task_keeps_the_severity_under_ecs_parameters() -> None:
    st = load_text(
        _json(
            {
                "scheduleExpression": "rate(5 minutes)",
                "ecsParameters": {
                    "taskDefinition": "app",
                    "placementStrategy": [{"type": "random", "field": "cpu"}],
                },
            }
        )
    )[0].model
    assert isinstance(st, ScheduledTask)
    found = validate_scheduled_task(st)
    assert [(i.path, i.severity) for i in found] == [("ecsParameters.placementStrategy[0].field", "warning")]


def _json(doc: Doc) -> str:
    return json.dumps(doc)


def test_recent_ecs_fields_are_accepted_not_refused_as_unknown() -> None:
    """Fields of the current ECS API (botocore's service model) must not read as typos."""
    td_doc = ec2_td()
    td_doc["trustedExecutionConfiguration"] = {"isolationMode": "STANDARD"}
    td_doc["containerDefinitions"][0]["resourceRequirements"] = [{"type": "NeuronDevice", "value": "ALL"}]
    svc_doc = {
        "serviceName": "web",
        "taskDefinition": "app",
        "monitoring": {"metricConfigurations": []},
        "gatewayConnectors": [],
        "deploymentConfiguration": {
            "earlySuccessCriteria": {"enable": True, "healthyPercent": 50},
            "deploymentCircuitBreaker": {"enable": True, "rollback": True, "resetOnHealthyTask": True},
        },
    }
    loaded = load_text(json.dumps([td_doc, svc_doc]))
    assert all(d.ok for d in loaded), [str(i) for d in loaded for i in d.issues]
    items = render_documents(loaded)
    assert all(i.result is not None for i in items)
    td_item = next(i for i in items if i.kind == "TaskDefinition")
    assert td_item.result is not None
    [warning] = [d for d in td_item.result.diagnostics if d.code == "resources.device"]
    assert "NeuronDevice ALL has no Kubernetes resource count" in warning.message
    limits = td_item.result.objects[-1]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"memory": "512Mi"}  # no made-up device count


def test_resource_requirement_value_rules() -> None:
    doc = ec2_td()
    doc["containerDefinitions"][0]["resourceRequirements"] = [
        {"type": "GPU"},
        {"type": "NeuronDevice", "value": "2"},
        {"type": "GPU", "sharingStrategy": {"nvidiaMps": {}}},
        {"type": "GPU", "value": "1"},
    ]
    found = validate_task_definition(parse_task_definition(doc))
    assert [(i.path, i.rule, i.severity) for i in found] == [
        ("containerDefinitions[0].resourceRequirements[0].value", "resources.value", "error"),
        ("containerDefinitions[0].resourceRequirements[1].value", "resources.value", "error"),
    ]
