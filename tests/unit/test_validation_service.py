"""Service, RunTask and ScheduledTask rules: one passing and one failing case per rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ecsk.core.models import (
    ECSService,
    TaskDefinition,
    parse_run_task,
    parse_scheduled_task,
    parse_service,
    parse_task_definition,
)
from ecsk.core.validation import (
    ValidationIssue,
    validate_run_task,
    validate_scheduled_task,
    validate_service,
    validate_task_definition,
)

Doc = dict[str, Any]
LAUNCH_AND_STRATEGY = (
    "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
)


DAEMON_FARGATE = (
    "The DAEMON scheduling strategy is not supported with the Fargate launch type "
    "or Fargate capacity providers."
)


def svc() -> Doc:
    return {"serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2, "launchType": "EC2"}


def td_bridge() -> TaskDefinition:
    return parse_task_definition(
        {
            "family": "web",
            "containerDefinitions": [
                {"name": "web", "image": "nginx", "memory": 256, "portMappings": [{"containerPort": 80}]}
            ],
            "volumes": [{"name": "ebs", "configuredAtLaunch": True}],
        }
    )


def td_fargate() -> TaskDefinition:
    return parse_task_definition(
        {
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}]}
            ],
        }
    )


AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}}


def run(doc: Doc, td: TaskDefinition | None = None) -> list[ValidationIssue]:
    return validate_service(parse_service(doc), td)


def with_(**fields: Any) -> Callable[[], Doc]:
    def make() -> Doc:
        doc = svc()
        for key, value in fields.items():
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = copy.deepcopy(value)
        return doc

    return make


def test_baseline_is_clean() -> None:
    assert run(svc()) == []
    assert run(svc(), td_bridge()) == []


FAILING: list[tuple[str, Callable[[], Doc], Callable[[], TaskDefinition] | None, str, str, str]] = [
    (
        "negative-desired",
        with_(desiredCount=-1),
        None,
        "desiredCount",
        "desiredCount must be greater than or equal to 0.",
        "service.desired-count",
    ),
    (
        "bad-name",
        with_(serviceName="web app"),
        None,
        "serviceName",
        "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
        "service.name-format",
    ),
    (
        "task-definition-required",
        with_(taskDefinition=None),
        None,
        "taskDefinition",
        "taskDefinition should not be null or empty.",
        "service.task-definition-required",
    ),
    (
        "launch-type-and-strategy",
        with_(capacityProviderStrategy=[{"capacityProvider": "asg", "weight": 1}]),
        None,
        "capacityProviderStrategy",
        LAUNCH_AND_STRATEGY,
        "capacity.launch-type-exclusive",
    ),
    (
        "too-many-providers",
        with_(
            launchType=None,
            capacityProviderStrategy=[{"capacityProvider": f"cp{i}", "weight": 1} for i in range(7)],
        ),
        None,
        "capacityProviderStrategy",
        "A capacity provider strategy can contain a maximum of 6 capacity providers.",
        "capacity.count",
    ),
    (
        "weight-range",
        with_(launchType=None, capacityProviderStrategy=[{"capacityProvider": "asg", "weight": 1001}]),
        None,
        "capacityProviderStrategy[0].weight",
        "weight must be between 0 and 1000.",
        "capacity.weight",
    ),
    (
        "base-range",
        with_(launchType=None, capacityProviderStrategy=[{"capacityProvider": "asg", "base": 100001}]),
        None,
        "capacityProviderStrategy[0].base",
        "base must be between 0 and 100000.",
        "capacity.base",
    ),
    (
        "two-bases",
        with_(
            launchType=None,
            capacityProviderStrategy=[
                {"capacityProvider": "a", "base": 1},
                {"capacityProvider": "b", "base": 2},
            ],
        ),
        None,
        "capacityProviderStrategy[1].base",
        "Only one capacity provider in a capacity provider strategy can have a base defined.",
        "capacity.single-base",
    ),
    (
        "fargate-mix",
        with_(
            launchType=None,
            capacityProviderStrategy=[
                {"capacityProvider": "FARGATE", "weight": 1},
                {"capacityProvider": "asg", "weight": 1},
            ],
        ),
        None,
        "capacityProviderStrategy",
        "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups "
        "and Fargate providers. Specify one or the other and try again.",
        "capacity.fargate-mix",
    ),
    (
        "duplicate-provider",
        with_(
            launchType=None,
            capacityProviderStrategy=[
                {"capacityProvider": "a", "weight": 1},
                {"capacityProvider": "a", "weight": 1},
            ],
        ),
        None,
        "capacityProviderStrategy[1].capacityProvider",
        "Duplicate capacity provider 'a'.",
        "capacity.duplicate",
    ),
    (
        "too-many-strategies",
        with_(placementStrategy=[{"type": "random"}] * 6),
        None,
        "placementStrategy",
        "You can specify a maximum of 5 placement strategy rules.",
        "placement.strategy-count",
    ),
    (
        "strategy-type",
        with_(placementStrategy=[{"type": "roundrobin"}]),
        None,
        "placementStrategy[0].type",
        "type must be random, spread or binpack.",
        "placement.strategy-type",
    ),
    (
        "spread-field",
        with_(placementStrategy=[{"type": "spread", "field": "zone"}]),
        None,
        "placementStrategy[0].field",
        "The spread placement strategy needs field instanceId, host or attribute:<name>.",
        "placement.strategy-field",
    ),
    (
        "binpack-field",
        with_(placementStrategy=[{"type": "binpack", "field": "gpu"}]),
        None,
        "placementStrategy[0].field",
        "The binpack placement strategy needs field cpu or memory.",
        "placement.strategy-field",
    ),
    (
        "too-many-constraints",
        with_(placementConstraints=[{"type": "distinctInstance"}] * 11),
        None,
        "placementConstraints",
        "You can specify a maximum of 10 placement constraints per task "
        "(task definition and service/run-task together; got 11).",
        "placement.constraint-count",
    ),
    (
        "constraint-type",
        with_(placementConstraints=[{"type": "sameInstance"}]),
        None,
        "placementConstraints[0].type",
        "type must be distinctInstance or memberOf.",
        "placement.constraint-type",
    ),
    (
        "member-of-expression",
        with_(placementConstraints=[{"type": "memberOf"}]),
        None,
        "placementConstraints[0].expression",
        "A memberOf constraint requires an expression.",
        "placement.expression",
    ),
    (
        "distinct-instance-expression",
        with_(placementConstraints=[{"type": "distinctInstance", "expression": "x"}]),
        None,
        "placementConstraints[0].expression",
        "A distinctInstance constraint takes no expression.",
        "placement.expression",
    ),
    (
        "minimum-percent",
        with_(deploymentConfiguration={"minimumHealthyPercent": 101, "maximumPercent": 200}),
        None,
        "deploymentConfiguration.minimumHealthyPercent",
        "minimumHealthyPercent must be between 0 and 100.",
        "deployment.minimum",
    ),
    (
        "maximum-below-minimum",
        with_(deploymentConfiguration={"maximumPercent": 50}),
        None,
        "deploymentConfiguration.maximumPercent",
        "maximumPercent (50) must be greater than or equal to minimumHealthyPercent (100).",
        "deployment.maximum",
    ),
    (
        "daemon-default-min-0",
        with_(
            schedulingStrategy="DAEMON",
            desiredCount=None,
            deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 50},
        ),
        None,
        "deploymentConfiguration.maximumPercent",
        "maximumPercent (50) must be greater than or equal to minimumHealthyPercent (100).",
        "deployment.maximum",
    ),
    (
        "daemon-fargate",
        with_(launchType="FARGATE", schedulingStrategy="DAEMON"),
        None,
        "schedulingStrategy",
        DAEMON_FARGATE,
        "service.daemon-fargate",
    ),
    (
        "daemon-fargate-provider",
        with_(
            launchType=None,
            schedulingStrategy="DAEMON",
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        ),
        None,
        "schedulingStrategy",
        DAEMON_FARGATE,
        "service.daemon-fargate",
    ),
    (
        "daemon-strategy",
        with_(schedulingStrategy="DAEMON", placementStrategy=[{"type": "random"}]),
        None,
        "placementStrategy",
        "Placement strategies are not supported with the DAEMON scheduling strategy.",
        "service.daemon-strategy",
    ),
    (
        "fargate-strategy",
        with_(launchType="FARGATE", placementStrategy=[{"type": "random"}]),
        None,
        "placementStrategy",
        "Tasks using the Fargate launch type do not support placementStrategy.",
        "fargate.unsupported",
    ),
    (
        "fargate-constraints",
        with_(launchType="FARGATE", placementConstraints=[{"type": "distinctInstance"}]),
        None,
        "placementConstraints",
        "Tasks using the Fargate launch type do not support placementConstraints.",
        "fargate.unsupported",
    ),
    (
        "grace-period",
        with_(healthCheckGracePeriodSeconds=-5),
        None,
        "healthCheckGracePeriodSeconds",
        "must be between 0 and 2147483647 seconds",
        "service.grace-period",
    ),
    (
        "bake-time",
        with_(deploymentConfiguration={"bakeTimeInMinutes": 1441}),
        None,
        "deploymentConfiguration.bakeTimeInMinutes",
        "must be between 0 and 1440 minutes",
        "deployment.bake-time",
    ),
    (
        "awsvpc-needs-network",
        with_(launchType="FARGATE"),
        td_fargate,
        "networkConfiguration",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        "service.network-configuration",
    ),
    (
        "bridge-refuses-network",
        with_(networkConfiguration=AWSVPC),
        td_bridge,
        "networkConfiguration",
        "Network Configuration is not valid for the given networkMode of this task definition.",
        "service.network-configuration",
    ),
    (
        "lb-container",
        with_(loadBalancers=[{"targetGroupArn": "arn:tg", "containerName": "api", "containerPort": 80}]),
        td_bridge,
        "loadBalancers[0].containerName",
        "The container api does not exist in the task definition.",
        "service.load-balancer",
    ),
    (
        "lb-port",
        with_(loadBalancers=[{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 8080}]),
        td_bridge,
        "loadBalancers[0].containerPort",
        "The container web did not have a container port 8080 defined.",
        "service.load-balancer",
    ),
    (
        "lb-incomplete",
        with_(loadBalancers=[{"targetGroupArn": "arn:tg"}]),
        td_bridge,
        "loadBalancers[0]",
        "A load balancer needs containerName and containerPort.",
        "service.load-balancer",
    ),
    (
        "volume-configuration",
        with_(
            volumeConfigurations=[
                {"name": "data", "managedEBSVolume": {"roleArn": "arn:role", "sizeInGiB": 10}}
            ]
        ),
        td_bridge,
        "volumeConfigurations[0].name",
        "Volume 'data' is not a volume with configuredAtLaunch=true in the task definition.",
        "service.volume-configuration",
    ),
    (
        "td-checked-for-fargate",
        with_(launchType="FARGATE", networkConfiguration=AWSVPC),
        td_bridge,
        "taskDefinition.cpu",
        "Fargate requires that 'cpu' be defined at the task level.",
        "fargate.cpu-required",
    ),
]


@pytest.mark.parametrize(
    ("make", "td", "path", "message", "rule"), [pytest.param(*c[1:], id=c[0]) for c in FAILING]
)
def test_service_rule_fails(
    make: Callable[[], Doc], td: Callable[[], TaskDefinition] | None, path: str, message: str, rule: str
) -> None:
    found = run(make(), td() if td else None)
    assert ValidationIssue(path, message, rule) in found, [str(i) for i in found]


def test_total_constraints_include_the_task_definition() -> None:
    td = parse_task_definition(
        {
            "family": "web",
            "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 64}],
            "placementConstraints": [
                {"type": "memberOf", "expression": f"attribute:a{i} exists"} for i in range(6)
            ],
        }
    )
    doc = with_(placementConstraints=[{"type": "distinctInstance"}] * 4)()
    assert run(doc, td) == []
    doc["placementConstraints"].append({"type": "distinctInstance"})
    assert [i.rule for i in run(doc, td)] == ["placement.constraint-count"]


PASSING: list[tuple[str, Callable[[], Doc], Callable[[], TaskDefinition] | None]] = [
    ("zero-desired", with_(desiredCount=0), None),
    (
        "strategy-only",
        with_(
            launchType=None,
            capacityProviderStrategy=[
                {"capacityProvider": "FARGATE", "weight": 1, "base": 2},
                {"capacityProvider": "FARGATE_SPOT", "weight": 4, "base": 0},
            ],
        ),
        None,
    ),
    (
        "six-providers-bounds",
        with_(
            launchType=None,
            capacityProviderStrategy=[
                {"capacityProvider": f"cp{i}", "weight": 1000 if i else 0, "base": 100000 if i == 0 else None}
                for i in range(6)
            ],
        ),
        None,
    ),
    (
        "five-strategies",
        with_(
            placementStrategy=[
                {"type": "spread", "field": "attribute:ecs.availability-zone"},
                {"type": "spread", "field": "instanceId"},
                {"type": "spread", "field": "host"},
                {"type": "binpack", "field": "cpu"},
                {"type": "random"},
            ]
        ),
        None,
    ),
    (
        "ten-constraints",
        with_(
            placementConstraints=[{"type": "distinctInstance"}]
            + [{"type": "memberOf", "expression": "attribute:x exists"}] * 9
        ),
        None,
    ),
    (
        "min-max-100",
        with_(deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 100}),
        None,
    ),
    (
        "daemon-defaults",
        with_(
            schedulingStrategy="DAEMON", desiredCount=None, deploymentConfiguration={"maximumPercent": 100}
        ),
        None,
    ),
    (
        "external-controller-without-td",
        with_(taskDefinition=None, deploymentController={"type": "EXTERNAL"}),
        None,
    ),
    ("fargate-with-network", with_(launchType="FARGATE", networkConfiguration=AWSVPC), td_fargate),
    (
        "fargate-provider-with-network",
        with_(
            launchType=None,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            networkConfiguration=AWSVPC,
        ),
        td_fargate,
    ),
    (
        "lb-matches",
        with_(loadBalancers=[{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 80}]),
        td_bridge,
    ),
    (
        "ebs-volume-configuration",
        with_(
            volumeConfigurations=[
                {
                    "name": "ebs",
                    "managedEBSVolume": {"roleArn": "arn:role", "sizeInGiB": 10, "volumeType": "gp3"},
                }
            ]
        ),
        td_bridge,
    ),
]


@pytest.mark.parametrize(("make", "td"), [pytest.param(*c[1:], id=c[0]) for c in PASSING])
def test_service_rule_passes(make: Callable[[], Doc], td: Callable[[], TaskDefinition] | None) -> None:
    assert [str(i) for i in run(make(), td() if td else None)] == []


@pytest.mark.parametrize(
    ("strategy", "config", "expected"),
    [
        ("REPLICA", None, (100, 200)),
        ("DAEMON", None, (0, 100)),
        ("REPLICA", {"maximumPercent": 150}, (100, 150)),
        ("DAEMON", {"minimumHealthyPercent": 50}, (50, 100)),
    ],
)
def test_deployment_defaults(strategy: str, config: Doc | None, expected: tuple[int, int]) -> None:
    doc = with_(schedulingStrategy=strategy, deploymentConfiguration=config)()
    assert ECSService.model_validate(doc).deployment_percents() == expected


# --- RunTask and ScheduledTask ---------------------------------------------------------------


def test_run_task_rules() -> None:
    ok = parse_run_task({"taskDefinition": "web:1", "count": 10, "launchType": "EC2", "group": "family:web"})
    assert validate_run_task(ok) == []
    bad = parse_run_task(
        {
            "taskDefinition": "web",
            "count": 11,
            "launchType": "EC2",
            "capacityProviderStrategy": [{"capacityProvider": "asg"}],
            "placementStrategy": [{"type": "binpack"}],
        }
    )
    assert {(i.path, i.message) for i in validate_run_task(bad)} == {
        ("count", "count must be between 1 and 10."),
        ("capacityProviderStrategy", LAUNCH_AND_STRATEGY),
        ("placementStrategy[0].field", "The binpack placement strategy needs field cpu or memory."),
    }


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(2 hours)",
        "cron(0 12 * * ? *)",
        "cron(15 10 ? * MON-FRI *)",
        "at(2026-12-01T09:00:00)",
    ],
)
def test_schedule_expressions_pass(expression: str) -> None:
    st = parse_scheduled_task({"scheduleExpression": expression, "ecsParameters": {"taskDefinition": "job"}})
    assert validate_scheduled_task(st) == []


@pytest.mark.parametrize(
    ("expression", "rule"),
    [
        ("rate(1 minutes)", "schedule.rate"),
        ("rate(5 minute)", "schedule.rate"),
        ("rate(0 minutes)", "schedule.rate"),
        ("cron(0 12 * * ?)", "schedule.expression"),
        ("every 5 minutes", "schedule.expression"),
    ],
)
def test_schedule_expressions_fail(expression: str, rule: str) -> None:
    st = parse_scheduled_task({"scheduleExpression": expression, "ecsParameters": {"taskDefinition": "job"}})
    found = validate_scheduled_task(st)
    assert [(i.path, i.rule) for i in found] == [("scheduleExpression", rule)]


def test_scheduled_task_target_rules_are_prefixed() -> None:
    st = parse_scheduled_task(
        {
            "scheduleExpression": "rate(1 hour)",
            "ecsParameters": {
                "taskDefinition": "job",
                "taskCount": 11,
                "launchType": "FARGATE",
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE"}],
            },
        }
    )
    assert {(i.path, i.message) for i in validate_scheduled_task(st)} == {
        ("ecsParameters.taskCount", "taskCount must be between 1 and 10."),
        ("ecsParameters.capacityProviderStrategy", LAUNCH_AND_STRATEGY),
    }


def test_run_task_against_its_task_definition() -> None:
    awsvpc = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    ok = parse_run_task({"taskDefinition": "web", "launchType": "FARGATE", "networkConfiguration": awsvpc})
    assert validate_run_task(ok, td_fargate()) == []
    no_network = parse_run_task({"taskDefinition": "web", "launchType": "FARGATE"})
    assert [(i.path, i.message) for i in validate_run_task(no_network, td_fargate())] == [
        (
            "networkConfiguration",
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        )
    ]
    on_fargate = parse_run_task(
        {
            "taskDefinition": "web",
            "launchType": "FARGATE",
            "networkConfiguration": awsvpc,
            "placementStrategy": [{"type": "random"}],
        }
    )
    found = {(i.path, i.rule) for i in validate_run_task(on_fargate, td_bridge())}
    assert ("placementStrategy", "fargate.unsupported") in found
    assert ("taskDefinition.cpu", "fargate.cpu-required") in found


def test_service_does_not_repeat_the_task_definitions_own_issues() -> None:
    td = parse_task_definition(
        {
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "4096",
            "containerDefinitions": [{"name": "web", "image": "nginx"}],
        }
    )
    assert [i.rule for i in validate_task_definition(td)] == ["fargate.cpu-memory"]
    service = with_(launchType="FARGATE", networkConfiguration=AWSVPC)()
    assert run(service, td) == []
