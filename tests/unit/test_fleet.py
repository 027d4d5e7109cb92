"""EKS-like node rendering: names, labels and allocatable as EKS reports them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ecsk.core.fleet import INSTANCE_TYPES, Fleet, NodeGroup, render_fleet


def _default_fleet() -> Fleet:
    return Fleet(nodeGroups=[NodeGroup(name="ng", instanceTypes=["m5.large", "m5.xlarge", "c5.large"])])


def test_allocatable_follows_the_eks_ami_reservation_formula() -> None:
    m5 = INSTANCE_TYPES["m5.large"]
    assert m5.allocatable_millicpu == 1930  # 2000 - (60 + 10)
    assert INSTANCE_TYPES["m5.xlarge"].allocatable_millicpu == 3920  # 4000 - (60+10+5+5)
    assert m5.allocatable_memory_mib == 7748 - (255 + 11 * 29) - 100


def test_fleet_nodes_carry_every_eks_label() -> None:
    nodes = render_fleet(_default_fleet())
    assert len(nodes) == 9
    for node in nodes:
        labels = node["metadata"]["labels"]
        for key in (
            "topology.kubernetes.io/zone",
            "topology.kubernetes.io/region",
            "node.kubernetes.io/instance-type",
            "kubernetes.io/arch",
            "kubernetes.io/os",
            "eks.amazonaws.com/nodegroup",
            "eks.amazonaws.com/capacityType",
        ):
            assert labels[key]
        assert labels["kubernetes.io/hostname"] == node["metadata"]["name"]
        assert node["metadata"]["name"].endswith(".ec2.internal")
        assert node["spec"]["providerID"].startswith(f"aws:///{labels['topology.kubernetes.io/zone']}/i-")
    zones = sorted({n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes})
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_node_names_are_unique_and_stable_for_large_fleets() -> None:
    fleet = Fleet(nodeGroups=[NodeGroup(name="big", instanceTypes=["m5.large"], perZone=100)])
    names = [n["metadata"]["name"] for n in render_fleet(fleet)]
    assert len(names) == len(set(names)) == 300
    assert names == [n["metadata"]["name"] for n in render_fleet(fleet)]


def test_self_managed_and_spot_groups_are_labelled_like_eksctl() -> None:
    fleet = Fleet(
        nodeGroups=[
            NodeGroup(name="sm", kind="self-managed", capacityType="SPOT", instanceTypes=["m6g.large"])
        ]
    )
    labels = render_fleet(fleet)[0]["metadata"]["labels"]
    assert "eks.amazonaws.com/nodegroup" not in labels
    assert labels["alpha.eksctl.io/nodegroup-name"] == "sm"
    assert labels["eks.amazonaws.com/capacityType"] == "SPOT"
    assert labels["kubernetes.io/arch"] == "arm64"


def test_unknown_instance_type_is_refused_with_the_known_list() -> None:
    with pytest.raises(ValidationError, match="unknown instance type"):
        NodeGroup(name="x", instanceTypes=["m99.huge"])
