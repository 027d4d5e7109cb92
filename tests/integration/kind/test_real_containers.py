"""ECS behaviour with real containers on kind: what the simulated (kwok) path cannot show.

Every test runs the project's test app (`ecsk-testapp:latest`, testapp/) in real containers on
the three kind workers and checks the ECS-visible outcome: service status, stopped-task records
with ECS's stop codes and reasons, service events in ECS's words, and container start/finish
times for dependsOn ordering.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pykube
import pytest
from kindtest import (
    apply,
    container,
    exec_in,
    finished_at,
    health_check,
    pods,
    ready_pods,
    service,
    service_status,
    started_at,
    task_definition,
)
from kubectl import kubectl
from kubetest import wait_for

from ecsk.core.capacity.fleet import INSTANCE_TYPES
from ecsk.core.common.quantity import parse_quantity
from ecsk.core.tasks.status import derive_task_status

pytestmark = pytest.mark.kind

ZONE = "topology.kubernetes.io/zone"


def _stopped(api: pykube.HTTPClient, ns: str, name: str) -> list[dict]:
    return list(service_status(api, ns, name).get("stoppedTasks") or [])


def test_service_answers_http_from_tasks_on_all_three_workers(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    web = container("web", env={"REVISION": "1"}, portMappings=[{"containerPort": 8080}])
    web["healthCheck"] = health_check()
    spread = [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    apply(
        kubeconfig,
        namespace,
        task_definition("web", [web]),
        service("web", "web", 3, placementStrategy=spread),
    )
    running = wait_for(lambda: ready_pods(api, namespace, "web", 3), 180, what="3 ready tasks")
    nodes = {p["spec"]["nodeName"]: p for p in running}
    zones = {pykube.Node.objects(api).get(name=n).obj["metadata"]["labels"][ZONE] for n in nodes}
    assert len(nodes) == 3 and zones == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert all(derive_task_status(p).healthStatus == "HEALTHY" for p in running)
    client = running[0]["metadata"]["name"]
    for pod in running:  # pod-to-pod across nodes, through the real CNI
        body = exec_in(
            kubeconfig,
            namespace,
            client,
            "web",
            "/ecsk-testapp",
            "get",
            f"http://{pod['status']['podIP']}:8080/",
        )
        answer = json.loads(body)
        assert answer["hostname"] == pod["metadata"]["name"]
        assert (answer["container"], answer["revision"], answer["ip"]) == ("web", "1", pod["status"]["podIP"])
    st = wait_for(lambda: (s := service_status(api, namespace, "web")).get("runningCount") == 3 and s, 60)
    assert sorted(st["tasks"]) == sorted(derive_task_status(p).taskId for p in running)


def test_failed_health_check_replaces_the_task(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    web = container("web", portMappings=[{"containerPort": 8080}])
    web["healthCheck"] = health_check(retries=2)
    apply(kubeconfig, namespace, task_definition("hc", [web]), service("hc", "hc", 2))
    first = wait_for(lambda: ready_pods(api, namespace, "hc", 2), 180, what="2 healthy tasks")
    victim = first[0]
    victim_id = derive_task_status(victim).taskId
    exec_in(
        kubeconfig,
        namespace,
        victim["metadata"]["name"],
        "web",
        "/ecsk-testapp",
        "put",
        "http://localhost:8080/file?path=/tmp/unhealthy",
        "x",
    )
    rec = wait_for(
        lambda: next((r for r in _stopped(api, namespace, "hc") if r["taskId"] == victim_id), None),
        60,
        what="the unhealthy task stopped",
    )
    assert rec["stopCode"] == "ServiceSchedulerInitiated"
    assert rec["stoppedReason"] == "Task failed container health checks"
    assert rec["healthStatus"] == "UNHEALTHY"
    assert rec["containers"][0]["healthStatus"] == "UNHEALTHY"
    events = [e["message"] for e in service_status(api, namespace, "hc")["events"]]
    assert f"(service hc) (task {victim_id}) failed container health checks." in events
    after = wait_for(lambda: ready_pods(api, namespace, "hc", 2), 120, what="replacement task healthy")
    ids = {derive_task_status(p).taskId for p in after}
    assert victim_id not in ids and derive_task_status(first[1]).taskId in ids  # the healthy one stayed


def test_start_period_defers_health_failures(api: pykube.HTTPClient, kubeconfig: str, namespace: str) -> None:
    # Unhealthy from the start: ECS ignores failures during startPeriod, then counts `retries`.
    web = container("web", env={"UNHEALTHY": "1"})
    web["healthCheck"] = health_check(retries=2, startPeriod=20)
    apply(kubeconfig, namespace, task_definition("sp", [web]), service("sp", "sp", 1))
    rec = wait_for(lambda: (s := _stopped(api, namespace, "sp")) and s[0], 120, what="the task replaced")
    assert rec["stoppedReason"] == "Task failed container health checks"
    lived = _seconds(rec["stoppedAt"]) - _seconds(rec["createdAt"])
    assert lived >= 20, f"replaced after {lived:.0f}s, before startPeriod (20s) ended"


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_essential_exit_stops_the_task_non_essential_does_not(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    main = container("main", env={"EXIT_AFTER": "6", "EXIT_CODE": "3"})
    side = container("side", essential=False, env={"PORT": "8081", "EXIT_AFTER": "2", "EXIT_CODE": "1"})
    apply(kubeconfig, namespace, task_definition("ex", [main, side]), service("ex", "ex", 1))
    first = wait_for(lambda: pods(api, namespace, "ex"), 120, what="a task")[0]
    first_id = derive_task_status(first).taskId
    rec = wait_for(
        lambda: next((r for r in _stopped(api, namespace, "ex") if r["taskId"] == first_id), None),
        90,
        what="the task stopped by its essential container",
    )
    assert (rec["stopCode"], rec["stoppedReason"]) == (
        "EssentialContainerExited",
        "Essential container in task exited",
    )
    codes = {c["name"]: c.get("exitCode") for c in rec["containers"]}
    assert codes["main"] == 3
    # the non-essential container exited at 2 s; the task went on until main exited at 6 s
    assert _seconds(rec["stoppedAt"]) - _seconds(rec["createdAt"]) >= 5
    wait_for(
        lambda: any(derive_task_status(p).taskId != first_id for p in pods(api, namespace, "ex")),
        90,
        what="the service started a replacement",
    )


def test_depends_on_orders_container_starts(api: pykube.HTTPClient, kubeconfig: str, namespace: str) -> None:
    db = container("db", env={"PORT": "8081", "HEALTHY_AFTER": "6"}, essential=True)
    db["healthCheck"] = health_check(port=8081, retries=3)
    init = container("init", essential=False, env={"PORT": "8082", "EXIT_AFTER": "3", "EXIT_CODE": "0"})
    app = container(
        "app",
        dependsOn=[
            {"containerName": "db", "condition": "HEALTHY"},
            {"containerName": "init", "condition": "SUCCESS"},
        ],
    )
    apply(kubeconfig, namespace, task_definition("deps", [db, init, app]), service("deps", "deps", 1))
    pod = wait_for(lambda: ready_pods(api, namespace, "deps", 1), 180, what="the task running")[0]
    # db answers unhealthy for 6 s: app may start only after db turned HEALTHY, and after init
    # ran to completion (exit 0)
    assert started_at(pod, "app") >= started_at(pod, "db") + timedelta(seconds=6)
    assert started_at(pod, "app") >= finished_at(pod, "init")
    assert finished_at(pod, "init") >= started_at(pod, "init") + timedelta(seconds=3)


def test_bind_mount_is_shared_between_containers(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    mount = [{"sourceVolume": "shared", "containerPath": "/data"}]
    writer = container("writer", mountPoints=mount)
    reader = container("reader", env={"PORT": "8081"}, mountPoints=mount)
    td = task_definition("vol", [writer, reader], volumes=[{"name": "shared"}])
    apply(kubeconfig, namespace, td, service("vol", "vol", 1))
    pod = wait_for(lambda: ready_pods(api, namespace, "vol", 1), 180, what="the task running")[0]["metadata"][
        "name"
    ]
    exec_in(
        kubeconfig,
        namespace,
        pod,
        "writer",
        "/ecsk-testapp",
        "put",
        "http://localhost:8080/file?path=/data/note",
        "from writer",
    )
    body = exec_in(
        kubeconfig,
        namespace,
        pod,
        "writer",
        "/ecsk-testapp",
        "get",
        "http://localhost:8081/file?path=/data/note",
    )
    assert body == "from writer"  # written by one container, served from the other's mount


def test_fargate_task_on_a_simulated_node_beside_real_containers(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    # in-cluster kwok plays the Fargate node; the EC2 service runs real containers on kind workers
    fg_td = task_definition(
        "fg",
        [container("app")],
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
    )
    fg_task = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "Task",
        "metadata": {"name": "job"},
        "spec": {
            "taskDefinition": "fg",
            "count": 1,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"]}},
        },
    }
    web = container("web")
    web["healthCheck"] = health_check()
    apply(kubeconfig, namespace, fg_td, fg_task, task_definition("web", [web]), service("web", "web", 1))
    real = wait_for(lambda: ready_pods(api, namespace, "web", 1), 180, what="the EC2 task healthy")[0]
    simulated = wait_for(
        lambda: next(
            (
                p.obj
                for p in pykube.Pod.objects(api, namespace=namespace)
                if p.obj["metadata"]["name"] == "job-0" and p.obj["status"].get("phase") == "Running"
            ),
            None,
        ),
        120,
        what="the Fargate task running",
    )
    fargate_node = pykube.Node.objects(api).get(name=simulated["spec"]["nodeName"]).obj
    real_node = pykube.Node.objects(api).get(name=real["spec"]["nodeName"]).obj
    assert fargate_node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert fargate_node["metadata"]["labels"]["eks.amazonaws.com/compute-type"] == "fargate"
    assert "kwok.x-k8s.io/node" not in (real_node["metadata"].get("annotations") or {})
    # kind's own DaemonSets stay off the simulated node: the Fargate task has it to itself
    on_fargate = pykube.Pod.objects(api, namespace=pykube.all).filter(
        field_selector={"spec.nodeName": fargate_node["metadata"]["name"]}
    )
    assert [p.obj["metadata"]["name"] for p in on_fargate] == ["job-0"]
    body = exec_in(
        kubeconfig,
        namespace,
        real["metadata"]["name"],
        "web",
        "/ecsk-testapp",
        "get",
        "http://localhost:8080/",
    )
    assert json.loads(body)["hostname"] == real["metadata"]["name"]  # a real process answered


def test_image_that_cannot_be_pulled_fails_the_task_and_does_not_wedge_the_service(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    missing = container("app", image="ecsk-missing.invalid/nope:1")
    apply(kubeconfig, namespace, task_definition("pull", [missing]), service("pull", "pull", 1))

    def failed_to_start() -> dict | None:
        for p in pods(api, namespace, "pull"):
            st = derive_task_status(p)
            if st.stopCode == "TaskFailedToStart":
                return st.to_dict()
        return None

    st = wait_for(failed_to_start, 120, what="the task failing to start")
    assert st["desiredStatus"] == "STOPPED"
    assert st["stoppedReason"].startswith("CannotPullContainerError: ")
    # a fixed task definition rolls the service forward: nothing is stuck behind the bad pull
    apply(kubeconfig, namespace, task_definition("pull", [container("app")]))
    wait_for(lambda: ready_pods(api, namespace, "pull", 1), 180, what="the fixed revision running")
    wait_for(
        lambda: (
            service_status(api, namespace, "pull").get("runningCount") == 1
            and not pods_pulling(api, namespace)
        ),
        120,
        what="the failed task gone",
    )


def pods_pulling(api: pykube.HTTPClient, ns: str) -> bool:
    return any(derive_task_status(p).stopCode == "TaskFailedToStart" for p in pods(api, ns, "pull"))


def test_workers_advertise_their_instance_types_allocatable(api: pykube.HTTPClient) -> None:
    """What binpack scores against: each worker's allocatable is its instance type's (or less, on
    a host smaller than the type), never the whole host."""
    workers = list(pykube.Node.objects(api).filter(selector={"eks.amazonaws.com/nodegroup": "ng-general"}))
    assert len(workers) == 3
    for node in workers:
        it = INSTANCE_TYPES[node.labels["node.kubernetes.io/instance-type"]]
        alloc = node.obj["status"]["allocatable"]
        memory_mib = parse_quantity(alloc["memory"]) / 2**20
        millicpu = parse_quantity(alloc["cpu"]) * 1000
        assert memory_mib <= it.allocatable_memory_mib + 1, node.name
        assert millicpu <= it.allocatable_millicpu, node.name
        assert memory_mib >= min(it.allocatable_memory_mib, 2048) - 128, node.name  # reserved, not gone


def test_binpack_and_distinct_instance_place_real_tasks(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    binpack = [{"type": "binpack", "field": "memory"}]
    distinct = [{"type": "distinctInstance"}]
    apply(
        kubeconfig,
        namespace,
        task_definition("small", [container("app", memory=256)]),
        service("packed", "small", 3, placementStrategy=binpack),
        service("spread", "small", 3, placementConstraints=distinct),
    )
    packed = wait_for(lambda: ready_pods(api, namespace, "packed", 3), 180, what="3 packed tasks")
    spread = wait_for(lambda: ready_pods(api, namespace, "spread", 3), 180, what="3 distinct tasks")
    assert len({p["spec"]["nodeName"] for p in packed}) == 1  # binpack: all on the fullest instance
    assert len({p["spec"]["nodeName"] for p in spread}) == 3  # distinctInstance: one per instance


def test_metrics_server_reports_real_task_usage(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    apply(kubeconfig, namespace, task_definition("m", [container("app")]), service("m", "m", 1))
    pod = wait_for(lambda: ready_pods(api, namespace, "m", 1), 180, what="the task running")[0]["metadata"][
        "name"
    ]

    def usage() -> dict | None:
        out = kubectl(
            kubeconfig,
            "get",
            "--raw",
            f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{pod}",
            check=False,
        )
        return json.loads(out.stdout) if out.returncode == 0 else None

    metrics = wait_for(usage, 90, interval=3, what="resource metrics of the task")
    memory = metrics["containers"][0]["usage"]["memory"]
    assert memory.endswith("Ki") and int(memory[:-2]) > 0  # a real process's working set
