"""ECS container health checks to Kubernetes probes.

ECS runs one health check per container; its result drives two things: the task's health (an
unhealthy essential container gets the task replaced) and `dependsOn: HEALTHY`. Kubernetes splits
this across probes: liveness (replace on failure; only for essential containers, since ECS
ignores an unhealthy non-essential one), readiness (the HEALTHY status the operator and
endpoints read) and startup (ECS `startPeriod`: failures do not count until then, and the first
success ends it, which is exactly a startup probe's contract).
"""

from __future__ import annotations

import math
from typing import Any

from ecsk.core.models import HealthCheck
from ecsk.core.translate.types import Context

DEFAULT_INTERVAL = 30
DEFAULT_TIMEOUT = 5
DEFAULT_RETRIES = 3


def probe_command(command: list[str]) -> list[str]:
    """CMD -> argv as is; CMD-SHELL -> sh -c with the rest joined (Docker takes one string).

    Anything else ECS registers and hands to Docker unchanged (AWS's own ADOT samples use
    `["/healthcheck"]` for a distroless image, so there is no shell to fall back to): it runs as
    an exec probe of the whole list, as the image's exec-form HEALTHCHECK would. Validation warns.
    """
    if command and command[0] == "CMD":
        return list(command[1:])
    if command and command[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(command[1:])]
    return list(command)


def disables_health_check(hc: HealthCheck) -> bool:
    """Docker's `[NONE]`: no health check at all (the image's own is switched off too)."""
    return bool(hc.command) and hc.command[0] == "NONE"


def build_probes(
    hc: HealthCheck,
    path: str,
    k8s: str,
    ctx: Context,
    *,
    essential: bool,
    gate_start: bool,
    start_timeout: int | None = None,
) -> dict[str, Any]:
    """Probes for one container. `gate_start` adds a startup probe even without startPeriod, so
    a native sidecar that others wait on with HEALTHY holds them until it is healthy;
    `start_timeout` (the dependency wait budget) then bounds that startup probe."""
    interval = hc.interval or DEFAULT_INTERVAL
    timeout = hc.timeout or DEFAULT_TIMEOUT
    retries = hc.retries or DEFAULT_RETRIES
    if disables_health_check(hc):
        ctx.note(path, None, "[NONE]: Docker runs no health check, so no probe is rendered")
        return {}
    argv = probe_command(hc.command)
    form = hc.command[0] if hc.command else ""

    def probe(failures: int) -> dict[str, Any]:
        # a fresh dict per probe: shared sub-objects would show up as YAML anchors
        return {
            "exec": {"command": list(argv)},
            "periodSeconds": interval,
            "timeoutSeconds": timeout,
            "failureThreshold": failures,
        }

    out: dict[str, Any] = {"readinessProbe": probe(retries)}
    targets = [f"{k8s}.readinessProbe"]
    if essential:
        out["livenessProbe"] = probe(retries)
        targets.append(f"{k8s}.livenessProbe")
    start = hc.startPeriod or 0
    if start or gate_start or start_timeout:
        budget = start_timeout if start_timeout else start + interval * retries
        out["startupProbe"] = probe(max(1, math.ceil(budget / interval)))
        targets.append(f"{k8s}.startupProbe")
    ctx.note(
        f"{path}.command",
        tuple(f"{t}.exec.command" for t in targets),
        (
            "CMD -> exec argv; CMD-SHELL -> [/bin/sh, -c, cmd]"
            if form in ("CMD", "CMD-SHELL")
            else "neither CMD nor CMD-SHELL: ECS passes it to Docker as given; exec probe of the whole list"
        )
        + ("" if essential else "; non-essential: readiness only (ECS ignores its health for the task)"),
    )
    ctx.note(f"{path}.interval", tuple(f"{t}.periodSeconds" for t in targets), f"{interval}s")
    ctx.note(f"{path}.timeout", tuple(f"{t}.timeoutSeconds" for t in targets), f"{timeout}s")
    ctx.note(f"{path}.retries", tuple(f"{t}.failureThreshold" for t in targets[:2]), f"{retries}")
    if start:
        ctx.note(
            f"{path}.startPeriod",
            f"{k8s}.startupProbe.failureThreshold",
            "failures ignored during startPeriod, first success ends it: a startup probe of "
            "ceil((startPeriod + interval*retries)/interval) periods",
        )
    return out
