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


def test_unsupported_metrics_are_reported_not_rendered() -> None:
    plan = render_hpa(
        target_name="web",
        namespace="ns",
        service_object="web",
        target=target(),
        policies=[tt("alb", "ALBRequestCountPerTarget", 1000)],
    )
    assert plan.hpa is None and "load balancer" in plan.unsupported["alb"]


def test_min_capacity_zero_keeps_hpa_valid() -> None:
    hpa = render([tt("a", "ECSServiceAverageCPUUtilization", 50)], t=target(MinCapacity=0))
    assert hpa["spec"]["minReplicas"] == 1
