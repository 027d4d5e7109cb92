"""Lab 13: bind mounts and ephemeral storage: the sidecar pattern on Fargate. A task-scoped
volume (no host path) shared by the application and a log-router sidecar (volumesFrom,
read-only), and more ephemeral storage than Fargate's default 20 GiB.

The check reads the task definition and the pods the operator rendered: the volume must be one
`emptyDir` mounted by both containers, and the pod must request the ephemeral storage."""

from __future__ import annotations

from typing import Any

from ecsk.core.common.quantity import quantity_or_none
from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    container,
    fargate_service,
    require,
    spec,
    td_container,
    td_doc,
)

NAME = "frontend"
WEB, SIDECAR = "web", "log-router"
VOLUME = "logs"
LOG_DIR = "/var/log/nginx"
DESIRED = 2
STORAGE_GIB = 50
FLUENT_BIT = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
GIB = 1024**3


def _td(solved: bool) -> Obj:
    web = container(WEB)
    sidecar = container(SIDECAR, image=FLUENT_BIT, essential=False)
    body: dict[str, Any] = {
        "family": NAME,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "containerDefinitions": [web, sidecar],
    }
    if solved:
        body["volumes"] = [{"name": VOLUME}]
        body["ephemeralStorage"] = {"sizeInGiB": STORAGE_GIB}
        web["mountPoints"] = [{"sourceVolume": VOLUME, "containerPath": LOG_DIR}]
        sidecar["volumesFrom"] = [{"sourceContainer": WEB, "readOnly": True}]
    return td_doc(NAME, body)


def _volume_problems(td: dict[str, Any]) -> list[str]:
    volume = next((v for v in td.get("volumes") or [] if v.get("name") == VOLUME), None)
    if volume is None:
        return [f"TaskDefinition {NAME} has no volume named {VOLUME}: add volumes [{{name: {VOLUME}}}]"]
    if (volume.get("host") or {}).get("sourcePath"):
        return [
            f"volume {VOLUME} has host.sourcePath: that is a directory of an EC2 instance, and Fargate "
            "has none; leave `host` out so the volume lives with the task"
        ]
    return []


def _mount_problems(td: dict[str, Any]) -> list[str]:
    out = []
    mounts = td_container(td, WEB).get("mountPoints") or []
    if not any(m.get("sourceVolume") == VOLUME and m.get("containerPath") == LOG_DIR for m in mounts):
        out.append(f"container {WEB} does not mount {VOLUME} at {LOG_DIR}, where nginx writes its logs")
    sidecar = td_container(td, SIDECAR)
    source = next((v for v in sidecar.get("volumesFrom") or [] if v.get("sourceContainer") == WEB), None)
    if source is None:
        out.append(
            f"container {SIDECAR} does not see {WEB}'s logs: add volumesFrom "
            f"[{{sourceContainer: {WEB}, readOnly: true}}]"
        )
    elif not source.get("readOnly"):
        out.append(f"{SIDECAR} mounts {WEB}'s volumes read-write: the sidecar only reads, set readOnly: true")
    if sidecar.get("essential", True):
        out.append(f"{SIDECAR} is essential: a crashing log router would stop the application's task")
    size = (td.get("ephemeralStorage") or {}).get("sizeInGiB")
    if size != STORAGE_GIB:
        now = f"{size} GiB" if size else "Fargate's default 20 GiB"
        out.append(
            f"the task has {now} of ephemeral storage; the goal is ephemeralStorage.sizeInGiB {STORAGE_GIB}"
        )
    return out


def _pod_mounts(pod: Obj) -> dict[str, dict[str, Any]]:
    """Container name -> its mount of the shared volume (empty when it has none)."""
    return {
        str(c.get("name")): next((m for m in c.get("volumeMounts") or [] if m.get("name") == VOLUME), {})
        for c in (pod.get("spec") or {}).get("containers") or []
    }


def pod_storage_bytes(pod: Obj) -> int:
    """The ephemeral storage the pod asks for: its containers' requests summed."""
    total = 0
    for c in (pod.get("spec") or {}).get("containers") or []:
        raw = ((c.get("resources") or {}).get("requests") or {}).get("ephemeral-storage")
        total += int(quantity_or_none(raw) or 0)
    return total


def pod_problem(pod: Obj) -> str | None:
    """What the rendered pod lacks: one emptyDir, mounted by both containers, the storage asked for."""
    volume = next((v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("name") == VOLUME), None)
    if volume is None or "emptyDir" not in volume:
        return f"has no emptyDir volume {VOLUME}"
    mounts = _pod_mounts(pod)
    if mounts.get(WEB, {}).get("mountPath") != LOG_DIR or mounts.get(SIDECAR, {}).get("mountPath") != LOG_DIR:
        return f"does not mount {VOLUME} at {LOG_DIR} in both {WEB} and {SIDECAR}"
    if not mounts[SIDECAR].get("readOnly"):
        return f"mounts {VOLUME} read-write in {SIDECAR}"
    if pod_storage_bytes(pod) != STORAGE_GIB * GIB:
        return f"requests {pod_storage_bytes(pod) / GIB:g} GiB of ephemeral-storage, not {STORAGE_GIB}"
    return None


def _task_problems(snap: Snapshot) -> list[str]:
    running = snap.running_tasks(NAME)
    if len(running) != DESIRED:
        return [f"{len(running)} of {DESIRED} {NAME} tasks are running"]
    for pod in running:
        if why := pod_problem(pod):
            return [f"task {pod['metadata']['name']} {why}: wait for the new revision's tasks"]
    return []


class BindMountsLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td(solved=False), fargate_service(NAME, DESIRED)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(solved=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        td = spec(snap.get("TaskDefinition", NAME))
        return _volume_problems(td) + _mount_problems(td) + _task_problems(snap)


LAB = BindMountsLab(
    number=13,
    slug="bind-mounts",
    runs_on=(
        "embedded cluster (no files move: the rendered pod's emptyDir, mounts and storage request "
        "are checked)"
    ),
    title="Bind mounts and ephemeral storage: the sidecar pattern",
    topic="ECS data volumes (bind mounts): shared task storage, Fargate ephemeral storage, sidecars",
    goal=(
        f"In the Fargate task `{NAME}`, nginx ({WEB}) writes its logs to {LOG_DIR}, but the "
        f"{SIDECAR} sidecar cannot see them. Share a task-scoped volume `{VOLUME}` ({WEB} writes, "
        f"{SIDECAR} reads through volumesFrom, read-only) and give the task {STORAGE_GIB} GiB of "
        "ephemeral storage for the log buffer."
    ),
    steps=(
        "Nothing is shared yet: kubectl -n {ns} get pods -o yaml | grep -A3 volumeMounts",
        "kubectl -n {ns} edit taskdefinition frontend:",
        f"  volumes: [{{{{name: {VOLUME}}}}}]   (no host: a bind mount that lives with the task)",
        f"  {WEB}: mountPoints: [{{{{sourceVolume: {VOLUME}, containerPath: {LOG_DIR}}}}}]",
        f"  {SIDECAR}: volumesFrom: [{{{{sourceContainer: {WEB}, readOnly: true}}}}]",
        f"  ephemeralStorage: {{{{sizeInGiB: {STORAGE_GIB}}}}}",
        "See the rendered pod: kubectl -n {ns} get pods -o yaml | grep -B2 -A6 'volumes:'",
    ),
    hints=(
        "A volume with no `host` (or no sourcePath) is a bind mount tied to the task: both containers "
        "can mount it, and it is gone when the task stops.",
        "volumesFrom copies every mount point of another container; readOnly: true for a reader.",
        "Fargate gives each task 20 GiB of ephemeral storage by default, up to 200 GiB with "
        "ephemeralStorage.sizeInGiB in the task definition.",
    ),
)
