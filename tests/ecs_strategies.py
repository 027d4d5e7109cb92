"""Hypothesis strategies for ECS documents as users paste them (AWS JSON shapes, not our models).

Built to be valid by construction for the rules ECS enforces (unique container names, at least one
essential container, acyclic dependsOn, mount points naming declared volumes, Fargate sizes from
the published table, ports that fit the network mode), so a generated document that ecsk refuses
is a false refusal, and one whose rendering the apiserver refuses is a translation bug. Shared by
the unit property tests and the server-side dry-run fuzz test.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

Json = dict[str, Any]

FARGATE_SIZES: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}
"""Fargate task sizes as the ECS developer guide's table lists them, written out independently of
ecsk's own table so that a wrong pair there shows up as a false refusal here."""

NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True)
FAMILY = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,40}", fullmatch=True)
IMAGES = st.sampled_from(
    [
        "nginx:1.25",
        "public.ecr.aws/docker/library/redis:7",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2.3.1",
        "ghcr.io/example/worker@sha256:" + "a" * 64,
        "busybox",
    ]
)
ENV_NAME = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
ENV_VALUE = st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=30)
SECRET_FROM = st.sampled_from(
    [
        "arn:aws:ssm:us-east-1:123456789012:parameter/app/db-host",
        "/app/api-key",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-creds-xYz123",
    ]
)
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
REGIONS = st.sampled_from(["us-east-1", "eu-west-1"])


@st.composite
def health_checks(draw: st.DrawFn) -> Json:
    command = draw(
        st.sampled_from(
            [
                ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                ["CMD", "/bin/healthcheck", "--quick"],
                ["CMD-SHELL", "pg_isready -U postgres"],
            ]
        )
    )
    hc: Json = {"command": command}
    for key, lo, hi in (
        ("interval", 5, 300),
        ("timeout", 2, 60),
        ("retries", 1, 10),
        ("startPeriod", 0, 300),
    ):
        if draw(st.booleans()):
            hc[key] = draw(st.integers(lo, hi))
    if hc.get("timeout") and hc.get("interval") and hc["timeout"] >= hc["interval"]:
        hc["timeout"] = max(2, hc["interval"] - 1)
    return hc


@st.composite
def containers(
    draw: st.DrawFn, name: str, mode: str, fargate: bool, volumes: list[str], earlier: list[str]
) -> Json:
    c: Json = {"name": name, "image": draw(IMAGES)}
    if not fargate or draw(st.booleans()):
        memory = draw(st.sampled_from([64, 128, 256, 512]))
        c[draw(st.sampled_from(["memory", "memoryReservation"]))] = memory
    if draw(st.booleans()):
        c["cpu"] = draw(st.sampled_from([0, 64, 128, 256]))
    if draw(st.booleans()):
        port = draw(st.integers(1024, 9000))
        mapping: Json = {"containerPort": port, "protocol": draw(st.sampled_from(["tcp", "udp"]))}
        if mode == "bridge":
            mapping["hostPort"] = draw(st.sampled_from([0, port]))
        elif mode in ("awsvpc", "host") and draw(st.booleans()):
            mapping["hostPort"] = port
        if draw(st.booleans()):
            mapping["name"] = f"{name}-{port}"[:60]
        c["portMappings"] = [mapping]
    if draw(st.booleans()):
        names = draw(st.lists(ENV_NAME, max_size=4, unique=True))
        c["environment"] = [{"name": n, "value": draw(ENV_VALUE)} for n in names]
    if draw(st.booleans()):
        names = draw(st.lists(ENV_NAME, min_size=1, max_size=3, unique=True))
        taken = {e["name"] for e in c.get("environment", [])}
        c["secrets"] = [{"name": n, "valueFrom": draw(SECRET_FROM)} for n in names if n not in taken]
    if draw(st.booleans()):
        c["healthCheck"] = draw(health_checks())
    if draw(st.booleans()):
        c["command"] = draw(
            st.lists(st.sampled_from(["--port", "8080", "serve", "-v"]), min_size=1, max_size=3)
        )
    if draw(st.booleans()):
        c["entryPoint"] = ["/bin/sh", "-c"]
    if volumes and draw(st.booleans()):
        source = draw(st.sampled_from(volumes))
        c["mountPoints"] = [
            {"sourceVolume": source, "containerPath": f"/data/{source}", "readOnly": draw(st.booleans())}
        ]
    if earlier and draw(st.booleans()):
        target = draw(st.sampled_from(earlier))
        c["dependsOn"] = [
            {"containerName": target, "condition": draw(st.sampled_from(["START", "COMPLETE", "SUCCESS"]))}
        ]
    if draw(st.booleans()):
        c["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/app",
                "awslogs-region": draw(REGIONS),
                "awslogs-stream-prefix": "ecs",
            },
        }
    if draw(st.booleans()):
        c["readonlyRootFilesystem"] = draw(st.booleans())
    if draw(st.booleans()):
        c["linuxParameters"] = {"initProcessEnabled": draw(st.booleans())}
        if not fargate and draw(st.booleans()):
            c["linuxParameters"]["capabilities"] = {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}
    if draw(st.booleans()):
        c["stopTimeout"] = draw(st.integers(0, 120))
    if draw(st.booleans()):
        c["dockerLabels"] = {"com.example.team": draw(st.sampled_from(["payments", "search"]))}
    if draw(st.booleans()):
        c["ulimits"] = [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}]
    return c


@st.composite
def task_definitions(draw: st.DrawFn, fargate: bool | None = None) -> Json:
    """A RegisterTaskDefinition input, as `aws ecs register-task-definition --cli-input-json` takes."""
    if fargate is None:
        fargate = draw(st.booleans())
    mode = "awsvpc" if fargate else draw(st.sampled_from(["bridge", "host", "awsvpc"]))
    volumes: list[Json] = []
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["plain", "efs"] + ([] if fargate else ["host", "docker"])))
        vol: Json = {"name": f"vol{i}"}
        if kind == "host":
            vol["host"] = {"sourcePath": f"/var/lib/app{i}"}
        elif kind == "docker":
            vol["dockerVolumeConfiguration"] = {"scope": "task", "driver": "local"}
        elif kind == "efs":
            vol["efsVolumeConfiguration"] = {
                "fileSystemId": "fs-0123456789abcdef0",
                "transitEncryption": "ENABLED",
            }
        volumes.append(vol)
    names = draw(st.lists(NAME, min_size=1, max_size=4, unique=True))
    defs = [
        draw(containers(name, mode, fargate, [v["name"] for v in volumes], names[:i]))
        for i, name in enumerate(names)
    ]
    for c in defs:  # a port can be taken once per task in awsvpc/host mode
        if mode != "bridge" and _port_taken(c, defs):
            c.pop("portMappings")
    essentials = draw(st.lists(st.booleans(), min_size=len(defs), max_size=len(defs)))
    if not any(essentials):
        essentials[0] = True
    for c, essential in zip(defs, essentials, strict=True):
        c["essential"] = essential
        for dep in c.get("dependsOn", []):  # COMPLETE/SUCCESS targets must not be essential
            target = next(d for d in defs if d["name"] == dep["containerName"])
            if dep["condition"] != "START" and target["essential"]:
                dep["condition"] = "HEALTHY" if "healthCheck" in target else "START"
    td: Json = {"family": draw(FAMILY), "containerDefinitions": defs, "networkMode": mode}
    if volumes:
        td["volumes"] = volumes
    if fargate:
        cpu, memories = draw(st.sampled_from(sorted(FARGATE_SIZES.items())))
        td.update(
            requiresCompatibilities=["FARGATE"], cpu=str(cpu), memory=str(draw(st.sampled_from(memories)))
        )
        td["executionRoleArn"] = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
        for c in defs:
            c.get("linuxParameters", {}).pop("capabilities", None)
    else:
        if any("memory" not in c and "memoryReservation" not in c for c in defs):
            td["memory"] = "2048"
        if draw(st.booleans()):
            td["cpu"] = draw(st.sampled_from(["256", "1024", "1 vCPU"]))
    _fit_containers_in_task(td)
    if any(c.get("secrets") for c in defs):
        td["executionRoleArn"] = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    if draw(st.booleans()):
        td["taskRoleArn"] = "arn:aws:iam::123456789012:role/" + draw(st.sampled_from(["app-task", "worker"]))
    if draw(st.booleans()):
        td["tags"] = [{"key": "team", "value": "platform"}]
    return td


def _fit_containers_in_task(td: Json) -> None:
    """Container reservations must fit the task size: drop them where they would not."""
    units = {"1 vCPU": 1024}
    if "cpu" in td:
        task_cpu = units.get(td["cpu"]) or int(td["cpu"])
        if sum(c.get("cpu", 0) for c in td["containerDefinitions"]) > task_cpu:
            for c in td["containerDefinitions"]:
                c.pop("cpu", None)
    if "memory" in td:
        reserved = sum(c.get("memory") or c.get("memoryReservation") or 0 for c in td["containerDefinitions"])
        if reserved > int(td["memory"]):
            for c in td["containerDefinitions"]:
                c.pop("memory", None)
                c.pop("memoryReservation", None)


def _port_taken(c: Json, defs: list[Json]) -> bool:
    mine = {p["containerPort"] for p in c.get("portMappings", [])}
    for other in defs:
        if other is c:
            return False
        if mine & {p["containerPort"] for p in other.get("portMappings", [])}:
            return True
    return False


@st.composite
def services_for(draw: st.DrawFn, td: Json) -> Json:
    """A CreateService input that runs `td` (its launch type follows the task definition)."""
    fargate = "FARGATE" in td.get("requiresCompatibilities", [])
    svc: Json = {"serviceName": draw(NAME), "taskDefinition": td["family"], "cluster": "default"}
    svc["desiredCount"] = draw(st.integers(0, 6))
    svc["launchType"] = "FARGATE" if fargate else "EC2"
    if draw(st.booleans()):
        low = draw(st.integers(0, 100))
        svc["deploymentConfiguration"] = {
            "minimumHealthyPercent": low,
            "maximumPercent": draw(st.integers(max(low, 100) + 0, 200)),
        }
        if draw(st.booleans()):
            svc["deploymentConfiguration"]["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
    if td.get("networkMode") == "awsvpc":
        svc["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": ["subnet-0a1b2c3d"],
                "securityGroups": ["sg-0123abcd"],
                "assignPublicIp": "DISABLED",
            }
        }
    if not fargate and draw(st.booleans()):
        svc["placementStrategy"] = draw(
            st.sampled_from(
                [
                    [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
                    [{"type": "binpack", "field": "memory"}],
                    [
                        {"type": "spread", "field": "attribute:ecs.availability-zone"},
                        {"type": "binpack", "field": "cpu"},
                    ],
                    [{"type": "random"}],
                    [{"type": "spread", "field": "instanceId"}],
                ]
            )
        )
    if not fargate and draw(st.booleans()):
        svc["placementConstraints"] = draw(
            st.sampled_from(
                [
                    [{"type": "distinctInstance"}],
                    [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"}],
                    [
                        {
                            "type": "memberOf",
                            "expression": "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
                        }
                    ],
                ]
            )
        )
    ported = [
        (c["name"], p["containerPort"]) for c in td["containerDefinitions"] for p in c.get("portMappings", [])
    ]
    if ported and draw(st.booleans()):
        name, port = draw(st.sampled_from(ported))
        svc["loadBalancers"] = [
            {
                "targetGroupArn": TARGET_GROUP,
                "containerName": name,
                "containerPort": port,
            }
        ]
        svc["healthCheckGracePeriodSeconds"] = draw(st.integers(0, 300))
    if draw(st.booleans()):
        svc["propagateTags"] = draw(st.sampled_from(["SERVICE", "TASK_DEFINITION", "NONE"]))
    if draw(st.booleans()):
        svc["enableExecuteCommand"] = draw(st.booleans())
    return svc


@st.composite
def task_definition_and_service(draw: st.DrawFn) -> tuple[Json, Json]:
    td = draw(task_definitions())
    return td, draw(services_for(td))
