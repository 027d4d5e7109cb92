"""Target tracking -> HPA: metrics, min/max, behaviour, several policies, what is not emulated."""

from __future__ import annotations

from typing import Any

from ecsk.core.autoscaling.hpa import render_hpa
from ecsk.core.autoscaling.models import ScalableTarget, ScalingPolicy

REF = {
    "ServiceNamespace": "ecs",
    "ResourceId": "service/default/web",
    "ScalableDimension": "ecs:service:DesiredCount",
}


def target(**kw: Any) -> ScalableTarget:
    return ScalableTarget.model_validate({**REF, "MinCapacity": 2, "MaxCapacity": 10, **kw})


def tt(name: str, metric: str, value: float, **kw: Any) -> ScalingPolicy:
    spec: dict[str, Any] = {"PredefinedMetricType": metric}
    if metric == "ALBRequestCountPerTarget":
        spec["ResourceLabel"] = "app/lb/1/targetgroup/tg/2"
    return ScalingPolicy.model_validate(
        {
            **REF,
            "PolicyName": name,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": value,
                "PredefinedMetricSpecification": spec,
                **kw,
            },
        }
    )


def render(policies: list[ScalingPolicy], **kw: Any) -> dict[str, Any]:
    plan = render_hpa(
        target_name="web",
        namespace="ns",
        service_object="web-obj",
        target=kw.pop("t", target()),
        policies=policies,
        **kw,
    )
    assert plan.hpa is not None
    return plan.hpa


def test_cpu_policy_becomes_a_resource_metric_on_the_ecsservice_scale_subresource() -> None:
    hpa = render([tt("cpu", "ECSServiceAverageCPUUtilization", 50)])
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "ECSService",
        "name": "web-obj",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    assert spec["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
        }
    ]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert spec["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ecsk"


def test_high_resolution_metrics_are_the_same_resource_metrics() -> None:
    """Regression (found by the botocore model check): AWS's HighResolution predefined metrics
    were refused as unknown enum values."""
    hpa = render(
        [
            tt("cpu", "ECSServiceAverageCPUUtilizationHighResolution", 55),
            tt("mem", "ECSServiceAverageMemoryUtilizationHighResolution", 65),
        ]
    )
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]
    }
    assert targets == {"cpu": 55, "memory": 65}


def test_several_policies_one_hpa_lowest_target_per_metric() -> None:
    hpa = render(
        [
            tt("cpu70", "ECSServiceAverageCPUUtilization", 70, ScaleInCooldown=60),
            tt("cpu40", "ECSServiceAverageCPUUtilization", 40, ScaleInCooldown=120),
            tt("mem", "ECSServiceAverageMemoryUtilization", 60.4),
        ]
    )
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]
    }
    assert targets == {"cpu": 40, "memory": 60}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300  # memory's default wins


def test_disable_scale_in_only_when_every_policy_disables_it() -> None:
    one = render(
        [
            tt("a", "ECSServiceAverageCPUUtilization", 50, DisableScaleIn=True),
            tt("b", "ECSServiceAverageMemoryUtilization", 50),
        ]
    )
    assert one["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Max"
    both = render([tt("a", "ECSServiceAverageCPUUtilization", 50, DisableScaleIn=True)])
    assert both["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Disabled"


def test_suspension_and_deployments_disable_directions() -> None:
    hpa = render(
        [tt("a", "ECSServiceAverageCPUUtilization", 50)],
        t=target(SuspendedState={"DynamicScalingOutSuspended": True}),
    )
    assert hpa["spec"]["behavior"]["scaleUp"]["selectPolicy"] == "Disabled"
    hpa = render([tt("a", "ECSServiceAverageCPUUtilization", 50)], scale_in_blocked=True)
    assert hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Disabled"


def custom(name: str, value: float, **spec: Any) -> ScalingPolicy:
    return ScalingPolicy.model_validate(
        {
            **REF,
            "PolicyName": name,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": value,
                "CustomizedMetricSpecification": spec,
            },
        }
    )


def test_alb_request_count_is_an_external_average_value_metric_for_the_target_group() -> None:
    plan = render_hpa(
        target_name="web",
        namespace="ns",
        service_object="web",
        target=target(),
        policies=[
            tt("alb", "ALBRequestCountPerTarget", 1000),
            tt("cpu", "ECSServiceAverageCPUUtilization", 50),
        ],
    )
    assert plan.unsupported == {} and plan.tracked == ["alb", "cpu"]
    assert plan.hpa is not None
    metrics = plan.hpa["spec"]["metrics"]
    assert metrics[0]["type"] == "Resource"  # resources first, then external metrics
    assert metrics[1] == {
        "type": "External",
        "external": {
            "metric": {
                "name": "alb-request-count",
                "selector": {
                    "matchLabels": {"ecs.ecsk.io/target-group": "tg", "ecs.ecsk.io/target-group-id": "2"}
                },
            },
            # averageValue: the HPA divides the target group's total by the tasks, so its desired
            # count is ceil(total / TargetValue), as ECS's ceil(tasks * perTarget / TargetValue).
            "target": {"type": "AverageValue", "averageValue": "1000"},
        },
    }


def test_alb_policies_on_one_target_group_collapse_to_the_lowest_target() -> None:
    hpa = render([tt("a", "ALBRequestCountPerTarget", 250.5), tt("b", "ALBRequestCountPerTarget", 300)])
    [metric] = hpa["spec"]["metrics"]
    assert metric["external"]["target"] == {"type": "AverageValue", "averageValue": "250500m"}


def test_customized_metric_is_an_external_value_metric_of_the_service() -> None:
    hpa = render([custom("q", 10, Namespace="MyApp", MetricName="Queue Depth", Statistic="Average")])
    [metric] = hpa["spec"]["metrics"]
    assert metric == {
        "type": "External",
        "external": {
            "metric": {
                "name": "myapp-queue-depth",
                "selector": {"matchLabels": {"ecs.ecsk.io/cluster": "default", "ecs.ecsk.io/service": "web"}},
            },
            "target": {"type": "Value", "value": "10"},
        },
    }


def test_customized_metric_dimensions_pick_another_service() -> None:
    dims = [{"Name": "ServiceName", "Value": "queue"}, {"Name": "ClusterName", "Value": "prod"}]
    hpa = render([custom("q", 5, Namespace="MyApp", MetricName="Depth", Dimensions=dims)])
    labels = hpa["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]
    assert labels == {"ecs.ecsk.io/cluster": "prod", "ecs.ecsk.io/service": "queue"}


def test_single_metric_stat_query_is_emulated_and_expressions_are_not() -> None:
    stat = {
        "Id": "m1",
        "MetricStat": {"Metric": {"Namespace": "MyApp", "MetricName": "Depth"}, "Stat": "Sum"},
    }
    hpa = render([custom("q", 5, Metrics=[stat])])
    assert hpa["spec"]["metrics"][0]["external"]["metric"]["name"] == "myapp-depth"
    expr = [{**stat, "ReturnData": False}, {"Id": "e1", "Expression": "m1 / 2", "ReturnData": True}]
    plan = render_hpa(
        target_name="web", namespace="ns", service_object="web", target=target(),
        policies=[custom("math", 5, Metrics=expr)],
    )  # fmt: skip
    assert plan.hpa is None and "metric math" in plan.unsupported["math"]


def test_malformed_resource_label_is_reported_not_rendered() -> None:
    bad = ScalingPolicy.model_validate(
        {
            **REF,
            "PolicyName": "alb",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 100,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ALBRequestCountPerTarget",
                    "ResourceLabel": "my-target-group",
                },
            },
        }
    )
    plan = render_hpa(
        target_name="web", namespace="ns", service_object="web", target=target(), policies=[bad]
    )
    assert plan.hpa is None and "targetgroup" in plan.unsupported["alb"]


def test_min_capacity_zero_keeps_hpa_valid() -> None:
    hpa = render([tt("a", "ECSServiceAverageCPUUtilization", 50)], t=target(MinCapacity=0))
    assert hpa["spec"]["minReplicas"] == 1
