"""Tasks: RunTask creates a `Task` resource, StopTask stops a task's pod, DescribeTasks and
ListTasks read the tasks of `Task` resources (their status records) and of services (their pods,
through the same pod -> ECS state mapping the operator uses).

RunTask returns the tasks the operator launched: it waits (register_timeout) until the
resource's status lists `count` tasks; a refusal by the operator (invalid input, unusable task
definition, placement) deletes the resource again, so a refused call leaves nothing behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ecsk.api.context import Context, epoch, page
from ecsk.api.ecs.clusters import require_cluster
from ecsk.api.ecs.common import (
    cluster_arn,
    own_task_definition_arn,
    resource,
    spec_cluster,
    tags_out,
    task_arn,
    task_definition_arn,
    wants_tags,
)
from ecsk.api.ecs.taskdefs import load_revision, resolve_any
from ecsk.api.errors import AwsError, from_prefixed
from ecsk.core.models import ModelLoadError, parse_run_task
from ecsk.core.models.errors import errors_of, issues_text
from ecsk.core.placement.attributes import find_node
from ecsk.core.services.rollout import pod_deployment_id
from ecsk.core.tasks.status import (
    STOP_CODE_ANNOTATION,
    STOPPED_REASON_ANNOTATION,
    USER_STOPPED,
    service_task,
    task_id,
)
from ecsk.core.translate.names import LABEL_CLUSTER, LABEL_SERVICE, dns_label, label_value
from ecsk.core.validation import validate_run_task

POLL_SECONDS = 0.05
MANAGED = "app.kubernetes.io/managed-by=ecsk"


def _container(arn: str, c: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "taskArn": arn,
        "name": c.get("name"),
        "lastStatus": c.get("lastStatus"),
        "exitCode": c.get("exitCode"),
        "reason": c.get("reason"),
        "healthStatus": c.get("healthStatus"),
        "imageDigest": c.get("imageDigest"),
    }
    return {k: v for k, v in out.items() if v is not None}


def _view(
    ctx: Context, rec: Mapping[str, Any], cluster: str, extra: Mapping[str, Any], include_tags: bool = False
) -> dict[str, Any]:
    """A task record (operator status or a derived pod state) as describe-tasks shows it."""
    arn = task_arn(ctx, cluster, str(rec["taskId"]))
    out: dict[str, Any] = {
        "taskArn": arn,
        "clusterArn": cluster_arn(ctx, cluster),
        "taskDefinitionArn": own_task_definition_arn(
            ctx, rec.get("taskDefinitionArn") or extra.get("taskDefinitionArn")
        ),
        "lastStatus": rec.get("lastStatus"),
        "desiredStatus": rec.get("desiredStatus"),
        "healthStatus": rec.get("healthStatus") or "UNKNOWN",
        "containers": [_container(arn, c) for c in rec.get("containers") or []],
        "group": rec.get("group") or extra.get("group"),
        "startedBy": rec.get("startedBy") or extra.get("startedBy"),
        "stopCode": rec.get("stopCode"),
        "stoppedReason": rec.get("stoppedReason"),
        "launchType": extra.get("launchType") or "EC2",
        "version": 1,
        "attachments": [],
        "overrides": {"containerOverrides": [], "inferenceAcceleratorOverrides": []},
        "tags": tags_out(extra.get("tags")) if include_tags else [],
    }
    for key in ("createdAt", "startedAt", "stoppingAt", "stoppedAt"):
        out[key] = epoch(rec.get(key))
    if rec.get("node"):
        out["containerInstanceArn"] = ctx.arn("ecs", f"container-instance/{cluster}/{rec['node']}")
    return {k: v for k, v in out.items() if v is not None}


def _standalone(ctx: Context, cluster: str | None) -> Iterable[tuple[dict[str, Any], dict[str, Any], str]]:
    for body in ctx.store.list("Task"):
        c = spec_cluster(body)
        if cluster is not None and c != cluster:
            continue
        spec, status = body.get("spec") or {}, body.get("status") or {}
        extra = {
            "taskDefinitionArn": status.get("taskDefinitionArn"),
            "startedBy": spec.get("startedBy"),
            "launchType": spec.get("launchType"),
            "group": spec.get("group"),
            "resource": body["metadata"]["name"],
            "tags": spec.get("tags"),
        }
        for rec in status.get("tasks") or []:
            yield dict(rec), extra, c


def _service_extra(svc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "taskDefinitionArn": (svc.get("status") or {}).get("taskDefinition"),
        "startedBy": f"ecs-svc/{svc['metadata']['uid'].replace('-', '')[:19]}",
        "launchType": (svc.get("spec") or {}).get("launchType"),
        "service": str((svc.get("spec") or {}).get("serviceName") or svc["metadata"]["name"]),
    }


def _service_tasks(ctx: Context, cluster: str | None) -> Iterable[tuple[dict[str, Any], dict[str, Any], str]]:
    """Live tasks from the services' pods, then the stopped ones the operator keeps in each
    service's `status.stoppedTasks` (for `--task-retention`, an hour by default, as ECS does)."""
    selector = LABEL_SERVICE + (f",{LABEL_CLUSTER}={label_value(cluster)}" if cluster else "")
    services = [b for b in ctx.store.list("ECSService") if cluster is None or spec_cluster(b) == cluster]
    by_label = {label_value(_service_extra(b)["service"]): b for b in services}
    live: set[str] = set()
    for pod in ctx.store.list("Pod", selector):
        svc = by_label.get((pod["metadata"].get("labels") or {}).get(LABEL_SERVICE, ""))
        if svc is None:
            continue
        extra = {**_service_extra(svc), "pod": pod["metadata"]["name"]}
        rec = service_task(pod, pod_deployment_id(svc["metadata"]["uid"], pod)).to_dict()
        rec.setdefault("group", f"service:{extra['service']}")
        live.add(str(rec["taskId"]))
        yield rec, extra, spec_cluster(svc)
    for svc in services:
        for rec in (svc.get("status") or {}).get("stoppedTasks") or []:
            if str(rec.get("taskId")) not in live:
                yield dict(rec), _service_extra(svc), spec_cluster(svc)


def all_tasks(ctx: Context, cluster: str | None) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """(task record, what the record does not say, cluster) for every task ListTasks can see."""
    return [*_standalone(ctx, cluster), *_service_tasks(ctx, cluster)]


def desired_matches(rec: Mapping[str, Any], desired: str) -> bool:
    """ListTasks' desiredStatus filter: RUNNING also lists tasks still PENDING."""
    have = rec.get("desiredStatus")
    return have == desired or (desired == "RUNNING" and have == "PENDING")


def _short_task(ref: str) -> str:
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def describe_tasks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    refs = params["tasks"]
    if not 1 <= len(refs) <= 100:
        raise AwsError("InvalidParameterException", "tasks can have at most 100 items.")
    cluster = require_cluster(ctx, params.get("cluster"))
    found = {str(rec["taskId"]): (rec, extra) for rec, extra, _ in all_tasks(ctx, cluster)}
    tasks, failures = [], []
    for ref in refs:
        tid = _short_task(ref)
        if tid in found:
            rec, extra = found[tid]
            tasks.append(_view(ctx, rec, cluster, extra, wants_tags(params)))
        else:
            failures.append({"arn": task_arn(ctx, cluster, tid), "reason": "MISSING"})
    return {"tasks": tasks, "failures": failures}


def _family(arn: str | None) -> str:
    return (arn or "").rsplit("/", 1)[-1].split(":", 1)[0]


def list_tasks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    if params.get("family") and params.get("serviceName"):
        raise AwsError("InvalidParameterException", "Filters family and serviceName cannot be used together.")
    desired = params.get("desiredStatus") or "RUNNING"
    node = _instance_node(ctx, params.get("containerInstance"))
    rows = []
    for rec, extra, _ in all_tasks(ctx, cluster):
        if not desired_matches(rec, desired):
            continue
        if node is not None and rec.get("node") != node:
            continue
        if (
            params.get("family")
            and _family(rec.get("taskDefinitionArn") or extra.get("taskDefinitionArn")) != params["family"]
        ):
            continue
        if params.get("serviceName") and extra.get("service") != params["serviceName"]:
            continue
        if (
            params.get("startedBy")
            and (rec.get("startedBy") or extra.get("startedBy")) != params["startedBy"]
        ):
            continue
        if params.get("launchType") and (extra.get("launchType") or "EC2") != params["launchType"]:
            continue
        rows.append(task_arn(ctx, cluster, str(rec["taskId"])))
    chunk, token = page(rows, params, key=str)
    return {"taskArns": chunk, **({"nextToken": token} if token else {})}


def _instance_node(ctx: Context, ref: str | None) -> str | None:
    """The node a ListTasks containerInstance (ARN, id or node name) names."""
    if not ref:
        return None
    node = find_node(ctx.store.list("Node"), ref)
    if node is None:
        raise AwsError("InvalidParameterException", "The referenced container instance was not found.")
    return str(node["metadata"]["name"])


def _refusal(body: Mapping[str, Any]) -> AwsError | None:
    for cond in (body.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Valid" and cond.get("status") == "False":
            reason, message = cond.get("reason"), str(cond.get("message") or "")
            default = (
                "ClientException" if reason == "TaskDefinitionNotUsable" else "InvalidParameterException"
            )
            return from_prefixed(message, default)
    return None


def _wait_launched(ctx: Context, name: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + ctx.settings.register_timeout
    while time.monotonic() < deadline:
        body = ctx.store.get("Task", name)
        if body is None:
            break
        refused = _refusal(body)
        if refused is not None:
            ctx.store.delete("Task", name)
            raise refused
        if len((body.get("status") or {}).get("tasks") or []) >= count:
            return body
        time.sleep(POLL_SECONDS)
    ctx.store.delete("Task", name)
    raise AwsError(
        "ServerException",
        f"The ecsk operator did not launch the task within {ctx.settings.register_timeout:.0f} s; "
        f"is the operator running for namespace {ctx.store.namespace}?",
        500,
    )


def run_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"), create_default=True)
    count = int(params.get("count") or 1)
    if not 1 <= count <= 10:
        raise AwsError("InvalidParameterException", "count must be between 1 and 10.")
    spec = {k: v for k, v in params.items() if k != "clientToken"}
    spec["cluster"] = cluster
    try:
        task = parse_run_task(spec)
    except ModelLoadError as exc:
        raise AwsError("InvalidParameterException", issues_text(exc.issues)) from None
    family, revision = resolve_any(ctx, task.taskDefinition, allow_inactive=False)
    issues = errors_of(
        validate_run_task(task, load_revision(ctx, family, revision))
    )  # warnings never refuse: ECS accepts those
    if issues:
        raise AwsError("InvalidParameterException", issues_text(issues))
    spec["taskDefinition"] = f"{family}:{revision}"
    name = dns_label(f"{family}-{uuid.uuid4().hex[:10]}", max_len=63)
    ctx.store.create(resource("Task", name, spec))
    body = _wait_launched(ctx, name, count)
    extra = {
        "taskDefinitionArn": task_definition_arn(ctx, family, revision),
        "startedBy": task.startedBy,
        "launchType": task.launchType,
        "group": task.group,
    }
    tasks = [_view(ctx, rec, cluster, extra) for rec in (body.get("status") or {}).get("tasks") or []]
    return {"tasks": tasks, "failures": []}


def stop_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    cluster = require_cluster(ctx, params.get("cluster"))
    tid = _short_task(params["task"])
    match = next(((r, e) for r, e, _ in all_tasks(ctx, cluster) if str(r["taskId"]) == tid), None)
    if match is None:
        raise AwsError("InvalidParameterException", "The referenced task was not found.")
    rec, extra = match
    pod = extra.get("pod") or rec.get("podName")
    if pod and rec.get("lastStatus") != "STOPPED":
        reason = params.get("reason") or USER_STOPPED
        ctx.store.merge_patch(
            "Pod",
            str(pod),
            {
                "metadata": {
                    "annotations": {STOP_CODE_ANNOTATION: "UserInitiated", STOPPED_REASON_ANNOTATION: reason}
                }
            },
        )
        ctx.store.delete("Pod", str(pod))
        rec = {**rec, "desiredStatus": "STOPPED", "stopCode": "UserInitiated", "stoppedReason": reason}
    return {"task": _view(ctx, rec, cluster, extra)}


__all__ = ["describe_tasks", "list_tasks", "run_task", "stop_task", "task_id"]
