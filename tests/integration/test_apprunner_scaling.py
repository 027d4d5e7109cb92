"""App Runner auto scaling configurations on the embedded cluster: revisions made with kubectl and
with the API, a service's HPA taking MaxConcurrency/MinSize/MaxSize from the revision its
AutoScalingConfigurationArn names (and changing with it), an ARN naming nothing yet (a condition
and an Event, then picked up once the configuration exists), and the refusals in App Runner's words.
"""

from __future__ import annotations

import json
from typing import Any

import pykube
import pytest
from botocore.exceptions import ClientError
from kubectl import kubectl
from kubetest import wait_for
from test_apprunner import ACCOUNT, CR, REGION, _state, apply, apprunner, get, hpa, runner, running, status

pytestmark = pytest.mark.integration
__all__ = ["apprunner"]  # the module's endpoint fixture (`ecsk api serve` on this namespace)

KIND = "AppRunnerAutoScalingConfiguration"
BASE = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:autoscalingconfiguration"


def config(obj: str, name: str, **numbers: int) -> dict[str, Any]:
    spec = {"AutoScalingConfigurationName": name, **numbers}
    return {"apiVersion": CR, "kind": KIND, "metadata": {"name": obj}, "spec": spec}


BOTH = runner("both-web", AutoScalingConfigurationArn=f"{BASE}/x-cfg")
"""The inline block (runner's) and an ARN at once."""


def service(name: str, arn: str | None) -> dict[str, Any]:
    doc = runner(name)
    doc["spec"].pop("AutoScalingConfiguration")
    if arn is not None:
        doc["spec"]["AutoScalingConfigurationArn"] = arn
    return doc


def config_status(api: pykube.HTTPClient, ns: str, obj: str) -> dict[str, Any]:
    return dict((get(api, ns, KIND, obj) or {}).get("status") or {})


def hpa_numbers(kubeconfig: str, ns: str, name: str) -> tuple[int, int, str] | None:
    found = hpa(kubeconfig, ns, name)
    if found is None:
        return None
    spec = found["spec"]
    return spec["minReplicas"], spec["maxReplicas"], spec["metrics"][0]["external"]["target"]["averageValue"]


def test_kubectl_revisions_drive_the_service_hpa(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, config("ha-one", "high-av", MaxConcurrency=20, MinSize=2, MaxSize=3))
    wait_for(lambda: config_status(api, ns, "ha-one").get("AutoScalingConfigurationRevision") == 1, 30,
             what="revision 1 numbered")  # fmt: skip
    apply(kubeconfig, ns, config("ha-two", "high-av", MaxConcurrency=40, MinSize=3, MaxSize=6))
    two = wait_for(
        lambda: config_status(api, ns, "ha-two").get("Latest") and config_status(api, ns, "ha-two"),
        30,
        what="revision 2 latest",
    )
    assert two["AutoScalingConfigurationRevision"] == 2 and two["Status"] == "ACTIVE"
    assert two["AutoScalingConfigurationArn"].startswith(f"{BASE}/high-av/2/")
    wait_for(
        lambda: config_status(api, ns, "ha-one").get("Latest") is False,
        30,
        what="revision 1 no longer latest",
    )
    table = kubectl(kubeconfig, "-n", ns, "get", "arasc").stdout
    assert "MAXCONCURRENCY" in table and "LATEST" in table

    apply(kubeconfig, ns, service("scaled-web", f"{BASE}/high-av/1"))
    wait_for(lambda: running(api, ns, "scaled-web"), 90, what="scaled-web RUNNING")
    assert hpa_numbers(kubeconfig, ns, "scaled-web") == (2, 3, "20")
    summary = status(api, ns, "scaled-web")["AutoScalingConfigurationSummary"]
    assert (summary["AutoScalingConfigurationName"], summary["AutoScalingConfigurationRevision"]) == (
        "high-av",
        1,
    )

    apply(kubeconfig, ns, service("scaled-web", f"{BASE}/high-av/2"))
    wait_for(
        lambda: hpa_numbers(kubeconfig, ns, "scaled-web") == (3, 6, "40"), 60, what="HPA from revision 2"
    )

    refused = apply(kubeconfig, ns, config("ha-one", "high-av", MaxConcurrency=21), check=False)
    assert refused.returncode != 0 and "revision can't be changed" in refused.stderr


@pytest.mark.parametrize(
    ("doc", "wording"),
    [
        (config("bad-conc", "bad-conc", MaxConcurrency=201),
         "Value at 'maxConcurrency' failed to satisfy constraint: "
         "Member must have value less than or equal to 200"),
        (config("bad-range", "bad-range", MinSize=5, MaxSize=2),
         "MinSize must be less than or equal to MaxSize"),
        (config("bad-name", "a b c d"),
         "Value 'a b c d' at 'autoScalingConfigurationName' failed to satisfy"),
        (BOTH, "AutoScalingConfiguration and AutoScalingConfigurationArn can't both be set"),
        (service("badarn-web", "arn:aws:apprunner:us-east-1:000000000000:service/x/y"),
         "The auto scaling configuration ARN you specified isn't valid. ARN: "
         "'arn:aws:apprunner:us-east-1:000000000000:service/x/y'"),
    ],
)  # fmt: skip
def test_admission_refuses_in_app_runner_words(
    kubeconfig: str, operator_ns: str, doc: dict[str, Any], wording: str
) -> None:
    proc = apply(kubeconfig, operator_ns, doc, check=False)
    assert proc.returncode != 0 and wording in proc.stderr, proc.stderr


def test_an_unknown_arn_waits_with_a_condition_then_is_picked_up(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    arn = f"{BASE}/later-cfg"
    apply(kubeconfig, ns, service("waiting-web", arn))

    def missing() -> dict[str, Any] | None:
        conds = {c["type"]: c for c in status(api, ns, "waiting-web").get("conditions") or []}
        cond = conds.get("ScalingConfiguration")
        return cond if cond and cond["status"] == "False" else None

    cond = wait_for(missing, 30, what="ScalingConfiguration condition False")
    assert cond["reason"] == "AutoScalingConfigurationNotFound" and arn in cond["message"]
    events = json.loads(kubectl(kubeconfig, "-n", ns, "get", "events", "-o", "json").stdout)["items"]
    assert any(e["reason"] == "AutoScalingConfigurationNotFound" and arn in e["message"] for e in events)
    assert hpa(kubeconfig, ns, "waiting-web") is None  # nothing runs on a configuration that is not there

    apply(kubeconfig, ns, config("later-cfg", "later-cfg", MaxConcurrency=7, MinSize=2, MaxSize=2))
    wait_for(
        lambda: running(api, ns, "waiting-web"), 90, what="waiting-web RUNNING once the configuration exists"
    )
    assert hpa_numbers(kubeconfig, ns, "waiting-web") == (2, 2, "7")


def test_api_revisions_and_a_service_moving_between_them(
    apprunner: Any, api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    one = apprunner.create_auto_scaling_configuration(
        AutoScalingConfigurationName="api-cfg", MaxConcurrency=30, MinSize=1, MaxSize=2
    )["AutoScalingConfiguration"]
    two = apprunner.create_auto_scaling_configuration(
        AutoScalingConfigurationName="api-cfg", MaxConcurrency=60, MinSize=2, MaxSize=4
    )["AutoScalingConfiguration"]
    assert (one["AutoScalingConfigurationRevision"], two["AutoScalingConfigurationRevision"]) == (1, 2)
    assert two["Latest"] is True
    listed = apprunner.list_auto_scaling_configurations(
        AutoScalingConfigurationName="api-cfg", LatestOnly=False
    )
    revs = [s["AutoScalingConfigurationRevision"] for s in listed["AutoScalingConfigurationSummaryList"]]
    assert revs == [1, 2]
    latest = apprunner.list_auto_scaling_configurations()["AutoScalingConfigurationSummaryList"]
    assert ("DefaultConfiguration", 1) in [
        (s["AutoScalingConfigurationName"], s["AutoScalingConfigurationRevision"]) for s in latest
    ]
    described = apprunner.describe_auto_scaling_configuration(
        AutoScalingConfigurationArn=one["AutoScalingConfigurationArn"]
    )
    assert described["AutoScalingConfiguration"]["Latest"] is False

    image = {"ImageIdentifier": "public.ecr.aws/aws-containers/hello-app-runner:latest",
             "ImageRepositoryType": "ECR_PUBLIC", "ImageConfiguration": {"Port": "8000"}}  # fmt: skip
    svc = apprunner.create_service(
        ServiceName="cfg-web",
        SourceConfiguration={"ImageRepository": image, "AutoDeploymentsEnabled": False},
        InstanceConfiguration={"Cpu": "0.25 vCPU", "Memory": "0.5 GB"},
        AutoScalingConfigurationArn=f"{BASE}/api-cfg/1",
    )["Service"]
    arn = svc["ServiceArn"]
    wait_for(lambda: _state(apprunner, arn, "RUNNING"), 90, what="cfg-web RUNNING")
    assert hpa_numbers(kubeconfig, operator_ns, "cfg-web") == (1, 2, "30")
    with pytest.raises(ClientError) as in_use:
        apprunner.delete_auto_scaling_configuration(
            AutoScalingConfigurationArn=one["AutoScalingConfigurationArn"]
        )
    assert in_use.value.response["Error"]["Code"] == "InvalidRequestException"

    apprunner.update_service(ServiceArn=arn, AutoScalingConfigurationArn=two["AutoScalingConfigurationArn"])
    wait_for(
        lambda: hpa_numbers(kubeconfig, operator_ns, "cfg-web") == (2, 4, "60"),
        60,
        what="HPA from revision 2",
    )
    wait_for(lambda: _state(apprunner, arn, "RUNNING"), 90, what="cfg-web RUNNING after the update")
    summary = apprunner.describe_service(ServiceArn=arn)["Service"]["AutoScalingConfigurationSummary"]
    assert summary["AutoScalingConfigurationArn"] == two["AutoScalingConfigurationArn"]

    gone = apprunner.delete_auto_scaling_configuration(
        AutoScalingConfigurationArn=one["AutoScalingConfigurationArn"]
    )
    assert gone["AutoScalingConfiguration"]["Status"] == "INACTIVE"
    with pytest.raises(ClientError) as unknown:
        apprunner.update_service(ServiceArn=arn, AutoScalingConfigurationArn=f"{BASE}/api-cfg/1")
    assert "The auto scaling configuration ARN you specified isn't valid" in str(unknown.value)
    with pytest.raises(ClientError) as missing:
        apprunner.describe_auto_scaling_configuration(AutoScalingConfigurationArn=f"{BASE}/nothing-here/1")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as default:
        apprunner.delete_auto_scaling_configuration(
            AutoScalingConfigurationArn=f"{BASE}/DefaultConfiguration/1"
        )
    assert "default auto scaling configuration" in str(default.value)
    made_default = apprunner.update_default_auto_scaling_configuration(
        AutoScalingConfigurationArn=f"{BASE}/api-cfg"
    )
    assert made_default["AutoScalingConfiguration"]["IsDefault"] is True
    assert made_default["AutoScalingConfiguration"]["AutoScalingConfigurationRevision"] == 2
    with pytest.raises(ClientError) as still_default:
        apprunner.delete_auto_scaling_configuration(AutoScalingConfigurationArn=f"{BASE}/api-cfg")
    assert "default auto scaling configuration" in str(still_default.value)
    apprunner.update_default_auto_scaling_configuration(
        AutoScalingConfigurationArn=f"{BASE}/DefaultConfiguration"
    )
    back = apprunner.describe_auto_scaling_configuration(AutoScalingConfigurationArn=f"{BASE}/api-cfg/2")
    assert back["AutoScalingConfiguration"]["IsDefault"] is False
