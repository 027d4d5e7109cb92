"""Lab 13: bind mounts and ephemeral storage: the sidecar pattern on Fargate. A task-scoped
volume (no host path) shared by the application and a log-router sidecar (volumesFrom,
read-only), and more ephemeral storage than Fargate's default 20 GiB.

The check reads the task definition and the pods the operator rendered: the volume must be one
`emptyDir` mounted by both containers, and the pod must request the ephemeral storage.

The real-container variant (`ecsk lab start 13 --real`, on kind) runs the same task with the
test app in both containers on EC2 capacity (kind's Fargate nodes are kwok's, and run nothing);
its check also writes a line from the app container and reads it back through the sidecar's
read-only mount, and proves the sidecar cannot write there."""

from __future__ import annotations

from typing import Any

from ecsk.core.common.quantity import quantity_or_none
from ecsk.labs.engine import (
    SUBNETS,
    Exec,
    Lab,
    Obj,
    ProbeError,
    Probes,
    Snapshot,
    container,
    ec2_service,
    fargate_service,
    require,
    spec,
    td_container,
    td_doc,
    testapp,
)

NAME = "frontend"
WEB, SIDECAR = "web", "log-router"
VOLUME = "logs"
LOG_DIR = "/var/log/nginx"
DESIRED = 2
STORAGE_GIB = 50
FLUENT_BIT = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
GIB = 1024**3
WEB_PORT, SIDECAR_PORT = 8080, 8081
PROBE_FILE = f"{LOG_DIR}/ecsk-lab-check.log"


def _td(solved: bool, real: bool = False) -> Obj:
    web = testapp(WEB, WEB_PORT) if real else container(WEB)
    sidecar = (
        testapp(SIDECAR, SIDECAR_PORT, essential=False)
        if real
        else container(SIDECAR, image=FLUENT_BIT, essential=False)
    )
    body: dict[str, Any] = {
        "family": NAME,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["EC2"] if real else ["FARGATE"],
        "containerDefinitions": [web, sidecar],
    }
    if not real:  # Fargate needs task-level sizes; on EC2 the containers' own are enough
        body.update(cpu="512", memory="1024")
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


def file_problems(run: Exec, pod: str) -> list[str]:
    """In one running task: a line the app writes into the shared volume is served back by the
    sidecar from its read-only mount, and the sidecar's own write there is refused."""
    line = f"written by {WEB} in {pod}"
    url = f"http://localhost:{{port}}/file?path={PROBE_FILE}"
    run(pod, WEB, ["/ecsk-testapp", "put", url.format(port=WEB_PORT), line])
    seen = run(pod, SIDECAR, ["/ecsk-testapp", "get", url.format(port=SIDECAR_PORT)]).strip()
    if seen != line:
        return [f"{SIDECAR} in task {pod} reads {seen!r} from {PROBE_FILE}, not the line {WEB} wrote"]
    try:
        run(pod, SIDECAR, ["/ecsk-testapp", "put", url.format(port=SIDECAR_PORT), "from the sidecar"])
    except ProbeError:
        return []  # refused: the mount is read-only, as it should be
    return [f"{SIDECAR} in task {pod} could write into {LOG_DIR}: its mount is not read-only"]


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


class RealBindMountsLab(BindMountsLab):
    """The same lab with the test app in real containers on EC2 capacity (kind workers)."""

    def starting_objects(self) -> list[Obj]:
        vpc = {"awsvpcConfiguration": {"subnets": list(SUBNETS), "assignPublicIp": "DISABLED"}}
        return [_td(solved=False, real=True), ec2_service(NAME, DESIRED, networkConfiguration=vpc)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(solved=True, real=True)]

    def live_problems(self, snap: Snapshot, probes: Probes) -> list[str]:
        out: list[str] = []
        for pod in snap.running_tasks(NAME):
            out += file_problems(probes.run, pod["metadata"]["name"])
        return out


BIND_HINTS = (
    "A volume with no `host` (or no sourcePath) is a bind mount tied to the task: both containers "
    "can mount it, and it is gone when the task stops.",
    "volumesFrom copies every mount point of another container; readOnly: true for a reader.",
    "Fargate gives each task 20 GiB of ephemeral storage by default, up to 200 GiB with "
    "ephemeralStorage.sizeInGiB in the task definition.",
)
_REAL_STEPS = (
    "The same task with the test app in both containers, on EC2 capacity: kind's Fargate nodes are "
    "simulated (kwok) and run no container, its three workers run real ones.",
    "Nothing is shared yet: kubectl -n {ns} get pods -o yaml | grep -A3 volumeMounts",
    "kubectl -n {ns} edit taskdefinition frontend: the same four changes as on the embedded cluster:",
    f"  volumes: [{{{{name: {VOLUME}}}}}]; "
    f"{WEB}: mountPoints [{{{{sourceVolume: {VOLUME}, containerPath: {LOG_DIR}}}}}]",
    f"  {SIDECAR}: volumesFrom: [{{{{sourceContainer: {WEB}, readOnly: true}}}}]; "
    f"ephemeralStorage: {{{{sizeInGiB: {STORAGE_GIB}}}}}",
    "Try it in a task (POD: one of `kubectl -n {ns} get pods`):",
    f"  kubectl -n {{ns}} exec POD -c {WEB} -- /ecsk-testapp put "
    f"'http://localhost:{WEB_PORT}/file?path={LOG_DIR}/app.log' hello",
    f"  kubectl -n {{ns}} exec POD -c {SIDECAR} -- /ecsk-testapp get "
    f"'http://localhost:{SIDECAR_PORT}/file?path={LOG_DIR}/app.log'",
)
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
    hints=BIND_HINTS,
    real=RealBindMountsLab(
        number=13,
        slug="bind-mounts",
        runs_on=(
            "kind, real containers (ecsk-testapp on the EC2 workers): the check writes a line from "
            f"{WEB} and reads it through {SIDECAR}'s read-only mount"
        ),
        title="Bind mounts and ephemeral storage: the sidecar pattern (real containers)",
        topic="ECS data volumes (bind mounts): shared task storage, ephemeral storage, sidecars",
        goal=(
            f"In the task `{NAME}`, the app ({WEB}) writes its logs to {LOG_DIR}, but the {SIDECAR} "
            f"sidecar cannot see them. Share a task-scoped volume `{VOLUME}` ({WEB} writes, {SIDECAR} "
            f"reads through volumesFrom, read-only) and give the task {STORAGE_GIB} GiB of ephemeral "
            "storage for the log buffer."
        ),
        steps=_REAL_STEPS,
        hints=(
            *BIND_HINTS,
            f"The check writes {PROBE_FILE} from {WEB} (port {WEB_PORT}) and reads it from {SIDECAR} "
            f"(port {SIDECAR_PORT}): both containers' test apps serve their own view of the files.",
        ),
    ),
)
