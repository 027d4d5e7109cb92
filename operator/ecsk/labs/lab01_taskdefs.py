"""Lab 01: task definitions are JSON, hold up to 10 containers, and every change is a revision."""

from __future__ import annotations

from typing import Any

from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    container,
    invalid_reason,
    latest_revision,
    missing_namespace,
    td_doc,
)

FAMILY = "shop"


def _shop(sidecar: bool) -> Obj:
    app = container("app", memory=256, portMappings=[{"containerPort": 8080, "protocol": "tcp"}])
    containers: list[dict[str, Any]] = [app]
    if sidecar:
        app["environment"] = [{"name": "LOG_LEVEL", "value": "info"}]
        containers.append(
            container(
                "log-router",
                image="public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0",
                essential=False,
            )
        )
    body = {"family": FAMILY, "cpu": "512", "memory": "1024", "containerDefinitions": containers}
    return td_doc(FAMILY, body)


def _container_problems(number: int, doc: dict[str, Any]) -> list[str]:
    defs = {c.get("name"): c for c in doc.get("containerDefinitions") or []}
    out = []
    sidecar = defs.get("log-router")
    if sidecar is None:
        names = ", ".join(str(n) for n in defs) or "none"
        out.append(
            f"revision {FAMILY}:{number} has the containers [{names}]: "
            "add a second container named log-router"
        )
    elif sidecar.get("essential", True):
        out.append(
            f'in {FAMILY}:{number} log-router is essential: set "essential": false, '
            "so a crashing sidecar does not stop the task"
        )
    env = {e.get("name"): e.get("value") for e in (defs.get("app") or {}).get("environment") or []}
    if env.get("LOG_LEVEL") != "info":
        out.append(f"in {FAMILY}:{number} the app container has no environment variable LOG_LEVEL=info")
    return out


class TaskDefinitionsLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_shop(sidecar=False)]

    def settled(self, snap: Snapshot) -> bool:
        return latest_revision(snap, FAMILY)[2] >= 1

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_shop(sidecar=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if missing := missing_namespace(snap):
            return missing
        td = snap.get("TaskDefinition", FAMILY)
        if td is None:
            return [f"TaskDefinition {FAMILY} is gone: `ecsk lab start {self.number}` creates it again"]
        if reason := invalid_reason(td):
            return [f"the operator refused TaskDefinition {FAMILY}: {reason}"]
        number, doc, count = latest_revision(snap, FAMILY)
        if doc is None:
            return [
                f"{FAMILY} has no registered revision yet: is the operator running (`ecsk cluster status`)?"
            ]
        if count < 2:
            return [
                f"{FAMILY} has 1 revision ({FAMILY}:{number}); "
                f"change the spec and apply it again to register "
                f"{FAMILY}:{number + 1}",
                *_container_problems(number, doc),
            ]
        return _container_problems(number, doc)


LAB = TaskDefinitionsLab(
    number=1,
    slug="task-definitions",
    title="Task definitions: JSON, containers, revisions",
    topic="ECS task definitions (JSON metadata, up to 10 containers, revisions)",
    goal=(
        "Register revision 2 of the task definition `shop`: add a sidecar container `log-router` "
        "(essential: false) and give the `app` container the environment variable LOG_LEVEL=info."
    ),
    steps=(
        "Look at revision 1: kubectl -n {ns} get taskdefinition shop -o yaml  (status.revisions)",
        "Export it: kubectl -n {ns} get taskdefinition shop -o yaml > shop.yaml",
        "Edit shop.yaml: add a container {{name: log-router, image: "
        "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0, essential: false, "
        "memoryReservation: 64}} "
        "and environment [{{name: LOG_LEVEL, value: info}}] on app",
        "Apply it: kubectl -n {ns} apply -f shop.yaml, "
        "then kubectl -n {ns} get configmaps -l ecs.ecsk.io/family=shop",
        "Compare the frozen revisions: kubectl -n {ns} get configmap td-shop-1 td-shop-2 -o yaml",
    ),
    hints=(
        "Each distinct spec of a TaskDefinition becomes the next revision (shop:1, shop:2, ...); "
        "revisions are immutable ConfigMaps named td-shop-N.",
        "containerDefinitions is a list: append a second item with its own name and image.",
        'A container is essential unless it says "essential": false; the app needs '
        "environment: [{{name: LOG_LEVEL, value: info}}].",
    ),
)
