"""ScheduledTask -> CronJob on a live cluster: schedule mapping, time zone, suspension, refusals."""

from __future__ import annotations

from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def scheduled(name: str, expr: str, tz: str | None = None, state: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scheduleExpression": expr,
        "ecsParameters": {"taskDefinition": "cron", "taskCount": 2},
    }
    if tz:
        spec["scheduleExpressionTimezone"] = tz
    if state:
        spec["state"] = state
    return {"apiVersion": CR, "kind": "ScheduledTask", "metadata": {"name": name}, "spec": spec}


def cronjob(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any] | None:
    found = pykube.CronJob.objects(api, namespace=ns).get_or_none(name=name)
    return dict(found.obj) if found else None


def st_status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "ScheduledTask")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj.get("status") or {})


@pytest.fixture(scope="module", autouse=True)
def family(kubeconfig: str, operator_ns: str) -> None:
    apply(
        kubeconfig,
        operator_ns,
        {
            "apiVersion": CR,
            "kind": "TaskDefinition",
            "metadata": {"name": "cron"},
            "spec": {
                "family": "cron",
                "containerDefinitions": [{"name": "main", "image": "busybox", "memory": 32}],
            },
        },
    )


@pytest.mark.parametrize(
    ("name", "expr", "tz", "schedule"),
    [
        ("weekdays", "cron(30 2 ? * MON-FRI *)", "Europe/Paris", "30 2 * * 1,2,3,4,5"),
        ("every5", "rate(5 minutes)", None, "*/5 * * * *"),
        ("hourly", "rate(1 hour)", None, "0 * * * *"),
    ],
)
def test_schedule_becomes_cronjob(
    api: pykube.HTTPClient,
    kubeconfig: str,
    operator_ns: str,
    name: str,
    expr: str,
    tz: str | None,
    schedule: str,
) -> None:
    apply(kubeconfig, operator_ns, scheduled(name, expr, tz))
    cj = wait_for(lambda: cronjob(api, operator_ns, name), 60, what=f"CronJob {name}")
    assert cj["spec"]["schedule"] == schedule
    assert cj["spec"]["timeZone"] == (tz or "UTC")
    assert cj["spec"]["suspend"] is False
    job = cj["spec"]["jobTemplate"]["spec"]
    assert (job["parallelism"], job["completions"]) == (2, 2)
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["template"]["metadata"]["labels"]["ecs.ecsk.io/family"] == "cron"
    assert cj["metadata"]["ownerReferences"][0]["kind"] == "ScheduledTask"
    st = wait_for(
        lambda: (s := st_status(api, operator_ns, name)).get("nextRunTime") and s, 30, what="status"
    )
    assert st["taskDefinitionArn"].endswith("task-definition/cron:1")


def test_disabled_and_future_year_suspend(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    apply(
        kubeconfig,
        operator_ns,
        scheduled("off", "rate(1 day)", state="DISABLED"),
        scheduled("later", "cron(0 0 1 1 ? 2099)"),
    )
    wait_for(lambda: (c := cronjob(api, operator_ns, "off")) and c["spec"]["suspend"] is True, 60, what="off")
    later = wait_for(
        lambda: (c := cronjob(api, operator_ns, "later")) and c["spec"]["suspend"] is True and c,
        60,
        what="later suspended",
    )
    assert later["spec"]["schedule"] == "0 0 1 1 *"
    assert st_status(api, operator_ns, "later")["nextRunTime"].startswith("2099-01-01T00:00:00")
    kubectl(
        kubeconfig,
        "-n",
        operator_ns,
        "patch",
        "scheduledtask",
        "off",
        "--type",
        "merge",
        "-p",
        '{"spec":{"state":"ENABLED"}}',
    )
    wait_for(lambda: cronjob(api, operator_ns, "off")["spec"]["suspend"] is False, 60, what="re-enabled")  # type: ignore[index]


def test_inexpressible_schedule_is_refused(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    apply(kubeconfig, operator_ns, scheduled("lastday", "cron(0 12 L * ? *)"))

    def refused() -> Any:
        return next(
            (
                c
                for c in st_status(api, operator_ns, "lastday").get("conditions") or []
                if c["type"] == "Valid" and c["status"] == "False"
            ),
            None,
        )

    cond = wait_for(refused, 60, what="refusal")
    assert "cannot be expressed as a Kubernetes CronJob" in cond["message"]
    assert cronjob(api, operator_ns, "lastday") is None


def test_at_runs_one_job(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    apply(kubeconfig, operator_ns, scheduled("once", "at(2020-01-01T00:00:00)"))
    jobs = wait_for(
        lambda: list(
            pykube.Job.objects(api, namespace=operator_ns).filter(
                selector={"ecs.ecsk.io/scheduled-task": "once"}
            )
        ),
        60,
        what="the at() Job",
    )
    assert len(jobs) == 1
    wait_for(lambda: st_status(api, operator_ns, "once").get("firedAt"), 30, what="firedAt")
    assert cronjob(api, operator_ns, "once") is None
