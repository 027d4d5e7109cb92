"""The AWS API endpoint against a live cluster, driven by the real clients: boto3 and the aws CLI.

The endpoint runs as a subprocess (`ecsk api serve -n <ns>`) next to a namespaced operator, as
`cluster up` runs it. Every implemented ECS operation, its errors, pagination and the waiters.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AWS = str(Path(sys.executable).parent / "aws")
ARN = "arn:aws:ecs:eu-central-1:123456789012"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(operator_ns: str, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    args = [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(port), "-n", operator_ns]
    args += ["--region", "eu-central-1", "--account", "123456789012"]
    env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(port), timeout=30, what="endpoint listening")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _up(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def client(service: str, endpoint: str) -> Any:
    """A boto3 client of `service` pointed at the endpoint (also used by the other API suites)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 2}),
    )


@pytest.fixture(scope="module")
def ecs(endpoint: str) -> Any:
    return client("ecs", endpoint)


def aws(endpoint: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION="eu-central-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    proc = subprocess.run([AWS, *args], capture_output=True, text=True, env=env, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: {proc.stderr}")
    return proc


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def container(image: str = "nginx:1.27", memory: int = 128) -> list[dict[str, Any]]:
    return [{"name": "app", "image": image, "memory": memory, "essential": True}]


def test_aws_cli_lists_and_creates_clusters(endpoint: str) -> None:
    assert json.loads(aws(endpoint, "ecs", "list-clusters").stdout) == {"clusterArns": []}
    made = json.loads(
        aws(endpoint, "ecs", "create-cluster", "--cluster-name", "cli-c", "--tags", "key=a,value=b").stdout
    )
    assert made["cluster"]["clusterArn"] == f"{ARN}:cluster/cli-c"
    assert made["cluster"]["tags"] == [{"key": "a", "value": "b"}]
    listed = json.loads(aws(endpoint, "ecs", "list-clusters").stdout)
    assert f"{ARN}:cluster/cli-c" in listed["clusterArns"]
    bad = aws(endpoint, "ecs", "describe-services", "--cluster", "nope", "--services", "x", check=False)
    assert bad.returncode != 0 and "ClusterNotFoundException" in bad.stderr


def test_clusters_with_boto3(ecs: Any, operator_ns: str, kubeconfig: str) -> None:
    ecs.create_cluster(clusterName="Team_A")  # not a Kubernetes name: stored under a derived one
    names = [
        c["clusterName"]
        for c in ecs.describe_clusters(clusters=["Team_A", "ghost"], include=["TAGS"])["clusters"]
    ]
    assert names == ["Team_A"]
    got = ecs.describe_clusters(clusters=["ghost"])
    assert got["failures"] == [{"arn": f"{ARN}:cluster/ghost", "reason": "MISSING"}]
    stored = json.loads(kubectl(kubeconfig, "-n", operator_ns, "get", "ecscluster", "-o", "json").stdout)
    assert "Team_A" in [i["spec"]["clusterName"] for i in stored["items"]]
    with pytest.raises(ClientError) as err:
        ecs.create_cluster(clusterName="bad name!")
    assert code(err) == "InvalidParameterException"
    assert ecs.delete_cluster(cluster="Team_A")["cluster"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as err:
        ecs.delete_cluster(cluster="Team_A")
    assert code(err) == "ClusterNotFoundException"


def test_register_task_definition_returns_the_operators_revisions(
    ecs: Any, operator_ns: str, kubeconfig: str
) -> None:
    first = ecs.register_task_definition(
        family="api-td", containerDefinitions=container(), tags=[{"key": "k", "value": "v"}]
    )
    assert first["taskDefinition"]["taskDefinitionArn"] == f"{ARN}:task-definition/api-td:1"
    assert first["tags"] == [{"key": "k", "value": "v"}]
    assert first["taskDefinition"]["registeredAt"].year >= 2024  # botocore parsed the timestamp
    second = ecs.register_task_definition(family="api-td", containerDefinitions=container("nginx:1.28"))
    assert second["taskDefinition"]["revision"] == 2
    # ECS adds a revision on every call, even of JSON identical to the latest revision's
    same = ecs.register_task_definition(family="api-td", containerDefinitions=container("nginx:1.28"))
    assert same["taskDefinition"]["revision"] == 3
    assert same["taskDefinition"]["containerDefinitions"] == second["taskDefinition"]["containerDefinitions"]
    # the operator's record agrees: one object per family, revisions in status
    body = json.loads(
        kubectl(kubeconfig, "-n", operator_ns, "get", "taskdefinition", "api-td", "-o", "json").stdout
    )
    assert [r["revision"] for r in body["status"]["revisions"]] == [1, 2, 3]
    # while a write that keeps the spec and the registration (a kubectl label, a resync) adds none:
    # checked below, after the operator has since registered another family
    kubectl(kubeconfig, "-n", operator_ns, "label", "taskdefinition", "api-td", "team=web")
    # kubectl-made families show through the API
    doc = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "from-kubectl"},
        "spec": {"containerDefinitions": container()},
    }
    kubectl(kubeconfig, "-n", operator_ns, "apply", "-f", "-", stdin=yaml.safe_dump(doc))
    wait_for(lambda: _describable(ecs, "from-kubectl"), timeout=30, what="kubectl family registered")
    assert ecs.describe_task_definition(taskDefinition="api-td")["taskDefinition"]["revision"] == 3
    assert (
        ecs.describe_task_definition(taskDefinition=f"{ARN}:task-definition/api-td:1")["taskDefinition"][
            "revision"
        ]
        == 1
    )
    with pytest.raises(ClientError) as err:
        ecs.describe_task_definition(taskDefinition="api-td:9")
    assert code(err) == "ClientException"


def _describable(ecs: Any, family: str) -> bool:
    try:
        ecs.describe_task_definition(taskDefinition=family)
    except ClientError:
        return False
    return True


def _gone(ecs: Any, ref: str) -> bool:
    try:
        ecs.describe_task_definition(taskDefinition=ref)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"]) == "ClientException"
    return False


def test_delete_task_definitions_only_inactive_and_only_once_unused(
    ecs: Any, operator_ns: str, kubeconfig: str
) -> None:
    for image in ("nginx:1.25", "nginx:1.26", "nginx:1.27"):
        ecs.register_task_definition(family="del-td", containerDefinitions=container(image))
    td = f"{ARN}:task-definition/del-td"
    out = ecs.delete_task_definitions(taskDefinitions=["del-td:2", "del-td", "del-td:99"])
    assert out["taskDefinitions"] == []
    reasons = {f["arn"]: f["reason"] for f in out["failures"]}
    assert reasons[f"{td}:2"].startswith("The specified task definition is still in ACTIVE status.")
    assert reasons["del-td"].startswith("The specified task definition does not exist.")
    assert reasons[f"{td}:99"].startswith("The specified task definition does not exist.")
    # revision 1 runs a service: it stays DELETE_IN_PROGRESS until the service is gone
    ecs.create_service(serviceName="del-svc", taskDefinition="del-td:1", desiredCount=1)
    ecs.get_waiter("services_stable").wait(services=["del-svc"], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    for n in (1, 2):
        ecs.deregister_task_definition(taskDefinition=f"del-td:{n}")
    out = ecs.delete_task_definitions(taskDefinitions=["del-td:1", f"{td}:2"])
    assert out["failures"] == []
    assert sorted(t["revision"] for t in out["taskDefinitions"]) == [1, 2]
    assert {t["status"] for t in out["taskDefinitions"]} == {"DELETE_IN_PROGRESS"}
    wait_for(lambda: _gone(ecs, "del-td:2"), timeout=30, what="unused revision 2 deleted")
    assert ecs.describe_task_definition(taskDefinition="del-td:1")["taskDefinition"]["status"] == (
        "DELETE_IN_PROGRESS"
    )
    assert ecs.list_task_definitions(status="DELETE_IN_PROGRESS", familyPrefix="del-td")[
        "taskDefinitionArns"
    ] == [f"{td}:1"]
    with pytest.raises(ClientError) as err:
        ecs.run_task(taskDefinition="del-td:1")
    assert code(err) == "ClientException"
    ecs.delete_service(service="del-svc", force=True)
    wait_for(lambda: _gone(ecs, "del-td:1"), timeout=90, what="revision 1 deleted once its service is gone")
    # deleting the latest revision: its number is never reused, and registering its exact JSON
    # again adds a revision, as every RegisterTaskDefinition call does on ECS
    ecs.deregister_task_definition(taskDefinition="del-td:3")
    ecs.delete_task_definitions(taskDefinitions=["del-td:3"])
    wait_for(lambda: _gone(ecs, "del-td:3"), timeout=30, what="revision 3 deleted")
    again = ecs.register_task_definition(family="del-td", containerDefinitions=container("nginx:1.27"))
    assert again["taskDefinition"]["revision"] == 4
    assert "del-td" in ecs.list_task_definition_families(status="ALL")["families"]
    body = json.loads(
        kubectl(kubeconfig, "-n", operator_ns, "get", "taskdefinition", "del-td", "-o", "json").stdout
    )
    assert [r["revision"] for r in body["status"]["revisions"]] == [4]


def test_invalid_task_definition_is_refused_and_writes_nothing(
    ecs: Any, operator_ns: str, kubeconfig: str
) -> None:
    with pytest.raises(ClientError) as err:
        ecs.register_task_definition(family="broken", containerDefinitions=[{"name": "a", "image": "x"}])
    assert code(err) == "ClientException"
    assert "memory" in err.value.response["Error"]["Message"]
    out = kubectl(kubeconfig, "-n", operator_ns, "get", "taskdefinition", "broken", check=False)
    assert out.returncode != 0  # nothing half-written


def test_list_task_definitions_filters_sorts_and_pages(ecs: Any) -> None:
    for image in ("a:1", "a:2", "a:3"):
        ecs.register_task_definition(family="pager", containerDefinitions=container(image))
    asc = ecs.list_task_definitions(familyPrefix="pager")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in asc] == ["1", "2", "3"]
    desc = ecs.list_task_definitions(familyPrefix="pager", sort="DESC")["taskDefinitionArns"]
    assert desc == list(reversed(asc))
    pages = list(
        ecs.get_paginator("list_task_definitions").paginate(
            familyPrefix="pager", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["taskDefinitionArns"]) for p in pages] == [2, 1]
    with pytest.raises(ClientError) as err:
        ecs.list_task_definitions(maxResults=500)
    assert code(err) == "InvalidParameterException"
    out = ecs.deregister_task_definition(taskDefinition="pager:1")
    assert out["taskDefinition"]["status"] == "INACTIVE"
    assert ecs.list_task_definitions(familyPrefix="pager", status="INACTIVE")["taskDefinitionArns"] == [
        asc[0]
    ]
    assert "pager" in ecs.list_task_definition_families(familyPrefix="pag")["families"]
    with pytest.raises(ClientError) as err:
        ecs.deregister_task_definition(taskDefinition="pager")
    assert code(err) == "ClientException"


def test_service_lifecycle_and_waiter(ecs: Any, endpoint: str, operator_ns: str, kubeconfig: str) -> None:
    ecs.register_task_definition(family="svc-td", containerDefinitions=container())
    created = ecs.create_service(serviceName="web", taskDefinition="svc-td", desiredCount=2)["service"]
    assert created["serviceArn"] == f"{ARN}:service/default/web"
    assert created["taskDefinition"] == f"{ARN}:task-definition/svc-td:1"
    with pytest.raises(ClientError) as err:
        ecs.create_service(serviceName="web", taskDefinition="svc-td", desiredCount=1)
    assert code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        ecs.create_service(serviceName="bad", taskDefinition="svc-td", desiredCount=1, cluster="ghost")
    assert code(err) == "ClusterNotFoundException"
    aws(endpoint, "ecs", "wait", "services-stable", "--services", "web")
    svc = ecs.describe_services(services=["web", "ghost"])
    assert (svc["services"][0]["runningCount"], svc["services"][0]["desiredCount"]) == (2, 2)
    assert svc["failures"] == [
        {"arn": f"{ARN}:service/default/web".replace("web", "ghost"), "reason": "MISSING"}
    ]
    assert ecs.list_services()["serviceArns"] == [f"{ARN}:service/default/web"]
    # kubectl sees what the API wrote
    body = json.loads(kubectl(kubeconfig, "-n", operator_ns, "get", "ecsservice", "web", "-o", "json").stdout)
    assert body["spec"]["desiredCount"] == 2
    ecs.register_task_definition(family="svc-td", containerDefinitions=container("nginx:1.28"))
    updated = ecs.update_service(service="web", desiredCount=3, taskDefinition="svc-td:2")["service"]
    assert updated["desiredCount"] == 3
    ecs.get_waiter("services_stable").wait(services=["web"], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    now = ecs.describe_services(services=["web"])["services"][0]
    assert now["taskDefinition"].endswith("svc-td:2") and now["runningCount"] == 3
    tasks = ecs.list_tasks(serviceName="web")["taskArns"]
    assert len(tasks) == 3
    with pytest.raises(ClientError) as err:
        ecs.update_service(service="ghost", desiredCount=1)
    assert code(err) == "ServiceNotFoundException"
    with pytest.raises(ClientError) as err:
        ecs.delete_service(service="web")
    assert "scaled above 0" in err.value.response["Error"]["Message"]
    assert ecs.delete_service(service="web", force=True)["service"]["status"] == "DRAINING"


def _service_tasks(ecs: Any, name: str) -> set[str]:
    return set(ecs.list_tasks(serviceName=name)["taskArns"])


def test_force_new_deployment_replaces_tasks_of_the_same_revision(
    ecs: Any, operator_ns: str, kubeconfig: str
) -> None:
    ecs.register_task_definition(family="force-td", containerDefinitions=container())
    ecs.create_service(serviceName="forced", taskDefinition="force-td", desiredCount=2)
    stable = {"Delay": 2, "MaxAttempts": 90}
    ecs.get_waiter("services_stable").wait(services=["forced"], WaiterConfig=stable)
    before = ecs.describe_services(services=["forced"])["services"][0]
    old_tasks = _service_tasks(ecs, "forced")
    assert len(old_tasks) == 2
    out = ecs.update_service(service="forced", forceNewDeployment=True)["service"]
    # until the operator acts, the new deployment shows as an IN_PROGRESS PRIMARY (never stale-stable)
    assert out["deployments"][0]["rolloutState"] == "IN_PROGRESS" and len(out["deployments"]) >= 2
    ecs.get_waiter("services_stable").wait(services=["forced"], WaiterConfig=stable)

    def completed() -> dict[str, Any] | None:
        svc = ecs.describe_services(services=["forced"])["services"][0]
        done = [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
        return svc if done else None

    after = wait_for(completed, timeout=60, what="forced deployment COMPLETED")
    assert after["taskDefinition"] == before["taskDefinition"] == f"{ARN}:task-definition/force-td:1"
    assert after["deployments"][0]["id"] != before["deployments"][0]["id"]
    new_tasks = _service_tasks(ecs, "forced")
    assert len(new_tasks) == 2 and not new_tasks & old_tasks
    # the same from kubectl: a new value of the annotation is a new deployment
    kubectl(
        kubeconfig, "-n", operator_ns, "annotate", "ecsservice", "forced",
        "ecs.ecsk.io/force-new-deployment=from-kubectl", "--overwrite",
    )  # fmt: skip
    wait_for(
        lambda: not _service_tasks(ecs, "forced") & new_tasks and len(_service_tasks(ecs, "forced")) == 2,
        timeout=120,
        what="kubectl-forced deployment replaced the tasks",
    )
    ecs.get_waiter("services_stable").wait(services=["forced"], WaiterConfig=stable)
    ecs.delete_service(service="forced", force=True)


def test_stopped_service_tasks_and_container_instance_filter(ecs: Any) -> None:
    ecs.register_task_definition(family="stop-td", containerDefinitions=container())
    ecs.create_service(serviceName="shrink", taskDefinition="stop-td", desiredCount=3)
    stable = {"Delay": 2, "MaxAttempts": 60}
    ecs.get_waiter("services_stable").wait(services=["shrink"], WaiterConfig=stable)
    running = ecs.describe_tasks(tasks=ecs.list_tasks(serviceName="shrink")["taskArns"])["tasks"]
    # containerInstance: the tasks on an instance, and describe-container-instances counts them
    inst = running[0]["containerInstanceArn"]
    on_inst = ecs.list_tasks(containerInstance=inst)["taskArns"]
    assert running[0]["taskArn"] in on_inst
    assert all(t["containerInstanceArn"] == inst for t in ecs.describe_tasks(tasks=on_inst)["tasks"])
    described = ecs.describe_container_instances(containerInstances=[inst])["containerInstances"][0]
    assert described["runningTasksCount"] == len(on_inst)
    with pytest.raises(ClientError) as err:
        ecs.list_tasks(containerInstance="i-0notaninstance")
    assert code(err) == "InvalidParameterException"
    # StopTask and scale-in: both stay listed as STOPPED, with ECS's stop codes. The test operator
    # keeps stopped tasks for 20 s only (--task-retention 20), so every poll from the StopTask on
    # collects what it sees: on a loaded machine a record can expire before a late first look.
    seen: dict[str, dict[str, Any]] = {}

    def collect() -> list[dict[str, Any]]:
        arns = ecs.list_tasks(serviceName="shrink", desiredStatus="STOPPED")["taskArns"]
        found = ecs.describe_tasks(tasks=arns)["tasks"] if arns else []
        seen.update({t["taskArn"]: t for t in found if t["lastStatus"] == "STOPPED"})
        return list(seen.values())

    user = running[0]["taskArn"]
    ecs.stop_task(task=user, reason="bye")

    # the scheduler replaces a stopped task; wait for that before scaling in, or the scale-in can
    # win the race and there is nothing to replace (then only 2 tasks ever stop)
    def replaced() -> bool:
        """The replacement is running in the operator's view too (runningCount counts it), so it
        is a known task when the scale-in removes it; a pod created and deleted between two
        passes of the operator is a gap of its own (not this test's subject)."""
        collect()
        now = _service_tasks(ecs, "shrink")
        svc = ecs.describe_services(services=["shrink"])["services"][0]
        return user not in now and len(now) == 3 and svc["runningCount"] == 3

    wait_for(replaced, timeout=60, what="the user-stopped task replaced")
    ecs.update_service(service="shrink", desiredCount=1)

    # 3 tasks stop: the user-stopped one, then 2 scaled in. (One scaled-in record used to go
    # missing under load when the pass listed the pod just before its DELETED event: fixed.)
    def enough() -> list[dict[str, Any]] | None:
        got = collect()
        return got if user in seen and len(got) >= 3 else None

    gone = wait_for(enough, timeout=90, what="the user-stopped and 2 scaled-in tasks listed")
    ecs.get_waiter("services_stable").wait(services=["shrink"], WaiterConfig=stable)
    by_arn = {t["taskArn"]: t for t in gone}
    assert (by_arn[user]["stopCode"], by_arn[user]["stoppedReason"]) == ("UserInitiated", "bye")
    scaled = [t for t in gone if t["taskArn"] != user]
    assert all(t["stopCode"] == "ServiceSchedulerInitiated" for t in scaled)
    assert all(
        t["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/") for t in scaled
    )
    assert all(t["taskDefinitionArn"] == f"{ARN}:task-definition/stop-td:1" for t in gone)
    assert user not in ecs.list_tasks(serviceName="shrink")["taskArns"]
    ecs.delete_service(service="shrink", force=True)


def test_run_describe_list_stop_tasks(ecs: Any, endpoint: str) -> None:
    ecs.register_task_definition(family="job", containerDefinitions=container())
    ran = ecs.run_task(taskDefinition="job", count=2, startedBy="ci")
    arns = [t["taskArn"] for t in ran["tasks"]]
    assert len(arns) == 2 and all(a.startswith(f"{ARN}:task/default/") for a in arns)
    ecs.get_waiter("tasks_running").wait(tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert sorted(ecs.list_tasks(startedBy="ci")["taskArns"]) == sorted(arns)
    assert sorted(ecs.list_tasks(family="job")["taskArns"]) == sorted(arns)
    got = ecs.describe_tasks(tasks=[*arns, "0" * 32])
    assert {t["lastStatus"] for t in got["tasks"]} == {"RUNNING"}
    assert got["failures"][0]["reason"] == "MISSING"
    stopped = ecs.stop_task(task=arns[0], reason="done")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    aws(endpoint, "ecs", "wait", "tasks-stopped", "--tasks", arns[0])
    assert ecs.list_tasks(desiredStatus="STOPPED", startedBy="ci")["taskArns"] == [arns[0]]
    with pytest.raises(ClientError) as err:
        ecs.run_task(taskDefinition="nope")
    assert code(err) == "ClientException"


def test_malformed_requests_get_aws_errors(endpoint: str) -> None:
    import http.client

    conn = http.client.HTTPConnection(endpoint.removeprefix("http://"))
    for target, body, want in [
        ("AmazonEC2ContainerServiceV20141113.ListClusters", b"{oops", "SerializationException"),
        ("AmazonEC2ContainerServiceV20141113.Frobnicate", b"{}", "UnknownOperationException"),
        ("AmazonEC2ContainerServiceV20141113.DescribeServices", b'{"services": 3}', "SerializationException"),
    ]:
        conn.request("POST", "/", body=body, headers={"X-Amz-Target": target})
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())["__type"]) == (400, want)


def test_tags_on_clusters_services_and_tasks(ecs: Any) -> None:
    ecs.create_cluster(clusterName="tagged")
    arn = f"{ARN}:cluster/tagged"
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "a"}, {"key": "env", "value": "dev"}])
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}])
    assert sorted((t["key"], t["value"]) for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == [
        ("env", "prod"),
        ("team", "a"),
    ]
    ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert ecs.describe_clusters(clusters=["tagged"], include=["TAGS"])["clusters"][0]["tags"] == [
        {"key": "env", "value": "prod"}
    ]
    ecs.register_task_definition(
        family="tagtd", containerDefinitions=container(), tags=[{"key": "k", "value": "v"}]
    )
    assert ecs.list_tags_for_resource(resourceArn=f"{ARN}:task-definition/tagtd:1")["tags"] == [
        {"key": "k", "value": "v"}
    ]
    ecs.create_service(cluster="tagged", serviceName="s", taskDefinition="tagtd", desiredCount=0)
    svc = f"{ARN}:service/tagged/s"
    ecs.tag_resource(resourceArn=svc, tags=[{"key": "owner", "value": "me"}])
    got = ecs.describe_services(cluster="tagged", services=["s"], include=["TAGS"])["services"][0]["tags"]
    assert got == [{"key": "owner", "value": "me"}]
    task = ecs.run_task(cluster="tagged", taskDefinition="tagtd", tags=[{"key": "t", "value": "1"}])["tasks"][
        0
    ]
    shown = ecs.describe_tasks(cluster="tagged", tasks=[task["taskArn"]], include=["TAGS"])["tasks"][0]
    assert shown["tags"] == [{"key": "t", "value": "1"}]
    with pytest.raises(ClientError) as err:
        ecs.tag_resource(resourceArn=f"{ARN}:service/tagged/ghost", tags=[{"key": "a", "value": "b"}])
    assert code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        ecs.tag_resource(resourceArn="not-an-arn", tags=[{"key": "a", "value": "b"}])
    assert code(err) == "InvalidParameterException"
    ecs.delete_service(cluster="tagged", service="s")
    ecs.stop_task(cluster="tagged", task=task["taskArn"])


def test_attributes_on_container_instances(ecs: Any, kubeconfig: str) -> None:
    nodes = json.loads(
        kubectl(kubeconfig, "get", "nodes", "-l", "eks.amazonaws.com/nodegroup", "-o", "json").stdout
    )
    node = nodes["items"][0]["metadata"]["name"]
    name = f"apitest-{os.getpid()}"  # unique: the nodes are shared with other tests
    with pytest.raises(ClientError) as err:
        ecs.list_attributes(cluster="nowhere", targetType="container-instance")
    assert code(err) == "ClusterNotFoundException"
    ecs.create_cluster()  # the default cluster
    try:
        out = ecs.put_attributes(attributes=[{"name": name, "value": "blue", "targetId": node}])
        assert out["attributes"][0]["targetId"] == f"{ARN}:container-instance/default/{node}"
        listed = ecs.list_attributes(targetType="container-instance", attributeName=name)["attributes"]
        assert [(a["name"], a.get("value")) for a in listed] == [(name, "blue")]
        with pytest.raises(ClientError) as err:
            ecs.put_attributes(attributes=[{"name": "ecs.reserved", "value": "x", "targetId": node}])
        assert code(err) == "InvalidParameterException"
        with pytest.raises(ClientError) as err:
            ecs.put_attributes(attributes=[{"name": name, "value": "x", "targetId": "i-0nothere"}])
        assert code(err) == "TargetNotFoundException"
    finally:
        ecs.delete_attributes(attributes=[{"name": name, "targetId": node}])
    assert ecs.list_attributes(targetType="container-instance", attributeName=name)["attributes"] == []


def test_container_instances(ecs: Any, kubeconfig: str) -> None:
    ecs.create_cluster()
    arns = [
        a
        for p in ecs.get_paginator("list_container_instances").paginate()
        for a in p["containerInstanceArns"]
    ]
    nodes = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json").stdout)["items"]
    ec2 = [
        n
        for n in nodes
        if (n["metadata"].get("labels") or {}).get("eks.amazonaws.com/compute-type") != "fargate"
    ]
    assert len(arns) == len(ec2) and all(a.startswith(f"{ARN}:container-instance/default/") for a in arns)
    large = ecs.list_container_instances(filter="attribute:ecs.instance-type == m5.large")[
        "containerInstanceArns"
    ]
    want = {
        n["metadata"]["name"]
        for n in ec2
        if n["metadata"]["labels"].get("node.kubernetes.io/instance-type") == "m5.large"
    }
    assert {a.rsplit("/", 1)[1] for a in large} == want and want
    got = ecs.describe_container_instances(containerInstances=[large[0], "i-0missing"])
    inst = got["containerInstances"][0]
    assert inst["containerInstanceArn"] == large[0] and inst["status"] in ("ACTIVE", "DRAINING")
    cpu = next(r for r in inst["registeredResources"] if r["name"] == "CPU")["integerValue"]
    assert cpu > 0
    assert {"name": "ecs.instance-type", "value": "m5.large"} in inst["attributes"]
    assert got["failures"][0]["reason"] == "MISSING"
    with pytest.raises(ClientError) as err:
        ecs.list_container_instances(filter="attribute:ecs.instance-type ==")
    assert code(err) == "InvalidParameterException"


def test_capacity_providers(ecs: Any, operator_ns: str, kubeconfig: str) -> None:
    asg = {
        "autoScalingGroupArn": "arn:aws:autoscaling:eu-central-1:123456789012:autoScalingGroup:x:"
        "autoScalingGroupName/asg"
    }
    made = ecs.create_capacity_provider(
        name="cp-api",
        autoScalingGroupProvider={**asg, "managedScaling": {"status": "ENABLED", "targetCapacity": 90}},
    )["capacityProvider"]
    assert made["capacityProviderArn"] == f"{ARN}:capacity-provider/cp-api"
    body = json.loads(
        kubectl(kubeconfig, "-n", operator_ns, "get", "capacityprovider", "cp-api", "-o", "json").stdout
    )
    assert body["spec"]["autoScalingGroup"]["instanceTypes"] == ["m5.large"]
    with pytest.raises(ClientError) as err:
        ecs.create_capacity_provider(name="cp-api", autoScalingGroupProvider=asg)
    assert code(err) == "ClientException"
    with pytest.raises(ClientError) as err:
        ecs.create_capacity_provider(name="fargate-x", autoScalingGroupProvider=asg)
    assert code(err) == "InvalidParameterException"
    got = ecs.describe_capacity_providers(capacityProviders=["cp-api", "FARGATE", "ghost"])
    assert [p["name"] for p in got["capacityProviders"]] == ["cp-api", "FARGATE"]
    assert got["failures"][0]["reason"] == "MISSING"
    ecs.create_cluster(clusterName="cp-cluster")
    ecs.put_cluster_capacity_providers(
        cluster="cp-cluster",
        capacityProviders=["cp-api"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "cp-api", "weight": 1}],
    )
    with pytest.raises(ClientError) as err:
        ecs.put_cluster_capacity_providers(
            cluster="cp-cluster",
            capacityProviders=[],
            defaultCapacityProviderStrategy=[{"capacityProvider": "cp-api", "weight": 1}],
        )
    assert code(err) == "InvalidParameterException"
    assert ecs.describe_clusters(clusters=["cp-cluster"])["clusters"][0]["capacityProviders"] == ["cp-api"]
    with pytest.raises(ClientError) as err:
        ecs.delete_capacity_provider(capacityProvider="cp-api")
    assert code(err) == "ResourceInUseException"
    ecs.put_cluster_capacity_providers(
        cluster="cp-cluster", capacityProviders=[], defaultCapacityProviderStrategy=[]
    )
    assert ecs.delete_capacity_provider(capacityProvider="cp-api")["capacityProvider"]["status"] == "INACTIVE"


def test_application_auto_scaling(endpoint: str, ecs: Any, operator_ns: str, kubeconfig: str) -> None:
    aas = boto3.client(
        "application-autoscaling",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    ecs.register_task_definition(family="scaled", containerDefinitions=container())
    ecs.create_service(serviceName="scaled", taskDefinition="scaled", desiredCount=1)
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/default/scaled",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    with pytest.raises(ClientError) as err:
        aas.put_scaling_policy(PolicyName="cpu", PolicyType="TargetTrackingScaling", **target)
    assert code(err) == "ObjectNotFoundException"
    with pytest.raises(ClientError) as err:
        aas.register_scalable_target(MinCapacity=5, MaxCapacity=2, **target)
    assert (
        code(err) == "ValidationException" and "less than minimum" in err.value.response["Error"]["Message"]
    )
    arn = aas.register_scalable_target(MinCapacity=1, MaxCapacity=4, **target)["ScalableTargetARN"]
    assert arn.startswith("arn:aws:application-autoscaling:eu-central-1:123456789012:scalable-target/")
    aas.register_scalable_target(MaxCapacity=6, **target)  # re-registering updates what is given
    aas.register_scalable_target(MinCapacity=2, **target)  # desired 1 < min 2: the operator scales out
    wait_for(
        lambda: bool(aas.describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]),
        timeout=30,
        what="a scaling activity",
    )
    activity = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId="service/default/scaled")
    assert activity["ScalingActivities"][0]["Description"] == "Setting desired count to 2."
    assert activity["ScalingActivities"][0]["StartTime"].year >= 2024
    got = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/default/scaled"])
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in got["ScalableTargets"]] == [(2, 6)]
    policy = aas.put_scaling_policy(
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
        **target,
    )
    assert ":policyName/cpu" in policy["PolicyARN"]
    listed = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId="service/default/scaled")
    assert [p["PolicyName"] for p in listed["ScalingPolicies"]] == ["cpu"]
    # the operator acts on what the API wrote: target tracking becomes an HPA on the service
    wait_for(
        lambda: (
            "horizontalpodautoscaler"
            in kubectl(kubeconfig, "-n", operator_ns, "get", "hpa", "-o", "name").stdout
        ),
        timeout=30,
        what="HPA for the target tracking policy",
    )
    aas.put_scheduled_action(
        ScheduledActionName="night",
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2},
        **target,
    )
    actions = aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    assert [a["ScheduledActionName"] for a in actions] == ["night"]
    with pytest.raises(ClientError) as err:
        aas.put_scheduled_action(ScheduledActionName="bad", Schedule="whenever", **target)
    assert code(err) == "ValidationException"
    aas.delete_scaling_policy(PolicyName="cpu", **target)
    with pytest.raises(ClientError) as err:
        aas.delete_scaling_policy(PolicyName="cpu", **target)
    assert code(err) == "ObjectNotFoundException"
    aas.deregister_scalable_target(**target)
    assert aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"] == []


def test_endpoint_serves_while_the_operator_restarts(ecs: Any, operator_process: Any) -> None:
    ecs.register_task_definition(family="restart", containerDefinitions=container())
    operator_process.kill()
    try:
        # reads never needed the operator
        assert ecs.describe_task_definition(taskDefinition="restart")["taskDefinition"]["revision"] == 1
        assert ecs.list_clusters()["clusterArns"] is not None
        # a register waits for the operator: it completes once the operator is back

        result: dict[str, Any] = {}

        def register() -> None:
            result["out"] = ecs.register_task_definition(
                family="restart", containerDefinitions=container("b:2")
            )

        worker = threading.Thread(target=register)
        worker.start()
        time.sleep(2)
        assert "out" not in result
    finally:
        operator_process.start()
    worker.join(60)
    assert result["out"]["taskDefinition"]["revision"] == 2


def test_strict_mode_with_the_aws_cli(operator_ns: str, kubeconfig: str, tmp_path: Path) -> None:
    port = _free_port()
    args = [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(port), "-n", operator_ns]
    env = dict(
        os.environ,
        KUBECONFIG=kubeconfig,
        PYTHONPATH=str(ROOT / "operator"),
        ECSK_API_ACCESS_KEYS="AKIDSTRICT:strict-secret",
    )
    with open(tmp_path / "api.log", "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(port), timeout=30, what="strict endpoint listening")

        def as_key(akid: str, secret: str) -> subprocess.CompletedProcess[str]:
            run_env = dict(
                os.environ,
                AWS_ENDPOINT_URL=url,
                AWS_ACCESS_KEY_ID=akid,
                AWS_SECRET_ACCESS_KEY=secret,
                AWS_DEFAULT_REGION="us-east-1",
                AWS_CONFIG_FILE="/dev/null",
                AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            )
            return subprocess.run(
                [AWS, "ecs", "list-clusters"], capture_output=True, text=True, env=run_env, timeout=60
            )

        ok = as_key("AKIDSTRICT", "strict-secret")
        assert ok.returncode == 0, ok.stderr
        bad = as_key("AKIDSTRICT", "wrong")
        assert bad.returncode != 0 and "InvalidSignatureException" in bad.stderr
        unknown = as_key("AKIDNOBODY", "strict-secret")
        assert unknown.returncode != 0 and "UnrecognizedClientException" in unknown.stderr
    finally:
        proc.terminate()
        proc.wait(10)
