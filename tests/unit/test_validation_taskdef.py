"""Task definition rules: for each rule, a case that passes and one that fails with path + message."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ecsk.core.models import ModelLoadError, TaskDefinition, parse_task_definition
from ecsk.core.validation import ValidationIssue, validate_task_definition

Doc = dict[str, Any]


def ec2_td() -> Doc:
    return {
        "family": "app",
        "networkMode": "bridge",
        "containerDefinitions": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "memory": 512,
                "essential": True,
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
                "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]},
            },
            {"name": "sidecar", "image": "busybox", "memoryReservation": 64, "essential": False},
        ],
    }


def fargate_td() -> Doc:
    return {
        "family": "app",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {"name": "web", "image": "nginx:1.25", "portMappings": [{"containerPort": 80, "hostPort": 80}]}
        ],
    }


def issues(doc: Doc, launch_type: str | None = None) -> list[ValidationIssue]:
    return validate_task_definition(parse_task_definition(doc), launch_type)


def only(doc: Doc, launch_type: str | None = None) -> ValidationIssue:
    found = issues(doc, launch_type)
    assert len(found) == 1, [str(i) for i in found]
    return found[0]


def c0(doc: Doc) -> Doc:
    container: Doc = doc["containerDefinitions"][0]
    return container


@pytest.mark.parametrize("factory", [ec2_td, fargate_td])
def test_baselines_are_clean(factory: Callable[[], Doc]) -> None:
    assert issues(factory()) == []


# --- failing cases: (id, base, mutation, launch type, path, message, rule) -------------------

Mutation = Callable[[Doc], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(doc: Doc) -> None:
        node: Any = doc
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return apply


_DELETE = object()
VALUE_FROM = (
    "valueFrom must be the ARN of a Secrets Manager secret (optionally :json-key:version-stage:version-id) "
    "or the ARN or name of an SSM parameter."
)


def _all(*mutations: Mutation) -> Mutation:
    def apply(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)

    return apply


FAILING: list[tuple[str, Callable[[], Doc], Mutation, str | None, str, str, str]] = [
    (
        "too-many-containers",
        ec2_td,
        _set("containerDefinitions", [{"name": f"c{i}", "image": "x", "memory": 64} for i in range(11)]),
        None,
        "containerDefinitions",
        "The maximum number of containers in a task definition is 10",
        "containers.count",
    ),
    (
        "no-containers",
        ec2_td,
        _set("containerDefinitions", []),
        None,
        "containerDefinitions",
        "Container list cannot be empty.",
        "containers.count",
    ),
    (
        "no-essential",
        ec2_td,
        _set("containerDefinitions.0.essential", False),
        None,
        "containerDefinitions",
        "At least one essential container is required for task definition.",
        "containers.essential",
    ),
    (
        "duplicate-name",
        ec2_td,
        _set("containerDefinitions.1.name", "web"),
        None,
        "containerDefinitions[1].name",
        "Duplicate container name 'web': container names must be unique.",
        "container.name-unique",
    ),
    (
        "missing-name",
        ec2_td,
        _set("containerDefinitions.1.name", _DELETE),
        None,
        "containerDefinitions[1].name",
        "Container.name should not be null or empty.",
        "container.name-required",
    ),
    (
        "bad-name",
        ec2_td,
        _set("containerDefinitions.1.name", "side car"),
        None,
        "containerDefinitions[1].name",
        "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
        "container.name-format",
    ),
    (
        "missing-image",
        ec2_td,
        _set("containerDefinitions.1.image", ""),
        None,
        "containerDefinitions[1].image",
        "Container.image should not be null or empty.",
        "container.image-required",
    ),
    (
        "bad-family",
        ec2_td,
        _set("family", "my app"),
        None,
        "family",
        "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
        "family.format",
    ),
    (
        "reservation-above-memory",
        ec2_td,
        _set("containerDefinitions.0.memoryReservation", 1024),
        None,
        "containerDefinitions[0].memoryReservation",
        "Invalid 'memoryReservation' setting for container 'web'. "
        "'memory' must be greater than or equal to 'memoryReservation'.",
        "container.memory-reservation",
    ),
    (
        "memory-required-without-task-memory",
        ec2_td,
        _set("containerDefinitions.1.memoryReservation", _DELETE),
        None,
        "containerDefinitions[1]",
        "Invalid setting for container 'sidecar'. "
        "At least one of 'memory' or 'memoryReservation' must be specified.",
        "container.memory-required",
    ),
    (
        "container-memory-above-task",
        fargate_td,
        _set("containerDefinitions.0.memory", 1024),
        None,
        "containerDefinitions[0].memory",
        "The 'memory' setting for container 'web' is greater than for task.",
        "container.memory-exceeds-task",
    ),
    (
        "container-cpu-above-task",
        fargate_td,
        _set("containerDefinitions.0.cpu", 512),
        None,
        "containerDefinitions",
        "The sum of container 'cpu' values (512) is greater than the task 'cpu' (256).",
        "containers.cpu-exceeds-task",
    ),
    (
        "awsvpc-host-port-differs",
        fargate_td,
        _set("containerDefinitions.0.portMappings.0.hostPort", 8080),
        "EC2",
        "containerDefinitions[0].portMappings[0].hostPort",
        "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
        "ports.host-equals-container",
    ),
    (
        "host-mode-host-port-differs",
        ec2_td,
        _all(_set("networkMode", "host"), _set("containerDefinitions.0.portMappings.0.hostPort", 8080)),
        None,
        "containerDefinitions[0].portMappings[0].hostPort",
        "When networkMode=host, the host ports and container ports in port mappings must match.",
        "ports.host-equals-container",
    ),
    (
        "container-port-missing",
        ec2_td,
        _set("containerDefinitions.0.portMappings.0.containerPort", _DELETE),
        None,
        "containerDefinitions[0].portMappings[0].containerPort",
        "Invalid 'containerPort' setting for container 'web'.",
        "ports.container-port",
    ),
    (
        "ports-in-none-mode",
        ec2_td,
        _set("networkMode", "none"),
        None,
        "containerDefinitions[0].portMappings",
        "Port mappings are not supported when networkMode=none.",
        "ports.none-mode",
    ),
    (
        "bad-port-range",
        fargate_td,
        _set("containerDefinitions.0.portMappings", [{"containerPortRange": "9000-8000"}]),
        None,
        "containerDefinitions[0].portMappings[0].containerPortRange",
        "containerPortRange must look like 'start-end' with 1 <= start < end <= 65535.",
        "ports.range",
    ),
    (
        "depends-on-missing",
        ec2_td,
        _set("containerDefinitions.0.dependsOn", [{"containerName": "db", "condition": "START"}]),
        None,
        "containerDefinitions[0].dependsOn[0].containerName",
        "Container 'db' in dependsOn is not defined in the task definition.",
        "depends-on.exists",
    ),
    (
        "depends-on-success-essential",
        ec2_td,
        _all(
            _set("containerDefinitions.1.essential", True),
            _set("containerDefinitions.0.dependsOn", [{"containerName": "sidecar", "condition": "SUCCESS"}]),
        ),
        None,
        "containerDefinitions[0].dependsOn[0].condition",
        "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
        "depends-on.essential",
    ),
    (
        "depends-on-complete-default-essential",
        ec2_td,
        _all(
            _set("containerDefinitions.1.essential", _DELETE),
            _set("containerDefinitions.0.dependsOn", [{"containerName": "sidecar", "condition": "COMPLETE"}]),
        ),
        None,
        "containerDefinitions[0].dependsOn[0].condition",
        "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
        "depends-on.essential",
    ),
    (
        "depends-on-healthy-without-check",
        ec2_td,
        _set("containerDefinitions.0.dependsOn", [{"containerName": "sidecar", "condition": "HEALTHY"}]),
        None,
        "containerDefinitions[0].dependsOn[0].condition",
        "A dependency container with HEALTHY condition must have a healthCheck: 'sidecar' has none.",
        "depends-on.healthy",
    ),
    (
        "depends-on-self",
        ec2_td,
        _set("containerDefinitions.1.dependsOn", [{"containerName": "sidecar", "condition": "START"}]),
        None,
        "containerDefinitions[1].dependsOn[0].containerName",
        "A container cannot depend on itself.",
        "depends-on.cycle",
    ),
    (
        "depends-on-cycle",
        ec2_td,
        _all(
            _set("containerDefinitions.0.dependsOn", [{"containerName": "sidecar", "condition": "START"}]),
            _set("containerDefinitions.1.dependsOn", [{"containerName": "web", "condition": "START"}]),
        ),
        None,
        "containerDefinitions[0].dependsOn",
        "Container dependencies form a cycle: web -> sidecar -> web",
        "depends-on.cycle",
    ),
    (
        "healthcheck-interval",
        ec2_td,
        _set("containerDefinitions.0.healthCheck.interval", 4),
        None,
        "containerDefinitions[0].healthCheck.interval",
        "must be between 5 and 300 seconds",
        "healthcheck.range",
    ),
    (
        "healthcheck-timeout",
        ec2_td,
        _set("containerDefinitions.0.healthCheck.timeout", 61),
        None,
        "containerDefinitions[0].healthCheck.timeout",
        "must be between 2 and 60 seconds",
        "healthcheck.range",
    ),
    (
        "healthcheck-retries",
        ec2_td,
        _set("containerDefinitions.0.healthCheck.retries", 0),
        None,
        "containerDefinitions[0].healthCheck.retries",
        "must be between 1 and 10",
        "healthcheck.range",
    ),
    (
        "healthcheck-start-period",
        ec2_td,
        _set("containerDefinitions.0.healthCheck.startPeriod", 301),
        None,
        "containerDefinitions[0].healthCheck.startPeriod",
        "must be between 0 and 300 seconds",
        "healthcheck.range",
    ),
    (
        "secret-value-from",
        ec2_td,
        _set("containerDefinitions.0.secrets", [{"name": "PW", "valueFrom": "arn:aws:s3:::bucket/pw"}]),
        None,
        "containerDefinitions[0].secrets[0].valueFrom",
        VALUE_FROM,
        "secrets.value-from",
    ),
    (
        "secrets-need-execution-role",
        ec2_td,
        _set("containerDefinitions.0.secrets", [{"name": "PW", "valueFrom": "/prod/db/password"}]),
        None,
        "executionRoleArn",
        "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        "secrets.execution-role",
    ),
    (
        "log-secret-option-value-from",
        ec2_td,
        _set(
            "containerDefinitions.0.logConfiguration",
            {"logDriver": "splunk", "secretOptions": [{"name": "splunk-token", "valueFrom": "not a name!"}]},
        ),
        None,
        "containerDefinitions[0].logConfiguration.secretOptions[0].valueFrom",
        VALUE_FROM,
        "secrets.value-from",
    ),
    (
        "environment-files-count",
        ec2_td,
        _set(
            "containerDefinitions.0.environmentFiles",
            [{"value": f"arn:aws:s3:::bucket/f{i}.env", "type": "s3"} for i in range(11)],
        ),
        None,
        "containerDefinitions[0].environmentFiles",
        "You can specify up to ten environment files.",
        "environment-files.count",
    ),
    (
        "environment-file-extension",
        ec2_td,
        _set(
            "containerDefinitions.0.environmentFiles",
            [{"value": "arn:aws:s3:::bucket/app.txt", "type": "s3"}],
        ),
        None,
        "containerDefinitions[0].environmentFiles[0].value",
        "The environment file must be the ARN of an Amazon S3 object with a .env file extension.",
        "environment-files.value",
    ),
    (
        "awslogs-group-required",
        ec2_td,
        _set(
            "containerDefinitions.0.logConfiguration",
            {"logDriver": "awslogs", "options": {"awslogs-region": "x"}},
        ),
        None,
        "containerDefinitions[0].logConfiguration.options",
        "Log driver awslogs option 'awslogs-group' should not be null or empty.",
        "log.awslogs-group",
    ),
    (
        "awsfirelens-needs-router",
        ec2_td,
        _set("containerDefinitions.0.logConfiguration", {"logDriver": "awsfirelens"}),
        None,
        "containerDefinitions[0].logConfiguration.logDriver",
        "The awsfirelens log driver requires a container with firelensConfiguration in the task definition.",
        "log.firelens",
    ),
    (
        "hostname-in-awsvpc",
        fargate_td,
        _set("containerDefinitions.0.hostname", "web"),
        None,
        "containerDefinitions[0].hostname",
        "hostname is not supported on container when networkMode=awsvpc.",
        "container.hostname",
    ),
    (
        "links-outside-bridge",
        ec2_td,
        _all(
            _set("networkMode", "host"),
            _set("containerDefinitions.0.links", ["sidecar"]),
            _set("containerDefinitions.0.portMappings", _DELETE),
        ),
        None,
        "containerDefinitions[0].links",
        "links are not supported when networkMode=host.",
        "container.links",
    ),
    (
        "mount-unknown-volume",
        ec2_td,
        _set("containerDefinitions.0.mountPoints", [{"sourceVolume": "data", "containerPath": "/data"}]),
        None,
        "containerDefinitions[0].mountPoints[0].sourceVolume",
        "Invalid 'sourceVolume' setting for container 'web': "
        "volume 'data' is not defined in the task definition's volumes.",
        "mount.volume-exists",
    ),
    (
        "mount-container-path",
        ec2_td,
        _all(
            _set("volumes", [{"name": "data"}]),
            _set("containerDefinitions.0.mountPoints", [{"sourceVolume": "data"}]),
        ),
        None,
        "containerDefinitions[0].mountPoints[0].containerPath",
        "MountPoint.containerPath should not be null or empty.",
        "mount.container-path",
    ),
    (
        "volumes-from-unknown",
        ec2_td,
        _set("containerDefinitions.0.volumesFrom", [{"sourceContainer": "ghost"}]),
        None,
        "containerDefinitions[0].volumesFrom[0].sourceContainer",
        "Invalid 'sourceContainer' setting for container 'web': "
        "'ghost' is not another container of this task definition.",
        "volumes-from.exists",
    ),
    (
        "duplicate-volume",
        ec2_td,
        _set("volumes", [{"name": "data"}, {"name": "data"}]),
        None,
        "volumes[1].name",
        "Duplicate volume name 'data'.",
        "volume.duplicate",
    ),
    (
        "volume-two-kinds",
        ec2_td,
        _set("volumes", [{"name": "data", "host": {}, "dockerVolumeConfiguration": {"scope": "task"}}]),
        None,
        "volumes[0]",
        "A volume can have only one of host, dockerVolumeConfiguration.",
        "volume.one-kind",
    ),
    (
        "efs-access-point-root",
        ec2_td,
        _set(
            "volumes",
            [
                {
                    "name": "efs",
                    "efsVolumeConfiguration": {
                        "fileSystemId": "fs-1",
                        "rootDirectory": "/data",
                        "transitEncryption": "ENABLED",
                        "authorizationConfig": {"accessPointId": "fsap-1"},
                    },
                }
            ],
        ),
        None,
        "volumes[0].efsVolumeConfiguration.rootDirectory",
        "When an access point is specified, rootDirectory must either be omitted or set to '/'.",
        "efs.root-directory",
    ),
    (
        "efs-iam-needs-transit",
        ec2_td,
        _set(
            "volumes",
            [
                {
                    "name": "efs",
                    "efsVolumeConfiguration": {
                        "fileSystemId": "fs-1",
                        "authorizationConfig": {"iam": "ENABLED"},
                    },
                }
            ],
        ),
        None,
        "volumes[0].efsVolumeConfiguration.transitEncryption",
        "Transit encryption must be ENABLED when an EFS access point or IAM authorization is used.",
        "efs.transit-encryption",
    ),
    (
        "efs-access-point-needs-transit",
        ec2_td,
        _set(
            "volumes",
            [
                {
                    "name": "efs",
                    "efsVolumeConfiguration": {
                        "fileSystemId": "fs-1",
                        "transitEncryption": "DISABLED",
                        "authorizationConfig": {"accessPointId": "fsap-1"},
                    },
                }
            ],
        ),
        None,
        "volumes[0].efsVolumeConfiguration.transitEncryption",
        "Transit encryption must be ENABLED when an EFS access point or IAM authorization is used.",
        "efs.transit-encryption",
    ),
    (
        "td-distinct-instance",
        ec2_td,
        _set("placementConstraints", [{"type": "distinctInstance"}]),
        None,
        "placementConstraints[0].type",
        "Task definitions only support the memberOf placement constraint "
        "(distinctInstance is for services and RunTask).",
        "placement.task-definition-type",
    ),
    (
        "td-too-many-constraints",
        ec2_td,
        _set(
            "placementConstraints",
            [{"type": "memberOf", "expression": f"attribute:a{i} exists"} for i in range(11)],
        ),
        None,
        "placementConstraints",
        "You can specify a maximum of 10 placement constraints per task.",
        "placement.constraint-count",
    ),
    (
        "ephemeral-storage",
        fargate_td,
        _set("ephemeralStorage", {"sizeInGiB": 20}),
        None,
        "ephemeralStorage.sizeInGiB",
        "The ephemeral storage size must be between 21 and 200 GiB.",
        "task.ephemeral-storage",
    ),
    (
        "unreadable-cpu",
        ec2_td,
        _set("cpu", "lots"),
        None,
        "cpu",
        "Invalid 'cpu' setting for task",
        "task.cpu-format",
    ),
    (
        "unreadable-memory",
        ec2_td,
        _set("memory", "2 TB"),
        None,
        "memory",
        "Invalid 'memory' setting for task",
        "task.memory-format",
    ),
    (
        "proxy-container",
        ec2_td,
        _set("proxyConfiguration", {"type": "APPMESH", "containerName": "envoy"}),
        None,
        "proxyConfiguration.containerName",
        "Container 'envoy' is not defined in the task definition.",
        "task.proxy-container",
    ),
]


@pytest.mark.parametrize(
    ("base", "mutate", "launch_type", "path", "message", "rule"),
    [pytest.param(*case[1:], id=case[0]) for case in FAILING],
)
def test_rule_fails(
    base: Callable[[], Doc], mutate: Mutation, launch_type: str | None, path: str, message: str, rule: str
) -> None:
    doc = copy.deepcopy(base())
    mutate(doc)
    found = issues(doc, launch_type)
    assert ValidationIssue(path, message, rule) in found, [str(i) for i in found]
    assert str(ValidationIssue(path, message, rule)).startswith(path + ": ")


EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


def _secret(value_from: str) -> Mutation:
    """A secret with the execution role the agent fetches it with (ECS requires both)."""
    return _all(
        _set("containerDefinitions.0.secrets", [{"name": "A", "valueFrom": value_from}]),
        _set("executionRoleArn", EXECUTION_ROLE),
    )


def _efs(config: Doc) -> Mutation:
    return _set("volumes", [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1", **config}}])


# --- passing edge cases: each sits on the allowed side of a rule above -----------------------

PASSING: list[tuple[str, Callable[[], Doc], Mutation]] = [
    (
        "ten-containers",
        ec2_td,
        _set("containerDefinitions", [{"name": f"c{i}", "image": "x", "memory": 64} for i in range(10)]),
    ),
    ("essential-omitted-means-true", ec2_td, _set("containerDefinitions.0.essential", _DELETE)),
    ("memory-equals-reservation", ec2_td, _set("containerDefinitions.0.memoryReservation", 512)),
    (
        "task-memory-covers-containers",
        ec2_td,
        _all(_set("memory", "1GB"), _set("containerDefinitions.1.memoryReservation", _DELETE)),
    ),
    ("bridge-dynamic-port-omitted", ec2_td, _set("containerDefinitions.0.portMappings.0.hostPort", _DELETE)),
    ("bridge-static-port", ec2_td, _set("containerDefinitions.0.portMappings.0.hostPort", 8080)),
    ("awsvpc-host-port-omitted", fargate_td, _set("containerDefinitions.0.portMappings.0.hostPort", _DELETE)),
    (
        "host-mode-port-equal",
        ec2_td,
        _all(_set("networkMode", "host"), _set("containerDefinitions.0.portMappings.0.hostPort", 80)),
    ),
    (
        "reserved-port-in-awsvpc",
        fargate_td,
        _set("containerDefinitions.0.portMappings", [{"containerPort": 22, "hostPort": 22}]),
    ),
    ("udp-protocol", ec2_td, _set("containerDefinitions.0.portMappings.0.protocol", "udp")),
    (
        "port-range",
        fargate_td,
        _set("containerDefinitions.0.portMappings", [{"containerPortRange": "8000-8010"}]),
    ),
    (
        "complete-on-non-essential",
        ec2_td,
        _set("containerDefinitions.0.dependsOn", [{"containerName": "sidecar", "condition": "COMPLETE"}]),
    ),
    (
        "success-on-non-essential",
        ec2_td,
        _set("containerDefinitions.0.dependsOn", [{"containerName": "sidecar", "condition": "SUCCESS"}]),
    ),
    (
        "start-on-essential",
        ec2_td,
        _set("containerDefinitions.1.dependsOn", [{"containerName": "web", "condition": "START"}]),
    ),
    (
        "healthy-with-check",
        ec2_td,
        _set("containerDefinitions.1.dependsOn", [{"containerName": "web", "condition": "HEALTHY"}]),
    ),
    (
        "healthcheck-bounds-low",
        ec2_td,
        _set(
            "containerDefinitions.0.healthCheck",
            {"command": ["CMD", "true"], "interval": 5, "timeout": 2, "retries": 1, "startPeriod": 0},
        ),
    ),
    (
        "healthcheck-bounds-high",
        ec2_td,
        _set(
            "containerDefinitions.0.healthCheck",
            {"command": ["CMD", "true"], "interval": 300, "timeout": 60, "retries": 10, "startPeriod": 300},
        ),
    ),
    ("secret-sm-arn", ec2_td, _secret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")),
    (
        "secret-sm-json-key",
        ec2_td,
        _secret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:username:AWSPREVIOUS:"),
    ),
    (
        "secret-sm-version-id",
        ec2_td,
        _secret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:::9f8e7d6c-0000-1111"),
    ),
    ("secret-ssm-arn", ec2_td, _secret("arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password")),
    ("secret-ssm-name", ec2_td, _secret("db_password")),
    ("secret-ssm-path", ec2_td, _secret("/prod/db/password")),
    (
        "ten-env-files",
        ec2_td,
        _set(
            "containerDefinitions.0.environmentFiles",
            [{"value": f"arn:aws:s3:::bucket/f{i}.env", "type": "s3"} for i in range(10)],
        ),
    ),
    (
        "gelf-log-driver",
        ec2_td,
        _set(
            "containerDefinitions.0.logConfiguration",
            {"logDriver": "gelf", "options": {"gelf-address": "udp://x:12201"}},
        ),
    ),
    (
        "awsfirelens-with-router",
        ec2_td,
        _all(
            _set("containerDefinitions.0.logConfiguration", {"logDriver": "awsfirelens"}),
            _set("containerDefinitions.1.firelensConfiguration", {"type": "fluentbit"}),
        ),
    ),
    (
        "mount-known-volume",
        ec2_td,
        _all(
            _set("volumes", [{"name": "data", "host": {}}]),
            _set("containerDefinitions.0.mountPoints", [{"sourceVolume": "data", "containerPath": "/data"}]),
        ),
    ),
    (
        "volumes-from-other",
        ec2_td,
        _set("containerDefinitions.0.volumesFrom", [{"sourceContainer": "sidecar", "readOnly": True}]),
    ),
    (
        "efs-access-point-root-slash",
        ec2_td,
        _efs(
            {
                "rootDirectory": "/",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"},
            }
        ),
    ),
    ("efs-plain", ec2_td, _efs({"rootDirectory": "/exports"})),
    (
        "ten-member-of",
        ec2_td,
        _set(
            "placementConstraints",
            [{"type": "memberOf", "expression": f"attribute:a{i} exists"} for i in range(10)],
        ),
    ),
    ("ephemeral-storage-bounds", fargate_td, _set("ephemeralStorage", {"sizeInGiB": 200})),
    ("configured-at-launch", ec2_td, _set("volumes", [{"name": "ebs", "configuredAtLaunch": True}])),
    (
        "proxy-container-exists",
        ec2_td,
        _set("proxyConfiguration", {"type": "APPMESH", "containerName": "sidecar"}),
    ),
]


@pytest.mark.parametrize(("base", "mutate"), [pytest.param(*case[1:], id=case[0]) for case in PASSING])
def test_rule_passes(base: Callable[[], Doc], mutate: Mutation) -> None:
    doc = copy.deepcopy(base())
    mutate(doc)
    assert [str(i) for i in issues(doc)] == []


def test_all_issues_are_reported_in_one_pass() -> None:
    doc = ec2_td()
    c0(doc)["healthCheck"]["interval"] = 1
    c0(doc)["healthCheck"]["retries"] = 99
    doc["containerDefinitions"][1]["image"] = ""
    doc["containerDefinitions"][1]["dependsOn"] = [{"containerName": "nope", "condition": "START"}]
    rules = sorted(i.rule for i in issues(doc))
    assert rules == [
        "container.image-required",
        "depends-on.exists",
        "healthcheck.range",
        "healthcheck.range",
    ]


def test_validation_does_not_mutate_or_need_copies() -> None:
    td = TaskDefinition.model_validate(ec2_td())
    before = td.model_dump()
    validate_task_definition(td)
    assert td.model_dump() == before


def test_healthcheck_needs_something_to_run() -> None:
    doc = ec2_td()
    c0(doc)["healthCheck"]["command"] = ["CMD-SHELL"]
    assert [(i.path, i.message) for i in issues(doc)] == [
        (
            "containerDefinitions[0].healthCheck.command",
            "The health check command has nothing to run after CMD-SHELL.",
        )
    ]


def _chain(edges: dict[str, list[str]]) -> Doc:
    containers = [
        {
            "name": name,
            "image": "busybox",
            "memory": 64,
            "dependsOn": [{"containerName": dep, "condition": "START"} for dep in deps],
        }
        for name, deps in edges.items()
    ]
    return {"family": "graph", "containerDefinitions": containers}


def test_longer_cycles_are_found_and_diamonds_are_not_cycles() -> None:
    cycle = issues(_chain({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}))
    assert [(i.path, i.message) for i in cycle] == [
        ("containerDefinitions[0].dependsOn", "Container dependencies form a cycle: a -> b -> c -> a")
    ]
    assert issues(_chain({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []})) == []


def test_environment_file_type_must_be_s3() -> None:
    doc = ec2_td()
    c0(doc)["environmentFiles"] = [{"value": "arn:aws:s3:::bucket/app.env", "type": "http"}]
    with pytest.raises(ModelLoadError) as err:
        parse_task_definition(doc)
    assert [(i.path, i.message) for i in err.value.issues] == [
        ("containerDefinitions[0].environmentFiles[0].type", "Input should be 's3'")
    ]
