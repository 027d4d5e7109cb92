"""EFS on real containers: tasks in different zones share one file system.

The operator renders an efsVolumeConfiguration as a ReadWriteMany claim on an efs.csi.aws.com
StorageClass; on kind that provisioner is a directory every node mounts (`ecsk kind up`,
ecsk.cluster.kind.efs). As in the seed's hands-on ("tasks running in any AZ share the same
data"): a file a task in us-east-1a writes is read by a task in us-east-1c, and the other way.
"""

from __future__ import annotations

import uuid
from typing import Any

import pykube
import pytest
from kindtest import apply, container, exec_in, ready_pods, service, task_definition
from kubetest import wait_for

pytestmark = pytest.mark.kind

ZONE = "topology.kubernetes.io/zone"
FILE_SYSTEM = "fs-0123456789abcdef0"


def _in_zone(name: str, zone: str) -> dict[str, Any]:
    constraint = {"type": "memberOf", "expression": f"attribute:ecs.availability-zone == {zone}"}
    return service(name, "shared", 1, placementConstraints=[constraint])


def _read(kubeconfig: str, ns: str, pod: dict[str, Any], path: str) -> str:
    url = f"http://localhost:8080/file?path={path}"
    return exec_in(kubeconfig, ns, pod["metadata"]["name"], "app", "/ecsk-testapp", "get", url)


def _write(kubeconfig: str, ns: str, pod: dict[str, Any], path: str, body: str) -> None:
    url = f"http://localhost:8080/file?path={path}"
    exec_in(kubeconfig, ns, pod["metadata"]["name"], "app", "/ecsk-testapp", "put", url, body)


def test_efs_volume_is_shared_by_tasks_in_different_zones(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    app = container(
        "app",
        portMappings=[{"containerPort": 8080}],
        mountPoints=[{"sourceVolume": "shared", "containerPath": "/mnt/efs"}],
    )
    volume = {"name": "shared", "efsVolumeConfiguration": {"fileSystemId": FILE_SYSTEM, "rootDirectory": "/"}}
    apply(
        kubeconfig,
        namespace,
        task_definition("shared", [app], volumes=[volume]),
        _in_zone("writer", "us-east-1a"),
        _in_zone("reader", "us-east-1c"),
    )
    writer = wait_for(lambda: ready_pods(api, namespace, "writer", 1), 180, what="the us-east-1a task")[0]
    reader = wait_for(lambda: ready_pods(api, namespace, "reader", 1), 180, what="the us-east-1c task")[0]
    zone = {n.name: n.obj["metadata"]["labels"].get(ZONE, "") for n in pykube.Node.objects(api)}
    assert (zone[writer["spec"]["nodeName"]], zone[reader["spec"]["nodeName"]]) == (
        "us-east-1a",
        "us-east-1c",
    )
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for p in (writer, reader)
        for v in p["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert len(claims) == 1  # one file system, one claim, both tasks
    pvc = pykube.PersistentVolumeClaim.objects(api, namespace=namespace).get(name=claims.pop()).obj
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"] and pvc["status"]["phase"] == "Bound"

    note = f"written in us-east-1a {uuid.uuid4()}"
    _write(kubeconfig, namespace, writer, "/mnt/efs/note.txt", note)
    assert _read(kubeconfig, namespace, reader, "/mnt/efs/note.txt") == note
    reply = f"answered from us-east-1c {uuid.uuid4()}"
    _write(kubeconfig, namespace, reader, "/mnt/efs/reply.txt", reply)
    assert _read(kubeconfig, namespace, writer, "/mnt/efs/reply.txt") == reply
    # a task-local path is not shared: the test app really reads each task's own file system
    _write(kubeconfig, namespace, writer, "/tmp/local.txt", "only here")
    with pytest.raises(AssertionError):
        _read(kubeconfig, namespace, reader, "/tmp/local.txt")
