"""Helpers of the real-container suite: ECS documents in, pods and service status out
(kubectl and wait_for are the integration suite's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pykube
import yaml
from kubectl import kubectl

CR = "ecs.ecsk.io/v1alpha1"
IMAGE = "ecsk-testapp:latest"


def container(name: str, **extra: Any) -> dict[str, Any]:
    """A test-app container definition; `env` is a plain dict."""
    env = {"CONTAINER_NAME": name, **extra.pop("env", {})}
    out = {
        "name": name,
        "image": IMAGE,
        "cpu": 32,
        "memory": 32,
        "essential": True,
        "environment": [{"name": k, "value": str(v)} for k, v in env.items()],
    }
    out.update(extra)
    return out


def health_check(port: int = 8080, **timing: int) -> dict[str, Any]:
    """ECS bounds: interval >= 5 s, timeout >= 2 s, retries 1-10."""
    return {
        "command": ["CMD", "/ecsk-testapp", "health", f"http://localhost:{port}/health"],
        "interval": timing.get("interval", 5),
        "timeout": timing.get("timeout", 2),
        "retries": timing.get("retries", 2),
        **({"startPeriod": timing["startPeriod"]} if "startPeriod" in timing else {}),
    }


def task_definition(family: str, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec = {"family": family, "networkMode": "awsvpc", "containerDefinitions": containers, **extra}
    return {"apiVersion": CR, "kind": "TaskDefinition", "metadata": {"name": family}, "spec": spec}


def service(name: str, family: str, desired: int, **extra: Any) -> dict[str, Any]:
    spec = {
        "serviceName": name,
        "taskDefinition": family,
        "desiredCount": desired,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b", "subnet-c"]}},
        **extra,
    }
    return {"apiVersion": CR, "kind": "ECSService", "metadata": {"name": name}, "spec": spec}


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def service_status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "ECSService")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj.get("status") or {})


def pods(api: pykube.HTTPClient, ns: str, service_name: str) -> list[dict[str, Any]]:
    found = pykube.Pod.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": service_name})
    return [p.obj for p in found if not p.obj["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    conds = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def ready_pods(api: pykube.HTTPClient, ns: str, service_name: str, count: int) -> list[dict[str, Any]] | None:
    found = [p for p in pods(api, ns, service_name) if ready(p)]
    return found if len(found) == count else None


def exec_in(kubeconfig: str, ns: str, pod: str, container_name: str, *argv: str) -> str:
    return kubectl(kubeconfig, "-n", ns, "exec", pod, "-c", container_name, "--", *argv).stdout


def started_at(pod: dict[str, Any], name: str) -> datetime:
    return _state_time(pod, name, "startedAt")


def finished_at(pod: dict[str, Any], name: str) -> datetime:
    return _state_time(pod, name, "finishedAt")


def _state_time(pod: dict[str, Any], name: str, key: str) -> datetime:
    status = pod["status"]
    for cs in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        if cs["name"] != name:
            continue
        for state in (cs.get("state") or {}, (cs.get("lastState") or {})):
            for value in state.values():
                if value and value.get(key):
                    return datetime.fromisoformat(value[key].replace("Z", "+00:00"))
    raise AssertionError(f"container {name} has no {key} in pod {pod['metadata']['name']}")
