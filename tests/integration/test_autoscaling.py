"""Service Auto Scaling on a live cluster: target tracking (HPA), step scaling, scheduled actions.

Load is simulated with `ecsk load` (usage as a percentage of the task's reservation), read by
metrics-server like any kubelet's. The cluster must serve metrics.k8s.io (`ecsk cluster up`
runs metrics-server by default). Cooldowns are shortened in the documents so the suite stays
within a few minutes; the HPA controller syncs every 5 s on the embedded cluster.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"
ROOT = Path(__file__).resolve().parents[2]
REF = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


@pytest.fixture(scope="module", autouse=True)
def metrics_api(kubeconfig: str) -> None:
    """Fail clearly (not by timeout) when the cluster has no resource metrics API."""
    deadline = time.monotonic() + 60
    while True:
        proc = kubectl(kubeconfig, "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes", check=False)
        if proc.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"metrics.k8s.io is not served (run `ecsk cluster up`, metrics-server is on): {proc.stderr}"
            )
        time.sleep(2)


def td(family: str) -> dict[str, Any]:
    container = {"name": "app", "image": "nginx", "cpu": 256, "memoryReservation": 128}
    return {"apiVersion": CR, "kind": "TaskDefinition", "metadata": {"name": family},
            "spec": {"family": family, "containerDefinitions": [container]}}  # fmt: skip


def service(name: str, desired: int) -> dict[str, Any]:
    return {"apiVersion": CR, "kind": "ECSService", "metadata": {"name": name},
            "spec": {"serviceName": name, "taskDefinition": name, "desiredCount": desired}}  # fmt: skip


def target(svc: str, lo: int, hi: int) -> dict[str, Any]:
    spec = {**REF, "ResourceId": f"service/default/{svc}", "MinCapacity": lo, "MaxCapacity": hi}
    return {"apiVersion": CR, "kind": "ScalableTarget", "metadata": {"name": svc}, "spec": spec}


def tracking(name: str, svc: str, metric: str, value: float, **config: Any) -> dict[str, Any]:
    cfg = {"TargetValue": value, "PredefinedMetricSpecification": {"PredefinedMetricType": metric}, **config}
    spec = {**REF, "ResourceId": f"service/default/{svc}", "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": cfg}  # fmt: skip
    return {"apiVersion": CR, "kind": "ScalingPolicy", "metadata": {"name": name}, "spec": spec}


CPU = "ECSServiceAverageCPUUtilization"
MEMORY = "ECSServiceAverageMemoryUtilization"


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def load(kubeconfig: str, ns: str, svc: str, **usage: float) -> None:
    args = [sys.executable, "-m", "ecsk.cli.main", "load", "--service", svc, "-n", ns]
    for key, value in usage.items():
        args += [f"--{key}", str(value)]  # metric="Namespace/Name=VALUE" -> --metric
    env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr


def get(api: pykube.HTTPClient, ns: str, kind: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, kind)
    return dict(cls.objects(api, namespace=ns).get(name=name).obj)


def desired(api: pykube.HTTPClient, ns: str, svc: str) -> int:
    return int(get(api, ns, "ECSService", svc)["spec"].get("desiredCount") or 0)


def running(api: pykube.HTTPClient, ns: str, svc: str) -> int:
    return int((get(api, ns, "ECSService", svc).get("status") or {}).get("runningCount") or 0)


def start(
    api: pykube.HTTPClient, kubeconfig: str, ns: str, svc: str, count: int, *docs: dict[str, Any]
) -> None:
    apply(kubeconfig, ns, td(svc), service(svc, count))
    wait_for(lambda: running(api, ns, svc) == count, 90, what=f"{svc} running {count} tasks")
    apply(kubeconfig, ns, *docs)


def events(api: pykube.HTTPClient, ns: str, kind: str, name: str) -> list[str]:
    return [
        e.obj.get("message", "")
        for e in pykube.Event.objects(api, namespace=ns)
        if e.obj["involvedObject"].get("kind") == kind and e.obj["involvedObject"].get("name") == name
    ]


def test_target_tracking_scales_out_within_max_and_back_in_not_below_min(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    start(
        api, kubeconfig, ns, "tt", 2, target("tt", 2, 5), tracking("cpu50", "tt", CPU, 50, ScaleInCooldown=10)
    )
    hpa = wait_for(
        lambda: pykube.HorizontalPodAutoscaler.objects(api, namespace=ns).get_or_none(name="ecsk-tt"), 30
    )
    assert hpa.obj["spec"]["scaleTargetRef"]["kind"] == "ECSService"
    load(kubeconfig, ns, "tt", cpu=90)
    seen: list[int] = []

    def at_max() -> bool:
        seen.append(desired(api, ns, "tt"))
        return seen[-1] == 5

    wait_for(at_max, 150, interval=2, what="tt scaled out to its max of 5")
    assert max(seen) <= 5
    st = get(api, ns, "ScalableTarget", "tt")["status"]
    assert any("Successfully set desired count to" in a["StatusMessage"] for a in st["activities"])
    assert any("triggered policy cpu50" in a["Cause"] for a in st["activities"])
    assert any("Change successfully fulfilled by ecs." in m for m in events(api, ns, "ECSService", "tt"))

    load(kubeconfig, ns, "tt", cpu=5)
    wait_for(lambda: desired(api, ns, "tt") == 2, 150, interval=2, what="tt scaled back in to its min of 2")
    time.sleep(15)
    assert desired(api, ns, "tt") == 2


def test_disable_scale_in_holds_the_count(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    ns = operator_ns
    policy = tracking("hold", "dsi", CPU, 50, ScaleInCooldown=5, DisableScaleIn=True)
    start(api, kubeconfig, ns, "dsi", 1, target("dsi", 1, 3), policy)
    load(kubeconfig, ns, "dsi", cpu=95)
    wait_for(lambda: desired(api, ns, "dsi") == 3, 150, interval=2, what="dsi scaled out to 3")
    hpa = pykube.HorizontalPodAutoscaler.objects(api, namespace=ns).get(name="ecsk-dsi")
    assert hpa.obj["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Disabled"
    load(kubeconfig, ns, "dsi", cpu=2)
    time.sleep(40)
    assert desired(api, ns, "dsi") == 3


def test_two_policies_out_if_any_in_only_if_all(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    start(
        api, kubeconfig, ns, "two", 2, target("two", 2, 4),
        tracking("cpu", "two", CPU, 50, ScaleInCooldown=10),
        tracking("mem", "two", MEMORY, 50, ScaleInCooldown=10),
    )  # fmt: skip
    load(kubeconfig, ns, "two", cpu=5, memory=90)  # only memory wants out: that is enough
    wait_for(lambda: desired(api, ns, "two") == 4, 150, interval=2, what="two scaled out on memory alone")
    load(kubeconfig, ns, "two", cpu=5, memory=45)  # memory holds (45% of 4 tasks > 50% of 3): no scale-in
    time.sleep(35)
    assert desired(api, ns, "two") == 4
    load(kubeconfig, ns, "two", cpu=5, memory=5)  # both want in
    wait_for(
        lambda: desired(api, ns, "two") == 2, 150, interval=2, what="two scaled in once both policies agree"
    )


def test_step_policy_applies_the_step_for_the_breach(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    steps = [
        {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
        {"MetricIntervalLowerBound": 20, "MetricIntervalUpperBound": 40, "ScalingAdjustment": 3},
        {"MetricIntervalLowerBound": 40, "ScalingAdjustment": 6},
    ]
    spec = {
        **REF, "ResourceId": "service/default/step", "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": steps,
                                           "Cooldown": 600, "MetricAggregationType": "Average"},
        "Alarm": {"AlarmName": "step-high", "MetricName": "CPUUtilization", "Statistic": "Average",
                  "Threshold": 50, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                  "EvaluationPeriods": 1, "Period": 10},
    }  # fmt: skip
    policy = {"apiVersion": CR, "kind": "ScalingPolicy", "metadata": {"name": "step-out"}, "spec": spec}
    start(api, kubeconfig, ns, "step", 1, target("step", 1, 10), policy)
    load(kubeconfig, ns, "step", cpu=75)  # breach 25 -> the +3 step
    wait_for(lambda: desired(api, ns, "step") == 4, 120, interval=2, what="step scaled by +3 to 4")
    time.sleep(20)  # inside the cooldown the same breach does not scale again
    assert desired(api, ns, "step") == 4
    st = get(api, ns, "ScalingPolicy", "step-out")["status"]
    assert st["state"] == "ALARM" and st["lastActivity"]["to"] == 4
    causes = [a["Cause"] for a in get(api, ns, "ScalableTarget", "step")["status"]["activities"]]
    assert any("monitor alarm step-high in state ALARM triggered policy step-out" in c for c in causes)


def test_scheduled_action_changes_min_and_max_at_its_time(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    tz = "Asia/Tokyo"
    from zoneinfo import ZoneInfo

    when = (datetime.now(UTC) + timedelta(seconds=15)).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:%S")
    spec = {**REF, "ResourceId": "service/default/sched", "Schedule": f"at({when})", "Timezone": tz,
            "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 6}}  # fmt: skip
    action = {"apiVersion": CR, "kind": "ScheduledAction", "metadata": {"name": "scale-up"}, "spec": spec}
    start(api, kubeconfig, ns, "sched", 1, target("sched", 1, 2), action)
    time.sleep(5)
    assert desired(api, ns, "sched") == 1  # not yet
    wait_for(
        lambda: desired(api, ns, "sched") == 3, 60, interval=1, what="scheduled action raised desired to 3"
    )
    tgt = get(api, ns, "ScalableTarget", "sched")
    assert (tgt["spec"]["MinCapacity"], tgt["spec"]["MaxCapacity"]) == (3, 6)
    assert get(api, ns, "ScheduledAction", "scale-up")["status"]["lastRun"]
    causes = [a["Cause"] for a in tgt["status"]["activities"]]
    assert any("scheduled action name scale-up was triggered" in c for c in causes)
    wait_for(lambda: running(api, ns, "sched") == 3, 60, what="3 tasks running")


# --- ALB request count and customized metrics: ecsk's external metrics API -------------------

TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{tg}/73e2d6bc24d8a067"
RESOURCE_LABEL = "app/lab-alb/50dc6c495c0c9188/targetgroup/{tg}/73e2d6bc24d8a067"


@pytest.fixture(scope="module")
def external_metrics_api(kubeconfig: str) -> None:
    """Fail clearly when the aggregator does not serve ecsk's metrics adapter (`ecsk cluster up`)."""
    proc = kubectl(kubeconfig, "get", "--raw", "/apis/external.metrics.k8s.io/v1beta1", check=False)
    if proc.returncode != 0:
        pytest.fail(f"external.metrics.k8s.io is not served (run `ecsk cluster up`): {proc.stderr}")


@pytest.fixture(scope="module")
def target_group_bindings(kubeconfig: str) -> None:
    """A service with a targetGroupArn renders a TargetGroupBinding (AWS Load Balancer
    Controller); install its CRD, as on an EKS cluster with that controller."""
    kubectl(
        kubeconfig, "apply", "--server-side", "-f", str(ROOT / "tests/fixtures/crds/targetgroupbinding.yaml")
    )


def web_service(name: str, desired: int, tg: str) -> list[dict[str, Any]]:
    """A task definition with a port and a service registering it with target group `tg`."""
    taskdef = td(name)
    taskdef["spec"]["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80}]
    svc = service(name, desired)
    lb = {"targetGroupArn": TG_ARN.format(tg=tg), "containerName": "app", "containerPort": 80}
    svc["spec"]["loadBalancers"] = [lb]
    return [taskdef, svc]


def alb_policy(name: str, svc: str, tg: str, value: float, **config: Any) -> dict[str, Any]:
    doc = tracking(name, svc, "ALBRequestCountPerTarget", value, **config)
    cfg = doc["spec"]["TargetTrackingScalingPolicyConfiguration"]
    cfg["PredefinedMetricSpecification"]["ResourceLabel"] = RESOURCE_LABEL.format(tg=tg)
    return doc


def test_external_metrics_answer_through_the_aggregator(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, external_metrics_api: None
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, *web_service("raw", 0, "raw-tg"))
    load(kubeconfig, ns, "raw", requests=420, metric="MyApp/Queue Depth=7.5")
    base = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}"
    out = kubectl(
        kubeconfig, "get", "--raw",
        f"{base}/alb-request-count?labelSelector=ecs.ecsk.io%2Ftarget-group%3Draw-tg",
    )  # fmt: skip
    body = yaml.safe_load(out.stdout)
    assert body["kind"] == "ExternalMetricValueList"
    assert [(i["metricName"], i["value"]) for i in body["items"]] == [("alb-request-count", "420")]
    out = kubectl(kubeconfig, "get", "--raw", f"{base}/myapp-queue-depth")
    assert [i["value"] for i in yaml.safe_load(out.stdout)["items"]] == ["7500m"]
    other = kubectl(
        kubeconfig, "get", "--raw",
        f"{base}/alb-request-count?labelSelector=ecs.ecsk.io%2Ftarget-group%3Dother-tg",
    )  # fmt: skip
    assert yaml.safe_load(other.stdout)["items"] == []


def test_external_metrics_refuse_callers_that_bypass_the_aggregator(
    api: pykube.HTTPClient, operator_ns: str, external_metrics_api: None
) -> None:
    """The adapter answers the aggregator (previous test) and nobody without its credentials."""
    svc_ref = pykube.object_factory(api, "apiregistration.k8s.io/v1", "APIService")
    spec = svc_ref.objects(api).get(name="v1beta1.external.metrics.k8s.io").obj["spec"]["service"]
    service = pykube.Service.objects(api, namespace=spec["namespace"]).get(name=spec["name"]).obj
    if service["spec"].get("type") != "ExternalName":
        pytest.skip("the adapter runs in a pod here: not reachable from the test process")
    url = f"https://{service['spec']['externalName']}:{spec['port']}"
    ctx = ssl._create_unverified_context()
    path = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{operator_ns}/alb-request-count"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + path, context=ctx, timeout=10)
    assert refused.value.code == 401
    with urllib.request.urlopen(url + "/readyz", context=ctx, timeout=10) as health:
        assert health.status == 200


def test_alb_request_count_per_target_scales_to_total_over_target(
    api: pykube.HTTPClient,
    kubeconfig: str,
    operator_ns: str,
    external_metrics_api: None,
    target_group_bindings: None,
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, *web_service("alb", 1, "alb-tg"))
    wait_for(lambda: running(api, ns, "alb") == 1, 60, what="alb running 1 task")
    policy = alb_policy("req100", "alb", "alb-tg", 100, ScaleInCooldown=10)
    apply(kubeconfig, ns, target("alb", 2, 8), policy)
    # The min clamps first (1 -> 2); the target group then gets no requests, which keeps it at 2.
    wait_for(lambda: desired(api, ns, "alb") == 2, 30, interval=1, what="alb clamped to its min of 2")
    st = wait_for(
        lambda: (
            (get(api, ns, "ScalableTarget", "alb").get("status") or {}).get("trackedPolicies")
            and get(api, ns, "ScalableTarget", "alb")["status"]
        ),
        15,
        what="alb's target status lists its policies",
    )
    assert st["trackedPolicies"] == ["req100"] and not st.get("unsupportedPolicies")
    assert not st.get("metricWarnings")  # the policy's target group is the service's

    load(kubeconfig, ns, "alb", requests=500)  # total per minute: 500 / 100 per target = 5 tasks
    wait_for(lambda: desired(api, ns, "alb") == 5, 40, interval=1, what="alb scaled out to 500/100 = 5")
    time.sleep(8)  # at 5 tasks each gets 100/min: on target, no further scale-out
    assert desired(api, ns, "alb") == 5

    load(kubeconfig, ns, "alb", requests=5000)  # wants 50, capped by MaxCapacity
    wait_for(lambda: desired(api, ns, "alb") == 8, 30, interval=1, what="alb capped at its max of 8")

    load(kubeconfig, ns, "alb", requests=0)
    wait_for(lambda: desired(api, ns, "alb") == 2, 45, interval=1, what="alb scaled in to its min of 2")
    causes = [a["Cause"] for a in get(api, ns, "ScalableTarget", "alb")["status"]["activities"]]
    assert any("triggered policy req100" in c for c in causes)


def test_customized_metric_policy_scales_out(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, external_metrics_api: None
) -> None:
    ns = operator_ns
    cfg = {
        "TargetValue": 10,
        "CustomizedMetricSpecification": {
            "Namespace": "MyApp", "MetricName": "BacklogPerTask", "Statistic": "Average", "Unit": "Count",
            "Dimensions": [{"Name": "ServiceName", "Value": "cm"}],
        },
        "ScaleInCooldown": 10,
    }  # fmt: skip
    spec = {**REF, "ResourceId": "service/default/cm", "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": cfg}  # fmt: skip
    policy = {"apiVersion": CR, "kind": "ScalingPolicy", "metadata": {"name": "backlog"}, "spec": spec}
    start(api, kubeconfig, ns, "cm", 1, target("cm", 1, 4), policy)
    hpa = wait_for(
        lambda: pykube.HorizontalPodAutoscaler.objects(api, namespace=ns).get_or_none(name="ecsk-cm"), 30
    )
    [metric] = hpa.obj["spec"]["metrics"]
    assert metric["external"]["target"] == {"type": "Value", "value": "10"}
    time.sleep(6)  # no value yet: missing data, nothing scales
    assert desired(api, ns, "cm") == 1
    load(kubeconfig, ns, "cm", metric="MyApp/BacklogPerTask=30")  # 3x the target: ceil(1 * 30 / 10) = 3
    wait_for(lambda: desired(api, ns, "cm") >= 3, 40, interval=1, what="cm scaled out on its custom metric")
    wait_for(lambda: desired(api, ns, "cm") == 4, 40, interval=1, what="cm at its max of 4 (backlog stays)")
    load(kubeconfig, ns, "cm", metric="MyApp/BacklogPerTask=1")
    wait_for(lambda: desired(api, ns, "cm") == 1, 45, interval=1, what="cm scaled in on a small backlog")


def task_level_service(name: str, launch_type: str) -> list[dict[str, Any]]:
    """The typical Fargate-sized task: cpu/memory on the task only, containers reserve nothing."""
    containers = [
        {"name": "app", "image": "nginx"},
        {"name": "log-router", "image": "fluent-bit", "essential": False},
    ]
    spec: dict[str, Any] = {"family": name, "cpu": "256", "memory": "512", "containerDefinitions": containers}
    svc = service(name, 1)
    if launch_type == "FARGATE":
        spec |= {"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"]}
        net = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
        svc["spec"] |= {"launchType": "FARGATE", "networkConfiguration": net}
    taskdef = {"apiVersion": CR, "kind": "TaskDefinition", "metadata": {"name": name}, "spec": spec}
    return [taskdef, svc]


@pytest.mark.parametrize("launch_type", ["EC2", "FARGATE"])
def test_target_tracking_on_task_level_cpu_and_memory(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, launch_type: str
) -> None:
    """Utilization is of the task size (pod-level requests): the HPA divides by them and the
    simulated usage is a percentage of them, shared by the task's containers."""
    ns, svc = operator_ns, f"tl-{launch_type.lower()}"
    apply(kubeconfig, ns, *task_level_service(svc, launch_type))
    wait_for(lambda: running(api, ns, svc) == 1, 90, what=f"{svc} running 1 task")
    [pod] = pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": svc})
    assert pod.obj["spec"]["resources"]["requests"]  # task size -> pod-level requests
    assert not any((c.get("resources") or {}).get("requests") for c in pod.obj["spec"]["containers"])

    # A step policy whose alarm never fires: its status shows the operator's own CPU sample.
    step = {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}
    watch = {
        **REF, "ResourceId": f"service/default/{svc}", "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [step]},
        "Alarm": {"AlarmName": f"{svc}-watch", "MetricName": "CPUUtilization", "Statistic": "Average",
                  "Threshold": 99, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                  "EvaluationPeriods": 1, "Period": 10},
    }  # fmt: skip
    apply(
        kubeconfig, ns, target(svc, 1, 3),
        tracking(f"{svc}-cpu50", svc, CPU, 50, ScaleInCooldown=10),
        tracking(f"{svc}-mem80", svc, MEMORY, 80, ScaleInCooldown=10),
        {"apiVersion": CR, "kind": "ScalingPolicy", "metadata": {"name": f"{svc}-watch"}, "spec": watch},
    )  # fmt: skip
    load(kubeconfig, ns, svc, cpu=90, memory=30)
    wait_for(lambda: desired(api, ns, svc) == 3, 150, interval=2, what=f"{svc} scaled out to its max of 3")

    def utilization() -> dict[str, int] | None:
        hpa = pykube.HorizontalPodAutoscaler.objects(api, namespace=ns).get(name=f"ecsk-{svc}")
        current = (hpa.obj.get("status") or {}).get("currentMetrics") or []
        seen = {m["resource"]["name"]: m["resource"]["current"].get("averageUtilization") for m in current}
        return seen if len(seen) == 2 and None not in seen.values() else None

    seen = wait_for(utilization, 30, interval=2, what="the HPA's current utilization of both metrics")
    assert seen is not None
    assert 85 <= seen["cpu"] <= 91, seen  # 90 % of the task's 256 units, not of 1m per container
    assert 27 <= seen["memory"] <= 31, seen  # 30 % of the task's 512 MiB
    causes = [a["Cause"] for a in get(api, ns, "ScalableTarget", svc)["status"]["activities"]]
    assert any(f"triggered policy {svc}-cpu50" in c for c in causes)

    def step_sample() -> float | None:
        value = (get(api, ns, "ScalingPolicy", f"{svc}-watch").get("status") or {}).get("metricValue")
        return float(value) if value is not None else None

    sampled = wait_for(step_sample, 30, interval=2, what="the step policy's CPU sample")
    assert sampled is not None and 85 <= sampled <= 91, sampled  # same reservation as the HPA's
