"""EKS-like node fleets as plain Node objects.

The local cluster, capacity providers (emulated Auto Scaling groups) and Fargate all create
simulated nodes; they must look like the nodes EKS creates, because placement constraints,
topology spread and `ecsk instances` read nothing but labels and allocatable resources. Keeping
the catalogue and the labelling here, in the pure core, means every creator labels nodes the
same way and the rules are unit-tested without a cluster.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ecsk.core.capacity.fargate_profiles import FargateProfile

# Allocatable is what the EKS optimized AMI leaves after kube-reserved and eviction thresholds:
#   cpu: 6% of the first core, 1% of the second, 0.5% of cores 3-4, 0.25% above (millicores);
#   memory: 255 MiB + 11 MiB per max pod (kube-reserved) + 100 MiB eviction threshold.
# maxPods follows the ENI formula ENIs * (IPs per ENI - 1) + 2 without prefix delegation.
# Capacity memory is what the instance reports to the OS (a little under the nominal GiB).


class InstanceType(BaseModel):
    """One EC2 instance type as the ECS agent and the kubelet would register it."""

    model_config = ConfigDict(frozen=True)

    name: str
    vcpu: int
    memory_mib: int  # as reported by the OS, not the marketing figure
    max_pods: int
    arch: Literal["amd64", "arm64"] = "amd64"
    gpus: int = 0
    price: float = 0.0
    """On-Demand USD per hour (us-east-1, Linux): what an ASG's `lowest-price` strategy ranks by."""

    @property
    def allocatable_millicpu(self) -> int:
        reserved = 0.0
        for core in range(1, self.vcpu + 1):
            reserved += 60 if core == 1 else 10 if core == 2 else 5 if core <= 4 else 2.5
        return self.vcpu * 1000 - round(reserved)

    @property
    def allocatable_memory_mib(self) -> int:
        return self.memory_mib - (255 + 11 * self.max_pods) - 100


INSTANCE_TYPES: dict[str, InstanceType] = {
    it.name: it
    for it in (
        InstanceType(name="t3.medium", vcpu=2, memory_mib=3857, max_pods=17, price=0.0416),
        InstanceType(name="t3.large", vcpu=2, memory_mib=7846, max_pods=35, price=0.0832),
        InstanceType(name="m5.large", vcpu=2, memory_mib=7748, max_pods=29, price=0.096),
        InstanceType(name="m5.xlarge", vcpu=4, memory_mib=15715, max_pods=58, price=0.192),
        InstanceType(name="m5.2xlarge", vcpu=8, memory_mib=31610, max_pods=58, price=0.384),
        InstanceType(name="c5.large", vcpu=2, memory_mib=3788, max_pods=29, price=0.085),
        InstanceType(name="c5.xlarge", vcpu=4, memory_mib=7680, max_pods=58, price=0.17),
        InstanceType(name="r5.large", vcpu=2, memory_mib=15715, max_pods=29, price=0.126),
        InstanceType(name="m6g.large", vcpu=2, memory_mib=7748, max_pods=29, arch="arm64", price=0.077),
        InstanceType(name="c6g.large", vcpu=2, memory_mib=3788, max_pods=29, arch="arm64", price=0.068),
        InstanceType(name="g4dn.xlarge", vcpu=4, memory_mib=15715, max_pods=29, gpus=1, price=0.526),
    )
}


class NodeGroup(BaseModel):
    """A managed or self-managed node group spread over zones, as eksctl would describe it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["managed", "self-managed"] = "managed"
    capacityType: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    instanceTypes: list[str] = Field(min_length=1)
    # Instances per zone per instance type: the smallest fleet that still shows every mix.
    perZone: int = Field(default=1, ge=0, le=100)
    zones: list[str] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[dict[str, str]] = Field(default_factory=list)

    @field_validator("instanceTypes")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in INSTANCE_TYPES]
        if unknown:
            raise ValueError(f"unknown instance type(s) {unknown}; known: {sorted(INSTANCE_TYPES)}")
        return value


class FleetFargateProfile(FargateProfile):
    """A Fargate profile declared in the fleet file, next to the node groups.

    Same fields as `aws eks create-fargate-profile` (the profile name is `name`, as eksctl's
    config file spells it) plus `namespace`: where the FargateProfile object lives, which only
    decides which (namespaced) operator reads it; the selectors decide which pods it catches."""

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str = Field(default="default", min_length=1, max_length=63)


class Fleet(BaseModel):
    """The fleet file: the region, its zones, the node groups and the Fargate profiles to create."""

    model_config = ConfigDict(extra="forbid")

    clusterName: str = "ecsk"
    region: str = "us-east-1"
    zones: list[str] = Field(default_factory=lambda: ["us-east-1a", "us-east-1b", "us-east-1c"])
    nodeGroups: list[NodeGroup] = Field(min_length=1)
    fargateProfiles: list[FleetFargateProfile] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Fleet:
        # EKS refuses a second node group / Fargate profile of the same name in one cluster.
        for what, names in (
            ("node group", [g.name for g in self.nodeGroups]),
            ("Fargate profile", [p.fargateProfileName or p.name for p in self.fargateProfiles]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} name(s) {dupes} used more than once; names must be unique")
        return self


def _stable_int(*parts: str) -> int:
    """A deterministic number from names, so node names and instance ids survive re-creation."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def private_dns_name(region: str, zone_index: int, seq: int, network: int = 0) -> str:
    """EKS names EC2 nodes after their private DNS name (ip-a-b-c-d.<region>.compute.internal).

    Addresses are handed out sequentially per zone (each zone owns a /18 of 10.<network>.0.0/16),
    so names are unique, stable across re-creation and readable in `kubectl get nodes`.
    """
    third = zone_index * 64 + seq // 250
    fourth = 4 + seq % 250
    domain = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-10-{network}-{third}-{fourth}.{domain}"


def instance_id(node_name: str) -> str:
    return f"i-{_stable_int(node_name):017x}"[:19]


def ami_id(region: str, instance_type: InstanceType) -> str:
    """The EKS optimized AMI a managed node group picks: one per region, architecture and GPU."""
    variant = f"{instance_type.arch}{'-gpu' if instance_type.gpus else ''}"
    return f"ami-{_stable_int('eks-ami', region, variant):017x}"[:21]


def render_ec2_node(
    *,
    name: str,
    region: str,
    zone: str,
    instance_type: InstanceType,
    group: str,
    group_kind: str = "managed",
    capacity_type: str = "ON_DEMAND",
    extra_labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    cluster_name: str = "ecsk",
) -> dict[str, Any]:
    """A Node object labelled the way EKS labels an EC2 worker node.

    Managed node group nodes get the labels EKS itself sets (`eks.amazonaws.com/nodegroup`,
    `.../nodegroup-image`, `.../capacityType`). Self-managed nodes are plain EC2 instances that
    joined the cluster: EKS sets none of those; eksctl's `alpha.eksctl.io/cluster-name` and
    `alpha.eksctl.io/nodegroup-name` identify the group, and Spot-ness shows only through the
    `node-lifecycle` label AWS's Spot guides pass to the kubelet (`--node-labels`)."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": instance_type.arch,
        "node.kubernetes.io/instance-type": instance_type.name,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
        "ecs.ecsk.io/instance-id": instance_id(name),
        "type": "kwok",
    }
    if group_kind == "managed":
        labels["eks.amazonaws.com/nodegroup"] = group
        labels["eks.amazonaws.com/nodegroup-image"] = ami_id(region, instance_type)
        labels["eks.amazonaws.com/capacityType"] = capacity_type
    else:
        labels["alpha.eksctl.io/cluster-name"] = cluster_name
        labels["alpha.eksctl.io/nodegroup-name"] = group
        labels["node-lifecycle"] = "spot" if capacity_type == "SPOT" else "on-demand"
    labels.update(extra_labels or {})
    resources = {
        "cpu": f"{instance_type.allocatable_millicpu}m",
        "memory": f"{instance_type.allocatable_memory_mib}Mi",
        "pods": str(instance_type.max_pods),
        "ephemeral-storage": "18242267924",
    }
    capacity = {
        "cpu": str(instance_type.vcpu),
        "memory": f"{instance_type.memory_mib}Mi",
        "pods": str(instance_type.max_pods),
        "ephemeral-storage": "20959212Ki",
    }
    if instance_type.gpus:
        resources["nvidia.com/gpu"] = capacity["nvidia.com/gpu"] = str(instance_type.gpus)
    return simulated_node(
        name=name, zone=zone, labels=labels, capacity=capacity, allocatable=resources, taints=taints
    )


RESOURCE_METRICS_PATH = "metrics.k8s.io/resource-metrics-path"


def simulated_node(
    *,
    name: str,
    zone: str,
    labels: dict[str, str],
    capacity: dict[str, str],
    allocatable: dict[str, str],
    taints: list[dict[str, str]] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Node object every simulated instance shares (fleet, capacity providers, Fargate).

    The metrics path annotation tells metrics-server where kwok serves this node's kubelet-style
    resource metrics, so pods on any simulated node (not only the fleet's) report usage."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                RESOURCE_METRICS_PATH: f"/metrics/nodes/{name}/metrics/resource",
                **(annotations or {}),
            },
        },
        "spec": {
            "providerID": f"aws:///{zone}/{instance_id(name)}",
            **({"taints": list(taints)} if taints else {}),
        },
        "status": {"capacity": capacity, "allocatable": allocatable},
    }


def render_fleet(fleet: Fleet) -> list[dict[str, Any]]:
    """Every node of the fleet, in a stable order (zone, group, instance type, index)."""
    nodes: list[dict[str, Any]] = []
    next_seq: dict[str, int] = {}
    for group in fleet.nodeGroups:
        for zone in group.zones or fleet.zones:
            zone_index = fleet.zones.index(zone) if zone in fleet.zones else len(fleet.zones)
            for type_name in group.instanceTypes:
                for _ in range(group.perZone):
                    seq = next_seq.get(zone, 0)
                    next_seq[zone] = seq + 1
                    nodes.append(
                        render_ec2_node(
                            name=private_dns_name(fleet.region, zone_index, seq),
                            region=fleet.region,
                            zone=zone,
                            instance_type=INSTANCE_TYPES[type_name],
                            group=group.name,
                            group_kind=group.kind,
                            capacity_type=group.capacityType,
                            extra_labels=group.labels,
                            taints=group.taints,
                            cluster_name=fleet.clusterName,
                        )
                    )
    names = [n["metadata"]["name"] for n in nodes]
    if len(set(names)) != len(names):  # pragma: no cover - guarded by the address scheme
        raise ValueError("fleet produced duplicate node names; use distinct node group names")
    return nodes


FARGATE_PROFILE_API = "ecs.ecsk.io/v1alpha1"


def render_fargate_profiles(fleet: Fleet) -> list[dict[str, Any]]:
    """The fleet's Fargate profiles as FargateProfile objects, for the operator to act on.

    The profile name goes into `spec.fargateProfileName` so pods are labelled with the name the
    fleet file gave, whatever the object is called."""
    out = []
    for profile in fleet.fargateProfiles:
        spec = profile.model_dump(exclude_none=True, exclude={"name", "namespace"})
        spec.setdefault("fargateProfileName", profile.name)
        out.append(
            {
                "apiVersion": FARGATE_PROFILE_API,
                "kind": "FargateProfile",
                "metadata": {"name": profile.name, "namespace": profile.namespace},
                "spec": spec,
            }
        )
    return out
