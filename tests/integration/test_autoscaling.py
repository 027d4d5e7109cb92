"""Service Auto Scaling on a live cluster: target tracking (HPA), step scaling, scheduled actions.

Load is simulated with `ecsk load` (usage as a percentage of the task's reservation), read by
metrics-server like any kubelet's. The cluster must serve metrics.k8s.io (`ecsk cluster up`
runs metrics-server by default). Cooldowns are shortened in the documents so the suite stays
within a few minutes; the HPA controller syncs every 5 s on the embedded cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
        args += [f"--{key}", str(value)]
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
