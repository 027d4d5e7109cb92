"""Lab 17: AWS Copilot: an application, an environment in the lab namespace, and a Load Balanced
Web Service deployed from its manifest with `ecsk copilot svc deploy` (the image is
`image.location` in ECR Public, so no Docker is needed), scaling on CPU within `count.range`.

Copilot's environment normally gets a namespace of its own (`<app>-<env>`); the lab has the
participant pass `--namespace <lab namespace>` to `env init`, so everything the workflow makes
lives in the one namespace `reset` deletes. The check reads the environment's record there (for
the application's name), the ECS resources Copilot's deploy made (TaskDefinition, ECSService,
ScalableTarget, ScalingPolicy; the ECSCluster of the environment) and, once those are right, the
Kubernetes objects the operator rendered under them. `solve` runs the same Copilot verbs in
process on a temporary workspace.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ecsk.core.copilot import names
from ecsk.labs.engine import (
    Lab,
    LabError,
    Snapshot,
    invalid_reason,
    missing_namespace,
    spec,
    td_container,
)

APP, ENV, SVC = "coffee", "test", "web"
IMAGE = "public.ecr.aws/nginx/nginx:1.27"
PORT = 80
RANGE = (2, 6)
CPU_TARGET = 70
VARIABLES = {"COFFEE": "espresso"}
MANIFEST = f"""\
# The manifest for the "web" service, in AWS Copilot's format (lab 17).
name: {SVC}
type: Load Balanced Web Service

http:
  path: /
  healthcheck:
    grace_period: 30s

image:
  location: {IMAGE}
  port: {PORT}

cpu: 256
memory: 512
count:
  range: {RANGE[0]}-{RANGE[1]}
  cpu_percentage: {CPU_TARGET}
exec: true

variables:
  COFFEE: {VARIABLES["COFFEE"]}
"""


def _record(snap: Snapshot) -> dict[str, Any] | None:
    """The environment record `env init` wrote in the lab namespace (None when it wrote none)."""
    for cm in snap.config_maps:
        if ((cm.get("metadata") or {}).get("labels") or {}).get(names.LABEL_ROLE) == "environment":
            return dict(cm.get("data") or {})
    return None


def _environment_problems(snap: Snapshot, record: dict[str, Any] | None) -> list[str]:
    ns = snap.namespace
    if record is None:
        return [
            f"no Copilot environment in {ns}: `ecsk copilot env init --name {ENV} --namespace {ns}` "
            f"(without --namespace, Copilot makes its own namespace {APP}-{ENV}, outside the lab)"
        ]
    if record.get("environment") != ENV:
        return [f"the environment in {ns} is called {record.get('environment')}; the lab asks for {ENV}"]
    cluster = names.cluster(str(record.get("application")), ENV)
    if snap.get("ECSCluster", cluster) is None:
        return [f"ECSCluster {cluster} (the environment's cluster) is gone: run env init again"]
    return []


def _taskdef_problems(snap: Snapshot, app: str) -> list[str]:
    td = spec(snap.get("TaskDefinition", SVC))
    family = names.family(app, ENV, SVC)
    if td.get("family") != family:
        return [f"TaskDefinition {SVC} has family {td.get('family')}; Copilot names it {family}"]
    c = td_container(td, SVC)
    out = []
    if c.get("image") != IMAGE:
        out.append(
            f"the task definition runs {c.get('image')}; the lab's manifest has image.location {IMAGE}"
        )
    ports = [p.get("containerPort") for p in c.get("portMappings") or []]
    if PORT not in ports:
        out.append(f"the container maps ports {ports}; the lab asks for image.port {PORT}")
    env = {e.get("name"): e.get("value") for e in c.get("environment") or []}
    for key, value in VARIABLES.items():
        if env.get(key) != value:
            out.append(f"the container has no variable {key}={value} (manifest `variables`)")
    return out


def _service_problems(snap: Snapshot, app: str) -> list[str]:
    body = spec(snap.get("ECSService", SVC))
    out = []
    if body.get("cluster") != names.cluster(app, ENV):
        out.append(f"ECSService {SVC} runs in cluster {body.get('cluster')}, not {names.cluster(app, ENV)}")
    if not body.get("loadBalancers"):
        out.append(f"ECSService {SVC} has no load balancer: the type must be Load Balanced Web Service")
    desired = body.get("desiredCount")
    if not isinstance(desired, int) or not RANGE[0] <= desired <= RANGE[1]:
        out.append(
            f"ECSService {SVC} has desiredCount {desired}; with count.range {RANGE[0]}-{RANGE[1]} "
            f"Copilot deploys between {RANGE[0]} and {RANGE[1]}"
        )
    return out


def _scaling_problems(snap: Snapshot) -> list[str]:
    target = snap.get("ScalableTarget", SVC)
    wanted = f"{RANGE[0]}-{RANGE[1]}"
    if target is None:
        return [
            f"no ScalableTarget {SVC}: the deployed manifest has no count.range (the lab asks for {wanted})"
        ]
    got = f"{spec(target).get('MinCapacity')}-{spec(target).get('MaxCapacity')}"
    out = (
        [] if got == wanted else [f"ScalableTarget {SVC} scales {got}; the lab asks for count.range {wanted}"]
    )
    policy = snap.get("ScalingPolicy", f"{SVC}-cpu")
    if policy is None:
        return [*out, f"no ScalingPolicy {SVC}-cpu: add count.cpu_percentage: {CPU_TARGET}"]
    value = (spec(policy).get("TargetTrackingScalingPolicyConfiguration") or {}).get("TargetValue")
    if value != CPU_TARGET:
        out.append(
            f"ScalingPolicy {SVC}-cpu tracks {value}% CPU; the lab asks for cpu_percentage {CPU_TARGET}"
        )
    return out


def _kubernetes_problems(snap: Snapshot) -> list[str]:
    """What the operator made under the ECS resources: the Deployment, its running tasks on
    Fargate nodes, and the HPA that stands for the target-tracking policy."""
    if snap.named(snap.deployments, SVC) is None:
        return [f"no Deployment {SVC}: the operator has not rendered ECSService {SVC} (is it running?)"]
    out = []
    running = snap.running_tasks(SVC)
    fargate = [p for p in running if snap.node_label(p, "eks.amazonaws.com/compute-type") == "fargate"]
    if len(fargate) < RANGE[0]:
        out.append(
            f"{len(fargate)} of at least {RANGE[0]} {SVC} tasks run on Fargate nodes ({len(running)} running)"
        )
    bounds = [
        ((h.get("spec") or {}).get("minReplicas"), (h.get("spec") or {}).get("maxReplicas"))
        for h in snap.hpas
    ]
    if RANGE not in bounds:
        out.append(
            f"no HorizontalPodAutoscaler scales {SVC} {RANGE[0]}-{RANGE[1]} (found {bounds}): "
            f"the policy {SVC}-cpu is not rendered yet"
        )
    return out


class CopilotLab(Lab):
    def cluster_answer(self, api: Any, namespace: str) -> list[str]:
        """`app init`, `env init --namespace <lab namespace>`, the manifest, `svc deploy`: the
        Copilot verbs themselves, on a temporary workspace (the participant's is their own)."""
        from ecsk.copilot import commands
        from ecsk.copilot import workspace as wsp

        try:
            with tempfile.TemporaryDirectory(prefix="ecsk-lab17-") as root:
                done = commands.app_init(Path(root), APP)
                done += commands.env_init(api, APP, ENV, namespace=namespace)
                where = commands.environment(api, APP, ENV).namespace
                if where != namespace:
                    raise LabError(
                        f"environment {ENV} of application {APP} already lives in namespace {where}: "
                        f"`ecsk copilot env delete --name {ENV} --app {APP}` first"
                    )
                ws = wsp.require(Path(root))
                done.append(f"wrote {wsp.write_manifest(ws, SVC, MANIFEST)}")
                deployed = commands.svc_deploy(api, ws, SVC, ENV, wait=0)
        except (commands.CopilotError, wsp.WorkspaceError) as exc:
            raise LabError(f"a Copilot step failed: {exc}") from exc
        return done + [f"applied {line}" for line in deployed.applied]

    def problems(self, snap: Snapshot) -> list[str]:
        if missing := missing_namespace(snap):
            return missing
        record = _record(snap)
        if blocked := _environment_problems(snap, record):
            return blocked
        app = str((record or {}).get("application"))
        if snap.get("ECSService", SVC) is None or snap.get("TaskDefinition", SVC) is None:
            return [
                f"no service {SVC} deployed in environment {ENV}: write copilot/{SVC}/manifest.yml (the "
                f"guide has it) and run `ecsk copilot svc deploy --name {SVC} --env {ENV}`"
            ]
        refused = [
            f"the operator refused {kind} {SVC}: {reason}"
            for kind in ("TaskDefinition", "ECSService")
            if (reason := invalid_reason(snap.get(kind, SVC)))
        ]
        ecs = refused + _taskdef_problems(snap, app) + _service_problems(snap, app) + _scaling_problems(snap)
        return ecs or _kubernetes_problems(snap)


LAB = CopilotLab(
    number=17,
    slug="copilot",
    title="Copilot: one command from Dockerfile to service",
    topic=(
        "AWS Copilot: applications, environments, services; "
        "the infrastructure it provisions on ECS and Fargate"
    ),
    goal=(
        f"With the Copilot workflow, deploy the Load Balanced Web Service {SVC} of the application "
        f"{APP} to an environment {ENV} that lives in the lab namespace: image {IMAGE} on port {PORT}, "
        f"variable COFFEE=espresso, {RANGE[0]} to {RANGE[1]} tasks tracking {CPU_TARGET}% CPU."
    ),
    steps=(
        f"mkdir {APP} && cd {APP} && ecsk copilot app init {APP}",
        f"ecsk copilot env init --name {ENV} --namespace {{ns}}",
        f'ecsk copilot svc init --name {SVC} --svc-type "Load Balanced Web Service" --image {IMAGE} '
        f"--port {PORT}",
        f"Edit copilot/{SVC}/manifest.yml: "
        f"count: {{{{range: {RANGE[0]}-{RANGE[1]}, cpu_percentage: {CPU_TARGET}}}}}, "
        "variables: {{COFFEE: espresso}} (the guide has the whole manifest)",
        f"ecsk copilot svc deploy --name {SVC} --env {ENV}   (the warnings name what ecsk does not map)",
        f"ecsk copilot svc status --name {SVC} --env {ENV}; kubectl -n {{ns}} get "
        "taskdefinition,ecsservice,scalabletarget,scalingpolicy,deploy,hpa",
    ),
    hints=(
        "Copilot's environment gets its own namespace unless told: env init --namespace {ns} puts "
        "it in the lab's.",
        "count.range makes a ScalableTarget (MinCapacity, MaxCapacity); each count.<metric> makes a "
        "target-tracking ScalingPolicy <svc>-<metric>.",
        "image.location names an existing image, so svc deploy builds nothing; "
        "image.build would need Docker.",
    ),
)
