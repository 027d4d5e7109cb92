"""A service's Status and its operations history, derived from what the controller observed.

App Runner runs one asynchronous operation at a time per service (CREATE_SERVICE,
UPDATE_SERVICE, PAUSE_SERVICE, RESUME_SERVICE, START_DEPLOYMENT); while one runs the service is
OPERATION_IN_PROGRESS, then RUNNING (or PAUSED). In ecsk an operation starts when the
controller sees the change (a new spec generation, the pause annotation flipping, a new image
digest or deployment token) and succeeds when the Deployment has rolled out. Kubernetes lets a
change arrive while another is rolling out: the newer operation supersedes the older, which is
closed as SUCCEEDED (its change is part of what the newer one deploys).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
MAX_OPERATIONS = 20
"""ListOperations' default page; older operations are dropped from the status."""
IN_PROGRESS = "IN_PROGRESS"


@dataclass(frozen=True)
class Observed:
    """One reconcile's view: the spec generation and what it asks for, and the rollout's state."""

    generation: int
    valid: bool
    paused: bool
    digest: str | None
    token: str | None
    rolled_out: bool
    now: str
    arn: str


def operation_id(arn: str, count: int) -> str:
    """The Id of the service's `count`-th operation (from 0): the API returns it as OperationId
    before the operator has seen the change, and the operator records the same one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}/operations/{count}"))


def _op(kind: str, observed: Observed, count: int, status: str = IN_PROGRESS) -> Json:
    op = {
        "Id": operation_id(observed.arn, count),
        "Type": kind,
        "Status": status,
        "TargetArn": observed.arn,
        "StartedAt": observed.now,
        "UpdatedAt": observed.now,
    }
    if status != IN_PROGRESS:
        op["EndedAt"] = observed.now
    return op


def _change(prev: Mapping[str, Any], ops: list[Json], observed: Observed) -> str | None:
    """The operation the observed state starts, if any (one per pass, most specific first)."""
    if not ops or (
        prev.get("Status") == "CREATE_FAILED" and observed.generation != prev.get("deployedGeneration")
    ):
        return "CREATE_SERVICE"
    if bool(prev.get("paused")) != observed.paused:
        return "PAUSE_SERVICE" if observed.paused else "RESUME_SERVICE"
    if prev.get("deployedGeneration") != observed.generation:
        return "UPDATE_SERVICE"
    if (prev.get("imageDigest"), prev.get("deploymentToken")) != (observed.digest, observed.token):
        return "START_DEPLOYMENT"
    return None


def _close(op: Json, status: str, now: str) -> Json:
    return {**op, "Status": status, "EndedAt": now, "UpdatedAt": now}


def next_status(prev: Mapping[str, Any], observed: Observed) -> Json:
    """The status fields Status, Operations and the bookkeeping that detects the next change
    (deployedGeneration, paused, imageDigest, deploymentToken)."""
    ops: list[Json] = [dict(o) for o in prev.get("Operations") or []]
    kind = _change(prev, ops, observed)
    count = int(prev.get("operationCount") or 0)
    out: Json = {
        "operationCount": count + (kind is not None),
        "deployedGeneration": observed.generation,
        "paused": observed.paused,
        "imageDigest": observed.digest,
        "deploymentToken": observed.token,
    }
    if kind is not None and not observed.valid:
        ops.insert(0, _op(kind, observed, count, "FAILED"))
        failed_create = kind == "CREATE_SERVICE"
        out.update(Status="CREATE_FAILED" if failed_create else prev.get("Status") or "RUNNING")
        if not failed_create:  # the refused change is not applied: keep following the old one
            out.update(paused=bool(prev.get("paused")), imageDigest=prev.get("imageDigest"))
        out["Operations"] = ops[:MAX_OPERATIONS]
        return out
    if not observed.valid:
        out.update(Status=prev.get("Status"), Operations=ops, operationCount=count)
        return out
    if kind is not None:
        ops = [_close(o, "SUCCEEDED", observed.now) if o.get("Status") == IN_PROGRESS else o for o in ops]
        ops.insert(0, _op(kind, observed, count))
    if ops and ops[0].get("Status") == IN_PROGRESS and observed.rolled_out:
        ops[0] = _close(ops[0], "SUCCEEDED", observed.now)
    busy = any(o.get("Status") == IN_PROGRESS for o in ops)
    out["Status"] = "OPERATION_IN_PROGRESS" if busy else ("PAUSED" if observed.paused else "RUNNING")
    out["Operations"] = ops[:MAX_OPERATIONS]
    return out


def rolled_out(deployment: Mapping[str, Any] | None, paused: bool) -> bool:
    """The Deployment runs what was applied: its controller saw the latest spec, every
    instance is updated and available, and no old instance remains (none at all when paused)."""
    if deployment is None:
        return False
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(
        (deployment.get("metadata") or {}).get("generation") or 0
    ):
        return False
    want = 0 if paused else int(spec.get("replicas") or 0)
    return (
        int(status.get("replicas") or 0) == want
        and int(status.get("updatedReplicas") or 0) == want
        and int(status.get("availableReplicas") or 0) == want
    )
