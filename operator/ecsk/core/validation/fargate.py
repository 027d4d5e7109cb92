"""Fargate: the cpu/memory table and the task definition parameters Fargate refuses."""

from __future__ import annotations

from ecsk.core.models.containers import ContainerDefinition
from ecsk.core.models.taskdef import TaskDefinition
from ecsk.core.validation.issues import Issues

INVALID_CPU = "Invalid 'cpu' setting for task"
FARGATE_PID_MODE = "On Fargate for Linux containers, the only valid pidMode is task."


def _pairs() -> frozenset[tuple[int, int]]:
    table: dict[int, range | tuple[int, ...]] = {
        256: (512, 1024, 2048),
        512: range(1024, 4096 + 1, 1024),
        1024: range(2048, 8192 + 1, 1024),
        2048: range(4096, 16384 + 1, 1024),
        4096: range(8192, 30720 + 1, 1024),
        8192: range(16384, 61440 + 1, 4096),
        16384: range(32768, 122880 + 1, 8192),
    }
    return frozenset((cpu, mem) for cpu, mems in table.items() for mem in mems)


FARGATE_CPU_MEMORY: frozenset[tuple[int, int]] = _pairs()
"""Every (CPU units, MiB) pair Fargate accepts; built once, looked up per task definition."""

FARGATE_CPU_VALUES: tuple[int, ...] = tuple(sorted({cpu for cpu, _ in FARGATE_CPU_MEMORY}))


def fargate_memory_options(cpu: int) -> list[int]:
    return sorted(mem for c, mem in FARGATE_CPU_MEMORY if c == cpu)


def fargate_size_for(cpu: int, memory: int) -> tuple[int, int] | None:
    """The smallest Fargate size holding (cpu, memory), as EKS Fargate rounds pod requests up."""
    fits = [(c, m) for c, m in FARGATE_CPU_MEMORY if c >= cpu and m >= memory]
    return min(fits, default=None)


def _unsupported(param: str) -> str:
    return f"Tasks using the Fargate launch type do not support {param}."


_FARGATE_LOG_DRIVERS = frozenset({"awslogs", "splunk", "awsfirelens"})
_LINUX_PARAMS_NOT_ON_FARGATE = ("devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness")


def check_fargate(td: TaskDefinition, cpu: int | None, memory: int | None, out: Issues) -> None:
    """Rules that only apply when the task runs on Fargate (cpu/memory already parsed or None)."""
    if td.networkMode is not None and td.networkMode != "awsvpc":
        out.add("networkMode", "Fargate only supports network mode 'awsvpc'.", "fargate.network-mode")
    if td.cpu is None:
        out.add("cpu", "Fargate requires that 'cpu' be defined at the task level.", "fargate.cpu-required")
    if td.memory is None:
        out.add(
            "memory",
            "Fargate requires that 'memory' be defined at the task level.",
            "fargate.memory-required",
        )
    if cpu is not None and memory is not None and (cpu, memory) not in FARGATE_CPU_MEMORY:
        out.add("cpu", INVALID_CPU, "fargate.cpu-memory")
    if td.pidMode == "host":  # Fargate (platform 1.4.0+, Linux) supports pidMode task
        out.add("pidMode", FARGATE_PID_MODE, "fargate.pid-mode")
    if td.ipcMode is not None:
        out.add("ipcMode", _unsupported("ipcMode"), "fargate.unsupported")
    if td.placementConstraints:
        out.add("placementConstraints", _unsupported("placementConstraints"), "fargate.unsupported")
    for i, vol in enumerate(td.volumes or ()):
        if vol.dockerVolumeConfiguration is not None:
            out.add(
                f"volumes[{i}].dockerVolumeConfiguration",
                _unsupported("dockerVolumeConfiguration"),
                "fargate.unsupported",
            )
        if vol.host is not None and vol.host.sourcePath:
            out.add(
                f"volumes[{i}].host.sourcePath",
                _unsupported("host volumes with a sourcePath"),
                "fargate.unsupported",
            )
    for i, c in enumerate(td.containerDefinitions):
        _check_container(f"containerDefinitions[{i}]", c, out)


def _check_container(base: str, c: ContainerDefinition, out: Issues) -> None:
    for param in (
        "privileged",
        "links",
        "dnsServers",
        "extraHosts",
        "dockerSecurityOptions",
    ):
        value = getattr(c, param)
        if value:
            out.add(f"{base}.{param}", _unsupported(param), "fargate.unsupported")
    for j, pm in enumerate(c.portMappings or ()):
        if pm.hostPort is not None and pm.containerPort is not None and pm.hostPort != pm.containerPort:
            out.add(
                f"{base}.portMappings[{j}].hostPort",
                "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
                "fargate.host-port",
            )
    for j, req in enumerate(c.resourceRequirements or ()):
        if req.type == "GPU":
            out.add(
                f"{base}.resourceRequirements[{j}]",
                _unsupported("GPU resource requirements"),
                "fargate.unsupported",
            )
    lp = c.linuxParameters
    if lp is not None:
        for param in _LINUX_PARAMS_NOT_ON_FARGATE:
            if getattr(lp, param) is not None:
                out.add(
                    f"{base}.linuxParameters.{param}",
                    _unsupported(f"linuxParameters.{param}"),
                    "fargate.unsupported",
                )
        added = lp.capabilities.add if lp.capabilities else None
        for k, cap in enumerate(added or ()):
            if cap != "SYS_PTRACE":
                out.add(
                    f"{base}.linuxParameters.capabilities.add[{k}]",
                    "Fargate only supports adding the SYS_PTRACE kernel capability.",
                    "fargate.capabilities",
                )
    if c.stopTimeout is not None and not 0 <= c.stopTimeout <= 120:
        out.add(f"{base}.stopTimeout", "must be between 0 and 120 seconds on Fargate", "fargate.stop-timeout")
    log = c.logConfiguration
    if log is not None and log.logDriver not in _FARGATE_LOG_DRIVERS:
        out.add(
            f"{base}.logConfiguration.logDriver",
            f"Log driver {log.logDriver} is not supported on Fargate (awslogs, splunk, awsfirelens).",
            "fargate.log-driver",
        )
