"""Task volumes, mount points, volumesFrom, tmpfs and /dev/shm.

ECS volume kinds map onto Kubernetes by lifetime: task-scoped scratch -> emptyDir (lives exactly
as long as the pod), host paths -> hostPath, shared Docker volumes and EFS -> PersistentVolumeClaims
shared by every task, EBS configured at launch -> a generic ephemeral volume (one EBS volume per
task, deleted with it, as ECS does). Cluster-scoped objects (StorageClass, PersistentVolume) are
named from their configuration so identical configurations share one object.
"""

from __future__ import annotations

import json
from typing import Any

from ecsk.core.models import ContainerDefinition, TaskDefinition, Volume
from ecsk.core.translate import names
from ecsk.core.translate.types import Context

EFS_DRIVER = "efs.csi.aws.com"
EBS_DRIVER = "ebs.csi.aws.com"
DEFAULT_EFS_PERMS = "700"


def _meta(name: str, ctx: Context, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {names.MANAGED_BY: "ecsk"}}
    if namespaced:
        meta["namespace"] = ctx.options.namespace
    return meta


def _pvc(
    name: str,
    ctx: Context,
    *,
    storage_class: str | None,
    size: str,
    access: str,
    volume_name: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": [access], "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    if volume_name:
        spec["volumeName"] = volume_name
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(name, ctx), "spec": spec}


def pod_volumes(
    td: TaskDefinition, ctx: Context, ebs: dict[str, dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Pod volumes plus a map ECS volume name -> pod volume name (used by mount points)."""
    out: list[dict[str, Any]] = []
    name_map: dict[str, str] = {}
    local = names.task_local_names([v.name for v in td.volumes or () if v.name])
    for i, v in enumerate(td.volumes or ()):
        path = f"volumes[{i}]"
        if not v.name:
            ctx.error(f"{path}.name", "a volume needs a name")
            continue
        vol_name = local[v.name]
        name_map[v.name] = vol_name
        source = _source(v, path, vol_name, td, ctx, (ebs or {}).get(v.name))
        out.append({"name": vol_name, **source})
    return out, name_map


def _source(
    v: Volume, path: str, vol: str, td: TaskDefinition, ctx: Context, ebs: dict[str, Any] | None
) -> dict[str, Any]:
    k8s = f"spec.volumes[{vol}]"
    if v.configuredAtLaunch:
        return _ebs(v, path, k8s, ctx, ebs)
    if v.efsVolumeConfiguration is not None:
        return _efs(v, path, k8s, ctx)
    if v.dockerVolumeConfiguration is not None:
        return _docker(v, path, k8s, ctx)
    if v.fsxWindowsFileServerVolumeConfiguration is not None:
        fsx = v.fsxWindowsFileServerVolumeConfiguration
        claim = names.dns_label(fsx.fileSystemId, prefix="fsx-")
        ctx.warn(
            f"{path}.fsxWindowsFileServerVolumeConfiguration",
            f"FSx for Windows File Server has no CSI driver on EKS; PVC {claim!r} must be created "
            "(e.g. SMB CSI driver smb.csi.k8s.io)",
            "FsxWindowsExternal",
        )
        ctx.note(
            f"{path}.fsxWindowsFileServerVolumeConfiguration",
            f"{k8s}.persistentVolumeClaim",
            f"references PVC {claim!r} (provided by the user: SMB CSI; fsx.csi.aws.com is Lustre only)",
        )
        return {"persistentVolumeClaim": {"claimName": claim}}
    if v.s3filesVolumeConfiguration is not None:
        s3 = v.s3filesVolumeConfiguration
        claim = names.dns_label(s3.fileSystemArn.rsplit("/", 1)[-1], prefix="s3files-")
        ctx.warn(
            f"{path}.s3filesVolumeConfiguration",
            f"S3 Files volumes need a PV from the EFS CSI driver (>= 3.0); PVC {claim!r} must exist",
            "S3FilesExternal",
        )
        ctx.note(
            f"{path}.s3filesVolumeConfiguration",
            f"{k8s}.persistentVolumeClaim",
            f"references PVC {claim!r} (static PV on efs.csi.aws.com, provided by the user)",
        )
        return {"persistentVolumeClaim": {"claimName": claim}}
    if v.host is not None and v.host.sourcePath:
        if td.requires_fargate:
            ctx.error(f"{path}.host.sourcePath", "host sourcePath is not supported on Fargate")
        ctx.note(f"{path}.host.sourcePath", f"{k8s}.hostPath.path", "bind mount of a node path (EC2 only)")
        return {"hostPath": {"path": v.host.sourcePath}}
    ctx.note(
        path + (".host" if v.host is not None else ".name"),
        f"{k8s}.emptyDir",
        "task-scoped scratch volume shared by the task's containers -> emptyDir",
    )
    return {"emptyDir": {}}


def _docker(v: Volume, path: str, k8s: str, ctx: Context) -> dict[str, Any]:
    dv = v.dockerVolumeConfiguration
    assert dv is not None
    p = f"{path}.dockerVolumeConfiguration"
    if dv.driver not in (None, "local") or dv.driverOpts:
        ctx.warn(
            p,
            f"Docker volume driver {dv.driver!r}/driverOpts have no Kubernetes equivalent; "
            "a default volume is used",
            "DockerVolumeDriver",
        )
        ctx.note(f"{p}.driver", None, "Docker volume plugins do not exist in Kubernetes; see warning")
    if (dv.scope or "task") == "task":
        ctx.note(f"{p}.scope", f"{k8s}.emptyDir", "task scope: created and removed with the task -> emptyDir")
        return {"emptyDir": {}}
    claim = names.dns_label(v.name or "", prefix="docker-")
    if dv.autoprovision:
        ctx.add_object(
            _pvc(claim, ctx, storage_class=None, size=ctx.options.default_volume_size, access="ReadWriteMany")
        )
        ctx.note(
            f"{p}.autoprovision", f"PersistentVolumeClaim/{claim}", "autoprovision -> the PVC is rendered"
        )
    else:
        ctx.note(f"{p}.autoprovision", None, f"not autoprovisioned: PVC {claim!r} must already exist")
    ctx.note(
        f"{p}.scope",
        f"{k8s}.persistentVolumeClaim",
        f"shared scope outlives tasks -> PVC {claim!r} (ReadWriteMany, default StorageClass); ECS "
        "shares it per instance, Kubernetes across the cluster",
    )
    return {"persistentVolumeClaim": {"claimName": claim}}


def _efs(v: Volume, path: str, k8s: str, ctx: Context) -> dict[str, Any]:
    efs = v.efsVolumeConfiguration
    assert efs is not None
    p = f"{path}.efsVolumeConfiguration"
    auth = efs.authorizationConfig
    ap = auth.accessPointId if auth else None
    root = efs.rootDirectory or "/"
    mount_options: list[str] = []
    if auth and auth.iam == "ENABLED":
        mount_options.append("iam")
    if efs.transitEncryptionPort:
        mount_options.append(f"tlsport={efs.transitEncryptionPort}")
    key = json.dumps([efs.fileSystemId, root, ap, efs.transitEncryption, mount_options])
    ident = names.short_hash(key)
    claim = f"efs-{names.dns_label(efs.fileSystemId, max_len=40)}-{ident}"
    if ap or ctx.options.efs_static:
        handle = (
            f"{efs.fileSystemId}::{ap}"
            if ap
            else (efs.fileSystemId if root == "/" else f"{efs.fileSystemId}:{root}")
        )
        pv_name = f"ecsk-{names.dns_label(ctx.options.namespace, max_len=40)}-{claim}"
        csi: dict[str, Any] = {"driver": EFS_DRIVER, "volumeHandle": handle}
        csi["volumeAttributes"] = {
            "encryptInTransit": "false" if efs.transitEncryption == "DISABLED" else "true"
        }
        pv_spec: dict[str, Any] = {
            "capacity": {"storage": "5Gi"},
            "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {"namespace": ctx.options.namespace, "name": claim},
            "csi": csi,
        }
        if mount_options:
            pv_spec["mountOptions"] = mount_options
        ctx.add_object(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": _meta(pv_name, ctx, namespaced=False),
                "spec": pv_spec,
            }
        )
        ctx.add_object(
            _pvc(claim, ctx, storage_class="", size="5Gi", access="ReadWriteMany", volume_name=pv_name)
        )
        ctx.note(
            p,
            (f"PersistentVolume/{pv_name}", f"PersistentVolumeClaim/{claim}"),
            f"static EFS PV, volumeHandle {handle!r}: the same directory every task sees, as in ECS",
        )
    else:
        params: dict[str, str] = {
            "provisioningMode": "efs-ap",
            "fileSystemId": efs.fileSystemId,
            "directoryPerms": DEFAULT_EFS_PERMS,
        }
        if root != "/":
            params["basePath"] = root
        sc_name = f"efs-{names.dns_label(efs.fileSystemId, max_len=40)}-{ident}"
        sc: dict[str, Any] = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": _meta(sc_name, ctx, namespaced=False),
            "provisioner": EFS_DRIVER,
            "parameters": params,
            "reclaimPolicy": "Retain",
            "volumeBindingMode": "Immediate",
        }
        if mount_options:
            sc["mountOptions"] = mount_options
        ctx.add_object(sc)
        ctx.add_object(_pvc(claim, ctx, storage_class=sc_name, size="5Gi", access="ReadWriteMany"))
        ctx.note(
            p,
            (f"StorageClass/{sc_name}", f"PersistentVolumeClaim/{claim}"),
            "dynamic EFS access point (efs-ap) under basePath=rootDirectory; one shared PVC for all "
            "tasks. The access point gets its own subdirectory: use efs_static for the exact "
            "rootDirectory",
        )
        if efs.transitEncryption == "DISABLED":
            ctx.note(
                f"{p}.transitEncryption",
                None,
                "the EFS CSI driver encrypts in transit by default; DISABLED only applies to static PVs",
            )
    return {"persistentVolumeClaim": {"claimName": claim}}


def _ebs(v: Volume, path: str, k8s: str, ctx: Context, ebs: dict[str, Any] | None) -> dict[str, Any]:
    """One EBS volume per task, created at launch and deleted with the task: a generic ephemeral
    volume on an ebs.csi.aws.com StorageClass (gp3 unless the service says otherwise)."""
    cfg = ebs or {}
    vtype = str(cfg.get("volumeType") or "gp3")
    params: dict[str, str] = {"type": vtype}
    for src, dst in (
        ("iops", "iops"),
        ("throughput", "throughput"),
        ("kmsKeyId", "kmsKeyId"),
        ("filesystemType", "csi.storage.k8s.io/fstype"),
    ):
        if cfg.get(src) is not None:
            params[dst] = str(cfg[src])
    if cfg.get("encrypted") is not None:
        params["encrypted"] = "true" if cfg["encrypted"] else "false"
    sc_name = (
        "ebs-gp3" if params == {"type": "gp3"} else f"ebs-{vtype}-{names.short_hash(json.dumps(params))}"
    )
    ctx.add_object(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": _meta(sc_name, ctx, namespaced=False),
            "provisioner": EBS_DRIVER,
            "parameters": params,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
    )
    size = int(cfg.get("sizeInGiB") or ctx.options.default_ebs_size_gib)
    if not ebs:
        ctx.warn(
            f"{path}.configuredAtLaunch",
            f"no service volumeConfiguration for this volume: {size}GiB gp3 assumed",
            "EbsDefaults",
        )
    ctx.note(
        f"{path}.configuredAtLaunch",
        (f"{k8s}.ephemeral.volumeClaimTemplate", f"StorageClass/{sc_name}"),
        "EBS volume per task -> generic ephemeral volume (created with the pod, deleted with it)",
    )
    return {
        "ephemeral": {
            "volumeClaimTemplate": {
                "metadata": {"labels": {names.MANAGED_BY: "ecsk"}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": sc_name,
                    "resources": {"requests": {"storage": f"{size}Gi"}},
                },
            }
        }
    }


def container_mounts(
    c: ContainerDefinition, path: str, k8s: str, name_map: dict[str, str], ctx: Context
) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for i, mp in enumerate(c.mountPoints or ()):
        if not mp.sourceVolume or not mp.containerPath:
            ctx.error(f"{path}.mountPoints[{i}]", "a mount point needs sourceVolume and containerPath")
            continue
        vol = name_map.get(mp.sourceVolume)
        if vol is None:
            ctx.error(
                f"{path}.mountPoints[{i}].sourceVolume",
                f"Unknown volume '{mp.sourceVolume}'.",
                "UnknownVolume",
            )
            continue
        m: dict[str, Any] = {"name": vol, "mountPath": mp.containerPath}
        if mp.readOnly:
            m["readOnly"] = True
        mounts.append(m)
    if c.mountPoints:
        ctx.note(
            f"{path}.mountPoints", f"{k8s}.volumeMounts", "sourceVolume -> name, containerPath -> mountPath"
        )
    return mounts


def resolve_volumes_from(td: TaskDefinition, mounts: dict[str, list[dict[str, Any]]], ctx: Context) -> None:
    """volumesFrom copies the source container's mounts (transitively, like Docker) with its
    own readOnly override; anonymous VOLUMEs declared in the source image cannot be known."""
    by_name = {c.name: c for c in td.containerDefinitions if c.name}
    done: dict[str, list[dict[str, Any]]] = {}

    def resolve(name: str, stack: tuple[str, ...]) -> list[dict[str, Any]]:
        if name in done:
            return done[name]
        own = list(mounts.get(name, []))
        c = by_name[name]
        for i, vf in enumerate(c.volumesFrom or ()):
            src = vf.sourceContainer
            p = f"containerDefinitions[{td.containerDefinitions.index(c)}].volumesFrom[{i}]"
            if src not in by_name or src in stack:
                ctx.error(p, f"volumesFrom source container {src!r} is unknown or cyclic")
                continue
            have = {m["mountPath"] for m in own}
            for m in resolve(src, (*stack, name)):
                if m["mountPath"] in have:
                    continue
                copy = dict(m)
                if vf.readOnly is not None:
                    copy.pop("readOnly", None)
                    if vf.readOnly:
                        copy["readOnly"] = True
                own.append(copy)
            ctx.note(
                p,
                "spec.containers[*].volumeMounts",
                f"mounts of {src!r} copied (anonymous image VOLUMEs are not visible to Kubernetes)",
            )
        done[name] = own
        return own

    for name in by_name:
        mounts[name] = resolve(name, (name,))


def linux_volumes(
    c: ContainerDefinition, cname: str, path: str, k8s: str, ctx: Context
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """sharedMemorySize and tmpfs -> memory-backed emptyDirs with a sizeLimit, per container."""
    lp = c.linuxParameters
    vols: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if lp is None:
        return vols, mounts
    if lp.sharedMemorySize:
        name = names.dns_label(f"shm-{cname}")
        vols.append({"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": f"{lp.sharedMemorySize}Mi"}})
        mounts.append({"name": name, "mountPath": "/dev/shm"})
        ctx.note(
            f"{path}.linuxParameters.sharedMemorySize",
            f"spec.volumes[{name}].emptyDir",
            "emptyDir medium Memory with sizeLimit, mounted at /dev/shm",
        )
    for i, t in enumerate(lp.tmpfs or ()):
        name = names.dns_label(f"tmpfs-{cname}-{i}")
        vols.append({"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": f"{t.size}Mi"}})
        mounts.append({"name": name, "mountPath": t.containerPath})
        ctx.note(
            f"{path}.linuxParameters.tmpfs[{i}]",
            (f"spec.volumes[{name}]", f"{k8s}.volumeMounts"),
            "emptyDir medium Memory (tmpfs) with sizeLimit"
            + (f"; mountOptions {t.mountOptions} cannot be set on an emptyDir" if t.mountOptions else ""),
        )
    return vols, mounts
