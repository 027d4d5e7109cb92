"""Lab 14: EFS shared across zones. A Docker volume of scope `task` gives every task its own empty
directory; an EFS volume (through an access point) gives tasks in every zone the same files.

On the cluster an EFS volume is a PersistentVolumeClaim (ReadWriteMany) on the EFS CSI driver
(`efs.csi.aws.com`). With an access point ecsk makes a static PersistentVolume bound by name, which
binds even where no EFS driver runs (the embedded cluster); dynamic provisioning (no access point)
needs the driver and stays Pending there. The check reads the task definition, the claim, its
volume and which zones the tasks that mount it run in.

The real-container variant (`ecsk lab start 14 --real`, on kind) runs the test app on the three
EC2 workers, one per zone. kind's EFS is a directory every node mounts, handed out by a
provisioner registered as `efs.csi.aws.com` (ecsk.cluster.kind.efs): a dynamic claim (no access
point) binds there, while an access point's static volume would need the real CSI driver. Its
check also writes a file from the task in one zone and reads it from the tasks in the others."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ecsk.labs.engine import (
    ZONE,
    Exec,
    Lab,
    Obj,
    ProbeError,
    Probes,
    Snapshot,
    container,
    ec2_service,
    require,
    spec,
    status,
    td_doc,
    testapp,
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
REAL_EFS = {"fileSystemId": FILE_SYSTEM, "rootDirectory": "/", "transitEncryption": "ENABLED"}
"""kind's EFS has no access points (nor IAM): the claim is provisioned, a directory of the
shared mount."""
APP_PORT = 8080


def _td(solved: bool, real: bool = False) -> Obj:
    mounts = [{"sourceVolume": VOLUME, "containerPath": PATH}]
    cms = testapp(NAME, APP_PORT, mountPoints=mounts) if real else container(NAME, mountPoints=mounts)
    if solved:
        volume: dict[str, Any] = {"name": VOLUME, "efsVolumeConfiguration": REAL_EFS if real else EFS}
    else:
        volume = {"name": VOLUME, "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}
    return td_doc(NAME, {"family": NAME, "volumes": [volume], "containerDefinitions": [cms]})


def _efs_volume(td: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The EFS configuration of the `uploads` volume, or the problem that there is none."""
    volume = next((v for v in td.get("volumes") or [] if v.get("name") == VOLUME), None)
    if volume is None:
        return {}, [f"TaskDefinition {NAME} has no volume named {VOLUME}"]
    efs = volume.get("efsVolumeConfiguration")
    if not efs:
        kind = "a Docker volume of scope task" if volume.get("dockerVolumeConfiguration") else "task storage"
        return {}, [
            f"volume {VOLUME} is {kind}: every task writes its own copy, lost when the task stops; "
            f"make it an EFS volume (efsVolumeConfiguration, fileSystemId {FILE_SYSTEM})"
        ]
    return dict(efs), []


def _access_point_problems(efs: dict[str, Any]) -> list[str]:
    """The embedded cluster runs no EFS driver: only an access point's static volume binds."""
    if (efs.get("authorizationConfig") or {}).get("accessPointId") == ACCESS_POINT:
        return []
    return [
        f"volume {VOLUME} has no access point {ACCESS_POINT} (authorizationConfig.accessPointId): "
        "without one the claim is provisioned dynamically, which needs the EFS CSI driver"
    ]


def _no_access_point_problems(efs: dict[str, Any]) -> list[str]:
    """kind's EFS provisions claims on a shared mount; it has no access points (nor IAM)."""
    if not efs.get("authorizationConfig"):
        return []
    return [
        f"volume {VOLUME} has an authorizationConfig: kind's EFS is a directory every node mounts, "
        "with no access points or IAM (an access point's static volume needs the EFS CSI driver, "
        "which kind does not run); leave it out, so the claim is provisioned on the shared mount"
    ]


def _definition_problems(
    td: dict[str, Any], access: Callable[[dict[str, Any]], list[str]] = _access_point_problems
) -> list[str]:
    efs, missing = _efs_volume(td)
    if missing:
        return missing
    out = []
    if efs.get("fileSystemId") != FILE_SYSTEM:
        out.append(f"volume {VOLUME} names file system {efs.get('fileSystemId')}, not {FILE_SYSTEM}")
    out += access(efs)
    if efs.get("transitEncryption") != "ENABLED":
        out.append(f"volume {VOLUME} does not encrypt in transit: set transitEncryption ENABLED")
    return out


Backing = Callable[[Snapshot, Obj], str | None]
"""What is wrong with what backs a bound claim (None: it is EFS)."""


def _claim_problems(snap: Snapshot, claims: set[str], backing: Backing) -> list[str]:
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
    if why := backing(snap, claim):
        out.append(why)
    return out


def csi_volume_problem(snap: Snapshot, claim: Obj) -> str | None:
    """Embedded: the claim is bound to a static volume of the EFS CSI driver."""
    volume = snap.named(snap.persistent_volumes, str(spec(claim).get("volumeName") or ""))
    driver = ((spec(volume).get("csi") or {}).get("driver")) if volume else None
    if driver != EFS_DRIVER:
        name = claim["metadata"]["name"]
        return f"PersistentVolumeClaim {name} is bound to a volume of driver {driver}, not {EFS_DRIVER}"
    return None


def provisioned_problem(snap: Snapshot, claim: Obj) -> str | None:
    """kind: the claim's StorageClass is provisioned by `efs.csi.aws.com` (kind's shared mount)."""
    sc = snap.named(snap.storage_classes, str(spec(claim).get("storageClassName") or ""))
    provisioner = (sc or {}).get("provisioner")
    if provisioner != EFS_DRIVER:
        return (
            f"PersistentVolumeClaim {claim['metadata']['name']} is provisioned by "
            f"{provisioner or 'no StorageClass'}, not {EFS_DRIVER}"
        )
    return None


def claim_names(pod: Obj) -> set[str]:
    return {
        str(v["persistentVolumeClaim"].get("claimName"))
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("name") == VOLUME and v.get("persistentVolumeClaim")
    }


NO_DRIVER = "this cluster runs no EFS CSI driver, so use the access point (its volume is made statically)"
NO_PROVISIONER = "is kind's EFS provisioner running? kubectl -n local-path-storage get pods"


def _waiting_claims(snap: Snapshot, advice: str) -> list[str]:
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
                f"to create a volume: {advice}"
            )
    return out


def _task_problems(
    snap: Snapshot, backing: Backing = csi_volume_problem, advice: str = NO_DRIVER
) -> list[str]:
    running = snap.running_tasks(NAME)
    pending = len(snap.pending_tasks(NAME))
    if len(running) != DESIRED:
        out = [f"{len(running)} of {DESIRED} {NAME} tasks are running ({pending} PENDING)"]
        return out + _waiting_claims(snap, advice)
    private = [p["metadata"]["name"] for p in running if not claim_names(p)]
    if private:
        return [
            f"{len(private)} of {DESIRED} tasks still write to a volume of their own "
            f"({', '.join(private)}): wait for the new revision's tasks"
        ]
    out = _claim_problems(snap, set().union(*(claim_names(p) for p in running)), backing)
    zones = sorted({snap.node_label(p, ZONE) for p in running} - {""})
    if len(zones) < 2:
        out.append(
            f"all {DESIRED} tasks run in {', '.join(zones) or 'no zone'}: the goal is at least 2 zones"
        )
    return out


PROBE_PREFIX = f"{PATH}/ecsk-lab-check-"


def shared_file_problems(run: Exec, tasks: list[tuple[str, str]], stamp: str) -> list[str]:
    """The seed's promise, with real files: a line written by the task in the first zone (tasks
    as (pod, zone)) is read back by every task in another zone. `stamp` makes the file and line
    this check's own, so a file left by an earlier check proves nothing."""
    if not tasks:
        return [f"no {NAME} task is running"]
    writer, zone = sorted(tasks, key=lambda t: (t[1], t[0]))[0]
    readers = sorted((t for t in tasks if t[1] != zone), key=lambda t: (t[1], t[0]))
    if not readers:
        return [f"every {NAME} task runs in {zone or 'no zone'}: nothing to read from another zone"]
    path = f"{PROBE_PREFIX}{stamp}.txt"
    url = f"http://localhost:{APP_PORT}/file?path={path}"
    line = f"written by {writer} in {zone} ({stamp})"
    try:
        run(writer, NAME, ["/ecsk-testapp", "put", url, line])
    except ProbeError as exc:
        return [f"task {writer} in {zone} could not write {path}: {exc}"]
    out = []
    for reader, other in readers:
        try:
            seen = run(reader, NAME, ["/ecsk-testapp", "get", url]).strip()
        except ProbeError as exc:
            out.append(
                f"task {reader} in {other} cannot read {path}, which task {writer} in {zone} wrote: {exc}"
            )
            continue
        if seen != line:
            out.append(
                f"task {reader} in {other} reads {seen!r} from {path}, "
                f"not the line task {writer} in {zone} wrote"
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


class RealEfsLab(EfsLab):
    """The same lab with the test app in real containers on kind's three EC2 workers (one per
    zone), on kind's EFS: a claim provisioned on a directory every node mounts."""

    def starting_objects(self) -> list[Obj]:
        return [_td(solved=False, real=True), ec2_service(NAME, DESIRED, placementStrategy=SPREAD)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(solved=True, real=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        td = spec(snap.get("TaskDefinition", NAME))
        definition = _definition_problems(td, _no_access_point_problems)
        return definition + _task_problems(snap, provisioned_problem, NO_PROVISIONER)

    def live_problems(self, snap: Snapshot, probes: Probes) -> list[str]:
        tasks = [(p["metadata"]["name"], snap.node_label(p, ZONE)) for p in snap.running_tasks(NAME)]
        return shared_file_problems(probes.run, tasks, uuid.uuid4().hex[:12])


EFS_HINTS = (
    "A Docker volume of scope task lives and dies with each task; EFS is a network file system "
    "every task in every zone can mount (EC2 and Fargate alike).",
    "The volume is defined in the task definition: efsVolumeConfiguration with the file system id.",
)
_FILE_URL = f"http://localhost:{APP_PORT}/file?path={PATH}/a.txt"
_REAL_STEPS = (
    "The same service with the test app in real containers on kind's three EC2 workers, one per "
    "zone. kind's EFS is a directory every node mounts: no access points or IAM.",
    "One volume per task: kubectl -n {ns} get pods -o yaml | grep -A3 'name: uploads'",
    "Write in one task, read in another (POD1, POD2: two pods of `kubectl -n {ns} get pods -o wide` "
    "in two zones):",
    f"  kubectl -n {{ns}} exec POD1 -- /ecsk-testapp put '{_FILE_URL}' hello",
    f"  kubectl -n {{ns}} exec POD2 -- /ecsk-testapp get '{_FILE_URL}'",
    "kubectl -n {ns} edit taskdefinition cms: replace the volume's dockerVolumeConfiguration with",
    f"  efsVolumeConfiguration: {{{{fileSystemId: {FILE_SYSTEM}, rootDirectory: /, "
    "transitEncryption: ENABLED}}",
    "kubectl -n {ns} get pvc,pods -o wide   (one ReadWriteMany claim, Bound; tasks in three zones), "
    "then write and read again across zones",
)
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
        *EFS_HINTS,
        "An access point goes in authorizationConfig.accessPointId, and ECS requires "
        "transitEncryption ENABLED with it.",
    ),
    real=RealEfsLab(
        number=14,
        slug="efs",
        title="EFS shared across zones (real containers)",
        runs_on=(
            "kind, real containers (ecsk-testapp on the EC2 workers, one per zone; EFS is a directory "
            "every node mounts): the check writes a file in one zone and reads it in the others"
        ),
        topic="ECS data volumes (EFS): persistent multi-AZ shared storage",
        goal=(
            f"`{NAME}` runs {DESIRED} tasks spread over the zones, each writing uploads to {PATH} on a "
            "Docker volume of its own: a file written by the task in one zone is missing in the others. "
            f"Mount the EFS file system {FILE_SYSTEM} (rootDirectory /, encrypted in transit) instead, "
            "so every task in every zone shares the same files."
        ),
        steps=_REAL_STEPS,
        hints=(
            *EFS_HINTS,
            f"The check writes {PROBE_PREFIX}<id>.txt from the task in the first zone and reads it from "
            "the tasks in the other zones (kubectl exec, the test app's /file).",
        ),
    ),
)
