"""Lab 10: load balancing: an ALB in front of bridge-mode EC2 tasks with dynamic host ports, an
NLB in front of Fargate tasks that each have their own private IP, and a security group.

On the cluster the target groups are TargetGroupBindings (AWS Load Balancer Controller) over a
Service: `instance` targets (a NodePort standing in for the dynamic host port) for bridge mode,
`ip` targets (the pod IP, which is what awsvpc gives each task) for Fargate.
"""

from __future__ import annotations

from typing import Any

from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    container,
    ec2_service,
    fargate_service,
    require,
    spec,
    td_doc,
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


def _web_td(host_port: int) -> Obj:
    port = {"containerPort": WEB_PORT, "hostPort": host_port, "protocol": "tcp"}
    body = {
        "family": WEB,
        "networkMode": "bridge",
        "containerDefinitions": [container(WEB, portMappings=[port])],
    }
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


def _web_service(balanced: bool) -> Obj:
    extra: dict[str, Any] = {"placementConstraints": ONLY_C5_LARGE}
    if balanced:
        extra["loadBalancers"] = [{"targetGroupArn": WEB_TG, "containerName": WEB, "containerPort": WEB_PORT}]
    return ec2_service(WEB, WEB_DESIRED, **extra)


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


def _web_problems(snap: Snapshot) -> list[str]:
    out = []
    fixed = static_host_ports(spec(snap.get("TaskDefinition", WEB)))
    if fixed:
        out.append(
            f"TaskDefinition web maps container port {WEB_PORT} to the static host port {fixed[0]}: "
            "one web task per instance; set hostPort 0 (dynamic host port mapping)"
        )
    if not _registered(spec(snap.get("ECSService", WEB)), WEB_TG, WEB, WEB_PORT):
        out.append(
            f"service web is not registered with the ALB target group web-alb: add loadBalancers "
            f"[{{targetGroupArn: {WEB_TG}, containerName: web, containerPort: {WEB_PORT}}}]"
        )
    else:
        out += _binding_problems(snap, WEB, "instance", "NodePort")
    running = snap.running_tasks(WEB)
    pending = len(snap.pending_tasks(WEB))
    if len(running) != WEB_DESIRED:
        out.append(
            f"{len(running)} of {WEB_DESIRED} web tasks are running ({pending} PENDING): "
            "the three c5.large instances hold one task each while a host port is fixed"
        )
    elif bound := _hosts(running):
        out.append(f"{len(bound)} running web task(s) still bind a host port: wait for the new revision")
    return out


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
        "A static hostPort can be bound once per instance; hostPort 0 lets Docker pick one per task.",
        "The target group is attached in the service (loadBalancers), not in the task definition.",
        "Fargate tasks use awsvpc: each task has its own ENI and private IP, so the NLB targets IPs; "
        "security groups go in networkConfiguration.awsvpcConfiguration.securityGroups.",
    ),
)
