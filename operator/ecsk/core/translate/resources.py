"""CPU units, MiB and GPUs to Kubernetes quantities, at container and at pod level.

ECS counts CPU in units (1024 per vCPU) and Kubernetes in millicores; units are converted with
ceil(units * 1000 / 1024) so a container never gets less CPU than ECS would reserve (128 units ->
125m, 100 units -> 98m). Container `cpu` is a relative share in ECS (cgroup cpu.shares), not a cap,
so it becomes a request only; task-level cpu/memory are hard caps on the whole task, which is
exactly what pod-level resources (`spec.resources`, beta and on by default since 1.34) express.
"""

from __future__ import annotations

import math
from typing import Any

from ecsk.core.models import ContainerDefinition, TaskDefinition
from ecsk.core.translate.types import Context


def cpu_units_to_millicores(units: int) -> int:
    """Ceil so the Kubernetes request is never below what ECS reserves."""
    return math.ceil(units * 1000 / 1024)


def cpu_quantity(units: int) -> str:
    return f"{cpu_units_to_millicores(units)}m"


def mib_quantity(mib: int) -> str:
    return f"{mib}Mi"


def container_resources(c: ContainerDefinition, path: str, k8s: str, ctx: Context) -> dict[str, Any]:
    """requests/limits of one container. memory = hard limit, memoryReservation = request; with
    memory alone the request equals the limit (what ECS reserves on the instance)."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if c.cpu:
        requests["cpu"] = cpu_quantity(c.cpu)
        ctx.note(
            f"{path}.cpu",
            f"{k8s}.resources.requests.cpu",
            f"{c.cpu} CPU units -> {requests['cpu']} (ceil(units*1000/1024)); a share, so no limit",
        )
    elif c.cpu == 0:
        ctx.note(f"{path}.cpu", None, "0 units = no reservation in ECS (2 shares); no request rendered")
    if c.memory is not None:
        limits["memory"] = mib_quantity(c.memory)
        requests["memory"] = mib_quantity(c.memoryReservation or c.memory)
        ctx.note(
            f"{path}.memory",
            f"{k8s}.resources.limits.memory",
            f"hard limit {limits['memory']}" + ("" if c.memoryReservation else "; also the request"),
        )
    elif c.memoryReservation is not None:
        requests["memory"] = mib_quantity(c.memoryReservation)
    if c.memoryReservation is not None:
        ctx.note(
            f"{path}.memoryReservation",
            f"{k8s}.resources.requests.memory",
            f"soft limit = request {requests['memory']}" + ("" if c.memory else "; no hard limit"),
        )
    for i, req in enumerate(c.resourceRequirements or ()):
        at = f"{path}.resourceRequirements[{i}]"
        if req.type == "GPU" and req.value is not None and req.value.isdigit():
            limits["nvidia.com/gpu"] = req.value
            ctx.note(
                at,
                f"{k8s}.resources.limits['nvidia.com/gpu']",
                "GPU count -> NVIDIA device plugin extended resource (request defaults to the limit)",
            )
        elif req.type in ("GPU", "NeuronDevice"):
            # ALL (every device of the instance) and GPU sharing (MPS) are not counts a device
            # plugin can be asked for: rendering a made-up count would be worse than none
            what = (
                "a GPU sharing strategy" if req.sharingStrategy else f"{req.type} {req.value or ''}".strip()
            )
            ctx.warn(at, f"{what} has no Kubernetes resource count; not requested", "resources.device")
            ctx.note(at, None, f"{what}: the device plugins take a count of devices; not requested")
        else:
            ctx.warn(
                f"{path}.resourceRequirements[{i}]",
                "InferenceAccelerator (Elastic Inference) has no Kubernetes equivalent; ignored",
            )
            ctx.note(
                f"{path}.resourceRequirements[{i}]",
                None,
                "Elastic Inference accelerators are retired by AWS and have no Kubernetes resource",
            )
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _sum_request(containers: list[dict[str, Any]], key: str, parse: Any) -> int:
    total = 0
    for c in containers:
        res = c.get("resources", {})
        value = res.get("requests", {}).get(key) or res.get("limits", {}).get(key)
        if value:
            total += parse(value)
    return total


def _milli(q: str) -> int:
    return int(q[:-1])


def _mib(q: str) -> int:
    return int(q[:-2])


def apply_task_resources(
    td: TaskDefinition, pod: dict[str, Any], app: list[dict[str, Any]], ctx: Context
) -> None:
    """Task-level cpu/memory. Pod-level resources when enabled (requests = limits = the task
    size, as ECS reserves and caps it); otherwise the documented fallback: every container without
    its own value gets the task value as its limit and an even share of what is left as request."""
    try:
        cpu = td.cpu_units()
        mem = td.memory_mib()
    except ValueError as exc:
        ctx.error("cpu" if "CPU" in str(exc) else "memory", str(exc), "InvalidTaskSize")
        return
    if cpu is None and mem is None:
        return
    windows = td.runtimePlatform is not None and (td.runtimePlatform.operatingSystemFamily or "").startswith(
        "WIN"
    )
    if windows and ctx.options.pod_level_resources:
        # the apiserver refuses pod-level resources on Windows pods (spec.os.name: windows)
        ctx.note(
            "runtimePlatform.operatingSystemFamily",
            "spec.os.name",
            "Windows pod: pod-level resources are not allowed, task size uses the per-container fallback",
        )
    if ctx.options.pod_level_resources and not windows:
        _pod_level(cpu, mem, pod, app, ctx)
    else:
        _fallback(cpu, mem, app, ctx)


def _pod_level(
    cpu: int | None, mem: int | None, pod: dict[str, Any], app: list[dict[str, Any]], ctx: Context
) -> None:
    requests: dict[str, str] = {}
    if cpu is not None:
        q = cpu_quantity(cpu)
        if _sum_request(app, "cpu", _milli) > cpu_units_to_millicores(cpu):
            ctx.warn(
                "cpu", "the containers' cpu exceeds the task cpu; pod-level cpu omitted", "TaskCpuTooSmall"
            )
        else:
            requests["cpu"] = q
            ctx.note(
                "cpu",
                "spec.resources.{requests,limits}.cpu",
                f"task cpu {cpu} units -> pod-level {q} request and limit (shared cap, like ECS)",
            )
    if mem is not None:
        q = mib_quantity(mem)
        if _sum_request(app, "memory", _mib) > mem:
            ctx.warn(
                "memory",
                "the containers' memory exceeds the task memory; pod-level memory omitted",
                "TaskMemoryTooSmall",
            )
        else:
            requests["memory"] = q
            ctx.note(
                "memory",
                "spec.resources.{requests,limits}.memory",
                f"task memory {mem} MiB -> pod-level {q} request and limit",
            )
    if requests:
        pod["resources"] = {"requests": requests, "limits": dict(requests)}


def _fallback(cpu: int | None, mem: int | None, app: list[dict[str, Any]], ctx: Context) -> None:
    for key, total, fmt, parse in (
        ("cpu", cpu, lambda n: f"{n}m", _milli),
        ("memory", mem, lambda n: f"{n}Mi", _mib),
    ):
        if total is None:
            continue
        amount = cpu_units_to_millicores(total) if key == "cpu" else total
        without = [
            c
            for c in app
            if key not in c.get("resources", {}).get("requests", {})
            and key not in c.get("resources", {}).get("limits", {})
        ]
        left = max(amount - _sum_request(app, key, parse), 0)
        share, extra = divmod(left, len(without)) if without else (0, 0)
        for i, c in enumerate(without):
            res = c.setdefault("resources", {})
            res.setdefault("limits", {})[key] = fmt(amount)
            req = share + (extra if i == 0 else 0)
            if req:
                res.setdefault("requests", {})[key] = fmt(req)
        ctx.note(
            key,
            f"spec.containers[*].resources.*.{key}",
            "pod-level resources disabled: containers without their own value get the task value "
            "as limit and an even share of the rest as request",
        )


def ephemeral_storage(td: TaskDefinition, app: list[dict[str, Any]], ctx: Context) -> None:
    """Pod-level resources cover cpu/memory only, so the task's ephemeral storage is requested by
    the first essential container (the scheduler sums requests per pod anyway)."""
    if td.ephemeralStorage is None or not app:
        return
    res = app[0].setdefault("resources", {})
    res.setdefault("requests", {})["ephemeral-storage"] = f"{td.ephemeralStorage.sizeInGiB}Gi"
    ctx.note(
        "ephemeralStorage.sizeInGiB",
        "spec.containers[0].resources.requests.ephemeral-storage",
        "task ephemeral storage requested on the first essential container (pod total)",
    )
