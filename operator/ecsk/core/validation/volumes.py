"""Volume declarations and their use by containers (mountPoints, volumesFrom)."""

from __future__ import annotations

from ecsk.core.models.taskdef import TaskDefinition
from ecsk.core.models.volumes import EFSVolumeConfiguration
from ecsk.core.validation.issues import Issues

_VOLUME_KINDS = (
    "host",
    "dockerVolumeConfiguration",
    "efsVolumeConfiguration",
    "s3filesVolumeConfiguration",
    "fsxWindowsFileServerVolumeConfiguration",
)


def check_volumes(td: TaskDefinition, out: Issues) -> None:
    names: set[str] = set()
    for i, vol in enumerate(td.volumes or ()):
        at = f"volumes[{i}]"
        if not vol.name:
            out.add(f"{at}.name", "Volume.name should not be null or empty.", "volume.name-required")
        elif vol.name in names:
            out.add(f"{at}.name", f"Duplicate volume name '{vol.name}'.", "volume.duplicate")
        else:
            names.add(vol.name)
        kinds = [k for k in _VOLUME_KINDS if getattr(vol, k) is not None]
        if len(kinds) > 1:
            out.add(at, "A volume can have only one of " + ", ".join(kinds) + ".", "volume.one-kind")
        if vol.configuredAtLaunch and kinds:
            out.add(
                at,
                "A volume configured at launch cannot also declare " + kinds[0] + ".",
                "volume.configured-at-launch",
            )
        if vol.efsVolumeConfiguration is not None:
            check_efs(f"{at}.efsVolumeConfiguration", vol.efsVolumeConfiguration, out)
    by_name = {c.name: c for c in td.containerDefinitions if c.name}
    for i, c in enumerate(td.containerDefinitions):
        for k, mp in enumerate(c.mountPoints or ()):
            if not mp.sourceVolume or mp.sourceVolume not in names:
                out.add(
                    f"containerDefinitions[{i}].mountPoints[{k}].sourceVolume",
                    f"Invalid 'sourceVolume' setting for container '{c.name}': "
                    f"volume '{mp.sourceVolume}' is not defined in the task definition's volumes.",
                    "mount.volume-exists",
                )
            if not mp.containerPath:
                out.add(
                    f"containerDefinitions[{i}].mountPoints[{k}].containerPath",
                    "MountPoint.containerPath should not be null or empty.",
                    "mount.container-path",
                )
        for k, vf in enumerate(c.volumesFrom or ()):
            source = by_name.get(vf.sourceContainer or "")
            if source is None or source is c:
                out.add(
                    f"containerDefinitions[{i}].volumesFrom[{k}].sourceContainer",
                    f"Invalid 'sourceContainer' setting for container '{c.name}': "
                    f"'{vf.sourceContainer}' is not another container of this task definition.",
                    "volumes-from.exists",
                )


def check_efs(at: str, efs: EFSVolumeConfiguration, out: Issues) -> None:
    auth = efs.authorizationConfig
    access_point = bool(auth and auth.accessPointId)
    iam = bool(auth and auth.iam == "ENABLED")
    if access_point and efs.rootDirectory not in (None, "", "/"):
        out.add(
            f"{at}.rootDirectory",
            "When an access point is specified, rootDirectory must either be omitted or set to '/'.",
            "efs.root-directory",
        )
    if (access_point or iam) and efs.transitEncryption != "ENABLED":
        out.add(
            f"{at}.transitEncryption",
            "Transit encryption must be ENABLED when an EFS access point or IAM authorization is used.",
            "efs.transit-encryption",
        )
    if efs.transitEncryptionPort is not None and efs.transitEncryption != "ENABLED":
        out.warn(
            f"{at}.transitEncryptionPort",
            "transitEncryptionPort is only used when transitEncryption is ENABLED: ECS ignores it here, "
            "and so does ecsk.",
            "efs.transit-port",
        )
