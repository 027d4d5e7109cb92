"""ECSService on a live cluster: reconcile, drift repair, kubectl scale, quiet resyncs, events."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"


def td(family: str, cpu: int = 64) -> dict[str, Any]:
    return {
        "apiVersion": CR,
        "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {
            "family": family,
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64, "cpu": cpu}],
        },
    }


def service(name: str, family: str, desired: int) -> dict[str, Any]:
    return {
        "apiVersion": CR,
        "kind": "ECSService",
        "metadata": {"name": name},
        "spec": {"serviceName": name, "taskDefinition": family, "desiredCount": desired},
    }


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def svc_obj(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "ECSService")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj)


def status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    return dict(svc_obj(api, ns, name).get("status") or {})


def deployment(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any] | None:
    found = pykube.Deployment.objects(api, namespace=ns).get_or_none(name=name)
    return dict(found.obj) if found else None


def steady(api: pykube.HTTPClient, ns: str, name: str, n: int) -> bool:
    st = status(api, ns, name)
    return st.get("runningCount") == n and any(
        c["type"] == "SteadyState" and c["status"] == "True" for c in st.get("conditions") or []
    )


@pytest.fixture(scope="module")
def web(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> str:
    apply(kubeconfig, operator_ns, td("websvc"), service("web", "websvc", 3))
    wait_for(lambda: steady(api, operator_ns, "web", 3), 90, what="web steady with 3 tasks")
    return "web"


def test_reconcile_status_and_events(api: pykube.HTTPClient, operator_ns: str, web: str) -> None:
    st = status(api, operator_ns, web)
    assert st["desiredCount"] == 3 and st["pendingCount"] == 0
    assert st["taskDefinition"].endswith(":task-definition/websvc:1")
    assert st["selector"] == "ecs.ecsk.io/cluster=default,ecs.ecsk.io/service=web"
    primary = st["deployments"][0]
    assert (primary["status"], primary["rolloutState"]) == ("PRIMARY", "COMPLETED")
    messages = [e["message"] for e in st["events"]]
    assert "(service web) has reached a steady state." in messages
    started = [
        re.match(r"\(service web\) has started (\d+) tasks: (\(task [0-9a-f]{32}\) ?)+\.$", m)
        for m in messages
    ]
    assert sum(int(m.group(1)) for m in started if m) == 3
    assert f"(service web) (deployment {primary['id']}) deployment completed." in messages
    k8s_events = pykube.Event.objects(api, namespace=operator_ns).filter(
        field_selector={"involvedObject.kind": "ECSService", "involvedObject.name": web}
    )
    assert any(e.obj["message"] == "(service web) has reached a steady state." for e in k8s_events)
    dep = deployment(api, operator_ns, web)
    assert dep is not None
    owner = dep["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("ECSService", web, True)
    managers = {m["manager"] for m in dep["metadata"]["managedFields"] if m["operation"] == "Apply"}
    assert managers == {"ecsk"}
    assert not svc_obj(api, operator_ns, web)["metadata"].get("finalizers")


def test_noop_resync_writes_nothing(api: pykube.HTTPClient, operator_ns: str, web: str) -> None:
    before = (
        svc_obj(api, operator_ns, web)["metadata"]["resourceVersion"],
        deployment(api, operator_ns, web)["metadata"]["resourceVersion"],
    )  # type: ignore[index]
    time.sleep(12)  # more than two resync periods of the test operator (5 s)
    after = (
        svc_obj(api, operator_ns, web)["metadata"]["resourceVersion"],
        deployment(api, operator_ns, web)["metadata"]["resourceVersion"],
    )  # type: ignore[index]
    assert before == after


def test_deleted_child_comes_back(api: pykube.HTTPClient, operator_ns: str, web: str) -> None:
    old_uid = deployment(api, operator_ns, web)["metadata"]["uid"]  # type: ignore[index]
    pykube.Deployment.objects(api, namespace=operator_ns).get(name=web).delete()
    wait_for(
        lambda: (d := deployment(api, operator_ns, web)) and d["metadata"]["uid"] != old_uid,
        60,
        what="Deployment re-created",
    )
    wait_for(lambda: steady(api, operator_ns, web, 3), 90, what="steady again")


def test_edited_child_is_restored(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, web: str
) -> None:
    kubectl(
        kubeconfig,
        "-n",
        operator_ns,
        "patch",
        "deployment",
        web,
        "--type",
        "merge",
        "-p",
        '{"spec":{"replicas":1}}',
    )
    wait_for(
        lambda: deployment(api, operator_ns, web)["spec"]["replicas"] == 3,
        60,  # type: ignore[index]
        what="replicas restored to 3",
    )


def test_kubectl_scale(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, web: str) -> None:
    kubectl(kubeconfig, "-n", operator_ns, "scale", "ecsservice", web, "--replicas", "5")
    wait_for(lambda: steady(api, operator_ns, web, 5), 90, what="5 running tasks")
    assert deployment(api, operator_ns, web)["spec"]["replicas"] == 5  # type: ignore[index]
    out = kubectl(
        kubeconfig, "-n", operator_ns, "get", "ecsservice", web, "-o", "jsonpath={.status.selector}"
    ).stdout
    assert "ecs.ecsk.io/service=web" in out
    kubectl(kubeconfig, "-n", operator_ns, "scale", "ecsservice", web, "--replicas", "2")
    wait_for(lambda: steady(api, operator_ns, web, 2), 90, what="2 running tasks")
    assert any(
        e["message"].startswith("(service web) has stopped 3 running tasks:")
        for e in status(api, operator_ns, web)["events"]
    )


def test_unplaceable_task_reports_closest_reason(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    apply(kubeconfig, operator_ns, td("huge", cpu=10_000_000), service("huge", "huge", 1))

    def msg() -> Any:
        return next(
            (
                e["message"]
                for e in status(api, operator_ns, "huge").get("events") or []
                if "was unable to place a task" in e["message"]
            ),
            None,
        )

    text = wait_for(msg, 90, what="unable to place event")
    assert text.startswith(
        "(service huge) was unable to place a task because no container instance met all "
        "of its requirements. The closest matching container-instance "
    )
    assert text.endswith("has insufficient CPU units available.")
    assert status(api, operator_ns, "huge")["pendingCount"] == 1


def test_invalid_service_does_not_crash(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    apply(kubeconfig, operator_ns, service("ghost", "no-such-family", 1))

    def invalid() -> Any:
        return next(
            (
                c
                for c in status(api, operator_ns, "ghost").get("conditions") or []
                if c["type"] == "Valid" and c["status"] == "False"
            ),
            None,
        )

    cond = wait_for(invalid, 60, what="Valid=False")
    assert cond["message"] == "ClientException: Unable to describe task definition."
    assert deployment(api, operator_ns, "ghost") is None


def test_ecsk_tasks_lists_service_tasks(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, web: str
) -> None:
    """`ecsk tasks` shows the ECS view: id, status, family:revision, zone and instance of each task."""
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    out = subprocess.run(
        [sys.executable, "-m", "ecsk.cli.main", "tasks", "-n", operator_ns, "--service", web],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    running = status(api, operator_ns, web)["tasks"]
    nodes = {n.name: n.labels.get("topology.kubernetes.io/zone", "") for n in pykube.Node.objects(api)}
    for pod in pykube.Pod.objects(api, namespace=operator_ns).filter(selector={"ecs.ecsk.io/service": web}):
        tid = pod.obj["metadata"]["uid"].replace("-", "")
        if tid not in running:
            continue
        line = next(row for row in out.splitlines() if tid in row)
        node = pod.obj["spec"]["nodeName"]
        assert "RUNNING" in line and "websvc:1" in line and node in line and nodes[node] in line
        assert "service:web" in line


def test_shared_service_account_has_one_owner_reference_per_user(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    """Two services whose task definition names the same task role share its ServiceAccount."""
    shared = td("roled")
    shared["spec"]["taskRoleArn"] = "arn:aws:iam::123456789012:role/shared-role"
    apply(kubeconfig, operator_ns, shared, service("one", "roled", 1), service("two", "roled", 1))
    wait_for(
        lambda: steady(api, operator_ns, "one", 1) and steady(api, operator_ns, "two", 1), 90, what="both"
    )
    sa_name = deployment(api, operator_ns, "one")["spec"]["template"]["spec"]["serviceAccountName"]  # type: ignore[index]

    def sa() -> dict[str, Any]:
        return dict(pykube.ServiceAccount.objects(api, namespace=operator_ns).get(name=sa_name).obj)

    owners = wait_for(
        lambda: len(sa()["metadata"]["ownerReferences"]) == 2 and sa()["metadata"]["ownerReferences"],
        30,
        what="two owners",
    )
    assert {o["name"] for o in owners} == {"one", "two"} and not any(o["controller"] for o in owners)
    before = sa()["metadata"]["resourceVersion"]
    time.sleep(12)
    assert sa()["metadata"]["resourceVersion"] == before  # the two users do not fight over it


def test_duplicate_service_name_is_refused(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, web: str
) -> None:
    dup = service("web-again", "websvc", 1)
    dup["spec"]["serviceName"] = "web"
    apply(kubeconfig, operator_ns, dup)

    def refused() -> Any:
        return next(
            (
                c
                for c in status(api, operator_ns, "web-again").get("conditions") or []
                if c["type"] == "Valid" and c["status"] == "False"
            ),
            None,
        )

    cond = wait_for(refused, 60, what="duplicate refused")
    assert cond["message"].startswith("InvalidParameterException: Creation of service was not idempotent.")
    owner = deployment(api, operator_ns, "web")["metadata"]["ownerReferences"][0]  # type: ignore[index]
    assert owner["name"] == "web"
