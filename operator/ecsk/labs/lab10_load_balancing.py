"""Lab 10: load balancing: an ALB in front of bridge-mode EC2 tasks with dynamic host ports, an
NLB in front of Fargate tasks that each have their own private IP, and a security group.

On the cluster the target groups are TargetGroupBindings (AWS Load Balancer Controller) over a
Service: `instance` targets (a NodePort standing in for the dynamic host port) for bridge mode,
`ip` targets (the pod IP, which is what awsvpc gives each task) for Fargate.

The real-container variant (`ecsk lab start 10 --real`, on kind) runs the ALB half with the test
app on the three EC2 workers: there the operator publishes a load-balanced service as a NodePort
that kind maps to 127.0.0.1, and the check sends real requests through it and proves that every
running task answers (kind's Fargate nodes are kwok's and run nothing, so the NLB half, whose
targets are Fargate tasks, stays on the embedded variant).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ecsk.labs.engine import (
    Lab,
    Obj,
    ProbeError,
    Probes,
    Snapshot,
    container,
    ec2_service,
    fargate_service,
    require,
    spec,
    td_doc,
    testapp,
)

WEB, API = "web", "api"
WEB_DESIRED, API_DESIRED = 5, 2
WEB_PORT, API_PORT = 80, 8080
ACCOUNT_REGION = "us-east-1:123456789012"
WEB_TG = f"arn:aws:elasticloadbalancing:{ACCOUNT_REGION}:targetgroup/web-alb/6d0ecf831eec9f09"
API_TG = f"arn:aws:elasticloadbalancing:{ACCOUNT_REGION}:targetgroup/api-nlb/2453ed029918f21f"
SG = "sg-0a1b2c3d4e5f60718"
SG_LABEL = f"sg.ecs.ecsk.io/{SG}"
ONLY_C5_LARGE = [{"type": "memberOf", "expression": "attribute:ecs.instance-type == c5.large"}]


APP_PORT = 8080
"""The test app's port in the real variant (the container port the ALB targets)."""
REAL_DESIRED = 4
"""One more task than kind has workers: a fixed host port leaves one PENDING."""
REQUESTS_PER_TASK = 10
"""Requests the real check sends per running task: with random spreading, a task that is a
target misses all of them with odds under 1 in 10,000 (4 tasks: 4 x (3/4)^40)."""


def _web_td(host_port: int, real: bool = False) -> Obj:
    port = {"containerPort": APP_PORT if real else WEB_PORT, "hostPort": host_port, "protocol": "tcp"}
    web = testapp(WEB, APP_PORT, portMappings=[port]) if real else container(WEB, portMappings=[port])
    body = {"family": WEB, "networkMode": "bridge", "containerDefinitions": [web]}
    return td_doc(WEB, body)


def _api_td() -> Obj:
    api = container(API, portMappings=[{"containerPort": API_PORT, "protocol": "tcp"}])
    body = {
        "family": API,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [api],
    }
    return td_doc(API, body)


def _web_service(balanced: bool, real: bool = False) -> Obj:
    """The embedded variant keeps `web` on the three c5.large instances; on kind the three workers
    (one per zone, one of them a c5.large) are the instances."""
    extra: dict[str, Any] = {} if real else {"placementConstraints": ONLY_C5_LARGE}
    if balanced:
        port = APP_PORT if real else WEB_PORT
        extra["loadBalancers"] = [{"targetGroupArn": WEB_TG, "containerName": WEB, "containerPort": port}]
    return ec2_service(WEB, REAL_DESIRED if real else WEB_DESIRED, **extra)


def _api_service(balanced: bool) -> Obj:
    if not balanced:
        return fargate_service(API, API_DESIRED)
    lb = {"targetGroupArn": API_TG, "containerName": API, "containerPort": API_PORT}
    return fargate_service(API, API_DESIRED, security_groups=[SG], loadBalancers=[lb])


def static_host_ports(td: dict[str, Any]) -> list[int]:
    """The fixed host ports of the task definition's `web` container (0 or none means dynamic)."""
    for c in td.get("containerDefinitions") or []:
        if c.get("name") == WEB:
            return [int(p.get("hostPort") or 0) for p in c.get("portMappings") or [] if p.get("hostPort")]
    return []


def _registered(service: dict[str, Any], arn: str, name: str, port: int) -> bool:
    return any(
        lb.get("targetGroupArn") == arn
        and lb.get("containerName") == name
        and lb.get("containerPort") == port
        for lb in service.get("loadBalancers") or []
    )


def _binding_problems(snap: Snapshot, service: str, target_type: str, service_type: str) -> list[str]:
    """What the operator rendered from loadBalancers: the Service and the TargetGroupBinding."""
    binding = snap.named(snap.target_group_bindings, f"{service}-tg0")
    if binding is None:
        return [f"no TargetGroupBinding {service}-tg0 yet: the operator renders it from loadBalancers"]
    out = []
    if spec(binding).get("targetType") != target_type:
        out.append(
            f"TargetGroupBinding {service}-tg0 has targetType {spec(binding).get('targetType')}, "
            f"not {target_type}"
        )
    k8s_service = snap.named(snap.services, service)
    kind = spec(k8s_service).get("type") or "ClusterIP"
    if k8s_service is None:
        out.append(f"no Service {service} yet: the target group has nothing to point at")
    elif kind != service_type:
        out.append(f"Service {service} is of type {kind}, not {service_type}")
    return out


def _hosts(pods: list[Obj]) -> list[int]:
    return [
        int(p["hostPort"])
        for pod in pods
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if p.get("hostPort")
    ]


def _static_port_problems(snap: Snapshot, port: int) -> list[str]:
    fixed = static_host_ports(spec(snap.get("TaskDefinition", WEB)))
    if not fixed:
        return []
    return [
        f"TaskDefinition web maps container port {port} to the static host port {fixed[0]}: "
        "one web task per instance; set hostPort 0 (dynamic host port mapping)"
    ]


def _registration_problems(snap: Snapshot, port: int) -> list[str]:
    if _registered(spec(snap.get("ECSService", WEB)), WEB_TG, WEB, port):
        return []
    return [
        f"service web is not registered with the ALB target group web-alb: add loadBalancers "
        f"[{{targetGroupArn: {WEB_TG}, containerName: web, containerPort: {port}}}]"
    ]


def _web_task_problems(snap: Snapshot, desired: int, instances: str) -> list[str]:
    running = snap.running_tasks(WEB)
    pending = len(snap.pending_tasks(WEB))
    if len(running) != desired:
        return [
            f"{len(running)} of {desired} web tasks are running ({pending} PENDING): "
            f"{instances} hold one task each while a host port is fixed"
        ]
    if bound := _hosts(running):
        return [f"{len(bound)} running web task(s) still bind a host port: wait for the new revision"]
    return []


def _web_problems(snap: Snapshot) -> list[str]:
    out = _static_port_problems(snap, WEB_PORT)
    out += _registration_problems(snap, WEB_PORT) or _binding_problems(snap, WEB, "instance", "NodePort")
    return out + _web_task_problems(snap, WEB_DESIRED, "the three c5.large instances")


def _api_problems(snap: Snapshot) -> list[str]:
    out = []
    service = spec(snap.get("ECSService", API))
    vpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    if SG not in (vpc.get("securityGroups") or []):
        out.append(f"service api has no security group {SG} in networkConfiguration.awsvpcConfiguration")
    if not _registered(service, API_TG, API, API_PORT):
        out.append(
            f"service api is not registered with the NLB target group api-nlb: add loadBalancers "
            f"[{{targetGroupArn: {API_TG}, containerName: api, containerPort: {API_PORT}}}]"
        )
    else:
        out += _binding_problems(snap, API, "ip", "ClusterIP")
    running = snap.running_tasks(API)
    ips = {str((p.get("status") or {}).get("podIP") or "") for p in running} - {""}
    unlabelled = [
        p for p in running if ((p.get("metadata") or {}).get("labels") or {}).get(SG_LABEL) != "true"
    ]
    if len(running) != API_DESIRED or len(ips) != API_DESIRED:
        out.append(f"{len(running)} of {API_DESIRED} api tasks are running, with {len(ips)} private IP(s)")
    elif unlabelled and SG in (vpc.get("securityGroups") or []):
        out.append(f"{len(unlabelled)} of {len(running)} api tasks are not in security group {SG} yet")
    if SG in (vpc.get("securityGroups") or []) and snap.named(snap.network_policies, API) is None:
        out.append(f"no NetworkPolicy {API} yet: the operator renders the security group as one")
    return out


def node_port(service: Obj | None) -> int | None:
    """The node port of the Service's first port (what kind publishes on 127.0.0.1), or None."""
    ports = spec(service).get("ports") or [{}]
    value = ports[0].get("nodePort")
    return int(value) if value else None


def _published_problems(snap: Snapshot) -> list[str]:
    """What the operator on kind renders from loadBalancers: a NodePort Service (no
    TargetGroupBinding: kind runs no AWS Load Balancer Controller)."""
    service = snap.named(snap.services, WEB)
    if service is None:
        return [f"no Service {WEB} yet: the operator renders it from loadBalancers"]
    kind = spec(service).get("type") or "ClusterIP"
    if kind != "NodePort":
        return [
            f"Service {WEB} is of type {kind}, not NodePort: the load balancer cannot reach it from the host"
        ]
    if node_port(service) is None:
        return [f"Service {WEB} has no node port yet"]
    return []


def hostname(pod: Obj) -> str:
    """The hostname the kubelet gives a pod's containers: its name, cut to 63 characters (a DNS
    label) without a trailing `-` or `.`; the test app answers with it."""
    return str(pod["metadata"]["name"])[:63].rstrip("-.")


Answer = Mapping[str, Any] | str
"""One request's outcome: the test app's JSON, or what went wrong, in words."""


def ask(get: Callable[[str], str], url: str) -> Answer:
    """One GET through the load balancer: the answering task's identity, or why there is none."""
    try:
        body = get(url)
    except ProbeError as exc:
        return str(exc)
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not doc.get("hostname"):
        return f"{url} answered {body[:80]!r}, not the test app's JSON with a hostname"
    return doc


def send(get: Callable[[str], str], url: str, count: int) -> list[Answer]:
    """Up to `count` requests, each on a new connection; the first failure ends the run (a refused
    or silent port would otherwise cost a timeout per request)."""
    answers: list[Answer] = []
    for _ in range(count):
        answers.append(ask(get, url))
        if isinstance(answers[-1], str):
            break
    return answers


def traffic_problems(url: str, answers: Sequence[Answer], tasks: Sequence[str]) -> list[str]:
    """What the requests show against the running tasks (pod names, which the test app reports
    as its hostname): every request answered, every task answering, no one else answering."""
    failed = [a for a in answers if isinstance(a, str)]
    served = [a for a in answers if not isinstance(a, str)]
    if not served:
        return [failed[0] if failed else f"no request was sent to {url}: no {WEB} task is running"]
    out = []
    if failed:
        out.append(f"{len(failed)} of {len(answers)} requests failed: {failed[0]}")
    by_host = Counter(str(a["hostname"]) for a in served)
    strangers = sorted(set(by_host) - set(tasks))
    if strangers:
        out.append(
            f"{sum(by_host[h] for h in strangers)} of {len(served)} requests were answered by "
            f"{', '.join(strangers)}, not a running {WEB} task: an old task still draining? check again"
        )
    silent = [t for t in tasks if t not in by_host]
    if silent:
        out.append(
            f"{len(served)} requests were answered by {len(tasks) - len(silent)} of {len(tasks)} tasks; "
            f"never by {', '.join(silent)}: a new target takes a few seconds to be registered, check again"
        )
    return out


class LoadBalancingLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_web_td(WEB_PORT), _web_service(False), _api_td(), _api_service(False)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_web_td(0), _web_service(True), _api_service(True)]

    def problems(self, snap: Snapshot) -> list[str]:
        wanted = [(kind, name) for name in (WEB, API) for kind in ("TaskDefinition", "ECSService")]
        if blocked := require(snap, self.number, *wanted):
            return blocked
        return _web_problems(snap) + _api_problems(snap)


class RealLoadBalancingLab(Lab):
    """The ALB half with the test app in real containers on kind's three EC2 workers, and real
    requests from the host through the load balancer's published port."""

    def starting_objects(self) -> list[Obj]:
        return [_web_td(APP_PORT, real=True), _web_service(False, real=True)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_web_td(0, real=True), _web_service(True, real=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", WEB), ("ECSService", WEB)):
            return blocked
        out = _static_port_problems(snap, APP_PORT)
        out += _registration_problems(snap, APP_PORT) or _published_problems(snap)
        return out + _web_task_problems(snap, REAL_DESIRED, "the three kind workers")

    def live_problems(self, snap: Snapshot, probes: Probes) -> list[str]:
        port = node_port(snap.named(snap.services, WEB))
        if port is None:
            return [f"Service {WEB} has no node port yet"]
        url = probes.balancer_url(port)
        tasks = sorted(hostname(p) for p in snap.running_tasks(WEB))
        return traffic_problems(url, send(probes.get, url, REQUESTS_PER_TASK * len(tasks)), tasks)


ALB_HINTS = (
    "A static hostPort can be bound once per instance; hostPort 0 lets Docker pick one per task.",
    "The target group is attached in the service (loadBalancers), not in the task definition.",
)
_REAL_STEPS = (
    "The ALB half of the lab with the test app in real containers on kind's three EC2 workers "
    "(kind's Fargate nodes are simulated and run nothing, so the NLB half stays embedded).",
    "See the PENDING task: kubectl -n {ns} get pods -o wide   (4 tasks, 3 workers, a fixed host port)",
    f"kubectl -n {{ns}} edit taskdefinition web: "
    f"portMappings: [{{{{containerPort: {APP_PORT}, hostPort: 0}}}}]",
    f"kubectl -n {{ns}} edit ecsservice web: loadBalancers: [{{{{targetGroupArn: {WEB_TG}, "
    f"containerName: web, containerPort: {APP_PORT}}}}}]",
    "The load balancer as the host sees it: kubectl -n {ns} get service web   "
    "(URL: http://127.0.0.1:<LB base port + nodePort - 30080>/, `ecsk kind status` prints the base)",
    "  for i in $(seq 12); do curl -s URL; echo; done   (each answer names the task: hostname, ip)",
)
LAB = LoadBalancingLab(
    number=10,
    slug="load-balancing",
    runs_on=(
        "embedded cluster (no traffic flows: host-port conflicts, the rendered Services, "
        "TargetGroupBindings, NetworkPolicies and pod IPs are what is checked)"
    ),
    title="Load balancing: ALB with dynamic host ports, NLB to one IP per Fargate task",
    topic="ECS load balancer integrations (ALB, NLB), dynamic host port mapping, awsvpc, security groups",
    goal=(
        f"`web` (bridge mode, EC2, {WEB_DESIRED} tasks on the c5.large instances) binds the static host "
        f"port {WEB_PORT}, so only one task fits per instance. Make its host port dynamic and put it "
        "behind the ALB target group web-alb; put the Fargate service `api` behind the NLB target "
        f"group api-nlb, in security group {SG}."
    ),
    steps=(
        "See the PENDING tasks: kubectl -n {ns} get pods -o wide  (ecsk placement -n {ns} --service web)",
        "kubectl -n {ns} edit taskdefinition web: portMappings: [{{containerPort: 80, hostPort: 0}}]",
        f"kubectl -n {{ns}} edit ecsservice web: loadBalancers: [{{{{targetGroupArn: {WEB_TG}, "
        "containerName: web, containerPort: 80}}]",
        f"kubectl -n {{ns}} edit ecsservice api: loadBalancers: [{{{{targetGroupArn: {API_TG}, "
        f"containerName: api, containerPort: 8080}}}}] and securityGroups: [{SG}] in "
        "networkConfiguration.awsvpcConfiguration",
        "See what ECS's target groups became: kubectl -n {ns} get services,targetgroupbindings,"
        "networkpolicies -o wide; kubectl -n {ns} get pods -o wide  (one IP per api task)",
    ),
    hints=(
        *ALB_HINTS,
        "Fargate tasks use awsvpc: each task has its own ENI and private IP, so the NLB targets IPs; "
        "security groups go in networkConfiguration.awsvpcConfiguration.securityGroups.",
    ),
    real=RealLoadBalancingLab(
        number=10,
        slug="load-balancing",
        runs_on=(
            "kind, real containers (ecsk-testapp on the EC2 workers): the check sends requests "
            "through the load balancer's published port and needs an answer from every task"
        ),
        title="Load balancing: ALB with dynamic host ports (real containers)",
        topic="ECS load balancer integrations (ALB), dynamic host port mapping",
        goal=(
            f"`web` (bridge mode, EC2, {REAL_DESIRED} tasks of the test app) binds the static host port "
            f"{APP_PORT}, so only one task fits per instance and kind has three. Make its host port "
            "dynamic and put it behind the ALB target group web-alb, so requests from the host "
            "through the load balancer are answered by every task."
        ),
        steps=_REAL_STEPS,
        hints=(
            *ALB_HINTS,
            f"The check sends {REQUESTS_PER_TASK} requests per running task through the load "
            "balancer (each on a new connection) and needs every task among the answers: the test "
            "app answers with its hostname, the task's pod name.",
        ),
    ),
)
