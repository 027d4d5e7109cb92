"""The emulated Auto Scaling group: allocation strategies, launches in flight, warm-up, and the
multi-type scale-out estimate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecsk.core.capacity import asg
from ecsk.core.capacity import scaling as sc
from ecsk.core.capacity.fleet import INSTANCE_TYPES
from ecsk.core.capacity.models import CapacityProvider

TYPES = ["m5.xlarge", "t3.medium", "c5.large"]  # prices 0.192, 0.0416, 0.085


def test_on_demand_prioritized_uses_list_order_and_lowest_price_the_cheapest() -> None:
    assert asg.choose_instance_type(TYPES, "ON_DEMAND") == "m5.xlarge"
    assert asg.choose_instance_type(TYPES, "ON_DEMAND", on_demand_strategy="prioritized") == "m5.xlarge"
    assert asg.choose_instance_type(TYPES, "ON_DEMAND", on_demand_strategy="lowest-price") == "t3.medium"
    # lowest-price ranks by price, not by list order or by what the group already runs
    busy = {"t3.medium": 5}
    assert (
        asg.choose_instance_type(TYPES, "ON_DEMAND", on_demand_strategy="lowest-price", in_zone=busy)
        == "t3.medium"
    )


@pytest.mark.parametrize(
    ("strategy", "in_zone", "expected"),
    [
        ("lowest-price", {"t3.medium": 3}, "t3.medium"),
        ("price-capacity-optimized", {}, "t3.medium"),  # all pools equal: the cheapest
        ("price-capacity-optimized", {"t3.medium": 1}, "c5.large"),  # then the next cheapest empty pool
        ("capacity-optimized", {}, "m5.xlarge"),  # all equal: list order
        ("capacity-optimized", {"m5.xlarge": 1}, "t3.medium"),
        ("capacity-optimized-prioritized", {"m5.xlarge": 1, "t3.medium": 1}, "c5.large"),
    ],
)
def test_spot_strategies(strategy: str, in_zone: dict[str, int], expected: str) -> None:
    assert asg.choose_instance_type(TYPES, "SPOT", spot_strategy=strategy, in_zone=in_zone) == expected


def test_spot_default_is_price_capacity_optimized() -> None:
    assert asg.choose_instance_type(TYPES, "SPOT") == "t3.medium"
    assert asg.choose_instance_type(TYPES, "SPOT", in_zone={"t3.medium": 1}) == "c5.large"


def test_plan_balances_zones_first_then_diversifies_spot_pools() -> None:
    zones = ["us-east-1a", "us-east-1b"]
    members = [asg.Instance("us-east-1a", "t3.medium")]
    plan = asg.plan_launches(5, zones=zones, members=members, types=TYPES, capacity_type="SPOT")
    assert [i.zone for i in plan] == ["us-east-1b", "us-east-1a", "us-east-1b", "us-east-1a", "us-east-1b"]
    in_a = [i.instance_type for i in plan if i.zone == "us-east-1a"]
    in_b = [i.instance_type for i in plan if i.zone == "us-east-1b"]
    assert in_a == ["c5.large", "m5.xlarge"]  # t3.medium already runs there
    assert in_b == ["t3.medium", "c5.large", "m5.xlarge"]
    on_demand = asg.plan_launches(3, zones=zones, members=[], types=TYPES, capacity_type="ON_DEMAND")
    assert {i.instance_type for i in on_demand} == {"m5.xlarge"}


def test_pending_launches_round_trip_through_the_status() -> None:
    jobs = [
        asg.PendingLaunch(
            "ip-10-2-0-4.ec2.internal", "us-east-1a", "t3.medium", 1_800_000_000.5, 1_800_000_030.5
        )
    ]
    status = {"pendingLaunches": asg.launches_to_status(jobs)}
    assert status["pendingLaunches"][0]["joinTime"] == "2027-01-15T08:00:30.500Z"
    assert asg.launches_from_status(status) == jobs
    broken = {
        "pendingLaunches": [
            {"name": "x"},
            {**status["pendingLaunches"][0], "instanceType": "z9.huge"},
            "junk",
        ]
    }
    assert asg.launches_from_status(broken) == []
    assert asg.launches_from_status(None) == []
    due, left = asg.split_due(jobs, 1_800_000_030.4)
    assert (due, left) == ([], jobs)
    assert asg.split_due(jobs, 1_800_000_030.5) == (jobs, [])


def test_warming_up_follows_the_registration_time() -> None:
    node = sc.render_instance(
        provider="p",
        name="ip-10-2-0-4.ec2.internal",
        region="us-east-1",
        zone="us-east-1a",
        instance_type=INSTANCE_TYPES["t3.medium"],
        capacity_type="ON_DEMAND",
        in_service_at=asg.to_rfc3339(1000.0),
    )
    assert asg.warming_up(node, 1299.9, 300)
    assert not asg.warming_up(node, 1300.0, 300)
    assert not asg.warming_up(node, 1000.0, 0)
    node["metadata"]["annotations"].pop(asg.IN_SERVICE_ANNOTATION)
    assert not asg.warming_up(node, 1000.0, 300)  # unknown age: counts as warm


def test_warm_up_defaults_to_300_seconds() -> None:
    base = {
        "autoScalingGroupProvider": {"autoScalingGroupArn": "arn"},
        "autoScalingGroup": {"instanceTypes": ["t3.medium"]},
    }
    assert CapacityProvider.model_validate(base).warmup_seconds == 300
    base["autoScalingGroupProvider"]["managedScaling"] = {"instanceWarmupPeriod": 0}  # type: ignore[index]
    assert CapacityProvider.model_validate(base).warmup_seconds == 0


def test_estimate_uses_the_largest_type_for_the_count_and_the_smallest_as_the_guard() -> None:
    types = [INSTANCE_TYPES["t3.medium"], INSTANCE_TYPES["m5.xlarge"]]  # 1930m/2951Mi, 3920m/14722Mi
    # four 1-vCPU tasks: two t3.medium-sized bins, but ECS counts with the largest type
    assert sc.estimate_instances([(1000, 1024)] * 4, types) == sc.ScaleOutEstimate(2, 0)
    assert sc.estimate_instances([(1000, 1024)] * 3, types) == sc.ScaleOutEstimate(1, 0)
    # a task the smallest type cannot hold is left out of the calculation
    assert sc.estimate_instances([(3000, 1024), (1000, 1024)], types) == sc.ScaleOutEstimate(1, 1)
    assert sc.estimate_instances([(3000, 1024)], types) == sc.ScaleOutEstimate(0, 1)
    one = [INSTANCE_TYPES["t3.medium"]]
    assert sc.estimate_instances([(1000, 1024)] * 3, one) == sc.ScaleOutEstimate(3, 0)
    assert sc.estimate_instances([], one) == sc.ScaleOutEstimate(0, 0)


@given(
    existing=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(TYPES)), max_size=8),
    count=st.integers(0, 12),
    capacity_type=st.sampled_from(["ON_DEMAND", "SPOT"]),
)
def test_every_launch_goes_to_a_least_populated_zone(
    existing: list[tuple[str, str]], count: int, capacity_type: str
) -> None:
    zones = ["a", "b", "c"]
    members = [asg.Instance(z, t) for z, t in existing]
    plan = asg.plan_launches(count, zones=zones, members=members, types=TYPES, capacity_type=capacity_type)
    assert len(plan) == count
    per_zone = {z: sum(1 for m in members if m.zone == z) for z in zones}
    for launch in plan:
        assert per_zone[launch.zone] == min(per_zone.values())  # ASG AZ rebalancing on launch
        assert launch.instance_type in TYPES
        per_zone[launch.zone] += 1
    assert plan == asg.plan_launches(
        count, zones=zones, members=members, types=TYPES, capacity_type=capacity_type
    )
