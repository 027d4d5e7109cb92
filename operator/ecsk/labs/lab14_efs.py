"""Lab 14: EFS shared across zones. A Docker volume of scope `task` gives every task its own empty
directory; an EFS volume (through an access point) gives tasks in every zone the same files.

On the cluster an EFS volume is a PersistentVolumeClaim (ReadWriteMany) on the EFS CSI driver
(`efs.csi.aws.com`). With an access point ecsk makes a static PersistentVolume bound by name, which
binds even where no EFS driver runs (the embedded cluster); dynamic provisioning (no access point)
needs the driver and stays Pending there. The check reads the task definition, the claim, its
volume and which zones the tasks that mount it run in."""

from __future__ import annotations

from typing import Any

from ecsk.labs.engine import (
    ZONE,
    Lab,
    Obj,
    Snapshot,
    container,
    ec2_service,
    require,
    spec,
    status,
    td_doc,
)

NAME = "cms"
VOLUME = "uploads"
PATH = "/srv/uploads"
DESIRED = 3
FILE_SYSTEM = "fs-0a1b2c3d4e5f60718"
ACCESS_POINT = "fsap-0123456789abcdef0"
EFS_DRIVER = "efs.csi.aws.com"
SPREAD = [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
EFS = {
    "fileSystemId": FILE_SYSTEM,
    "transitEncryption": "ENABLED",
    "authorizationConfig": {"accessPointId": ACCESS_POINT, "iam": "ENABLED"},
}


def _td(solved: bool) -> Obj:
    cms = container(NAME, mountPoints=[{"sourceVolume": VOLUME, "containerPath": PATH}])
    if solved:
        volume: dict[str, Any] = {"name": VOLUME, "efsVolumeConfiguration": EFS}
    else:
        volume = {"name": VOLUME, "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}
    return td_doc(NAME, {"family": NAME, "volumes": [volume], "containerDefinitions": [cms]})


def _definition_problems(td: dict[str, Any]) -> list[str]:
    volume = next((v for v in td.get("volumes") or [] if v.get("name") == VOLUME), None)
    if volume is None:
        return [f"TaskDefinition {NAME} has no volume named {VOLUME}"]
    efs = volume.get("efsVolumeConfiguration")
    if not efs:
        kind = "a Docker volume of scope task" if volume.get("dockerVolumeConfiguration") else "task storage"
        return [
            f"volume {VOLUME} is {kind}: every task writes its own copy, lost when the task stops; "
            f"make it an EFS volume (efsVolumeConfiguration, fileSystemId {FILE_SYSTEM})"
        ]
    out = []
    if efs.get("fileSystemId") != FILE_SYSTEM:
        out.append(f"volume {VOLUME} names file system {efs.get('fileSystemId')}, not {FILE_SYSTEM}")
    if (efs.get("authorizationConfig") or {}).get("accessPointId") != ACCESS_POINT:
        out.append(
            f"volume {VOLUME} has no access point {ACCESS_POINT} (authorizationConfig.accessPointId): "
            "without one the claim is provisioned dynamically, which needs the EFS CSI driver"
        )
    if efs.get("transitEncryption") != "ENABLED":
        out.append(f"volume {VOLUME} does not encrypt in transit: set transitEncryption ENABLED")
    return out


def _claim_problems(snap: Snapshot, claims: set[str]) -> list[str]:
    """The one claim every task mounts: ReadWriteMany, Bound, on an EFS volume."""
    if len(claims) != 1:
        listed = ", ".join(sorted(claims)) or "none"
        return [f"the running tasks mount {len(claims)} different claims ({listed}); the goal is one, shared"]
    name = next(iter(claims))
    claim = snap.named(snap.pvcs, name)
    if claim is None:
        return [f"PersistentVolumeClaim {name} does not exist yet"]
    out = []
    if "ReadWriteMany" not in (spec(claim).get("accessModes") or []):
        out.append(
            f"PersistentVolumeClaim {name} is not ReadWriteMany: tasks on other instances cannot mount it"
        )
    phase = status(claim).get("phase") or "Pending"
    if phase != "Bound":
        return [*out, f"PersistentVolumeClaim {name} is {phase}: no EFS volume is bound to it"]
    volume = snap.named(snap.persistent_volumes, str(spec(claim).get("volumeName") or ""))
    driver = ((spec(volume).get("csi") or {}).get("driver")) if volume else None
    if driver != EFS_DRIVER:
        out.append(f"PersistentVolumeClaim {name} is bound to a volume of driver {driver}, not {EFS_DRIVER}")
    return out


def claim_names(pod: Obj) -> set[str]:
    return {
        str(v["persistentVolumeClaim"].get("claimName"))
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("name") == VOLUME and v.get("persistentVolumeClaim")
    }


def _waiting_claims(snap: Snapshot) -> list[str]:
    """Why PENDING tasks wait: a claim no volume is bound to (a dynamic EFS claim on a cluster
    without the EFS CSI driver waits for its provisioner forever)."""
    out = []
    for claim in snap.pvcs:
        phase = status(claim).get("phase") or "Pending"
        if phase != "Bound":
            sc = snap.named(snap.storage_classes, str(spec(claim).get("storageClassName") or ""))
            provisioner = (sc or {}).get("provisioner") or "no provisioner"
            out.append(
                f"PersistentVolumeClaim {claim['metadata']['name']} is {phase}, waiting for {provisioner} "
                "to create a volume: this cluster runs no EFS CSI driver, so use the access point "
                "(its volume is made statically)"
            )
    return out


def _task_problems(snap: Snapshot) -> list[str]:
    running = snap.running_tasks(NAME)
    pending = len(snap.pending_tasks(NAME))
    if len(running) != DESIRED:
        out = [f"{len(running)} of {DESIRED} {NAME} tasks are running ({pending} PENDING)"]
        return out + _waiting_claims(snap)
    private = [p["metadata"]["name"] for p in running if not claim_names(p)]
    if private:
        return [
            f"{len(private)} of {DESIRED} tasks still write to a volume of their own "
            f"({', '.join(private)}): wait for the new revision's tasks"
        ]
    out = _claim_problems(snap, set().union(*(claim_names(p) for p in running)))
    zones = sorted({snap.node_label(p, ZONE) for p in running} - {""})
    if len(zones) < 2:
        out.append(
            f"all {DESIRED} tasks run in {', '.join(zones) or 'no zone'}: the goal is at least 2 zones"
        )
    return out


class EfsLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td(solved=False), ec2_service(NAME, DESIRED, placementStrategy=SPREAD)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(solved=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        return _definition_problems(spec(snap.get("TaskDefinition", NAME))) + _task_problems(snap)


LAB = EfsLab(
    number=14,
    slug="efs",
    title="EFS shared across zones",
    runs_on=(
        "embedded cluster (no EFS driver: an access point's static volume binds, a dynamic claim "
        "stays Pending)"
    ),
    topic="ECS data volumes (EFS): persistent multi-AZ shared storage for EC2 and Fargate tasks",
    goal=(
        f"`{NAME}` runs {DESIRED} tasks spread over the zones, each writing uploads to {PATH} on a "
        "Docker volume of its own: an upload seen by one task is missing on the others. Mount the EFS "
        f"file system {FILE_SYSTEM} through the access point {ACCESS_POINT} instead, encrypted in "
        "transit, so every task in every zone shares the same files."
    ),
    steps=(
        "See one volume per task: kubectl -n {ns} get pods -o yaml | grep -A3 'name: uploads'",
        "kubectl -n {ns} edit taskdefinition cms: replace the volume's dockerVolumeConfiguration with",
        f"  efsVolumeConfiguration: {{{{fileSystemId: {FILE_SYSTEM}, transitEncryption: ENABLED, "
        f"authorizationConfig: {{{{accessPointId: {ACCESS_POINT}, iam: ENABLED}}}}}}}}",
        "kubectl -n {ns} get pvc; kubectl get pv | grep {ns}   (one ReadWriteMany claim, Bound)",
        "Which zones mount it: kubectl -n {ns} get pods -o wide; ecsk placement -n {ns} --service cms",
    ),
    hints=(
        "A Docker volume of scope task lives and dies with each task; EFS is a network file system "
        "every task in every zone can mount (EC2 and Fargate alike).",
        "The volume is defined in the task definition: efsVolumeConfiguration with the file system id.",
        "An access point goes in authorizationConfig.accessPointId, and ECS requires "
        "transitEncryption ENABLED with it.",
    ),
)
