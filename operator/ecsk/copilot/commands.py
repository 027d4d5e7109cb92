"""The Copilot verbs: app/env/svc init, deploy, status, logs, ls, delete.

Each verb returns what it did or found (the CLI prints it); refusals raise CopilotError with
the reason. Environments are recorded in their namespace (a ConfigMap labelled with the
application and environment, role `environment`), so any workspace of the application finds
them, and deletes select by the same labels: exactly what these verbs created goes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecsk.copilot import images, kube
from ecsk.copilot import workspace as wsp
from ecsk.core.copilot import Environment, ManifestError, Rendering, load, names, render
from ecsk.core.copilot import workspace as fmt
from ecsk.core.copilot.fields import JOB, RDWS, SUPPORTED_TYPES
from ecsk.core.copilot.manifest import check_name, parse_map, problem, workload_type
from ecsk.core.tasks.status import derive_task_status
from ecsk.core.translate.names import LABEL_SERVICE

NAMESPACE_PREFIX_ENV = "ECSK_COPILOT_NAMESPACE_PREFIX"
"""Prepended to every environment namespace (`<prefix><app>-<env>`): tests run side by side."""
Say = Callable[[str], None]


class CopilotError(Exception):
    """A refusal: the message names what is wrong and what to do."""


def _quiet(_: str) -> None:
    return None


# --- application and environments --------------------------------------------------------------


def app_init(start: Path, app: str) -> list[str]:
    _checked_name("application", app)
    try:
        ws, created = wsp.init(start, app)
    except wsp.WorkspaceError as exc:
        raise CopilotError(str(exc)) from exc
    where = ws.copilot_dir / fmt.SUMMARY_FILE
    return [f"{'created' if created else 'kept'} {where} (application {app})"]


def _checked_name(what: str, name: str) -> None:
    try:
        check_name(what, name)
    except ManifestError as exc:
        raise CopilotError(str(exc.issues[0].message)) from exc


LAUNCH_TYPES = ("FARGATE", "EC2")


def env_init(
    api: Any,
    app: str,
    env: str,
    namespace: str | None = None,
    prefix: str | None = None,
    launch_type: str = "FARGATE",
) -> list[str]:
    """The environment's namespace (made unless given), its ECS cluster and its record."""
    _checked_name("environment", env)
    if launch_type not in LAUNCH_TYPES:
        raise CopilotError(f"--launch-type {launch_type}: must be one of {', '.join(LAUNCH_TYPES)}")
    existing = kube.environments(api, app, env)
    if existing:
        ns = existing[0]["metadata"]["namespace"]
        return [f"environment {env} of {app} already exists in namespace {ns}"]
    if prefix is None:
        prefix = os.environ.get(NAMESPACE_PREFIX_ENV, "")
    try:
        ns = namespace or names.namespace(app, env, prefix)
    except ValueError as exc:
        raise CopilotError(str(exc)) from exc
    done = []
    created = not kube.namespace_exists(api, ns)
    if created:
        kube.create_namespace(api, ns, names.labels(app, env))
        done.append(f"created namespace {ns}")
    record = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.env_record(env),
            "namespace": ns,
            "labels": {**names.labels(app, env), names.LABEL_ROLE: "environment"},
        },
        "data": {
            "application": app,
            "environment": env,
            "cluster": names.cluster(app, env),
            "launchType": launch_type,
            names.NAMESPACE_LABEL_CREATED.split("/", 1)[1]: "true" if created else "false",
        },
    }
    cluster = {
        "apiVersion": kube.API_VERSION,
        "kind": "ECSCluster",
        "metadata": {"name": names.cluster(app, env), "namespace": ns, "labels": names.labels(app, env)},
        "spec": {
            "clusterName": names.cluster(app, env),
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "tags": [{"key": k, "value": v} for k, v in names.tags(app, env)],
        },
    }
    try:
        kube.apply(api, cluster)
        kube.apply(api, record)
    except kube.KubeError as exc:
        raise CopilotError(f"cannot create environment {env}: {exc}") from exc
    done += [f"created ECSCluster/{names.cluster(app, env)} in {ns}", f"environment {env} of {app} is ready"]
    return done


def of_record(app: str, record: Mapping[str, Any]) -> Environment:
    data = record.get("data") or {}
    ns = record["metadata"]["namespace"]
    return Environment(
        app, str(data["environment"]), ns, launch_type=str(data.get("launchType") or "FARGATE")
    )


def environment(api: Any, app: str, env: str) -> Environment:
    found = kube.environments(api, app, env)
    if not found:
        raise CopilotError(
            f"couldn't find environment {env} in application {app}: run `ecsk copilot env init --name {env}`"
        )
    return of_record(app, found[0])


def _created_namespace(record: Mapping[str, Any]) -> bool:
    return (record.get("data") or {}).get(names.NAMESPACE_LABEL_CREATED.split("/", 1)[1]) == "true"


def env_delete(api: Any, app: str, env: str, wait: float = 60.0) -> list[str]:
    """Every workload of the environment, its cluster and record; its namespace if `env init` made it."""
    found = kube.environments(api, app, env)
    if not found:
        raise CopilotError(f"couldn't find environment {env} in application {app}")
    record = found[0]
    ns = record["metadata"]["namespace"]
    done = _delete_workloads(api, of_record(app, record), names.selector(app, env), wait)
    done += [
        f"deleted {o}"
        for o in kube.delete_labelled(api, ns, names.selector(app, env), kube.ENVIRONMENT_KINDS)
    ]
    kube.delete(api, record)
    done.append(f"deleted environment record ConfigMap/{record['metadata']['name']}")
    if not _created_namespace(record):
        done.append(f"kept namespace {ns}: it existed before `env init`")
        return done
    others = kube.foreign(api, ns, names.selector(app))
    if others:
        done.append(
            f"kept namespace {ns}: it holds objects the workflow did not create ({', '.join(others)})"
        )
    elif kube.delete_namespace(api, ns):
        done.append(f"deleted namespace {ns}")
    return done


def app_delete(api: Any, app: str, ws: wsp.Workspace | None, wait: float = 60.0) -> list[str]:
    done = []
    for record in kube.environments(api, app):
        done += env_delete(api, app, record["data"]["environment"], wait)
    if ws is not None and ws.app == app and wsp.forget(ws):
        done.append(f"deleted {ws.copilot_dir / fmt.SUMMARY_FILE} (manifests kept)")
    return done or [f"application {app} had no environments"]


# --- services ----------------------------------------------------------------------------------


def svc_init(
    ws: wsp.Workspace,
    name: str,
    kind: str,
    *,
    dockerfile: str | None = None,
    image: str | None = None,
    port: int | None = None,
    schedule: str | None = None,
) -> list[str]:
    _checked_name("name", name)
    if kind not in SUPPORTED_TYPES:
        raise CopilotError(f"invalid manifest type: {kind} (ecsk supports {', '.join(SUPPORTED_TYPES)})")
    if dockerfile is not None:
        path = (ws.root / dockerfile) if not Path(dockerfile).is_absolute() else Path(dockerfile)
        if not path.is_file():
            raise CopilotError(f"--dockerfile {dockerfile}: no such file")
        dockerfile = os.path.relpath(path.resolve(), ws.root)
        port = port or fmt.exposed_port(path.read_text())
    try:
        text = fmt.manifest_text(kind, name, dockerfile=dockerfile, image=image, port=port, schedule=schedule)
        written = wsp.write_manifest(ws, name, text)
    except (ManifestError, wsp.WorkspaceError) as exc:
        raise CopilotError(str(exc)) from exc
    return [f"wrote the manifest for {kind} {name} at {written}"]


def _live_count(api: Any, env: Environment, svc: str) -> int | None:
    live = kube.get(api, "ECSService", env.namespace, svc)
    if live is None:
        return None
    count = (live.get("spec") or {}).get("desiredCount")
    return int(count) if isinstance(count, int) else None


def plan(
    api: Any,
    ws: wsp.Workspace,
    name: str,
    env: Environment,
    environ: Mapping[str, str],
    image: str | None = None,
) -> Rendering:
    """The manifest of `name` rendered for `env` (ManifestError names every problem)."""
    workload = load(ws.read_manifest(name), env.app, env.env, environ)
    if workload.name != name:
        raise ManifestError(
            [
                problem(
                    "name",
                    f'the manifest in copilot/{name}/ names "{workload.name}": '
                    'the directory and "name" must match',
                )
            ]
        )
    return render(workload, env, image=image, running_count=_live_count(api, env, name))


@dataclass
class Deployed:
    rendering: Rendering
    applied: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    image: str | None = None
    state: str = ""


def svc_deploy(
    api: Any,
    ws: wsp.Workspace,
    name: str,
    env_name: str,
    *,
    tag: str | None = None,
    wait: float = 300.0,
    environ: Mapping[str, str] | None = None,
    say: Say = _quiet,
    run: Any = None,
) -> Deployed:
    """Check, build and push (when the manifest builds), apply, prune, wait for the rollout."""
    env = environment(api, ws.app, env_name)
    environ = dict(os.environ if environ is None else environ)
    try:
        first = plan(api, ws, name, env, environ)
    except ManifestError as exc:
        raise CopilotError(_refusal(name, exc)) from exc
    for w in first.warnings:
        say(f"warning: {w.path}: {w.message}")
    image = None
    if first.build is not None:
        say(f"building {first.build.dockerfile} and pushing {env.repository(name)} ...")
        try:
            image = images.build_and_push(
                api,
                env,
                name,
                first.build,
                str(ws.root),
                tag or images.default_tag(),
                **({"run": run} if run else {}),
            )
        except images.ImageError as exc:
            raise CopilotError(str(exc)) from exc
    final = plan(api, ws, name, env, environ, image=image) if image else first
    out = Deployed(final, image=image)
    try:
        for obj in final.objects:
            kube.apply(api, obj)
            out.applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
        out.pruned = _prune(api, env, name, final.objects)
    except kube.KubeError as exc:
        raise CopilotError(f"deploy of {name} to {env_name} failed: {exc}") from exc
    if wait > 0:
        out.state = wait_ready(api, env, name, final, wait, say)
    return out


def _refusal(name: str, exc: ManifestError) -> str:
    lines = [f"the manifest of {name} is invalid (nothing was deployed):"]
    lines += [f"  {i.path}: {i.message}" if i.path else f"  {i.message}" for i in exc.issues]
    return "\n".join(lines)


def _prune(api: Any, env: Environment, svc: str, objects: list[dict[str, Any]]) -> list[str]:
    """Objects an earlier deploy of `svc` made that this one does not (a removed count range)."""
    keep = {(o["kind"], o["metadata"]["name"]) for o in objects}
    gone = []
    for kind in (k for k in kube.WORKLOAD_KINDS if k != "Repository"):  # a repository keeps its images
        for obj in kube.listed(api, kind, env.namespace, names.selector(env.app, env.env, svc)):
            if (kind, obj["metadata"]["name"]) not in keep and kube.delete(api, obj):
                gone.append(f"{kind}/{obj['metadata']['name']}")
    return gone


def _condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), None
    )


def _invalid(obj: Mapping[str, Any]) -> str | None:
    valid = _condition(obj, "Valid")
    if valid is not None and valid.get("status") == "False":
        return str(valid.get("message") or valid.get("reason"))
    return None


def rollout_state(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """(done, what to say) for the workload's main resource as the operator reports it."""
    kind = obj["kind"]
    status = obj.get("status") or {}
    bad = _invalid(obj)
    if bad:
        return True, f"FAILED: {bad}"
    generation = (obj.get("metadata") or {}).get("generation")
    if status.get("observedGeneration") != generation:
        return False, "waiting for the operator"
    if kind == "ECSService":
        primary: Mapping[str, Any] = next(
            (d for d in status.get("deployments") or [] if d.get("status") == "PRIMARY"), {}
        )
        state = primary.get("rolloutState") or "IN_PROGRESS"
        text = f"{state}: {status.get('runningCount', 0)}/{status.get('desiredCount', 0)} tasks running"
        return state in ("COMPLETED", "FAILED"), text
    if kind == "AppRunnerService":
        state = str(status.get("Status") or "OPERATION_IN_PROGRESS")
        return state != "OPERATION_IN_PROGRESS", state
    return True, "scheduled"


def _main_kind(rendering: Rendering) -> str:
    kind = rendering.workload.kind
    return "ScheduledTask" if kind == JOB else "AppRunnerService" if kind == RDWS else "ECSService"


def wait_ready(api: Any, env: Environment, svc: str, rendering: Rendering, timeout: float, say: Say) -> str:
    kind = _main_kind(rendering)
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        obj = kube.get(api, kind, env.namespace, svc)
        done, text = rollout_state(obj) if obj else (False, "waiting for the operator")
        if text != last:
            say(f"{kind}/{svc}: {text}")
            last = text
        if done:
            return text
        if time.monotonic() > deadline:
            return f"still {text} after {timeout:.0f} s (`ecsk copilot svc status --name {svc}` follows it)"
        time.sleep(1.0)


def status(api: Any, env: Environment, svc: str) -> dict[str, Any]:
    """What `copilot svc status` shows: counts, deployments, tasks and their health."""
    objs = {
        kind: kube.get(api, kind, env.namespace, svc)
        for kind in ("ECSService", "ScheduledTask", "AppRunnerService")
    }
    found = {k: v for k, v in objs.items() if v is not None}
    if not found:
        raise CopilotError(f"{svc} is not deployed in environment {env.env}: run `ecsk copilot svc deploy`")
    kind, obj = next(iter(found.items()))
    st = obj.get("status") or {}
    out: dict[str, Any] = {
        "kind": kind,
        "name": svc,
        "namespace": env.namespace,
        "state": rollout_state(obj)[1],
    }
    if kind == "ECSService":
        out.update(
            desired=st.get("desiredCount", 0),
            running=st.get("runningCount", 0),
            pending=st.get("pendingCount", 0),
            deployments=[
                {
                    k: d.get(k)
                    for k in ("status", "taskDefinition", "desiredCount", "runningCount", "rolloutState")
                }
                for d in st.get("deployments") or []
            ],
            events=[e.get("message") for e in (st.get("events") or [])[:5]],
        )
        tasks = [derive_task_status(p) for p in kube.pods(api, env.namespace, {LABEL_SERVICE: svc})]
        out["tasks"] = [
            {"id": t.taskId[:8], "lastStatus": t.lastStatus, "health": t.healthStatus, "node": t.node}
            for t in tasks
        ]
        target = kube.get(api, "ScalableTarget", env.namespace, svc)
        if target is not None:
            spec = target.get("spec") or {}
            out["autoscaling"] = f"{spec.get('MinCapacity')}-{spec.get('MaxCapacity')}"
    elif kind == "ScheduledTask":
        spec = obj.get("spec") or {}
        out.update(schedule=spec.get("scheduleExpression"), enabled=spec.get("state", "ENABLED"))
        out["lastRun"] = st.get("lastRunTime") or st.get("lastScheduleTime")
    else:
        out.update(url=st.get("ServiceUrl"), running=st.get("instances"))
    return out


def logs(api: Any, env: Environment, svc: str, tail: int | None = None) -> list[str]:
    """The tasks' container output (real on kind); refuses on simulated nodes, which run nothing."""
    from ecsk.api.logs.streams import KWOK_NODE, parse, pod_streams

    pods = kube.pods(api, env.namespace, {LABEL_SERVICE: svc})
    if not pods:
        raise CopilotError(f"{svc} has no running tasks in environment {env.env}")
    lines: list[str] = []
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        node_obj = kube.node(api, node_name) if node_name else None
        if node_obj and ((node_obj.get("metadata") or {}).get("annotations") or {}).get(KWOK_NODE):
            raise CopilotError(
                f"task {pod['metadata']['name']} runs on the simulated node {node_name}, where no container "
                "runs (ecsk's embedded cluster): there is no output to read. Deploy to the kind cluster "
                "(`ecsk kind up`) to read real logs"
            )
        for stream in pod_streams(pod):
            text = kube.pod_log(api, env.namespace, stream.pod, stream.container, tail)
            for event in parse(text):
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event.timestamp / 1000))
                lines.append(f"{stream.group} {stream.name} {stamp} {event.message}")
    return lines


def svc_ls(api: Any, ws: wsp.Workspace) -> list[dict[str, str]]:
    """Every workload of the workspace, with its type and the environments it is deployed to."""
    rows = []
    for name in ws.workloads():
        try:
            kind = workload_type(parse_map(ws.read_manifest(name)))
        except ManifestError:  # still listed; deploy says what is wrong
            kind = "(invalid manifest)"
        deployed = []
        for record in kube.environments(api, ws.app):
            env = of_record(ws.app, record)
            if kube.listed(
                api, "TaskDefinition", env.namespace, names.selector(ws.app, env.env, name)
            ) or kube.listed(api, "AppRunnerService", env.namespace, names.selector(ws.app, env.env, name)):
                deployed.append(env.env)
        rows.append({"name": name, "type": kind, "environments": ", ".join(sorted(deployed)) or "-"})
    return rows


def _delete_workloads(api: Any, env: Environment, selector: str, wait: float) -> list[str]:
    """Delete the labelled workload objects (repositories through ECR: their images go too)."""
    done = []
    repos = kube.listed(api, "Repository", env.namespace, selector)
    kinds = [k for k in kube.WORKLOAD_KINDS if k != "Repository"]
    done += [f"deleted {o}" for o in kube.delete_labelled(api, env.namespace, selector, kinds)]
    if repos:
        ctx = images.api_context(api, env)
        for repo in repos:
            svc = repo["metadata"]["labels"].get(names.LABEL_SVC, "")
            try:
                if images.delete_repository(ctx, env, svc):
                    done.append(f"deleted Repository {env.repository(svc)} and its images")
            except images.ImageError as exc:
                raise CopilotError(str(exc)) from exc
    left = kube.wait_gone(api, env.namespace, selector, kube.WORKLOAD_KINDS, timeout=wait)
    if left:
        raise CopilotError(f"still present after {wait:.0f} s: {', '.join(left)}")
    return done


def svc_delete(api: Any, app: str, svc: str, env_name: str | None = None, wait: float = 60.0) -> list[str]:
    """The workload in one environment (or all of them); the manifest stays."""
    records = kube.environments(api, app, env_name)
    if env_name and not records:
        raise CopilotError(f"couldn't find environment {env_name} in application {app}")
    done = []
    for record in records:
        env = of_record(app, record)
        done += _delete_workloads(api, env, names.selector(app, env.env, svc), wait)
    return done or [f"{svc} was not deployed"]
