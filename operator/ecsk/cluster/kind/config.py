"""The kind cluster configuration, rendered from the same fleet file the embedded cluster uses.

One control plane and one real worker per zone of the fleet's first node group, each labelled
exactly as `ecsk.core.capacity.fleet` labels that group's nodes (zone, region, instance type,
node group, capacity type, instance id), so placement behaves on kind as on the embedded
cluster. The kubelet sets the hostname/os/arch labels itself; `type: kwok` is what routes a node
to kwok, so real workers must not carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ecsk.core.capacity.fleet import INSTANCE_TYPES, Fleet, render_fleet

KIND_API = "kind.x-k8s.io/v1alpha4"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
SCHEDULER_CONFIG_IN_NODE = "/etc/kubernetes/ecsk-scheduler.yaml"
# Set by the kubelet itself, or reserved for kwok's simulated nodes.
_NOT_KUBELET_LABELS = ("kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "type")

# The host's capability bounding set lacks CAP_SYS_RESOURCE: runc inside the node cannot lower
# oom_score_adj for pod sandboxes, exactly the rootless case containerd's option exists for.
RESTRICT_OOM_PATCH = '[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n'
DEFAULT_API_PORT = 4600
"""Host port of the kind cluster's endpoint (127.0.0.1): not 4599, which the embedded cluster's
endpoint uses, so both can run on one machine. `ECSK_KIND_API_PORT` picks another."""
# kubelet 1.37 refuses cgroup v1 hosts unless told otherwise.
CGROUP_V1_PATCH = "kind: KubeletConfiguration\nfailCgroupV1: false\n"


# Load-balanced Services are NodePorts on kind (the operator's --load-balancer-node-ports); the
# API server allocates them only from this range, and each is published on the host.
NODE_PORT_BASE = 30080
LOAD_BALANCER_PORTS = 10
API_NODE_PORT = NODE_PORT_BASE + LOAD_BALANCER_PORTS
"""30090: the NodePort of the in-cluster AWS API endpoint (manifests/api.yaml's Service, made a
NodePort by `ecsk kind up`), mapped to the host by the control-plane node's extraPortMappings.
Just above the load balancers' ports, inside the one range the API server allows; the endpoint's
Service is installed before any task exists, so no load balancer is ever given its port."""
REGISTRY_NODE_PORT = API_NODE_PORT + 1
"""30091: the NodePort of the ECR registry's front door (`ecsk.cluster.kind.ecr`), mapped to
127.0.0.1:$ECSK_KIND_REGISTRY_PORT of the host for `docker push`."""
NODE_PORT_RANGE = f"{NODE_PORT_BASE}-{REGISTRY_NODE_PORT}"


@dataclass(frozen=True)
class LoadBalancerPorts:
    """Host ports `host_base ..` on 127.0.0.1 -> node ports `NODE_PORT_BASE ..` of the control
    plane, whose kube-proxy forwards to the service's ready tasks on any worker: the ALB's
    listener as the host sees it."""

    host_base: int
    count: int = LOAD_BALANCER_PORTS

    def node_port_range(self) -> str:
        return f"{NODE_PORT_BASE}-{NODE_PORT_BASE + self.count - 1}"

    def host_port(self, node_port: int) -> int:
        if not NODE_PORT_BASE <= node_port < NODE_PORT_BASE + self.count:
            raise ValueError(f"node port {node_port} is outside the published range {self.node_port_range()}")
        return self.host_base + node_port - NODE_PORT_BASE

    def mappings(self) -> list[dict[str, Any]]:
        return [
            {
                "containerPort": NODE_PORT_BASE + i,
                "hostPort": self.host_base + i,
                "listenAddress": "127.0.0.1",  # the host only, never the machine's network
                "protocol": "TCP",
            }
            for i in range(self.count)
        ]


@dataclass(frozen=True)
class HostCapacity:
    """What every kind node's kubelet sees: the Docker engine's CPUs and memory (all nodes share
    the one host)."""

    millicpu: int
    memory_mib: int


def system_reserved(instance_type: str, host: HostCapacity) -> str | None:
    """The kubelet `--system-reserved` that shrinks a kind node to its instance type's allocatable.

    Left alone, every kind worker advertises the whole host (23 GiB, 16 vCPU...), so a 256 MiB
    task moves MostAllocated's integer score by less than one point and binpack ties at random
    between "instances". Reserving the difference makes each worker advertise what the EKS
    optimized AMI reports for its labelled type (`InstanceType.allocatable_*`, the figures the
    embedded fleet uses), and the kubelet enforces it on the pods cgroup. A resource the host has
    less of than the type is left whole: the node is smaller than its label says, never larger.
    """
    it = INSTANCE_TYPES[instance_type]
    parts = []
    cpu = host.millicpu - it.allocatable_millicpu
    if cpu > 0:
        parts.append(f"cpu={cpu}m")
    memory = host.memory_mib - it.allocatable_memory_mib
    if memory > 0:
        parts.append(f"memory={memory}Mi")
    return ",".join(parts) or None


def _reserve_patch(reserved: str) -> dict[str, str]:
    """A JSON 6902 patch: kind's JoinConfiguration already lists kubeletExtraArgs (node-ip,
    node-labels...), which a merge patch would replace wholesale."""
    op = [
        {
            "op": "add",
            "path": "/nodeRegistration/kubeletExtraArgs/-",
            "value": {"name": "system-reserved", "value": reserved},
        }
    ]
    return {
        "group": "kubeadm.k8s.io",
        "version": "v1beta4",
        "kind": "JoinConfiguration",
        "patch": yaml.safe_dump(op),
    }


def worker_labels(fleet: Fleet) -> list[dict[str, str]]:
    """One label set per zone: the first node group's node in that zone, instance types taken
    in turn (zone i gets the group's i-th type), as the embedded fleet renders them."""
    group = fleet.nodeGroups[0]
    zones = group.zones or fleet.zones
    nodes = [
        n
        for n in render_fleet(fleet)
        if n["metadata"]["labels"].get("eks.amazonaws.com/nodegroup", group.name) == group.name
    ]
    out = []
    for i, zone in enumerate(zones):
        want_type = group.instanceTypes[i % len(group.instanceTypes)]
        node = next(
            n
            for n in nodes
            if n["metadata"]["labels"]["topology.kubernetes.io/zone"] == zone
            and n["metadata"]["labels"]["node.kubernetes.io/instance-type"] == want_type
        )
        labels = node["metadata"]["labels"]
        out.append({k: v for k, v in labels.items() if k not in _NOT_KUBELET_LABELS})
    return out


def render(
    fleet: Fleet,
    *,
    name: str,
    node_image: str,
    scheduler_config: Path,
    restrict_oom_score_adj: bool,
    cgroup_v1: bool,
    host: HostCapacity | None = None,
    api_port: int | None = None,
    load_balancers: LoadBalancerPorts | None = None,
    shared_mount: dict[str, str] | None = None,
    registry_port: int | None = None,
    node_mounts: Sequence[dict[str, Any]] = (),
    containerd_patches: Sequence[str] = (),
) -> dict[str, Any]:
    """`api_port`: publish the in-cluster AWS API endpoint on 127.0.0.1:<api_port> of the host
    (a port mapping is fixed when kind creates the node, so another port means another cluster:
    `up` compares the port as part of its configuration). `load_balancers`: publish the node
    ports of load-balanced services. `shared_mount`: a kind extraMounts entry every node gets (the
    EFS stand-in's directory). `registry_port`: publish the ECR registry's front door there.
    `node_mounts`, `containerd_patches`: more extraMounts for every node, more containerd
    configuration (the ECR registry's storage and containerd hosts directory)."""
    cluster_patch: dict[str, Any] = {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "ClusterConfiguration",
        "scheduler": {
            "extraArgs": [{"name": "config", "value": SCHEDULER_CONFIG_IN_NODE}],
            "extraVolumes": [
                {
                    "name": "ecsk-scheduler-config",
                    "hostPath": SCHEDULER_CONFIG_IN_NODE,
                    "mountPath": SCHEDULER_CONFIG_IN_NODE,
                    "readOnly": True,
                    "pathType": "File",
                }
            ],
        },
    }
    if load_balancers or api_port is not None or registry_port is not None:
        cluster_patch["apiServer"] = {
            "extraArgs": [{"name": "service-node-port-range", "value": NODE_PORT_RANGE}]
        }
    control_plane: dict[str, Any] = {
        "role": "control-plane",
        "image": node_image,
        "extraMounts": [
            {"hostPath": str(scheduler_config), "containerPath": SCHEDULER_CONFIG_IN_NODE, "readOnly": True}
        ],
        "kubeadmConfigPatches": [yaml.safe_dump(cluster_patch)],
    }
    mappings: list[dict[str, Any]] = []
    if load_balancers:
        mappings += load_balancers.mappings()
    if api_port is not None:
        # kube-proxy on the control plane forwards the NodePort to the endpoint's pod wherever it runs.
        mappings.append(
            {
                "containerPort": API_NODE_PORT,
                "hostPort": api_port,
                "listenAddress": "127.0.0.1",
                "protocol": "TCP",
            }
        )
    if registry_port is not None:
        mappings.append(
            {
                "containerPort": REGISTRY_NODE_PORT,
                "hostPort": registry_port,
                "listenAddress": "127.0.0.1",
                "protocol": "TCP",
            }
        )
    if mappings:
        control_plane["extraPortMappings"] = mappings
    every_node = [dict(m) for m in ([shared_mount] if shared_mount else []) + list(node_mounts)]
    control_plane["extraMounts"] += every_node
    workers: list[dict[str, Any]] = []
    for labels in worker_labels(fleet):
        worker: dict[str, Any] = {"role": "worker", "image": node_image, "labels": labels}
        if every_node:
            worker["extraMounts"] = [dict(m) for m in every_node]
        reserved = system_reserved(labels[INSTANCE_TYPE], host) if host else None
        if reserved:
            worker["kubeadmConfigPatchesJSON6902"] = [_reserve_patch(reserved)]
        workers.append(worker)
    config: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": KIND_API,
        "name": name,
        "nodes": [control_plane, *workers],
    }
    patches = ([RESTRICT_OOM_PATCH] if restrict_oom_score_adj else []) + list(containerd_patches)
    if patches:
        config["containerdConfigPatches"] = patches
    if cgroup_v1:
        config["kubeadmConfigPatches"] = [CGROUP_V1_PATCH]
    return config


def host_is_cgroup_v1(root: Path = Path("/sys/fs/cgroup")) -> bool:
    """cgroup v2 hosts have cgroup.controllers at the root of the unified hierarchy."""
    return not (root / "cgroup.controllers").is_file()
