"""Load balancers, service discovery, Service Connect and security groups of an ECS service.

ECS attaches tasks to target groups that live in AWS; the faithful Kubernetes form is a
TargetGroupBinding (AWS Load Balancer Controller) pointing a Service at that existing target group.
Creating a load balancer instead (ALB Ingress / NLB Service) suits clusters where the AWS side is
to be built from Kubernetes; `RenderOptions.load_balancers` chooses (auto = bind when an ARN is
given, create otherwise). Target type follows the network mode: ip for awsvpc (each task has an
IP, as on Fargate), instance for bridge/host (a NodePort replaces ECS's dynamic host port).
"""

from __future__ import annotations

from typing import Any

from ecsk.core.models import ECSService, LoadBalancer, PortMapping, TaskDefinition
from ecsk.core.translate import names, networking
from ecsk.core.translate.types import Context

ALB = "alb"
NLB = "nlb"
ELB = "elb"
# A target group's health check settings live in ELB, not in the ECS input: a TCP connect on the
# target port every 5 s, out after ALB's default unhealthy threshold of 2, stands in for it.
TARGET_CHECK_PERIOD = 5
TARGET_CHECK_TIMEOUT = 2
TARGET_UNHEALTHY_THRESHOLD = 2


def find_port(td: TaskDefinition, container: str | None, port: int | None) -> PortMapping | None:
    c = td.container(container or "")
    if c is None:
        return None
    for pm in c.portMappings or ():
        if pm.containerPort == port:
            return pm
    return None


def lb_kind(lb: LoadBalancer, pm: PortMapping | None, ctx: Context) -> str:
    """ALB or NLB for a target group: the ARN does not say, so an explicit option wins
    (`load_balancer_types` keyed by ARN or target group name), then UDP or a name containing
    `nlb` means NLB, else ALB. Classic ELBs are named by loadBalancerName."""
    if lb.loadBalancerName and not lb.targetGroupArn:
        return ELB
    arn = lb.targetGroupArn or ""
    tg_name = arn.split("targetgroup/", 1)[-1].split("/", 1)[0] if "targetgroup/" in arn else ""
    explicit = ctx.options.load_balancer_types.get(arn) or ctx.options.load_balancer_types.get(tg_name)
    if explicit:
        return explicit.lower()
    if (pm is not None and pm.protocol == "udp") or "nlb" in tg_name.lower():
        return NLB
    return ALB


def _target_ports(svc: ECSService, td: TaskDefinition, ctx: Context) -> dict[str, list[PortMapping]]:
    """Pod container name -> its port mappings registered in a target group (or classic ELB)."""
    out: dict[str, list[PortMapping]] = {}
    for lb in svc.loadBalancers or ():
        pm = find_port(td, lb.containerName, lb.containerPort)
        if pm is not None and pm.containerPort is not None:  # a missing port is reported by build()
            out.setdefault(ctx.cname(lb.containerName or ""), []).append(pm)
    return out


def register_targets(pod: dict[str, Any], svc: ECSService, td: TaskDefinition, ctx: Context) -> None:
    """ECS registers a load-balanced task as a target once it passes the target group's health
    check, and to stop it deregisters the target, lets it drain for the deregistration delay,
    then sends SIGTERM and waits stopTimeout. A Service's endpoints are its ready pods, so:
    a readiness probe on the (TCP) target port where the container has none (its own
    healthCheck probe already gates readiness otherwise), a preStop sleep of the deregistration
    delay (the terminating pod leaves the endpoints at once but keeps serving what is in flight
    or was routed before every node's proxy caught up), and a grace period longer by that delay."""
    ports = _target_ports(svc, td, ctx)
    if not ports:
        return
    delay = ctx.options.deregistration_delay
    for c in pod.get("containers") or ():
        tcp = [pm.containerPort for pm in ports.get(c.get("name"), ()) if (pm.protocol or "tcp") == "tcp"]
        if tcp and "readinessProbe" not in c:
            c["readinessProbe"] = {
                "tcpSocket": {"port": tcp[0]},
                "periodSeconds": TARGET_CHECK_PERIOD,
                "timeoutSeconds": TARGET_CHECK_TIMEOUT,
                "failureThreshold": TARGET_UNHEALTHY_THRESHOLD,
            }
        if c.get("name") in ports and delay > 0:
            c.setdefault("lifecycle", {})["preStop"] = {"sleep": {"seconds": delay}}
    if delay > 0:
        pod["terminationGracePeriodSeconds"] = int(pod.get("terminationGracePeriodSeconds") or 30) + delay


def _meta(
    name: str, labels: dict[str, str], ctx: Context, ann: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ctx.options.namespace, "labels": dict(labels)}
    if ann:
        meta["annotations"] = dict(sorted(ann.items()))
    return meta


def _port_entry(pm: PortMapping) -> dict[str, Any]:
    proto = (pm.protocol or "tcp").upper()
    port: dict[str, Any] = {
        "name": networking.port_name(pm.name) or f"{proto.lower()}-{pm.containerPort}",
        "port": pm.containerPort,
        "targetPort": pm.containerPort,
        "protocol": proto,
    }
    if pm.appProtocol:
        port["appProtocol"] = pm.appProtocol
    return port


def _service(
    name: str,
    labels: dict[str, str],
    sel: dict[str, str],
    ports: list[dict[str, Any]],
    ctx: Context,
    *,
    type_: str = "ClusterIP",
    ann: dict[str, str] | None = None,
    headless: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": dict(sel)}
    if ports:
        spec["ports"] = ports
    if headless:
        spec["clusterIP"] = "None"
    if type_ != "ClusterIP":
        spec["type"] = type_
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, labels, ctx, ann), "spec": spec}


def build(
    svc: ECSService, td: TaskDefinition, base: str, sel: dict[str, str], labels: dict[str, str], ctx: Context
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    target = "ip" if td.effective_network_mode() == "awsvpc" else "instance"
    lb_ports: list[dict[str, Any]] = []
    nlb_ports: list[dict[str, Any]] = []
    elb_ports: list[dict[str, Any]] = []
    mode = ctx.options.load_balancers
    for i, lb in enumerate(svc.loadBalancers or ()):
        p = f"loadBalancers[{i}]"
        pm = find_port(td, lb.containerName, lb.containerPort)
        if pm is None:
            ctx.error(
                p,
                f"The container {lb.containerName} did not have a container port {lb.containerPort} defined.",
                "LoadBalancerPort",
            )
            continue
        entry = _port_entry(pm)
        if entry not in lb_ports:
            lb_ports.append(entry)
        kind = lb_kind(lb, pm, ctx)
        bind = bool(lb.targetGroupArn) and mode in ("auto", "bind")
        create = mode == "create" or not lb.targetGroupArn or (mode == "auto" and not lb.targetGroupArn)
        targets: list[str] = [f"Service/{base}"]
        if bind:
            tgb = f"{base}-tg{i}"
            out.append(
                {
                    "apiVersion": "elbv2.k8s.aws/v1beta1",
                    "kind": "TargetGroupBinding",
                    "metadata": _meta(tgb, labels, ctx),
                    "spec": {
                        "serviceRef": {"name": base, "port": pm.containerPort},
                        "targetGroupARN": lb.targetGroupArn,
                        "targetType": target,
                    },
                }
            )
            targets.append(f"TargetGroupBinding/{tgb}")
        if create and kind == ALB:
            ing = f"{base}-alb{i}"
            ann = {
                "alb.ingress.kubernetes.io/target-type": target,
                "alb.ingress.kubernetes.io/scheme": "internal",
                f"{names.ANN}target-group-arn": lb.targetGroupArn or "",
            }
            if pm.appProtocol in ("grpc", "http2"):
                ann["alb.ingress.kubernetes.io/backend-protocol-version"] = pm.appProtocol.upper()
            out.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": _meta(ing, labels, ctx, {k: v for k, v in ann.items() if v}),
                    "spec": {
                        "ingressClassName": "alb",
                        "rules": [
                            {
                                "http": {
                                    "paths": [
                                        {
                                            "path": "/",
                                            "pathType": "Prefix",
                                            "backend": {
                                                "service": {
                                                    "name": base,
                                                    "port": {"number": pm.containerPort},
                                                }
                                            },
                                        }
                                    ]
                                }
                            }
                        ],
                    },
                }
            )
            targets.append(f"Ingress/{ing}")
        elif create and kind == NLB:
            if entry not in nlb_ports:
                nlb_ports.append(entry)
            targets.append(f"Service/{base}-nlb")
        elif create and kind == ELB:
            if entry not in elb_ports:
                elb_ports.append(entry)
            targets.append(f"Service/{base}-elb")
        ctx.note(
            f"svc:{p}",
            (*targets, "spec.template.spec.containers[].readinessProbe", "...lifecycle.preStop"),
            f"{kind.upper()} target type {target}, registered once ready (a TCP check on the port unless "
            f"the container has a health check), drained {ctx.options.deregistration_delay} s (the "
            "deregistration delay, preStop) before SIGTERM: "
            + ("bound to the existing target group; " if bind else "")
            + (
                "load balancer created by the AWS Load Balancer Controller (scheme internal: ECS does "
                "not say; set the annotation to expose it)"
                if create
                else ""
            ),
        )
    if lb_ports:
        node_port = target == "instance" or ctx.options.load_balancer_node_ports
        type_ = "NodePort" if node_port else "ClusterIP"
        out.append(_service(base, labels, sel, lb_ports, ctx, type_=type_))
    if nlb_ports:
        ann = {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": target,
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        }
        out.append(_service(f"{base}-nlb", labels, sel, nlb_ports, ctx, type_="LoadBalancer", ann=ann))
    if elb_ports:
        out.append(_service(f"{base}-elb", labels, sel, elb_ports, ctx, type_="LoadBalancer"))
    out.extend(_registries(svc, td, base, sel, labels, ctx))
    out.extend(_service_connect(svc, td, sel, labels, ctx))
    policy = _network_policy(svc, td, base, sel, labels, lb_ports, ctx)
    if policy is not None:
        out.append(policy)
    return out


def _registries(
    svc: ECSService, td: TaskDefinition, base: str, sel: dict[str, str], labels: dict[str, str], ctx: Context
) -> list[dict[str, Any]]:
    """Cloud Map registries -> one headless Service: DNS A records per ready pod, and SRV records
    through its named ports (the SRV port is the container port: pods are reached directly)."""
    if not svc.serviceRegistries:
        return []
    ports: list[dict[str, Any]] = []
    arns: list[str] = []
    for i, reg in enumerate(svc.serviceRegistries):
        if reg.registryArn:
            arns.append(reg.registryArn)
        port = reg.port or reg.containerPort
        if port:
            entry = {"name": f"srv-{port}", "port": port, "targetPort": port, "protocol": "TCP"}
            if entry not in ports:
                ports.append(entry)
        ctx.note(
            f"svc:serviceRegistries[{i}]",
            f"Service/{base}-sd",
            "headless Service: <name>-sd.<namespace>.svc resolves to the task IPs (Cloud Map A/SRV)",
        )
    ann = {f"{names.ANN}registry-arns": ",".join(arns)} if arns else None
    return [_service(f"{base}-sd", labels, sel, ports, ctx, headless=True, ann=ann)]


def _service_connect(
    svc: ECSService, td: TaskDefinition, sel: dict[str, str], labels: dict[str, str], ctx: Context
) -> list[dict[str, Any]]:
    """Service Connect endpoints are client-side names; a ClusterIP Service named after the
    discovery name gives the same `name:port` to clients in the namespace."""
    sc = svc.serviceConnectConfiguration
    if sc is None or not sc.enabled or not sc.services:
        if sc is not None:
            ctx.note("svc:serviceConnectConfiguration", None, "client-only or disabled: nothing to publish")
        return []
    by_name: dict[str, PortMapping] = {}
    for c in td.containerDefinitions:
        for mapping in c.portMappings or ():
            if mapping.name:
                by_name[mapping.name] = mapping
    out: list[dict[str, Any]] = []
    for i, s in enumerate(sc.services):
        pm = by_name.get(s.portName)
        if pm is None or pm.containerPort is None:
            ctx.error(
                f"serviceConnectConfiguration.services[{i}].portName",
                f"portName {s.portName!r} does not match a named port mapping",
                "ServiceConnectPort",
            )
            continue
        name = names.dns_label(s.discoveryName or s.portName, max_len=63)
        alias_port = s.clientAliases[0].port if s.clientAliases else pm.containerPort
        port = {
            "name": networking.port_name(s.portName) or f"tcp-{pm.containerPort}",
            "port": alias_port,
            "targetPort": s.ingressPortOverride or pm.containerPort,
            "protocol": "TCP",
        }
        if pm.appProtocol:
            port["appProtocol"] = pm.appProtocol
        out.append(_service(name, labels, sel, [port], ctx))
        ctx.note(
            f"svc:serviceConnectConfiguration.services[{i}]",
            f"Service/{name}",
            f"ClusterIP Service {name}:{alias_port}; dnsName aliases, TLS, timeouts and access logs "
            "are proxy features (no proxy rendered)",
        )
    return out


def _network_policy(
    svc: ECSService,
    td: TaskDefinition,
    base: str,
    sel: dict[str, str],
    labels: dict[str, str],
    lb_ports: list[dict[str, Any]],
    ctx: Context,
) -> dict[str, Any] | None:
    """Security groups -> NetworkPolicy. The SG rules live in EC2 and are not in the ECS input,
    so only the common shape is expressed: members of the same security group may reach each other
    (pods carry `sg.ecs.ecsk.io/<sg>` labels) and load balancer ports are open; egress is not
    restricted (SG default allows all outbound)."""
    if td.effective_network_mode() == "none":
        return networking.deny_all_policy(base, sel, ctx)
    vpc = svc.networkConfiguration.awsvpcConfiguration if svc.networkConfiguration else None
    sgs = (vpc.securityGroups if vpc else None) or []
    if not sgs:
        return None
    if not ctx.options.network_policies:
        ctx.note(
            "svc:networkConfiguration.awsvpcConfiguration.securityGroups",
            "pod labels sg.ecs.ecsk.io/*",
            "network policies disabled: security groups only labelled",
        )
        return None
    peers = [
        {
            "namespaceSelector": {},
            "podSelector": {"matchLabels": {f"sg.{names.GROUP}/{names.label_name(sg)}": "true"}},
        }
        for sg in sgs
    ]
    rules: list[dict[str, Any]] = [{"from": peers}]
    if lb_ports:
        rules.append(
            {
                "from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"port": p["port"], "protocol": p["protocol"]} for p in lb_ports],
            }
        )
    ctx.note(
        "svc:networkConfiguration.awsvpcConfiguration.securityGroups",
        (f"NetworkPolicy/{base}", "spec.template.metadata.labels['sg.ecs.ecsk.io/*']"),
        "same-security-group peers and load balancer ports admitted; the SG's own rules (CIDRs, other "
        "groups) are in EC2 and not expressed. EKS 'security groups for pods' (SecurityGroupPolicy) "
        "would apply the real SGs on EKS",
    )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(base, labels, ctx),
        "spec": {"podSelector": {"matchLabels": dict(sel)}, "policyTypes": ["Ingress"], "ingress": rules},
    }
