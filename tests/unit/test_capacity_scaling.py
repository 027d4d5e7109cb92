"""Managed scaling math, instance rendering, provider models, and the launch-type hook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from ecsk.core.capacity import fargate as fg
from ecsk.core.capacity import providers as cap
from ecsk.core.capacity import scaling as sc
from ecsk.core.capacity.fleet import INSTANCE_TYPES
from ecsk.core.capacity.models import CapacityProvider, ECSCluster
from ecsk.core.translate.types import PlacementInputs

# --- desired capacity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "needed", "target", "expected"),
    [
        (1, 3, 100, 3),  # three instances' worth of tasks
        (3, 3, 100, 3),  # steady
        (3, 1, 100, 1),  # scale in to what is needed
        (0, 0, 100, 0),
        (2, 3, 50, 6),  # target 50%: twice the needed instances
        (2, 3, 75, 4),  # ceil(3 * 100 / 75)
        (4, 0, 100, 0),
    ],
)
def test_desired_follows_target_capacity(current: int, needed: int, target: int, expected: int) -> None:
    assert (
        sc.desired_capacity(current=current, needed=needed, target=target, min_size=0, max_size=100)
        == expected
    )


def test_desired_is_clamped_to_min_and_max() -> None:
    assert sc.desired_capacity(current=3, needed=0, target=100, min_size=1, max_size=5) == 1
    assert sc.desired_capacity(current=3, needed=9, target=100, min_size=1, max_size=5) == 5
    assert sc.desired_capacity(current=0, needed=0, target=100, min_size=2, max_size=5) == 2
    assert sc.desired_capacity(current=9, needed=9, target=100, min_size=0, max_size=5) == 5


def test_step_sizes_bound_each_decision() -> None:
    kw: dict[str, Any] = {"target": 100, "min_size": 0, "max_size": 100}
    assert sc.desired_capacity(current=1, needed=2, min_step=3, **kw) == 4
    assert sc.desired_capacity(current=1, needed=20, max_step=5, **kw) == 6
    assert sc.desired_capacity(current=20, needed=1, max_step=5, **kw) == 15


def test_reservation_metric() -> None:
    assert sc.reservation(0, 0) == 100.0
    assert sc.reservation(3, 0) == 200.0
    assert sc.reservation(3, 4) == 75.0
    assert sc.reservation(4, 2) == 200.0


# --- bin packing --------------------------------------------------------------------------------


def test_instances_for_packs_first_fit_decreasing() -> None:
    inst = (1930, 3000)
    assert sc.instances_for([], inst) == 0
    assert sc.instances_for([(1000, 1024)] * 3, inst) == 3  # two do not fit one instance
    assert sc.instances_for([(500, 512)] * 3, inst) == 1
    assert sc.instances_for([(1500, 100), (400, 100), (400, 100), (1500, 100)], inst) == 2
    assert sc.instances_for([(5000, 100)], inst) == 1  # never fits: one, not unbounded


def test_pod_request_and_quantity() -> None:
    spec = {"resources": {"requests": {"cpu": "1000m", "memory": "1Gi"}}, "containers": [{"name": "a"}]}
    assert sc.pod_request(spec) == (1000, 1024)
    spec2 = {"containers": [{"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "100Mi"}}}] * 2}
    assert sc.pod_request(spec2) == (500, 200)
    assert sc.quantity(None) == 0
    assert sc.quantity("garbage") == 0
    assert sc.quantity("2Gi") == Decimal(2 * 2**30)


# --- instances ----------------------------------------------------------------------------------


def test_instance_names_use_their_own_network_and_skip_taken() -> None:
    first = sc.instance_name("us-east-1", 0, set())
    assert first == "ip-10-2-0-4.ec2.internal"
    assert sc.instance_name("us-east-1", 0, {first}) == "ip-10-2-0-5.ec2.internal"
    assert sc.instance_name("us-east-1", 2, set()) == "ip-10-2-128-4.ec2.internal"


def test_render_instance_looks_like_a_managed_node_group_node() -> None:
    node = sc.render_instance(
        provider="cp-a",
        name="ip-10-2-0-4.ec2.internal",
        region="us-east-1",
        zone="us-east-1a",
        instance_type=INSTANCE_TYPES["m5.large"],
        capacity_type="SPOT",
    )
    labels = node["metadata"]["labels"]
    assert labels["eks.amazonaws.com/nodegroup"] == "cp-a"
    assert labels[sc.PROVIDER_LABEL] == "cp-a"
    assert labels["eks.amazonaws.com/capacityType"] == "SPOT"
    assert labels["node.kubernetes.io/instance-type"] == "m5.large"
    assert labels[sc.ORIGIN_LABEL] == "capacity-provider"
    assert "taints" not in node["spec"]


# --- models -------------------------------------------------------------------------------------

ARN = "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/g"


def test_capacity_provider_defaults_follow_aws() -> None:
    cp = CapacityProvider.model_validate(
        {
            "autoScalingGroupProvider": {"autoScalingGroupArn": ARN},
            "autoScalingGroup": {"instanceTypes": ["m5.large"]},
        }
    )
    assert cp.managed_scaling is True
    assert cp.target_capacity == 100
    assert cp.step_sizes == (1, 10000)
    assert cp.termination_protection is False
    assert cp.autoScalingGroup.joinDelaySeconds == 30.0


def test_capacity_provider_settings() -> None:
    cp = CapacityProvider.model_validate(
        {
            "name": "cp",
            "autoScalingGroupProvider": {
                "autoScalingGroupArn": ARN,
                "managedScaling": {
                    "status": "DISABLED",
                    "targetCapacity": 80,
                    "minimumScalingStepSize": 2,
                    "maximumScalingStepSize": 1,
                },
                "managedTerminationProtection": "ENABLED",
            },
            "autoScalingGroup": {"instanceTypes": ["m5.large", "nope.large"], "minSize": 1, "maxSize": 3},
        }
    )
    assert cp.managed_scaling is False
    assert cp.target_capacity == 80
    assert cp.step_sizes == (2, 2)
    assert cp.termination_protection is True
    assert cp.autoScalingGroup.unknown_types() == ["nope.large"]


def test_models_refuse_unknown_fields_and_need_the_group() -> None:
    with pytest.raises(ValidationError):
        CapacityProvider.model_validate({"autoScalingGroupProvider": {"autoScalingGroupArn": ARN}})
    with pytest.raises(ValidationError):
        ECSCluster.model_validate({"clusterName": "c", "capacityProvider": ["x"]})
    cluster = ECSCluster.model_validate(
        {"clusterName": "c", "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}
    )
    assert cluster.defaultCapacityProviderStrategy is not None


# --- the launch-type hook ---------------------------------------------------------------------------


def test_hook_gates_asg_strategies_for_the_capacity_controller() -> None:
    spec: dict[str, Any] = {}
    strategy = [{"capacityProvider": "cp-a", "weight": 1}]
    cap.placement_hook(spec, PlacementInputs("service:web", capacity_provider_strategy=strategy))
    cap.placement_hook(spec, PlacementInputs("service:web", capacity_provider_strategy=strategy))
    assert spec == {"schedulingGates": [{"name": cap.CAPACITY_GATE}]}


def test_hook_delegates_fargate_and_leaves_ec2_alone() -> None:
    spec: dict[str, Any] = {}
    cap.placement_hook(
        spec, PlacementInputs("g", capacity_provider_strategy=[{"capacityProvider": "FARGATE"}])
    )
    assert spec["schedulingGates"] == [{"name": fg.GATE}]
    plain: dict[str, Any] = {}
    cap.placement_hook(plain, PlacementInputs("g", launch_type="EC2"))
    cap.placement_hook(plain, PlacementInputs("g"))
    assert plain == {}
