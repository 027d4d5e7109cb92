"""Fargate rules: the cpu/memory table, awsvpc, and the parameters Fargate refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecsk.core.models import parse_task_definition
from ecsk.core.validation import (
    FARGATE_CPU_MEMORY,
    INVALID_CPU,
    ValidationIssue,
    fargate_memory_options,
    fargate_size_for,
    validate_task_definition,
)

Doc = dict[str, Any]


def fargate_td(cpu: Any = "256", memory: Any = "512") -> Doc:
    return {
        "family": "app",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": [{"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}]}],
    }


def run(doc: Doc, launch_type: str | None = None) -> list[ValidationIssue]:
    return validate_task_definition(parse_task_definition(doc), launch_type)


TABLE = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}


def test_table_matches_the_reference() -> None:
    assert {(c, m) for c, ms in TABLE.items() for m in ms} == FARGATE_CPU_MEMORY
    assert fargate_memory_options(256) == [512, 1024, 2048]


@pytest.mark.parametrize(("cpu", "memory"), sorted(FARGATE_CPU_MEMORY))
def test_every_valid_pair_passes(cpu: int, memory: int) -> None:
    assert run(fargate_td(str(cpu), str(memory))) == []


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        ("256", "4096"),
        ("512", "512"),
        ("1024", "1024"),
        ("2048", "17408"),
        ("4096", "31744"),
        ("8192", "18432"),
        ("16384", "36864"),
        ("128", "512"),
    ],
)
def test_invalid_pairs_use_the_aws_wording(cpu: str, memory: str) -> None:
    assert ValidationIssue("cpu", INVALID_CPU, "fargate.cpu-memory") in run(fargate_td(cpu, memory))


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        ("1 vCPU", "2GB"),
        ("0.25 vCPU", "0.5GB"),
        (".5 vcpu", "1 GB"),
        (1024, 3072),
        ("4 vCPU", "30GB"),
        ("16 vCPU", "120 GB"),
    ],
)
def test_unit_strings_and_numbers_are_normalised(cpu: Any, memory: Any) -> None:
    assert run(fargate_td(cpu, memory)) == []


def test_invalid_pair_in_unit_strings() -> None:
    assert [str(i) for i in run(fargate_td("1 vCPU", "1GB"))] == ["cpu: Invalid 'cpu' setting for task"]


def test_fargate_needs_task_cpu_and_memory() -> None:
    doc = fargate_td()
    del doc["cpu"], doc["memory"]
    doc["containerDefinitions"][0]["memory"] = 512
    found = {(i.path, i.message) for i in run(doc)}
    assert ("cpu", "Fargate requires that 'cpu' be defined at the task level.") in found
    assert ("memory", "Fargate requires that 'memory' be defined at the task level.") in found


def test_fargate_requires_awsvpc() -> None:
    doc = fargate_td()
    doc["networkMode"] = "bridge"
    assert ValidationIssue(
        "networkMode", "Fargate only supports network mode 'awsvpc'.", "fargate.network-mode"
    ) in run(doc)


def test_fargate_launch_type_applies_rules_without_requires_compatibilities() -> None:
    doc = fargate_td(cpu="256", memory="4096")
    del doc["requiresCompatibilities"]
    assert run(doc) == []  # EC2 accepts any size
    assert [i.rule for i in run(doc, "FARGATE")] == ["fargate.cpu-memory"]


def _unsupported(param: str) -> str:
    return f"Tasks using the Fargate launch type do not support {param}."


def _container(**fields: Any) -> Doc:
    doc = fargate_td()
    doc["containerDefinitions"][0].update(fields)
    return doc


def _task(**fields: Any) -> Doc:
    doc = fargate_td()
    doc.update(fields)
    return doc


UNSUPPORTED = [
    (
        "privileged",
        _container(privileged=True),
        "containerDefinitions[0].privileged",
        _unsupported("privileged"),
    ),
    ("links", _container(links=["db"]), "containerDefinitions[0].links", _unsupported("links")),
    (
        "pidMode",
        _task(pidMode="host"),
        "pidMode",
        "On Fargate for Linux containers, the only valid pidMode is task.",
    ),
    ("ipcMode", _task(ipcMode="host"), "ipcMode", _unsupported("ipcMode")),
    (
        "placementConstraints",
        _task(placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]),
        "placementConstraints",
        _unsupported("placementConstraints"),
    ),
    (
        "hostPort",
        _container(portMappings=[{"containerPort": 80, "hostPort": 8080}]),
        "containerDefinitions[0].portMappings[0].hostPort",
        "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
    ),
    (
        "dockerVolumeConfiguration",
        _task(volumes=[{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}]),
        "volumes[0].dockerVolumeConfiguration",
        _unsupported("dockerVolumeConfiguration"),
    ),
    (
        "host-sourcePath",
        _task(volumes=[{"name": "v", "host": {"sourcePath": "/var/run/docker.sock"}}]),
        "volumes[0].host.sourcePath",
        _unsupported("host volumes with a sourcePath"),
    ),
    (
        "gpu",
        _container(resourceRequirements=[{"type": "GPU", "value": "1"}]),
        "containerDefinitions[0].resourceRequirements[0]",
        _unsupported("GPU resource requirements"),
    ),
    (
        "dnsServers",
        _container(dnsServers=["10.0.0.2"]),
        "containerDefinitions[0].dnsServers",
        _unsupported("dnsServers"),
    ),
    (
        "extraHosts",
        _container(extraHosts=[{"hostname": "db", "ipAddress": "10.0.0.5"}]),
        "containerDefinitions[0].extraHosts",
        _unsupported("extraHosts"),
    ),
    (
        "dockerSecurityOptions",
        _container(dockerSecurityOptions=["no-new-privileges"]),
        "containerDefinitions[0].dockerSecurityOptions",
        _unsupported("dockerSecurityOptions"),
    ),
    (
        "devices",
        _container(linuxParameters={"devices": [{"hostPath": "/dev/fuse"}]}),
        "containerDefinitions[0].linuxParameters.devices",
        _unsupported("linuxParameters.devices"),
    ),
    (
        "capabilities",
        _container(linuxParameters={"capabilities": {"add": ["NET_ADMIN"]}}),
        "containerDefinitions[0].linuxParameters.capabilities.add[0]",
        "Fargate only supports adding the SYS_PTRACE kernel capability.",
    ),
    (
        "log-driver",
        _container(logConfiguration={"logDriver": "json-file"}),
        "containerDefinitions[0].logConfiguration.logDriver",
        "Log driver json-file is not supported on Fargate (awslogs, splunk, awsfirelens).",
    ),
    (
        "stopTimeout",
        _container(stopTimeout=121),
        "containerDefinitions[0].stopTimeout",
        "must be between 0 and 120 seconds on Fargate",
    ),
]


@pytest.mark.parametrize(("doc", "path", "message"), [pytest.param(*c[1:], id=c[0]) for c in UNSUPPORTED])
def test_unsupported_on_fargate(doc: Doc, path: str, message: str) -> None:
    found = run(copy.deepcopy(doc))
    assert (path, message) in {(i.path, i.message) for i in found}, [str(i) for i in found]
    without_fargate = copy.deepcopy(doc)
    without_fargate.pop("requiresCompatibilities")
    without_fargate["networkMode"] = "bridge" if path != "pidMode" else "awsvpc"
    assert (path, message) not in {(i.path, i.message) for i in run(without_fargate)}


def test_fargate_allows_sys_ptrace_and_supported_drivers() -> None:
    doc = _container(
        linuxParameters={
            "capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]},
            "initProcessEnabled": True,
        },
        logConfiguration={"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
        stopTimeout=120,
    )
    assert run(doc) == []


@pytest.mark.parametrize(
    ("cpu", "memory", "size"),
    [
        (100, 300, (256, 512)),
        (256, 513, (256, 1024)),
        (300, 600, (512, 1024)),
        (4096, 31000, (8192, 32768)),
        (20000, 1, None),
    ],
)
def test_fargate_size_rounds_up(cpu: int, memory: int, size: tuple[int, int] | None) -> None:
    assert fargate_size_for(cpu, memory) == size
