"""Task volumes: scratch, host paths, Docker volumes, EFS (dynamic/static), EBS, FSx."""

from __future__ import annotations

from typing import Any

from helpers_translate import container, objects, pod_spec, render, render_svc, svc, td

from ecsk.core.models import TaskDefinition
from ecsk.core.translate import RenderResult


def vol_td(volume: dict[str, object], **fields: object) -> TaskDefinition:
    return td(
        [
            {
                "name": "a",
                "image": "i",
                "memory": 64,
                "mountPoints": [{"sourceVolume": "v", "containerPath": "/data"}],
            }
        ],
        volumes=[{"name": "v", **volume}],
        **fields,
    )


def pod_volume(result: RenderResult) -> dict[str, Any]:
    return pod_spec(result)["volumes"][0]


def test_scratch_volume_is_an_empty_dir() -> None:
    assert pod_volume(render(vol_td({}))) == {"name": "v", "emptyDir": {}}
    assert pod_volume(render(vol_td({"host": {}}))) == {"name": "v", "emptyDir": {}}


def test_host_source_path_is_a_host_path() -> None:
    r = render(vol_td({"host": {"sourcePath": "/var/log"}}))
    assert pod_volume(r) == {"name": "v", "hostPath": {"path": "/var/log"}}
    assert container(r, "a")["volumeMounts"] == [{"name": "v", "mountPath": "/data"}]


def test_docker_volume_task_scope_and_shared_scope() -> None:
    r = render(vol_td({"dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}))
    assert pod_volume(r) == {"name": "v", "emptyDir": {}}
    r = render(vol_td({"dockerVolumeConfiguration": {"scope": "shared", "autoprovision": True}}))
    assert pod_volume(r) == {"name": "v", "persistentVolumeClaim": {"claimName": "docker-v"}}
    [pvc] = objects(r, "PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    r = render(vol_td({"dockerVolumeConfiguration": {"scope": "shared", "autoprovision": False}}))
    assert not objects(r, "PersistentVolumeClaim")


def test_efs_without_access_point_uses_a_dynamic_storage_class() -> None:
    r = render(
        vol_td({"efsVolumeConfiguration": {"fileSystemId": "fs-12345678", "rootDirectory": "/shared"}})
    )
    [sc] = objects(r, "StorageClass")
    assert sc["provisioner"] == "efs.csi.aws.com"
    assert sc["parameters"] == {
        "provisioningMode": "efs-ap",
        "fileSystemId": "fs-12345678",
        "directoryPerms": "700",
        "basePath": "/shared",
    }
    [pvc] = objects(r, "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == sc["metadata"]["name"]
    assert pod_volume(r)["persistentVolumeClaim"] == {"claimName": pvc["metadata"]["name"]}


def test_efs_with_access_point_uses_a_static_pv() -> None:
    efs = {
        "fileSystemId": "fs-12345678",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-0abc", "iam": "ENABLED"},
    }
    r = render(vol_td({"efsVolumeConfiguration": efs}), namespace="team-a")
    [pv] = objects(r, "PersistentVolume")
    assert pv["spec"]["csi"] == {
        "driver": "efs.csi.aws.com",
        "volumeHandle": "fs-12345678::fsap-0abc",
        "volumeAttributes": {"encryptInTransit": "true"},
    }
    assert pv["spec"]["mountOptions"] == ["iam"]
    assert "team-a" in pv["metadata"]["name"]
    [pvc] = objects(r, "PersistentVolumeClaim")
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["spec"]["claimRef"] == {"namespace": "team-a", "name": pvc["metadata"]["name"]}
    assert not objects(r, "StorageClass")


def test_efs_static_option_mounts_the_root_directory() -> None:
    r = render(
        vol_td({"efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/a/b"}}), efs_static=True
    )
    [pv] = objects(r, "PersistentVolume")
    assert pv["spec"]["csi"]["volumeHandle"] == "fs-1:/a/b"


def test_ebs_configured_at_launch_is_a_generic_ephemeral_volume() -> None:
    t = vol_td({"configuredAtLaunch": True})
    r = render(t)
    [sc] = objects(r, "StorageClass")
    assert sc["metadata"]["name"] == "ebs-gp3"
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["parameters"] == {"type": "gp3"}
    eph = pod_volume(r)["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert eph["storageClassName"] == "ebs-gp3" and eph["resources"]["requests"]["storage"] == "10Gi"
    s = svc(
        volumeConfigurations=[
            {
                "name": "v",
                "managedEBSVolume": {
                    "roleArn": "arn:aws:iam::1:role/x",
                    "sizeInGiB": 50,
                    "volumeType": "io2",
                    "iops": 3000,
                },
            }
        ]
    )
    r = render_svc(s, t)
    [sc] = objects(r, "StorageClass")
    assert sc["parameters"] == {"type": "io2", "iops": "3000"}
    eph = pod_volume(r)["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert eph["resources"]["requests"]["storage"] == "50Gi"


def test_fsx_windows_is_referenced_and_warned() -> None:
    fsx = {
        "fileSystemId": "fs-0win",
        "rootDirectory": "share",
        "authorizationConfig": {
            "credentialsParameter": "arn:aws:ssm:us-east-1:1:parameter/fsx",
            "domain": "corp",
        },
    }
    r = render(vol_td({"fsxWindowsFileServerVolumeConfiguration": fsx}))
    assert pod_volume(r)["persistentVolumeClaim"] == {"claimName": "fsx-fs-0win"}
    assert [d.code for d in r.diagnostics] == ["FsxWindowsExternal"]


def test_unknown_source_volume_is_an_error() -> None:
    t = td(
        [
            {
                "name": "a",
                "image": "i",
                "memory": 64,
                "mountPoints": [{"sourceVolume": "nope", "containerPath": "/x"}],
            }
        ]
    )
    assert [d.code for d in render(t).errors] == ["UnknownVolume"]
