"""Models and loader: every accepted document form, shape errors as issues, normalised sizes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsk.core.models import (
    ECSService,
    ModelLoadError,
    RunTask,
    ScheduledTask,
    TaskDefinition,
    ValidationIssue,
    load_document,
    load_documents,
    load_text,
    parse_cpu_units,
    parse_memory_mib,
    parse_service,
    parse_task_definition,
)
from ecsk.core.validation import validate_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VAL_FIXTURES = sorted(FIXTURES.glob("*/val-*"))

MINIMAL_TD: dict[str, Any] = {
    "family": "web",
    "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}],
}


@pytest.mark.parametrize("path", VAL_FIXTURES, ids=lambda p: p.name)
def test_val_fixtures_load_and_validate_clean(path: Path) -> None:
    """Services are checked against the task definitions of the other val- fixtures they name."""
    docs = load_text(path.read_text())
    assert docs and all(d.ok for d in docs), [str(i) for d in docs for i in d.issues]
    expected_kind = "TaskDefinition" if path.parent.name == "taskdefs" else "ECSService"
    assert {d.kind for d in docs} == {expected_kind}
    others = [d for p in VAL_FIXTURES if p != path for d in load_text(p.read_text())]
    for doc, issues in validate_documents([*docs, *others])[: len(docs)]:
        assert issues == [], (doc.source, [str(i) for i in issues])


def test_describe_task_definition_wrapper_merges_tags_and_keeps_read_only_fields() -> None:
    (doc,) = load_text((FIXTURES / "taskdefs" / "val-fargate-webapp-describe.json").read_text())
    td = doc.model
    assert isinstance(td, TaskDefinition)
    assert td.revision == 7 and td.status == "ACTIVE" and td.compatibilities == ["EC2", "FARGATE"]
    assert [t.key for t in td.tags or []] == ["team", "env"]
    assert td.identity()["family"] == "webapp"
    assert "revision" not in td.identity() and "registeredAt" not in td.identity()


def test_describe_and_register_forms_have_the_same_identity() -> None:
    describe = {
        "taskDefinition": {
            **MINIMAL_TD,
            "revision": 3,
            "status": "ACTIVE",
            "taskDefinitionArn": "arn:x",
            "registeredAt": 1700000000.5,
        }
    }
    (a,) = load_document(describe)
    (b,) = load_document(MINIMAL_TD)
    assert isinstance(a.model, TaskDefinition) and isinstance(b.model, TaskDefinition)
    assert a.model.identity() == b.model.identity()
    assert a.model.registeredAt == datetime.fromtimestamp(1700000000.5, tz=UTC).isoformat()


def test_describe_services_yields_every_service() -> None:
    doc = {
        "services": [{"serviceName": "a", "desiredCount": 1}, {"serviceName": "b", "desiredCount": 2}],
        "failures": [],
    }
    loaded = load_document(doc)
    assert [d.kind for d in loaded] == ["ECSService", "ECSService"]
    assert [d.model.serviceName for d in loaded if isinstance(d.model, ECSService)] == ["a", "b"]


def test_create_service_output_wrapper() -> None:
    (doc,) = load_document(
        {"service": {"serviceName": "a", "taskDefinition": "t", "desiredCount": 1, "status": "ACTIVE"}}
    )
    assert isinstance(doc.model, ECSService) and doc.model.status == "ACTIVE"


def test_custom_resource_fills_names_from_metadata() -> None:
    td_doc = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "hello"},
        "spec": {"containerDefinitions": MINIMAL_TD["containerDefinitions"]},
    }
    svc_doc = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "ECSService",
        "metadata": {"name": "hello", "namespace": "ns"},
        "spec": {"taskDefinition": "hello", "desiredCount": 1},
    }
    td, svc = load_documents([td_doc, svc_doc])
    assert isinstance(td.model, TaskDefinition) and td.model.family == "hello"
    assert isinstance(svc.model, ECSService) and svc.model.serviceName == "hello"
    assert svc.metadata == {"name": "hello", "namespace": "ns"}


def test_custom_resource_spec_name_wins_over_metadata() -> None:
    doc = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "k8s-name"},
        "spec": {**MINIMAL_TD},
    }
    (loaded,) = load_document(doc)
    assert isinstance(loaded.model, TaskDefinition) and loaded.model.family == "web"


def test_task_and_scheduled_task_resources() -> None:
    task = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "Task",
        "metadata": {"name": "once"},
        "spec": {"taskDefinition": "job:2", "count": 2, "startedBy": "me"},
    }
    scheduled = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "ScheduledTask",
        "metadata": {"name": "nightly"},
        "spec": {
            "scheduleExpression": "cron(0 3 * * ? *)",
            "state": "ENABLED",
            "EcsParameters": {
                "TaskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/job:2",
                "TaskCount": 1,
                "LaunchType": "FARGATE",
            },
        },
    }
    a, b = load_documents([task, scheduled])
    assert isinstance(a.model, RunTask) and a.model.count == 2
    assert isinstance(b.model, ScheduledTask), b.issues
    assert (
        b.model.ecsParameters.taskDefinition.endswith("job:2")
        and b.model.ecsParameters.launchType == "FARGATE"
    )


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        (MINIMAL_TD, "TaskDefinition"),
        ({"serviceName": "s"}, "ECSService"),
        ({"taskDefinition": "t", "desiredCount": 1}, "ECSService"),
        ({"taskDefinition": "t", "count": 1}, "Task"),
        ({"scheduleExpression": "rate(1 day)", "ecsParameters": {"taskDefinition": "t"}}, "ScheduledTask"),
    ],
)
def test_plain_input_is_recognised_by_shape(doc: dict[str, Any], kind: str) -> None:
    (loaded,) = load_document(doc)
    assert loaded.kind == kind
    # Recognised by shape even when incomplete: the issues then say what is missing.
    assert loaded.ok or loaded.issues == [
        ValidationIssue("serviceName", "Missing required parameter", "schema.required")
    ]


def test_unrecognised_documents_report_an_issue() -> None:
    (a,) = load_document({"hello": "world"})
    (b,) = load_document("just text")
    (c,) = load_document({"apiVersion": "ecs.ecsk.io/v1alpha1", "kind": "Cluster", "spec": {}})
    assert not a.ok and a.kind == "Unknown" and a.issues[0].rule == "load.unrecognised"
    assert not b.ok and b.issues[0].rule == "load.unrecognised"
    assert not c.ok and "Cluster" in c.issues[0].message
    (d,) = load_document(
        {"apiVersion": "ecs.ecsk.io/v1alpha1", "kind": "Task", "metadata": {"name": "t"}}, "f.yaml"
    )
    assert (d.kind, d.source, d.issues[0].path, d.issues[0].rule) == ("Task", "f.yaml", "spec", "load.spec")


def test_shape_errors_become_issues_with_paths() -> None:
    doc = {
        "family": "web",
        "containerDefinitions": [
            {
                "name": "web",
                "image": "nginx",
                "memroy": 128,
                "portMappings": [{"containerPort": "eighty", "protocol": "sctp"}],
                "logConfiguration": {"logDriver": "syslogd"},
                "healthCheck": {"interval": 10},
                "dependsOn": [{"containerName": "db", "condition": "READY"}],
            }
        ],
        "networkMode": "overlay",
    }
    with pytest.raises(ModelLoadError) as err:
        parse_task_definition(doc)
    found = {(i.path, i.rule) for i in err.value.issues}
    assert found == {
        ("containerDefinitions[0].memroy", "schema.unknown-field"),
        ("containerDefinitions[0].portMappings[0].containerPort", "schema.int_parsing"),
        ("containerDefinitions[0].portMappings[0].protocol", "schema.literal_error"),
        ("containerDefinitions[0].logConfiguration.logDriver", "schema.literal_error"),
        ("containerDefinitions[0].healthCheck.command", "schema.required"),
        ("containerDefinitions[0].dependsOn[0].condition", "schema.literal_error"),
        ("networkMode", "schema.literal_error"),
    }
    unknown = next(i for i in err.value.issues if i.rule == "schema.unknown-field")
    assert str(unknown) == "containerDefinitions[0].memroy: Unknown parameter: not part of the ECS API shape"
    protocol = next(i for i in err.value.issues if i.path.endswith("protocol"))
    assert protocol.message == "Input should be 'tcp' or 'udp'"


def test_missing_required_parameters() -> None:
    with pytest.raises(ModelLoadError) as err:
        parse_task_definition({"containerDefinitions": []})
    assert err.value.issues == [ValidationIssue("family", "Missing required parameter", "schema.required")]
    with pytest.raises(ModelLoadError) as err:
        parse_service({"desiredCount": 1})
    assert err.value.issues == [
        ValidationIssue("serviceName", "Missing required parameter", "schema.required")
    ]


def test_loaded_document_carries_shape_issues_instead_of_raising() -> None:
    (doc,) = load_document({"family": "x", "containerDefinitions": [{"name": "a", "bogus": 1}]})
    assert not doc.ok and doc.issues[0].path == "containerDefinitions[0].bogus"
    ((same, issues),) = validate_documents([doc])
    assert same is doc and issues == doc.issues


def test_load_text_json_and_multi_document_yaml() -> None:
    assert [d.kind for d in load_text(json.dumps(MINIMAL_TD))] == ["TaskDefinition"]
    text = yaml.safe_dump_all([MINIMAL_TD, {"serviceName": "s", "taskDefinition": "web"}, None])
    assert [d.kind for d in load_text(text)] == ["TaskDefinition", "ECSService"]
    kube_list = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "ecs.ecsk.io/v1alpha1",
                "kind": "ECSService",
                "metadata": {"name": "a"},
                "spec": {},
            }
        ],
    }
    assert [d.kind for d in load_text(json.dumps(kube_list))] == ["ECSService"]


def test_service_cross_checks_find_task_definitions_by_arn_family_and_revision() -> None:
    td = {**MINIMAL_TD, "revision": 4, "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:4"}
    lb = [{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 80}]
    refs = ["web", "web:4", "arn:aws:ecs:us-east-1:1:task-definition/web:4"]
    for ref in refs:
        docs = load_documents(
            [{"taskDefinition": td}, {"serviceName": "s", "taskDefinition": ref, "loadBalancers": lb}]
        )
        (_, td_issues), (_, svc_issues) = validate_documents(docs)
        assert td_issues == []
        assert [i.path for i in svc_issues] == ["loadBalancers[0].containerPort"], ref


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("256", 256),
        ("1024", 1024),
        (" 512 ", 512),
        ("1 vCPU", 1024),
        ("0.25 vCPU", 256),
        (".5 vcpu", 512),
        ("2vCPU", 2048),
        ("16 vCPU", 16384),
        ("4 vcpus", 4096),
    ],
)
def test_cpu_units(text: str, units: int) -> None:
    assert parse_cpu_units(text) == units


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("512", 512),
        ("1GB", 1024),
        ("1 GB", 1024),
        ("0.5GB", 512),
        ("3 gb", 3072),
        ("2GiB", 2048),
        ("1536 MiB", 1536),
        ("120GB", 122880),
    ],
)
def test_memory_mib(text: str, mib: int) -> None:
    assert parse_memory_mib(text) == mib


@pytest.mark.parametrize("text", ["", "lots", "1.3", "0.1 vCPU", "-1", "1 TB", "1e3"])
def test_unreadable_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpu_units(text)
        parse_memory_mib(text)


def test_numeric_yaml_values_for_task_size_become_strings() -> None:
    td = parse_task_definition({**MINIMAL_TD, "cpu": 512, "memory": 1024})
    assert (td.cpu, td.memory, td.cpu_units(), td.memory_mib()) == ("512", "1024", 512, 1024)
    assert parse_task_definition(MINIMAL_TD).cpu_units() is None


def test_model_helpers() -> None:
    td = parse_task_definition(
        {
            "family": "f",
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [
                {"name": "a", "image": "x"},
                {"name": "b", "image": "y", "essential": False},
            ],
        }
    )
    assert td.requires_fargate and td.effective_network_mode() == "awsvpc"
    assert [c.is_essential for c in td.containerDefinitions] == [True, False]
    assert td.container("b") is td.containerDefinitions[1] and td.container("zz") is None
    assert parse_task_definition(MINIMAL_TD).effective_network_mode() == "bridge"
    svc = parse_service(
        {"serviceName": "s", "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}
    )
    assert svc.uses_fargate and svc.effective_scheduling_strategy == "REPLICA"
    assert svc.to_aws() == {
        "serviceName": "s",
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}],
    }


def test_every_container_definition_field_of_the_aws_api_is_modelled() -> None:
    from ecsk.core.models import ContainerDefinition

    aws = {
        "name",
        "image",
        "repositoryCredentials",
        "cpu",
        "memory",
        "memoryReservation",
        "links",
        "portMappings",
        "essential",
        "restartPolicy",
        "entryPoint",
        "command",
        "environment",
        "environmentFiles",
        "mountPoints",
        "volumesFrom",
        "linuxParameters",
        "secrets",
        "dependsOn",
        "startTimeout",
        "stopTimeout",
        "versionConsistency",
        "hostname",
        "user",
        "workingDirectory",
        "disableNetworking",
        "privileged",
        "readonlyRootFilesystem",
        "dnsServers",
        "dnsSearchDomains",
        "extraHosts",
        "dockerSecurityOptions",
        "interactive",
        "pseudoTerminal",
        "dockerLabels",
        "ulimits",
        "logConfiguration",
        "healthCheck",
        "systemControls",
        "resourceRequirements",
        "firelensConfiguration",
        "credentialSpecs",
    }
    assert set(ContainerDefinition.model_fields) == aws


def test_eventbridge_scheduler_shape() -> None:
    schedule = {
        "Name": "nightly-report",
        "GroupName": "default",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "State": "ENABLED",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        "Target": {
            "Arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "EcsParameters": {
                "TaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/report:3",
                "TaskCount": 1,
                "LaunchType": "FARGATE",
                "Group": "reports",
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        "Subnets": ["subnet-1"],
                        "SecurityGroups": ["sg-1"],
                        "AssignPublicIp": "DISABLED",
                    }
                },
                "Tags": [{"Key": "team", "Value": "data"}],
            },
        },
    }
    (doc,) = load_document(schedule)
    st = doc.model
    assert isinstance(st, ScheduledTask), doc.issues
    assert st.scheduleExpressionTimezone == "Europe/Paris" and (st.cluster or "").endswith("cluster/prod")
    assert st.flexibleTimeWindow is not None and st.flexibleTimeWindow.maximumWindowInMinutes == 15
    params = st.ecsParameters
    assert params.taskDefinition.endswith("report:3") and params.group == "reports"
    assert (
        params.networkConfiguration is not None
        and params.networkConfiguration.awsvpcConfiguration is not None
    )
    assert params.networkConfiguration.awsvpcConfiguration.subnets == ["subnet-1"]
    assert [t.key for t in params.tags or []] == ["team"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"family": "x", "cpu": $$$$CPUSHARE$$$$}', "not valid JSON"),  # amazon-ecs-agent templates
        ('{"options": {{region}}}', "not valid JSON"),  # aws-otel-collector templates
        ("family: [x\n", "not valid YAML"),
    ],
)
def test_unparsable_text_is_one_clear_refusal_not_a_crash(text: str, where: str) -> None:
    """Regression (realworld corpus): unfilled template placeholders made load_text raise."""
    [doc] = load_text(text)
    assert doc.model is None and doc.kind == "Unknown"
    [issue] = doc.issues
    assert where in issue.message and " at line " in issue.message and "template placeholder" in issue.message
