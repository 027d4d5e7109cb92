"""Small builders shared by the translation tests (not a test module)."""

from __future__ import annotations

from typing import Any

from ecsk.core.models import ECSService, TaskDefinition, parse_service, parse_task_definition
from ecsk.core.translate import RenderOptions, RenderResult, render_service, render_task_definition


def td(containers: list[dict[str, Any]] | None = None, **fields: Any) -> TaskDefinition:
    doc: dict[str, Any] = {
        "family": fields.pop("family", "app"),
        "containerDefinitions": containers or [{"name": "app", "image": "nginx:1.25", "memory": 128}],
    }
    doc.update(fields)
    return parse_task_definition(doc)


def svc(**fields: Any) -> ECSService:
    doc: dict[str, Any] = {"serviceName": fields.pop("serviceName", "web"), "taskDefinition": "app"}
    doc.update(fields)
    return parse_service(doc)


def render(t: TaskDefinition, **opts: Any) -> RenderResult:
    return render_task_definition(t, RenderOptions(**opts))


def render_svc(s: ECSService, t: TaskDefinition, **opts: Any) -> RenderResult:
    return render_service(s, t, RenderOptions(**opts))


def pod_spec(result: RenderResult) -> dict[str, Any]:
    for obj in result.objects:
        if obj["kind"] == "PodTemplate":
            return obj["template"]["spec"]
        if obj["kind"] in ("Deployment", "DaemonSet"):
            return obj["spec"]["template"]["spec"]
    raise AssertionError("no pod spec rendered")


def template_meta(result: RenderResult) -> dict[str, Any]:
    for obj in result.objects:
        if obj["kind"] == "PodTemplate":
            return obj["template"]["metadata"]
        if obj["kind"] in ("Deployment", "DaemonSet"):
            return obj["spec"]["template"]["metadata"]
    raise AssertionError("no pod template rendered")


def container(result: RenderResult, name: str) -> dict[str, Any]:
    spec = pod_spec(result)
    for c in [*spec.get("initContainers", []), *spec["containers"]]:
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def objects(result: RenderResult, kind: str) -> list[dict[str, Any]]:
    return [o for o in result.objects if o["kind"] == kind]


def explanation(result: RenderResult, path: str) -> Any:
    for e in result.explanations:
        if e.ecs_path == path:
            return e
    raise AssertionError(f"no explanation for {path}: {[e.ecs_path for e in result.explanations]}")
