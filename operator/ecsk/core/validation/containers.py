"""Per-container rules: identity, memory, ports, health check, secrets, env files, logging."""

from __future__ import annotations

import re

from ecsk.core.models.common import Secret
from ecsk.core.models.containers import ContainerDefinition, HealthCheck
from ecsk.core.models.taskdef import NetworkMode
from ecsk.core.validation.issues import Issues

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
RESERVED_HOST_PORTS = frozenset({22, 2375, 2376, 51678, 51679, 51680})
_PORT_RANGE_RE = re.compile(r"^(\d{1,5})-(\d{1,5})$")

_SECRETS_MANAGER_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+"  # secret name (with suffix)
    r"(?::[^:]*(?::[^:]*(?::[^:]*)?)?)?$"  # optional :json-key:version-stage:version-id
)
_SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_.\-/]+$")
_SSM_NAME = re.compile(r"^/?[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*$")
_S3_ENV_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9.\-]{3,63}/.+\.env$")

# (name, minimum, maximum) of each health check setting, with ECS's documented bounds.
_HEALTH_RANGES: tuple[tuple[str, int, int], ...] = (
    ("interval", 5, 300),
    ("timeout", 2, 60),
    ("retries", 1, 10),
    ("startPeriod", 0, 300),
)

HEALTHCHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}
"""ECS's defaults when the health check leaves a setting out (startPeriod: none)."""

# Rules ECS documents but does not enforce at registration: warnings that say what happens.
HEALTHCHECK_AS_GIVEN = (
    "ECS registers a health check command that does not start with CMD or CMD-SHELL and passes it "
    "to Docker as given; Docker only documents [CMD, args...] and [CMD-SHELL, command], so whether "
    "it runs depends on the container runtime. ecsk runs the list as an exec probe, as [CMD, ...] would."
)
HEALTHCHECK_NONE = (
    "ECS passes [NONE] to Docker, which disables the image's own health check: "
    "ecsk renders no probe, and the container's health stays UNKNOWN."
)
RESERVED_PORT = (
    "Host port {port} is reserved by default on ECS container instances (22, 2375, 2376, 51678-51680). "
    "ECS registers the task definition, but cannot place the task on an instance that reserves the "
    "port (it stays PENDING there); ecsk renders the port as given."
)
MEMORY_MINIMUM = (
    "'{field}' for container '{label}' is below 6 MiB. ECS registers it, but Docker 20.10 and later "
    "refuse to create the container (CannotCreateContainerError: minimum 6MB); ecsk renders it as given."
)


def is_valid_secret_reference(value_from: str) -> bool:
    """Secrets Manager ARN (optionally with json-key/stage/version), SSM ARN, or bare SSM name."""
    if value_from.startswith("arn:"):
        return bool(_SECRETS_MANAGER_ARN.match(value_from) or _SSM_ARN.match(value_from))
    return bool(_SSM_NAME.match(value_from))


def check_identity(base: str, c: ContainerDefinition, out: Issues) -> None:
    if not c.name:
        out.add(f"{base}.name", "Container.name should not be null or empty.", "container.name-required")
    elif not NAME_RE.match(c.name):
        out.add(
            f"{base}.name",
            "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
            "container.name-format",
        )
    if not c.image or not c.image.strip():
        out.add(f"{base}.image", "Container.image should not be null or empty.", "container.image-required")


def check_memory(
    base: str, c: ContainerDefinition, task_memory: int | None, task_memory_set: bool, out: Issues
) -> None:
    """Hard limit vs soft limit, and the per-container requirement when the task sets no memory.

    ECS documents `memory > memoryReservation` but registers `memory == memoryReservation` (a
    Guaranteed-QoS shape in Kubernetes terms); only a reservation above the limit is refused.
    """
    label = c.name or "?"
    for field in ("memory", "memoryReservation"):
        value = getattr(c, field)
        if value is not None and value < 6:
            out.warn(
                f"{base}.{field}", MEMORY_MINIMUM.format(field=field, label=label), "container.memory-minimum"
            )
    if c.memory is not None and c.memoryReservation is not None and c.memoryReservation > c.memory:
        out.add(
            f"{base}.memoryReservation",
            f"Invalid 'memoryReservation' setting for container '{label}'. "
            "'memory' must be greater than or equal to 'memoryReservation'.",
            "container.memory-reservation",
        )
    if not task_memory_set and c.memory is None and c.memoryReservation is None:
        out.add(
            base,
            f"Invalid setting for container '{label}'. "
            "At least one of 'memory' or 'memoryReservation' must be specified.",
            "container.memory-required",
        )
    if task_memory is not None and c.memory is not None and c.memory > task_memory:
        out.add(
            f"{base}.memory",
            f"The 'memory' setting for container '{label}' is greater than for task.",
            "container.memory-exceeds-task",
        )


def check_ports(base: str, c: ContainerDefinition, mode: NetworkMode, out: Issues) -> None:
    label = c.name or "?"
    mappings = c.portMappings or ()
    if mappings and mode == "none":
        out.add(
            f"{base}.portMappings",
            "Port mappings are not supported when networkMode=none.",
            "ports.none-mode",
        )
        return
    for j, pm in enumerate(mappings):
        at = f"{base}.portMappings[{j}]"
        if pm.containerPortRange is not None:
            _check_range(at, pm.containerPortRange, pm.containerPort, pm.hostPort, out)
            continue
        if pm.containerPort is None or not 1 <= pm.containerPort <= 65535:
            out.add(
                f"{at}.containerPort",
                f"Invalid 'containerPort' setting for container '{label}'.",
                "ports.container-port",
            )
            continue
        if pm.hostPort is not None and not 0 <= pm.hostPort <= 65535:
            out.add(
                f"{at}.hostPort", f"Invalid 'hostPort' setting for container '{label}'.", "ports.host-port"
            )
            continue
        if mode in ("awsvpc", "host"):
            if pm.hostPort is not None and pm.hostPort != pm.containerPort:
                out.add(
                    f"{at}.hostPort",
                    f"When networkMode={mode}, "
                    "the host ports and container ports in port mappings must match.",
                    "ports.host-equals-container",
                )
            bound = pm.containerPort if mode == "host" else None
        else:
            bound = pm.hostPort or None  # bridge: 0/omitted = dynamic, never reserved
        if bound in RESERVED_HOST_PORTS:
            out.warn(f"{at}.hostPort", RESERVED_PORT.format(port=bound), "ports.reserved")


def _check_range(at: str, text: str, container_port: int | None, host_port: int | None, out: Issues) -> None:
    match = _PORT_RANGE_RE.match(text)
    if match is None or not 1 <= int(match.group(1)) < int(match.group(2)) <= 65535:
        out.add(
            f"{at}.containerPortRange",
            "containerPortRange must look like 'start-end' with 1 <= start < end <= 65535.",
            "ports.range",
        )
    if container_port is not None or host_port is not None:
        out.add(
            f"{at}.containerPortRange",
            "containerPortRange cannot be combined with containerPort or hostPort.",
            "ports.range-exclusive",
        )


def check_health(base: str, hc: HealthCheck, out: Issues) -> None:
    at = f"{base}.healthCheck"
    if not hc.command:
        out.add(
            f"{at}.command",
            "The health check command must start with CMD or CMD-SHELL.",
            "healthcheck.command",
        )
    elif hc.command[0] == "NONE":
        out.warn(f"{at}.command", HEALTHCHECK_NONE, "healthcheck.command-form")
    elif hc.command[0] not in ("CMD", "CMD-SHELL"):
        out.warn(f"{at}.command", HEALTHCHECK_AS_GIVEN, "healthcheck.command-form")
    elif len(hc.command) < 2:
        out.add(
            f"{at}.command",
            "The health check command has nothing to run after " + hc.command[0] + ".",
            "healthcheck.command",
        )
    for name, low, high in _HEALTH_RANGES:
        value = getattr(hc, name)
        if value is not None and not low <= value <= high:
            out.add(
                f"{at}.{name}",
                f"must be between {low} and {high} seconds"
                if name != "retries"
                else f"must be between {low} and {high}",
                "healthcheck.range",
            )


def check_secrets(at: str, secrets: list[Secret], out: Issues) -> None:
    seen: set[str] = set()
    for k, secret in enumerate(secrets):
        if not is_valid_secret_reference(secret.valueFrom):
            out.add(
                f"{at}[{k}].valueFrom",
                "valueFrom must be the ARN of a Secrets Manager secret "
                "(optionally :json-key:version-stage:version-id) "
                "or the ARN or name of an SSM parameter.",
                "secrets.value-from",
            )
        if secret.name in seen:
            out.add(f"{at}[{k}].name", f"Duplicate secret name '{secret.name}'.", "secrets.duplicate")
        seen.add(secret.name)


def check_resource_requirements(base: str, c: ContainerDefinition, out: Issues) -> None:
    """The ResourceRequirement rules of the API reference: a value unless a GPU shares by
    strategy; NeuronDevice only as ALL (every Neuron device of the instance)."""
    for j, req in enumerate(c.resourceRequirements or ()):
        at = f"{base}.resourceRequirements[{j}]"
        if req.value is None and not (req.type == "GPU" and req.sharingStrategy):
            out.add(
                f"{at}.value",
                "You must specify value unless the type is GPU and you specify sharingStrategy.",
                "resources.value",
            )
        elif req.type == "NeuronDevice" and req.value != "ALL":
            out.add(f"{at}.value", "When the type is NeuronDevice, the value must be ALL.", "resources.value")


def check_container_misc(base: str, c: ContainerDefinition, mode: NetworkMode, out: Issues) -> None:
    check_resource_requirements(base, c, out)
    files = c.environmentFiles or ()
    if len(files) > 10:
        out.add(
            f"{base}.environmentFiles",
            "You can specify up to ten environment files.",
            "environment-files.count",
        )
    for k, env_file in enumerate(files):
        if not _S3_ENV_ARN.match(env_file.value):
            out.add(
                f"{base}.environmentFiles[{k}].value",
                "The environment file must be the ARN of an Amazon S3 object with a .env file extension.",
                "environment-files.value",
            )
    if c.secrets:
        check_secrets(f"{base}.secrets", c.secrets, out)
    log = c.logConfiguration
    if log is not None:
        if log.secretOptions:
            check_secrets(f"{base}.logConfiguration.secretOptions", log.secretOptions, out)
        if log.logDriver == "awslogs" and not (log.options or {}).get("awslogs-group"):
            out.add(
                f"{base}.logConfiguration.options",
                "Log driver awslogs option 'awslogs-group' should not be null or empty.",
                "log.awslogs-group",
            )
    if c.hostname is not None and mode == "awsvpc":
        out.add(
            f"{base}.hostname",
            "hostname is not supported on container when networkMode=awsvpc.",
            "container.hostname",
        )
    if c.links and mode != "bridge":
        out.add(f"{base}.links", f"links are not supported when networkMode={mode}.", "container.links")
