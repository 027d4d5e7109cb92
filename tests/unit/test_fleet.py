"""EKS-like node rendering: names, labels and allocatable as EKS reports them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from ecsk.core.capacity.fargate_profiles import FargateProfile
from ecsk.core.capacity.fleet import INSTANCE_TYPES, Fleet, NodeGroup, render_fargate_profiles, render_fleet


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
        clusterName="dev",
        nodeGroups=[
            NodeGroup(name="sm", kind="self-managed", capacityType="SPOT", instanceTypes=["m6g.large"])
        ],
    )
    labels = render_fleet(fleet)[0]["metadata"]["labels"]
    # EKS sets its eks.amazonaws.com/* labels only on managed node group nodes
    assert not [k for k in labels if k.startswith("eks.amazonaws.com/")]
    assert labels["alpha.eksctl.io/nodegroup-name"] == "sm"
    assert labels["alpha.eksctl.io/cluster-name"] == "dev"
    assert labels["node-lifecycle"] == "spot"
    assert labels["kubernetes.io/arch"] == "arm64"


def test_managed_nodes_carry_the_labels_eks_sets() -> None:
    fleet = Fleet(
        nodeGroups=[NodeGroup(name="mng", capacityType="SPOT", instanceTypes=["m5.large", "m6g.large"])]
    )
    nodes = render_fleet(fleet)
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert labels["eks.amazonaws.com/nodegroup"] == "mng"
        assert labels["eks.amazonaws.com/capacityType"] == "SPOT"
        assert labels["eks.amazonaws.com/nodegroup-image"].startswith("ami-")
        assert not [k for k in labels if k.startswith("alpha.eksctl.io/") or k == "node-lifecycle"]
    images = {
        n["metadata"]["labels"]["kubernetes.io/arch"]: n["metadata"]["labels"][
            "eks.amazonaws.com/nodegroup-image"
        ]
        for n in nodes
    }
    assert len(set(images.values())) == 2  # one AMI per architecture, the same on every node of it
    assert images == {
        n["metadata"]["labels"]["kubernetes.io/arch"]: n["metadata"]["labels"][
            "eks.amazonaws.com/nodegroup-image"
        ]
        for n in render_fleet(fleet)
    }


def test_fargate_profiles_in_the_fleet_file_render_as_fargate_profile_objects() -> None:
    fleet = Fleet.model_validate(
        {
            "nodeGroups": [{"name": "ng", "instanceTypes": ["m5.large"]}],
            "fargateProfiles": [
                {
                    "name": "fp-batch",
                    "namespace": "ops",
                    "selectors": [{"namespace": "batch-*", "labels": {"tier": "?ow"}}],
                    "subnets": ["subnet-1"],
                },
                {"name": "fp-default", "selectors": [{"namespace": "serverless"}]},
            ],
        }
    )
    profiles = render_fargate_profiles(fleet)
    assert [p["metadata"] for p in profiles] == [
        {"name": "fp-batch", "namespace": "ops"},
        {"name": "fp-default", "namespace": "default"},
    ]
    assert profiles[0]["kind"] == "FargateProfile"
    assert profiles[0]["spec"] == {
        "fargateProfileName": "fp-batch",
        "selectors": [{"namespace": "batch-*", "labels": {"tier": "?ow"}}],
        "subnets": ["subnet-1"],
    }
    # the rendered spec is a valid FargateProfile, as the operator will read it
    assert FargateProfile.model_validate(profiles[1]["spec"]).selectors[0].namespace == "serverless"
    assert render_fargate_profiles(Fleet(nodeGroups=[NodeGroup(name="ng", instanceTypes=["m5.large"])])) == []


@pytest.mark.parametrize(
    "profiles",
    [
        [{"name": "fp", "selectors": []}],  # a profile needs 1..5 selectors
        [{"name": "fp", "selectors": [{"namespace": "a"}] * 6}],
        [{"name": "fp", "selectors": [{"labels": {"a": "b"}}]}],  # namespace is required
        [{"name": "Bad_Name", "selectors": [{"namespace": "a"}]}],
        [
            {"name": "fp", "selectors": [{"namespace": "a"}]},
            {"name": "fp", "selectors": [{"namespace": "b"}]},
        ],
    ],
)
def test_bad_fargate_profiles_are_refused(profiles: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        Fleet.model_validate(
            {"nodeGroups": [{"name": "ng", "instanceTypes": ["m5.large"]}], "fargateProfiles": profiles}
        )


def test_duplicate_node_group_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="used more than once"):
        Fleet(nodeGroups=[NodeGroup(name="ng", instanceTypes=["m5.large"])] * 2)


def test_the_sample_fleet_shows_every_eks_node_type() -> None:
    text = (Path(__file__).resolve().parents[2] / "samples" / "fleet-eks-node-types.yaml").read_text()
    fleet = Fleet.model_validate(yaml.safe_load(text))
    kinds = {g.kind for g in fleet.nodeGroups}
    assert kinds == {"managed", "self-managed"}
    assert fleet.fargateProfiles
    assert render_fleet(fleet) and render_fargate_profiles(fleet)


def test_unknown_instance_type_is_refused_with_the_known_list() -> None:
    with pytest.raises(ValidationError, match="unknown instance type"):
        NodeGroup(name="x", instanceTypes=["m99.huge"])
