"""The Copilot workflow's only door to the API server (pykube, as every tools-layer command).

Writes are server-side applies with the field manager `ecsk-copilot` (a re-deploy changes what
the manifest changed and nothing the operator or the autoscaler own); deletes go by the
application / environment / service labels, so they remove exactly what the workflow created.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from typing import Any

from ecsk.core.copilot import names

API_VERSION = "ecs.ecsk.io/v1alpha1"
FIELD_MANAGER = "ecsk-copilot"
WORKLOAD_KINDS = (
    "ScalingPolicy",
    "ScalableTarget",
    "ScheduledTask",
    "ECSService",
    "AppRunnerService",
    "TaskDefinition",
    "Repository",
)
"""What a workload deploy creates, in deletion order (scaling before its service, the task
definition last: the operator still reads it while the service goes)."""
ENVIRONMENT_KINDS = ("ECSCluster",)
ALL_KINDS = (
    "TaskDefinition", "ECSService", "Task", "ScheduledTask", "ScalableTarget", "ScalingPolicy",
    "ScheduledAction", "Repository", "CapacityProvider", "FargateProfile", "ECSCluster", "AppRunnerService",
)  # fmt: skip
"""Every kind of ecsk custom resource (crds/), for what else lives in a namespace."""

Obj = dict[str, Any]


class KubeError(Exception):
    """The API server refused or is unreachable; the message says what and why."""


def _plural(kind: str) -> str:
    low = kind.lower()
    return low[:-1] + "ies" if low.endswith("y") else low + "s"


def resource_class(kind: str) -> Any:
    """A pykube class for one of ecsk's custom resources (no discovery round trip)."""
    import pykube

    return type(
        kind,
        (pykube.objects.NamespacedAPIObject,),
        {"version": API_VERSION, "endpoint": _plural(kind), "kind": kind},
    )


def _class_for(api: Any, obj: Obj) -> Any:
    import pykube

    if obj["apiVersion"] == API_VERSION:
        return resource_class(obj["kind"])
    return pykube.object_factory(api, obj["apiVersion"], obj["kind"])


def _check(response: Any, what: str) -> Any:
    if response.status_code >= 400:
        try:
            reason = response.json().get("message") or response.text
        except ValueError:
            reason = response.text
        raise KubeError(f"{what}: {reason}")
    return response.json() if response.content else {}


def apply(api: Any, obj: Obj) -> Obj:
    """Server-side apply `obj` (forcing: the workflow owns every field it sets)."""
    cls = _class_for(api, obj)
    inst = cls(api, obj)
    kwargs = inst.api_kwargs(data=json.dumps(obj), params={"fieldManager": FIELD_MANAGER, "force": "true"})
    kwargs["headers"] = {"Content-Type": "application/apply-patch+yaml"}
    return dict(_check(api.patch(**kwargs), f"apply {obj['kind']}/{obj['metadata']['name']}"))


def get(api: Any, kind: str, namespace: str, name: str, version: str = API_VERSION) -> Obj | None:
    import pykube

    cls = resource_class(kind) if version == API_VERSION else pykube.object_factory(api, version, kind)
    try:
        return dict(cls.objects(api, namespace=namespace).get(name=name).obj)
    except pykube.exceptions.ObjectDoesNotExist:
        return None


def listed(
    api: Any, kind: str, namespace: str | None, selector: str, version: str = API_VERSION
) -> list[Obj]:
    """Objects of `kind` matching `selector` (a missing CRD lists nothing)."""
    import pykube

    cls = resource_class(kind) if version == API_VERSION else pykube.object_factory(api, version, kind)
    query = cls.objects(api, namespace=namespace if namespace is not None else pykube.all)
    try:  # list items carry no apiVersion/kind: put them back, deletes need them
        return [{**o.obj, "apiVersion": version, "kind": kind} for o in query.filter(selector=selector)]
    except pykube.exceptions.HTTPError as exc:
        if getattr(exc, "code", None) == 404:
            return []
        raise KubeError(f"list {kind}: {exc}") from exc


def delete(api: Any, obj: Obj) -> bool:
    import pykube

    cls = _class_for(api, obj)
    try:
        cls(api, obj).delete()
    except pykube.exceptions.ObjectDoesNotExist:
        return False
    return True


def foreign(api: Any, namespace: str, selector: str) -> list[str]:
    """What in `namespace` the workflow did not make (does not carry `selector`): ecsk custom
    resources, and Deployments and Pods nobody owns. Deleting the namespace would delete them."""
    import pykube

    ours = {(k, o["metadata"]["name"]) for k in ALL_KINDS for o in listed(api, k, namespace, selector)}
    found = [
        f"{k}/{o['metadata']['name']}"
        for k in ALL_KINDS
        for o in listed(api, k, namespace, "")
        if (k, o["metadata"]["name"]) not in ours
    ]
    for cls in (pykube.Deployment, pykube.Pod):
        for obj in cls.objects(api, namespace=namespace):
            if not obj.obj["metadata"].get("ownerReferences"):
                found.append(f"{obj.kind}/{obj.name}")
    return found


def delete_labelled(api: Any, namespace: str, selector: str, kinds: Iterable[str]) -> list[str]:
    """Delete every object of `kinds` in `namespace` carrying `selector`; what was deleted."""
    gone = []
    for kind in kinds:
        for obj in listed(api, kind, namespace, selector):
            if delete(api, obj):
                gone.append(f"{kind}/{obj['metadata']['name']}")
    return gone


def wait_gone(
    api: Any, namespace: str, selector: str, kinds: Iterable[str], timeout: float = 60.0
) -> list[str]:
    """Wait until no object of `kinds` with `selector` is left; what is still there at the end."""
    deadline = time.monotonic() + timeout
    left: list[str] = []
    while True:
        left = [f"{k}/{o['metadata']['name']}" for k in kinds for o in listed(api, k, namespace, selector)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


# --- namespaces and environment records --------------------------------------------------------


def namespace_exists(api: Any, name: str) -> bool:
    import pykube

    try:
        ns = pykube.Namespace.objects(api).get(name=name)
    except pykube.exceptions.ObjectDoesNotExist:
        return False
    return not ns.obj.get("metadata", {}).get("deletionTimestamp")


def create_namespace(api: Any, name: str, labels: dict[str, str], wait: float = 60.0) -> None:
    """Create `name`, waiting (bounded) for a namespace of that name still being deleted."""
    import pykube

    deadline = time.monotonic() + wait
    while True:
        try:
            current = pykube.Namespace.objects(api).get(name=name)
        except pykube.exceptions.ObjectDoesNotExist:
            break
        if not current.obj["metadata"].get("deletionTimestamp"):
            return
        if time.monotonic() > deadline:
            raise KubeError(f"namespace {name} is still being deleted after {wait:.0f} s: try again shortly")
        time.sleep(0.5)
    pykube.Namespace(api, {"metadata": {"name": name, "labels": labels}}).create()


def delete_namespace(api: Any, name: str) -> bool:
    import pykube

    with contextlib.suppress(pykube.exceptions.ObjectDoesNotExist):
        pykube.Namespace.objects(api).get(name=name).delete()
        return True
    return False


def environments(api: Any, app: str, env: str | None = None) -> list[Obj]:
    """The environment records (ConfigMaps) of `app` across namespaces, optionally one `env`."""
    selector = names.selector(app, env) + f",{names.LABEL_ROLE}=environment"
    return listed(api, "ConfigMap", None, selector, version="v1")


def pods(api: Any, namespace: str, selector: dict[str, str]) -> list[Obj]:
    import pykube

    return [dict(p.obj) for p in pykube.Pod.objects(api, namespace=namespace).filter(selector=selector)]


def pod_log(api: Any, namespace: str, pod: str, container: str, tail: int | None = None) -> str:
    """The container's output with the kubelet's timestamps (`pods/log`)."""
    import pykube

    obj = pykube.Pod.objects(api, namespace=namespace).get(name=pod)
    return str(obj.logs(container=container, timestamps=True, tail_lines=tail))


def node(api: Any, name: str) -> Obj | None:
    import pykube

    try:
        return dict(pykube.Node.objects(api).get(name=name).obj)
    except pykube.exceptions.ObjectDoesNotExist:
        return None
