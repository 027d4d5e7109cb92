"""The ScalableTarget reconciler against an in-memory API: HPA, schedules, activities, load."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers_fake_kube import FakeKube

from ecsk.cli.load_cmd import load_annotations
from ecsk.controller.autoscaling import reconcile as autoscaling
from ecsk.controller.runtime.common import OperatorConfig

NS = "ns"
REF = {
    "ServiceNamespace": "ecs",
    "ResourceId": "service/default/web",
    "ScalableDimension": "ecs:service:DesiredCount",
}


class Kube(FakeKube):
    def __init__(self, *objects: dict[str, Any]) -> None:
        super().__init__(*objects)
        self.applied: list[dict[str, Any]] = []

    def apply(
        self, obj: Mapping[str, Any], live: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        self.applied.append(copy.deepcopy(dict(obj)))
        return dict(obj), True


class Rt:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.config = OperatorConfig()
        self.enqueued: list[tuple[str, str, str]] = []

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None:
        self.enqueued.append((kind, namespace, name))

    def cached(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.kube.get("", kind, name, namespace)

    def cached_all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.kube.list("", kind, namespace)

    def remember(self, obj: Mapping[str, Any]) -> None:
        pass


def obj(kind: str, name: str, spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": NS, **meta},
        "spec": spec,
    }


def svc(desired: int, **annotations: str) -> dict[str, Any]:
    o = obj("ECSService", "web", {"serviceName": "web", "desiredCount": desired}, annotations=annotations)
    o["status"] = {"selector": "ecs.ecsk.io/service=web", "deployments": [{"rolloutState": "COMPLETED"}]}
    return o


def cpu_policy() -> dict[str, Any]:
    tt = {
        "TargetValue": 50,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
    }
    return obj(
        "ScalingPolicy",
        "cpu",
        {**REF, "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": tt},
    )


def target(lo: int = 1, hi: int = 5) -> dict[str, Any]:
    return obj("ScalableTarget", "web", {**REF, "MinCapacity": lo, "MaxCapacity": hi})


def test_renders_an_owned_hpa_and_records_hpa_scaling() -> None:
    kube = Kube(svc(2), target(), cpu_policy())
    rt = Rt(kube)
    assert (
        autoscaling.reconcile_target(rt, kube.get("", "ScalableTarget", "web", NS) or {})
        == autoscaling.POLL_SECONDS
    )
    hpa = kube.applied[-1]
    assert hpa["metadata"]["ownerReferences"][0]["kind"] == "ScalableTarget"
    assert kube.objects[("ScalableTarget", NS, "web")]["status"]["desiredCount"] == 2
    kube.objects[("ECSService", NS, "web")]["spec"]["desiredCount"] = 4  # the HPA scaled out
    autoscaling.reconcile_target(rt, kube.get("", "ScalableTarget", "web", NS) or {})
    act = kube.objects[("ScalableTarget", NS, "web")]["status"]["activities"][0]
    assert act["Description"] == "Setting desired count to 4."
    assert (
        act["StatusMessage"] == "Successfully set desired count to 4. Change successfully fulfilled by ecs."
    )
    assert "AlarmHigh" in act["Cause"] and "triggered policy cpu" in act["Cause"]
    assert ("web", "SuccessfulScaling", act["StatusMessage"]) in kube.events


def test_due_scheduled_action_changes_min_max_and_clamps_desired() -> None:
    created = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at = (datetime.now(UTC) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S")
    action = obj(
        "ScheduledAction",
        "peak",
        {**REF, "Schedule": f"at({at})", "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 8}},
        creationTimestamp=created,
    )
    kube = Kube(svc(1), target(1, 2), action)
    autoscaling.reconcile_target(Rt(kube), kube.get("", "ScalableTarget", "web", NS) or {})
    assert kube.objects[("ScalableTarget", NS, "web")]["spec"]["MinCapacity"] == 3
    assert kube.objects[("ECSService", NS, "web")]["spec"]["desiredCount"] == 3
    assert kube.objects[("ScheduledAction", NS, "peak")]["status"]["lastRun"]
    cause = kube.objects[("ScalableTarget", NS, "web")]["status"]["activities"][0]["Cause"]
    assert cause.startswith("scheduled action name peak was triggered at")


def test_missing_service_and_invalid_specs_are_reported() -> None:
    kube = Kube(target())
    autoscaling.reconcile_target(Rt(kube), kube.get("", "ScalableTarget", "web", NS) or {})
    cond = kube.objects[("ScalableTarget", NS, "web")]["status"]["conditions"][0]
    assert cond["status"] == "False" and "ObjectNotFoundException" in cond["message"]
    bad = obj("ScalableTarget", "bad", {**REF, "MinCapacity": 4, "MaxCapacity": 1})
    kube.add(bad)
    autoscaling.reconcile_target(Rt(kube), bad)
    assert (
        "Maximum capacity cannot be less than minimum capacity"
        in kube.objects[("ScalableTarget", NS, "bad")]["status"]["conditions"][0]["message"]
    )
    # Each refusal is also one Warning event, not one per pass (the target's pass repeats).
    autoscaling.reconcile_target(Rt(kube), kube.objects[("ScalableTarget", NS, "bad")])
    refusals = [e for e in kube.events if e[1] == "ValidationFailed"]
    assert [e[0] for e in refusals] == ["web", "bad"]
    assert "ECS service doesn't exist: service/default/web" in refusals[0][2]


def test_an_invalid_policy_is_refused_with_one_warning_naming_the_field() -> None:
    steps = {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 3},
    ]}  # fmt: skip
    alarm = {"MetricName": "CPUUtilization", "Threshold": 70, "ComparisonOperator": "GreaterThanThreshold",
             "EvaluationPeriods": 2}  # fmt: skip
    policy = obj("ScalingPolicy", "steps", {**REF, "PolicyType": "StepScaling",
                 "StepScalingPolicyConfiguration": steps, "Alarm": alarm})  # fmt: skip
    kube = Kube(policy)
    for _ in range(2):
        autoscaling.reconcile_policy(Rt(kube), kube.objects[("ScalingPolicy", NS, "steps")])
    [cond] = kube.objects[("ScalingPolicy", NS, "steps")]["status"]["conditions"]
    assert (cond["status"], cond["reason"]) == ("False", "ValidationFailed")
    assert cond["message"] == (
        "ValidationException: StepScalingPolicyConfiguration: Step adjustment intervals must not overlap"
    )
    assert kube.events == [("steps", "ValidationFailed", cond["message"])]


def test_service_load_is_copied_to_its_tasks() -> None:
    meta = {"name": "web-1", "namespace": NS, "labels": {"ecs.ecsk.io/service": "web"}}
    other = {"name": "api-1", "namespace": NS, "labels": {"ecs.ecsk.io/service": "api"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
    kube = Kube(svc(1, **{"ecs.ecsk.io/usage-cpu-percent": "90"}), target(), pod, {**pod, "metadata": other})
    autoscaling.reconcile_target(Rt(kube), kube.get("", "ScalableTarget", "web", NS) or {})
    assert kube.objects[("Pod", NS, "web-1")]["metadata"]["annotations"] == {
        "ecs.ecsk.io/usage-cpu-percent": "90"
    }
    assert "annotations" not in kube.objects[("Pod", NS, "api-1")]["metadata"], "another service's task"


def test_load_annotations() -> None:
    assert load_annotations(80, None, 1000) == {
        "ecs.ecsk.io/usage-cpu-percent": "80",
        "ecs.ecsk.io/requests-per-minute": "1000",
    }
    assert load_annotations(-1, 55.5, None) == {
        "ecs.ecsk.io/usage-cpu-percent": None,
        "ecs.ecsk.io/usage-memory-percent": "55.5",
    }


def test_alb_policy_on_a_target_group_the_service_lacks_is_flagged() -> None:
    label = "app/lab-alb/1/targetgroup/web-tg/2"
    tt = {
        "TargetValue": 100,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": label,
        },
    }
    spec = {**REF, "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": tt}
    kube = Kube(svc(2), target(), obj("ScalingPolicy", "req", spec))
    autoscaling.reconcile_target(Rt(kube), kube.get("", "ScalableTarget", "web", NS) or {})
    status = kube.objects[("ScalableTarget", NS, "web")]["status"]
    assert status["trackedPolicies"] == ["req"] and not status.get("unsupportedPolicies")
    assert "web-tg/2 is not in the service's loadBalancers" in status["metricWarnings"][0]
    # Attached: no warning.
    arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-tg/2"
    service = kube.objects[("ECSService", NS, "web")]
    service["spec"]["loadBalancers"] = [{"targetGroupArn": arn, "containerName": "app", "containerPort": 80}]
    autoscaling.reconcile_target(Rt(kube), kube.get("", "ScalableTarget", "web", NS) or {})
    assert not kube.objects[("ScalableTarget", NS, "web")]["status"].get("metricWarnings")
