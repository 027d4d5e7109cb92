"""Lab 07: Service Auto Scaling (Application Auto Scaling): a scalable target, a target-tracking
policy on CPU rendered as a HorizontalPodAutoscaler, and a scheduled action."""

from __future__ import annotations

from typing import Any

from ecsk.labs.engine import CR, Lab, Obj, Snapshot, container, require, service_doc, spec, status, td_doc

NAME = "web"
RESOURCE = f"service/default/{NAME}"
REF = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount", "ResourceId": RESOURCE}
LOW, HIGH, CPU_TARGET, BUSINESS_MIN = 2, 8, 50.0, 4
CPU_METRIC = "ECSServiceAverageCPUUtilization"


def _doc(kind: str, name: str, body: dict[str, Any]) -> Obj:
    return {"apiVersion": CR, "kind": kind, "metadata": {"name": name}, "spec": {**REF, **body}}


def _mine(snap: Snapshot, kind: str) -> list[Obj]:
    return [o for o in snap.ecs.get(kind, []) if spec(o).get("ResourceId") == RESOURCE]


def _target_problems(snap: Snapshot) -> list[str]:
    targets = _mine(snap, "ScalableTarget")
    if not targets:
        return [f"no ScalableTarget for {RESOURCE}: register the service with Application Auto Scaling first"]
    body = spec(targets[0])
    if (body.get("MinCapacity"), body.get("MaxCapacity")) != (LOW, HIGH):
        got = f"{body.get('MinCapacity')}-{body.get('MaxCapacity')}"
        return [f"the scalable target's capacity is {got} tasks; the goal is {LOW}-{HIGH}"]
    return []


def _tracking_problems(snap: Snapshot) -> list[str]:
    policies = [
        p for p in _mine(snap, "ScalingPolicy") if spec(p).get("PolicyType") == "TargetTrackingScaling"
    ]
    on_cpu = [
        p
        for p in policies
        if (
            (spec(p).get("TargetTrackingScalingPolicyConfiguration") or {}).get(
                "PredefinedMetricSpecification"
            )
            or {}
        ).get("PredefinedMetricType")
        == CPU_METRIC
    ]
    if not on_cpu:
        return [f"no target-tracking ScalingPolicy on {CPU_METRIC} for {RESOURCE}"]
    value = (spec(on_cpu[0]).get("TargetTrackingScalingPolicyConfiguration") or {}).get("TargetValue")
    out = [] if value == CPU_TARGET else [f"the CPU policy tracks {value}%; the goal is {CPU_TARGET:g}%"]
    name = on_cpu[0]["metadata"]["name"]
    tracked = [str(x) for t in _mine(snap, "ScalableTarget") for x in status(t).get("trackedPolicies") or []]
    if name not in tracked or not snap.hpas:
        out.append(
            f"policy {name} is not rendered yet: no HorizontalPodAutoscaler tracks it (operator running?)"
        )
    return out


def _scheduled_problems(snap: Snapshot) -> list[str]:
    for action in _mine(snap, "ScheduledAction"):
        if (spec(action).get("ScalableTargetAction") or {}).get("MinCapacity") == BUSINESS_MIN:
            return []
    return [f"no ScheduledAction raising MinCapacity to {BUSINESS_MIN} (weekday mornings) for {RESOURCE}"]


class ServiceAutoScalingLab(Lab):
    def starting_objects(self) -> list[Obj]:
        td = td_doc(NAME, {"family": NAME, "containerDefinitions": [container("web", cpu=256)]})
        svc = service_doc(
            NAME, {"serviceName": NAME, "taskDefinition": NAME, "desiredCount": LOW, "launchType": "EC2"}
        )
        return [td, svc]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        tracking = {
            "PolicyType": "TargetTrackingScaling",
            "PolicyName": "cpu50",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": CPU_TARGET,
                "PredefinedMetricSpecification": {"PredefinedMetricType": CPU_METRIC},
            },
        }
        morning = {
            "ScheduledActionName": "business-hours",
            "Schedule": "cron(0 8 ? * MON-FRI *)",
            "ScalableTargetAction": {"MinCapacity": BUSINESS_MIN, "MaxCapacity": HIGH},
        }
        return [
            _doc("ScalableTarget", NAME, {"MinCapacity": LOW, "MaxCapacity": HIGH}),
            _doc("ScalingPolicy", "cpu50", tracking),
            _doc("ScheduledAction", "business-hours", morning),
        ]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        return _target_problems(snap) + _tracking_problems(snap) + _scheduled_problems(snap)


LAB = ServiceAutoScalingLab(
    number=7,
    slug="service-auto-scaling",
    title="Service Auto Scaling: target tracking, step, scheduled",
    topic="ECS Service Auto Scaling (Application Auto Scaling: target tracking, step, scheduled)",
    goal=(
        f"Let `{NAME}` scale between {LOW} and {HIGH} tasks, tracking {CPU_TARGET:g}% average CPU, "
        f"and keep at least {BUSINESS_MIN} tasks from 08:00 on weekdays."
    ),
    steps=(
        "kubectl -n {ns} apply -f - with a ScalableTarget: ServiceNamespace ecs, ScalableDimension "
        "ecs:service:DesiredCount, ResourceId service/default/web, MinCapacity 2, MaxCapacity 8",
        "A ScalingPolicy: PolicyType TargetTrackingScaling, TargetValue 50, "
        "PredefinedMetricType ECSServiceAverageCPUUtilization",
        "A ScheduledAction: Schedule cron(0 8 ? * MON-FRI *), ScalableTargetAction MinCapacity 4",
        "See the HPA: kubectl -n {ns} get hpa; then load it: ecsk load -n {ns} --service web --cpu 90",
        "Watch the desired count: kubectl -n {ns} get ecsservice web -w",
    ),
    hints=(
        "Three kinds, all with ResourceId service/default/web: "
        "ScalableTarget, ScalingPolicy, ScheduledAction.",
        "The PascalCase fields are Application Auto Scaling's, as `aws application-autoscaling` prints them.",
        "A scheduled action changes MinCapacity/MaxCapacity at its time; the policy then scales within them.",
    ),
)
