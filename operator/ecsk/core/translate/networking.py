"""Ports per network mode, DNS, host aliases and the deny-all policy of networkMode none.

Every pod gets its own IP in Kubernetes, which is awsvpc's model; bridge's host ports only exist
where they were pinned (static hostPort), and bridge's dynamic host ports are unnecessary because
load balancers and peers reach the pod IP directly (NodePort when an instance target is needed).
"""

from __future__ import annotations

import re
from typing import Any

from ecsk.core.models import ContainerDefinition, TaskDefinition
from ecsk.core.translate import names
from ecsk.core.translate.types import Context

_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")


def port_name(raw: str | None) -> str | None:
    """IANA_SVC_NAME (<= 15 chars, lowercase, a letter, no `--`) or None when ECS's name can't be."""
    if not raw:
        return None
    value = raw.lower()
    if _PORT_NAME.match(value) and "--" not in value and any(ch.isalpha() for ch in value):
        return value
    return None


def container_ports(
    c: ContainerDefinition, mode: str, path: str, k8s: str, ctx: Context
) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    for i, pm in enumerate(c.portMappings or ()):
        p = f"{path}.portMappings[{i}]"
        if pm.containerPortRange:
            ctx.warn(
                f"{p}.containerPortRange",
                "port ranges have no Kubernetes equivalent (one port per entry); "
                "reachable on the pod IP but not declared",
                "PortRange",
            )
            ctx.note(
                f"{p}.containerPortRange",
                None,
                "Kubernetes declares single ports only; pod IP still reachable",
            )
            continue
        if pm.containerPort is None:
            ctx.error(f"{p}.containerPort", "a port mapping needs containerPort")
            continue
        port: dict[str, Any] = {"containerPort": pm.containerPort, "protocol": (pm.protocol or "tcp").upper()}
        name = port_name(pm.name)
        if name:
            port["name"] = name
        if pm.name:
            ctx.note(
                f"{p}.name",
                f"{k8s}.ports[{i}].name" if name else None,
                "port name kept" if name else "not a valid IANA service name (<=15 lowercase); dropped",
            )
        if mode == "bridge":
            if pm.hostPort:
                port["hostPort"] = pm.hostPort
                ctx.note(f"{p}.hostPort", f"{k8s}.ports[{i}].hostPort", "static host port pinned on the node")
            else:
                ctx.note(
                    f"{p}.containerPort",
                    f"{k8s}.ports[{i}].containerPort",
                    "bridge dynamic host port: not needed, every pod has its own IP (a load balancer "
                    "targets the pod IP, or a NodePort for instance targets)",
                )
        elif mode == "host":
            ctx.note(f"{p}.containerPort", f"{k8s}.ports[{i}].containerPort", "host network: the node's port")
            if pm.hostPort not in (None, pm.containerPort):
                ctx.error(f"{p}.hostPort", "host network mode: hostPort must equal containerPort")
        elif mode == "awsvpc":
            ctx.note(f"{p}.containerPort", f"{k8s}.ports[{i}].containerPort", "awsvpc: pod IP per task")
            if pm.hostPort not in (None, 0, pm.containerPort):
                ctx.error(
                    f"{p}.hostPort", "awsvpc network mode: hostPort must be blank or equal containerPort"
                )
            elif pm.hostPort:
                ctx.note(f"{p}.hostPort", None, "awsvpc: equal to containerPort on the task's own IP")
        else:
            ctx.note(p, None, "networkMode none: no ports are reachable")
            continue
        if pm.appProtocol:
            ctx.note(f"{p}.appProtocol", "Service.spec.ports[*].appProtocol", "carried to the Service port")
        ports.append(port)
    return ports


def pod_network(td: TaskDefinition, pod: dict[str, Any], ctx: Context) -> None:
    mode = td.effective_network_mode()
    if mode == "host":
        pod["hostNetwork"] = True
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
        ctx.note(
            "networkMode",
            ("spec.hostNetwork", "spec.dnsPolicy"),
            "host -> hostNetwork: true (ClusterFirstWithHostNet keeps cluster DNS)",
        )
    elif mode == "awsvpc":
        ctx.note("networkMode", None, "awsvpc = one IP per task: the Kubernetes pod network model")
    elif mode == "bridge":
        ctx.note(
            "networkMode", None, "bridge: pod IP per task; static hostPorts pinned, dynamic ones dropped"
        )
    else:
        ctx.note(
            "networkMode",
            "NetworkPolicy",
            "none: a pod always has a network namespace; a deny-all NetworkPolicy isolates it instead",
        )


def deny_all_policy(name: str, selector: dict[str, str], ctx: Context) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ctx.options.namespace, "labels": {names.MANAGED_BY: "ecsk"}},
        "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress", "Egress"]},
    }


def dns_and_hosts(td: TaskDefinition, pod: dict[str, Any], ctx: Context) -> None:
    """dnsServers/dnsSearchDomains/extraHosts/links/hostname are per container in ECS but per pod
    in Kubernetes: merged over containers in order, duplicates dropped."""
    servers: list[str] = []
    searches: list[str] = []
    aliases: dict[str, list[str]] = {}
    hostname: str | None = None
    for i, c in enumerate(td.containerDefinitions):
        p = f"containerDefinitions[{i}]"
        for s in c.dnsServers or ():
            if s not in servers:
                servers.append(s)
        for s in c.dnsSearchDomains or ():
            if s not in searches:
                searches.append(s)
        if c.dnsServers:
            ctx.note(
                f"{p}.dnsServers",
                ("spec.dnsPolicy", "spec.dnsConfig.nameservers"),
                "dnsPolicy None + nameservers (pod-wide in Kubernetes)",
            )
        if c.dnsSearchDomains:
            ctx.note(f"{p}.dnsSearchDomains", "spec.dnsConfig.searches", "search domains (pod-wide)")
        for j, h in enumerate(c.extraHosts or ()):
            hosts = aliases.setdefault(h.ipAddress, [])
            if h.hostname not in hosts:
                hosts.append(h.hostname)
            ctx.note(f"{p}.extraHosts[{j}]", "spec.hostAliases", "/etc/hosts entry (pod-wide)")
        for j, link in enumerate(c.links or ()):
            target, _, alias = link.partition(":")
            hosts = aliases.setdefault("127.0.0.1", [])
            for host in (target, alias):
                if host and host not in hosts:
                    hosts.append(host)
            ctx.note(
                f"{p}.links[{j}]",
                "spec.hostAliases[127.0.0.1]",
                "containers of a pod share localhost: the link name resolves to 127.0.0.1",
            )
        if c.hostname:
            if hostname is None:
                hostname = c.hostname
                ctx.note(f"{p}.hostname", "spec.hostname", "pod hostname (first container that sets one)")
            else:
                ctx.note(f"{p}.hostname", None, "Kubernetes has one hostname per pod; the first one wins")
    if servers:
        if len(servers) > 3:
            ctx.warn(
                "containerDefinitions[*].dnsServers", "Kubernetes allows 3 nameservers; extra ones dropped"
            )
        pod["dnsPolicy"] = "None"
        cfg: dict[str, Any] = {"nameservers": servers[:3]}
        if searches:
            cfg["searches"] = searches[:32]
        pod["dnsConfig"] = cfg
    elif searches:
        pod["dnsConfig"] = {"searches": searches[:32]}
    if aliases:
        pod["hostAliases"] = [{"ip": ip, "hostnames": hs} for ip, hs in aliases.items()]
    if hostname:
        label = hostname.split(".", 1)[0].lower()
        if label and len(label) <= 63 and names.dns_label(label) == label:
            pod["hostname"] = label
        else:
            ctx.warn("containerDefinitions[*].hostname", f"hostname {hostname!r} is not a DNS label; not set")
