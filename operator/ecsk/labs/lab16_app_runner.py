"""Lab 16: AWS App Runner: a web service from a container image (App Runner's own sample image in
ECR Public, so no Docker and no registry push is needed), with a port, an environment variable,
an HTTP health check and auto scaling between MinSize and MaxSize; then paused and resumed.

The check reads the AppRunnerService the participant created (its spec against the lab's values,
App Runner's defaults counted, and the status App Runner reports: RUNNING, a ServiceUrl, the
operations history), then, once the spec is right, the Deployment, Service, Ingress and
HorizontalPodAutoscaler the operator made for it. `solve` applies the service and then pauses
and resumes it through the App Runner API's own handlers, exactly as `aws apprunner
pause-service` / `resume-service` would, each only once the operator has finished the step before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ecsk.core.apprunner.models import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_SIZE,
    DEFAULT_MIN_SIZE,
    DEFAULT_PATH,
    DEFAULT_PORT,
    DEFAULT_PROTOCOL,
)
from ecsk.labs import kube
from ecsk.labs.engine import CR, Lab, LabError, Obj, Snapshot, invalid_reason, missing_namespace, spec, status

NAME = "hello-web"
IMAGE = "public.ecr.aws/aws-containers/hello-app-runner:latest"
"""App Runner's getting-started image (ECR Public): the embedded cluster's pods run no container,
and kind pulls nothing from a hub, so the lab never needs Docker or a push."""
PORT = "8000"
ENV = {"GREETING": "hello from lab 16"}
HEALTH_PATH = "/health"
MIN_SIZE, MAX_SIZE, MAX_CONCURRENCY = 2, 5, 10
API_PORT = 4616
WAIT_SECONDS = 90.0
CONTAINER = "app"


def service_doc() -> Obj:
    """The reference AppRunnerService (App Runner's CreateService input, as the guide gives it)."""
    body = {
        "ServiceName": NAME,
        "SourceConfiguration": {
            "ImageRepository": {
                "ImageIdentifier": IMAGE,
                "ImageRepositoryType": "ECR_PUBLIC",
                "ImageConfiguration": {"Port": PORT, "RuntimeEnvironmentVariables": dict(ENV)},
            },
            "AutoDeploymentsEnabled": False,
        },
        "InstanceConfiguration": {"Cpu": "0.25 vCPU", "Memory": "0.5 GB"},
        "HealthCheckConfiguration": {"Protocol": "HTTP", "Path": HEALTH_PATH, "Interval": 5},
        "AutoScalingConfiguration": {
            "MaxConcurrency": MAX_CONCURRENCY,
            "MinSize": MIN_SIZE,
            "MaxSize": MAX_SIZE,
        },
    }
    return {"apiVersion": CR, "kind": "AppRunnerService", "metadata": {"name": NAME}, "spec": body}


def _service(snap: Snapshot) -> Obj | None:
    """The lab's service by object name or ServiceName (CreateService names the object itself)."""
    return next(
        (
            s
            for s in snap.ecs.get("AppRunnerService", [])
            if NAME in ((s.get("metadata") or {}).get("name"), spec(s).get("ServiceName"))
        ),
        None,
    )


def _image_problems(body: dict[str, Any]) -> list[str]:
    repo = (body.get("SourceConfiguration") or {}).get("ImageRepository") or {}
    config = repo.get("ImageConfiguration") or {}
    out = []
    if not repo.get("ImageIdentifier"):
        out.append(f"the service names no image (ImageRepository.ImageIdentifier); the lab asks for {IMAGE}")
    elif repo.get("ImageIdentifier") != IMAGE:
        out.append(f"the service runs the image {repo.get('ImageIdentifier')}; the lab asks for {IMAGE}")
    if repo.get("ImageRepositoryType") != "ECR_PUBLIC":
        out.append(
            f"ImageRepositoryType is {repo.get('ImageRepositoryType')}; an image in ECR Public is ECR_PUBLIC"
        )
    port = str(config.get("Port") or DEFAULT_PORT)
    if port != PORT:
        default = " (App Runner's default)" if not config.get("Port") else ""
        out.append(
            f"the service listens on port {port}{default}; the lab asks for {PORT} (ImageConfiguration.Port)"
        )
    variables = config.get("RuntimeEnvironmentVariables") or {}
    for key, value in ENV.items():
        if key not in variables:
            out.append(f"RuntimeEnvironmentVariables has no {key}; the lab asks for {key}={value}")
        elif variables[key] != value:
            out.append(
                f"RuntimeEnvironmentVariables has {key}={variables[key]}; the lab asks for {key}={value}"
            )
    return out


def _health_problems(body: dict[str, Any]) -> list[str]:
    health = body.get("HealthCheckConfiguration") or {}
    protocol = health.get("Protocol") or DEFAULT_PROTOCOL
    if protocol != "HTTP":
        default = " (App Runner's default)" if not health.get("Protocol") else ""
        return [f"the health check is {protocol}{default}; the lab asks for an HTTP check on {HEALTH_PATH}"]
    path = health.get("Path") or DEFAULT_PATH
    if path != HEALTH_PATH:
        return [f"the HTTP health check asks {path}; the lab asks for {HEALTH_PATH}"]
    return []


def _scaling_problems(body: dict[str, Any]) -> list[str]:
    scaling = body.get("AutoScalingConfiguration") or {}
    wanted = (
        ("MinSize", DEFAULT_MIN_SIZE, MIN_SIZE),
        ("MaxSize", DEFAULT_MAX_SIZE, MAX_SIZE),
        ("MaxConcurrency", DEFAULT_MAX_CONCURRENCY, MAX_CONCURRENCY),
    )
    out = []
    for key, default, value in wanted:
        got = scaling.get(key, default)
        if got != value:
            why = " (App Runner's default)" if key not in scaling else ""
            out.append(
                f"the service has {key} {got}{why}; the lab asks for {value} (AutoScalingConfiguration)"
            )
    return out


def _state_problems(svc: Obj) -> list[str]:
    st = status(svc)
    state = st.get("Status") or "OPERATION_IN_PROGRESS"
    if state == "CREATE_FAILED":
        return [f"the service is CREATE_FAILED: {invalid_reason(svc) or 'see kubectl describe ars'}"]
    if reason := invalid_reason(svc):  # an update App Runner refused: the old one keeps running
        return [f"the operator refused the last change of {NAME} (UPDATE_SERVICE FAILED): {reason}"]
    if state == "PAUSED":
        return [
            f"the service is PAUSED: resume it (aws apprunner resume-service, "
            f"or kubectl annotate ars {NAME} ecs.ecsk.io/paused-)"
        ]
    if state != "RUNNING":
        return [f"the service is {state}, not RUNNING yet (operator running? kubectl get ars {NAME} -w)"]
    if not st.get("ServiceUrl"):
        return ["the service is RUNNING but has no ServiceUrl yet"]
    return []


def _operations_problems(svc: Obj) -> list[str]:
    """Operations are newest first: the lab wants a PAUSE_SERVICE, then a later RESUME_SERVICE,
    both SUCCEEDED."""
    ops = [o for o in status(svc).get("Operations") or [] if isinstance(o, dict)]
    kinds = [str(o.get("Type")) for o in ops]
    if "PAUSE_SERVICE" not in kinds:
        return [
            "the operations history has no PAUSE_SERVICE: pause the service (aws apprunner pause-service)"
        ]
    pause = kinds.index("PAUSE_SERVICE")
    resume = next((i for i, k in enumerate(kinds[:pause]) if k == "RESUME_SERVICE"), None)
    if resume is None:
        return ["the service was paused but not resumed since: no RESUME_SERVICE after the PAUSE_SERVICE"]
    out = []
    for index, kind in ((pause, "PAUSE_SERVICE"), (resume, "RESUME_SERVICE")):
        state = ops[index].get("Status")
        if state != "SUCCEEDED":
            out.append(f"the last {kind} is {state}, not SUCCEEDED")
    return out


def _container(obj: Obj | None) -> dict[str, Any]:
    pod = (((obj or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    found = [c for c in pod.get("containers") or [] if c.get("name") == CONTAINER]
    return found[0] if found else {}


def _deployment_problems(snap: Snapshot) -> list[str]:
    dep = snap.named(snap.deployments, NAME)
    if dep is None:
        return [f"no Deployment {NAME}: the operator has not rendered the service (is it running?)"]
    c = _container(dep)
    out = []
    ports = [p.get("containerPort") for p in c.get("ports") or []]
    if int(PORT) not in ports:
        out.append(f"Deployment {NAME}'s container listens on {ports}, not {PORT}")
    env = {e.get("name"): e.get("value") for e in c.get("env") or []}
    out += [f"Deployment {NAME}'s container has no env {k}={v}" for k, v in ENV.items() if env.get(k) != v]
    probe = (c.get("readinessProbe") or {}).get("httpGet") or {}
    if probe.get("path") != HEALTH_PATH:
        out.append(f"Deployment {NAME} has no HTTP readiness probe on {HEALTH_PATH}")
    ready = int((dep.get("status") or {}).get("readyReplicas") or 0)
    if ready < MIN_SIZE:
        out.append(f"{ready} of at least {MIN_SIZE} instances (pods of Deployment {NAME}) are ready")
    return out


def _routing_problems(snap: Snapshot, url: str) -> list[str]:
    out = []
    svc = snap.named(snap.services, NAME)
    targets = [p.get("targetPort") for p in ((svc or {}).get("spec") or {}).get("ports") or []]
    if svc is None:
        out.append(f"no Service {NAME} in front of the instances")
    elif int(PORT) not in targets:
        out.append(f"Service {NAME} targets port {targets}, not {PORT}")
    ingress = snap.named(snap.ingresses, NAME)
    hosts = [r.get("host") for r in ((ingress or {}).get("spec") or {}).get("rules") or []]
    if ingress is None:
        out.append(f"no Ingress {NAME} for the ServiceUrl {url}")
    elif url not in hosts:
        out.append(f"Ingress {NAME} answers {hosts}, not the ServiceUrl {url}")
    return out


def _hpa_problems(snap: Snapshot) -> list[str]:
    hpa = snap.named(snap.hpas, NAME)
    if hpa is None:
        return [f"no HorizontalPodAutoscaler {NAME}: App Runner's auto scaling is not rendered"]
    body = hpa.get("spec") or {}
    out = []
    if (body.get("minReplicas"), body.get("maxReplicas")) != (MIN_SIZE, MAX_SIZE):
        out.append(
            f"HPA {NAME} scales {body.get('minReplicas')}-{body.get('maxReplicas')}; "
            f"the lab asks for {MIN_SIZE}-{MAX_SIZE}"
        )
    targets = [
        str(((m.get("external") or {}).get("target") or {}).get("averageValue"))
        for m in body.get("metrics") or []
    ]
    if str(MAX_CONCURRENCY) not in targets:
        out.append(f"HPA {NAME} does not target {MAX_CONCURRENCY} concurrent requests per instance")
    return out


def _rendering_problems(snap: Snapshot, svc: Obj) -> list[str]:
    url = str(status(svc).get("ServiceUrl") or "")
    return _deployment_problems(snap) + _routing_problems(snap, url) + _hpa_problems(snap)


class AppRunnerLab(Lab):
    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [service_doc()]

    def cluster_answer(self, api: Any, namespace: str) -> list[str]:
        return kube.call_api(api, namespace, pause_and_resume)

    def problems(self, snap: Snapshot) -> list[str]:
        if missing := missing_namespace(snap):
            return missing
        svc = _service(snap)
        if svc is None:
            return [
                f"no AppRunnerService {NAME} in {snap.namespace}: create it from {IMAGE} "
                "(kubectl apply, or aws apprunner create-service)"
            ]
        body = spec(svc)
        wrong = _image_problems(body) + _health_problems(body) + _scaling_problems(body)
        state = _state_problems(svc)
        rendering = _rendering_problems(snap, svc) if not wrong and not state else []
        return wrong + state + rendering + _operations_problems(svc)


# --- the reference answer's pause and resume, through the App Runner API ----------------------


def _wait(ctx: Any, *wanted: str, timeout: float = WAIT_SECONDS) -> str:
    """The service's Status once it is one of `wanted` and the operator has seen its latest spec
    (a status still RUNNING from before an update is not the update's)."""
    deadline = time.monotonic() + timeout
    last = "not created"
    while time.monotonic() < deadline:
        body = ctx.store.get("AppRunnerService", NAME, fresh=True) or {}
        st = body.get("status") or {}
        last = str(st.get("Status") or "OPERATION_IN_PROGRESS")
        seen = st.get("deployedGeneration") == (body.get("metadata") or {}).get("generation")
        if last in wanted and seen:
            return last
        time.sleep(0.5)
    raise LabError(
        f"service {NAME} is {last}, not {' or '.join(wanted)}, after {timeout:.0f} s: "
        "is the operator running?"
    )


def _arn(ctx: Any) -> str:
    from ecsk.api.apprunner import services

    listed = services.list_services(ctx, {})["ServiceSummaryList"]
    found = [s["ServiceArn"] for s in listed if s["ServiceName"] == NAME]
    if not found:
        raise LabError(f"service {NAME} is not in the namespace: `ecsk lab solve 16` creates it first")
    return str(found[0])


def pause_and_resume(ctx: Any, wait: Callable[..., str] = _wait) -> list[str]:
    """PauseService once RUNNING, ResumeService once PAUSED (App Runner refuses either in
    another state): the operations history then holds both. A service the participant left
    PAUSED is only resumed."""
    from ecsk.api.apprunner import services

    done = []
    arn = ""
    if wait(ctx, "RUNNING", "PAUSED") == "RUNNING":
        arn = _arn(ctx)
        paused = services.pause_service(ctx, {"ServiceArn": arn})["OperationId"]
        done.append(f"paused {NAME} (operation {paused})")
        wait(ctx, "PAUSED")
    resumed = services.resume_service(ctx, {"ServiceArn": arn or _arn(ctx)})["OperationId"]
    return [*done, f"resumed {NAME} (operation {resumed})"]


ARN = f"$(kubectl -n {{ns}} get ars {NAME} -o jsonpath='{{{{.status.ServiceArn}}}}')"

LAB = AppRunnerLab(
    number=16,
    slug="app-runner",
    title="App Runner: from an image to a web service",
    topic="AWS App Runner: web apps and APIs from a container image, automatic scaling, load balancer",
    runs_on="embedded cluster (kwok nodes) + an AWS endpoint on the lab namespace for pause/resume",
    goal=(
        f"Run {IMAGE} as the App Runner service {NAME} on port {PORT}, with GREETING set, an HTTP "
        f"health check on {HEALTH_PATH} and auto scaling between {MIN_SIZE} and {MAX_SIZE} instances "
        f"({MAX_CONCURRENCY} concurrent requests each); then pause it and resume it."
    ),
    steps=(
        "kubectl -n {ns} apply -f hello-web.yaml: an AppRunnerService (the guide has it) with "
        f"ImageIdentifier {IMAGE}, ImageRepositoryType ECR_PUBLIC, Port {PORT}, "
        f"RuntimeEnvironmentVariables GREETING, HealthCheckConfiguration HTTP {HEALTH_PATH}, "
        f"AutoScalingConfiguration MinSize {MIN_SIZE} MaxSize {MAX_SIZE} MaxConcurrency {MAX_CONCURRENCY}",
        f"kubectl -n {{ns}} get ars {NAME} -w   (OPERATION_IN_PROGRESS, then RUNNING with a ServiceUrl); "
        f"kubectl -n {{ns}} get deploy,svc,ingress,hpa",
        f"An endpoint for the lab namespace: ecsk api serve -n {{ns}} --port {API_PORT} &   then export "
        f"AWS_ENDPOINT_URL=$(ecsk api url --port {API_PORT}) AWS_ACCESS_KEY_ID=lab "
        "AWS_SECRET_ACCESS_KEY=lab AWS_DEFAULT_REGION=us-east-1",
        f"aws apprunner pause-service --service-arn {ARN}; wait for PAUSED (0 instances, no HPA)",
        f"aws apprunner resume-service --service-arn {ARN}; "
        f"aws apprunner list-operations --service-arn {ARN}",
        f"Observe scaling: ecsk apprunner load {NAME} -n {{ns}} --concurrency 35, "
        "then kubectl -n {ns} get hpa -w",
    ),
    hints=(
        "An AppRunnerService's spec is App Runner's CreateService input: SourceConfiguration.ImageRepository "
        "holds the image, its type and ImageConfiguration (Port, RuntimeEnvironmentVariables).",
        "Auto scaling is inline in ecsk: AutoScalingConfiguration {{MaxConcurrency, MinSize, MaxSize}}; "
        "the health check is HealthCheckConfiguration {{Protocol: HTTP, Path}}.",
        "Pause needs RUNNING and resume needs PAUSED (InvalidStateException otherwise); without the "
        "endpoint, kubectl annotate ars hello-web ecs.ecsk.io/paused=true "
        "(and ecs.ecsk.io/paused- to resume).",
    ),
)
