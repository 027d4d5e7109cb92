"""The labs' only door to the API server (pykube, as every tools-layer command): read a
snapshot, create or update objects, remember hints, restore node labels, delete the namespace."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from ecsk.core.translate.names import MANAGED_BY
from ecsk.labs.engine import (
    CR,
    ECS_KINDS,
    EMBEDDED,
    HINTS_ANNOTATION,
    LAB_LABEL,
    NODE_LABELS_ANNOTATION,
    VARIANT_ANNOTATION,
    Exec,
    Lab,
    LabError,
    Obj,
    ProbeError,
    Probes,
    Snapshot,
    StoredValues,
)

PLURALS = {
    "TaskDefinition": "taskdefinitions",
    "ECSService": "ecsservices",
    "Task": "tasks",
    "CapacityProvider": "capacityproviders",
    "FargateProfile": "fargateprofiles",
    "ScalableTarget": "scalabletargets",
    "ScalingPolicy": "scalingpolicies",
    "ScheduledAction": "scheduledactions",
    "Repository": "repositories",
    "ECSCluster": "ecsclusters",
    "AppRunnerService": "apprunnerservices",
}


def _ecs_class(kind: str) -> Any:
    """A pykube class for one of our CRDs without a discovery round trip per kind."""
    import pykube

    return type(
        kind, (pykube.objects.NamespacedAPIObject,), {"version": CR, "endpoint": PLURALS[kind], "kind": kind}
    )


def _class_for(api: Any, doc: Obj) -> Any:
    import pykube

    if doc["apiVersion"] == CR:
        return _ecs_class(doc["kind"])
    return pykube.object_factory(api, doc["apiVersion"], doc["kind"])


def _namespace(api: Any, name: str) -> Any | None:
    import pykube

    try:
        return pykube.Namespace.objects(api).get(name=name)
    except pykube.exceptions.ObjectDoesNotExist:
        return None


def _terminating(obj: Obj) -> bool:
    return obj.get("status", {}).get("phase") == "Terminating" or bool(
        obj["metadata"].get("deletionTimestamp")
    )


BUSY = (429, 503, 504)
"""Answers of a busy API server (priority and fairness throttling, an etcd timeout): a list is
tried again after a short wait, as client-go does, instead of failing a participant's check."""
LIST_ATTEMPTS = 6


def _status_code(exc: Exception) -> int | None:
    """The HTTP status of a failed list: pykube raises its own HTTPError for some answers and
    requests' for others (a 429 from a list comes through `raise_for_status`)."""
    code = getattr(exc, "code", None)
    if code is None:
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def _list(cls: Any, api: Any, namespace: str, sleep: Callable[[float], None] | None = None) -> list[Obj]:
    import time

    import pykube
    import requests

    for attempt in range(LIST_ATTEMPTS):
        try:
            return [o.obj for o in cls.objects(api, namespace=namespace)]
        except (pykube.exceptions.HTTPError, requests.exceptions.HTTPError) as exc:
            code = _status_code(exc)
            if code == 404:  # CRD not installed: nothing of that kind exists
                return []
            if code not in BUSY or attempt == LIST_ATTEMPTS - 1:
                raise
        (sleep or time.sleep)(min(2.0, 0.25 * 2**attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _optional_kind(api: Any, version: str, kind: str, namespace: str) -> list[Obj]:
    """Objects of a kind whose CRD may be missing (TargetGroupBinding needs the AWS Load Balancer
    Controller's CRDs): none then, not a crash."""
    import pykube
    import requests

    try:
        cls = pykube.object_factory(api, version, kind)
    except (ValueError, requests.exceptions.HTTPError):  # kind or whole group unknown
        return []
    return _list(cls, api, namespace)


def _secret_metadata(api: Any, namespace: str) -> list[Obj]:
    """The namespace's Secrets with their data keys but not their values: a check asks whether a
    key (a version, a json-key) exists, and a snapshot never carries a participant's secrets."""
    import pykube

    return [
        {"metadata": s["metadata"], "type": s.get("type"), "data": dict.fromkeys(s.get("data") or {}, "")}
        for s in _list(pykube.Secret, api, namespace)
    ]


def _claimed_volumes(api: Any, namespace: str) -> list[Any]:
    """PersistentVolumes claimed from the namespace (an EFS access point's static volume)."""
    import pykube

    return [
        v
        for v in pykube.PersistentVolume.objects(api)
        if ((v.obj.get("spec") or {}).get("claimRef") or {}).get("namespace") == namespace
    ]


def delete_claimed_volumes(api: Any, namespace: str) -> list[str]:
    """The static volumes the operator made for the lab's claims (cluster-scoped, reclaim policy
    Retain: deleting the namespace leaves them behind, Released)."""
    import pykube

    gone = []
    for volume in _claimed_volumes(api, namespace):
        with contextlib.suppress(pykube.exceptions.ObjectDoesNotExist):
            volume.delete()
            gone.append(f"deleted PersistentVolume/{volume.name}")
    return gone


def claimed_storage_classes(api: Any, namespace: str) -> set[str]:
    """StorageClasses the lab's claims name (read before the namespace goes)."""
    import pykube

    return {
        str((c.get("spec") or {}).get("storageClassName") or "")
        for c in _list(pykube.PersistentVolumeClaim, api, namespace)
    } - {""}


def delete_unused_storage_classes(api: Any, namespace: str, names: set[str]) -> list[str]:
    """StorageClasses of the lab, once no claim outside the lab uses them: those the operator made
    for the lab's claims (ecsk names them by file system and configuration, not by namespace, so
    another namespace mounting the same file system shares one: that one is kept), and those the
    lab asked the participant to name `<lab namespace>-...`."""
    import pykube

    used = {
        str((c.obj.get("spec") or {}).get("storageClassName") or "")
        for c in pykube.PersistentVolumeClaim.objects(api, namespace=pykube.all)
        if c.namespace != namespace
    }
    gone = []
    for sc in pykube.object_factory(api, "storage.k8s.io/v1", "StorageClass").objects(api):
        mine = (sc.name in names and sc.labels.get(MANAGED_BY) == "ecsk") or sc.name.startswith(
            f"{namespace}-"
        )
        if mine and sc.name not in used:
            with contextlib.suppress(pykube.exceptions.ObjectDoesNotExist):
                sc.delete()
                gone.append(f"deleted StorageClass/{sc.name}")
    return gone


def snapshot(api: Any, namespace: str) -> Snapshot:
    """Read what a check may look at. Nodes and StorageClasses are cluster-wide; the rest is the
    lab namespace only. An API server that fails a read is a LabError naming the failure (a
    check says why it could not look, never prints a traceback)."""
    import pykube
    import requests

    try:
        return _read(api, namespace)
    except (pykube.exceptions.PyKubeError, requests.exceptions.RequestException) as exc:
        raise _read_error(namespace, exc) from exc


def _read_error(namespace: str, exc: Exception) -> LabError:
    return LabError(
        f"could not read namespace {namespace} from the API server ({exc}): try again; "
        "is the cluster up? `ecsk cluster status`"
    )


def _read(api: Any, namespace: str) -> Snapshot:
    import pykube

    ns = _namespace(api, namespace)
    if ns is None or _terminating(ns.obj):
        return Snapshot(namespace, exists=False)
    storage = pykube.object_factory(api, "storage.k8s.io/v1", "StorageClass")
    hpa = pykube.object_factory(api, "autoscaling/v2", "HorizontalPodAutoscaler")
    return Snapshot(
        namespace=namespace,
        variant=((ns.obj.get("metadata") or {}).get("annotations") or {}).get(VARIANT_ANNOTATION, EMBEDDED),
        ecs={kind: _list(_ecs_class(kind), api, namespace) for kind in ECS_KINDS},
        pods=_list(pykube.Pod, api, namespace),
        nodes=_list(pykube.Node, api, pykube.all),
        service_accounts=_list(pykube.ServiceAccount, api, namespace),
        config_maps=_list(pykube.ConfigMap, api, namespace),
        deployments=_list(pykube.Deployment, api, namespace),
        hpas=_list(hpa, api, namespace),
        pvcs=_list(pykube.PersistentVolumeClaim, api, namespace),
        storage_classes=_list(storage, api, pykube.all),
        persistent_volumes=[v.obj for v in _claimed_volumes(api, namespace)],
        services=_list(pykube.Service, api, namespace),
        target_group_bindings=_optional_kind(api, "elbv2.k8s.aws/v1beta1", "TargetGroupBinding", namespace),
        network_policies=_optional_kind(api, "networking.k8s.io/v1", "NetworkPolicy", namespace),
        ingresses=_optional_kind(api, "networking.k8s.io/v1", "Ingress", namespace),
        secrets=_secret_metadata(api, namespace),
    )


def ensure_namespace(api: Any, lab: Lab, namespace: str, wait: float = 60.0) -> bool:
    """Create the lab namespace; False when it already existed (start resumes). A namespace still
    being deleted by a recent reset is waited for (bounded), then created afresh."""
    import time

    import pykube

    deadline = time.monotonic() + wait
    while (ns := _namespace(api, namespace)) is not None and _terminating(ns.obj):
        if time.monotonic() > deadline:
            raise LabError(
                f"namespace {namespace} is still being deleted after {wait:.0f} s: try again shortly"
            )
        time.sleep(0.5)
    if ns is not None:
        return False
    labels = {LAB_LABEL: f"{lab.number:02d}-{lab.slug}"}
    pykube.Namespace(api, {"metadata": {"name": namespace, "labels": labels}}).create()
    return True


def _replace(obj: Any) -> None:
    """PUT the whole object: pykube's `update` merges lists element by element with the stored
    ones, so a shorter list (an environment with fewer variables) would keep the old tail."""
    response = obj.api.put(**obj.api_kwargs(data=json.dumps(obj.obj)))
    obj.api.raise_for_status(response)
    obj.set_obj(response.json())


def apply(api: Any, namespace: str, docs: list[Obj], replace: bool) -> list[str]:
    """Create each object; an existing one keeps its spec unless `replace` (start never undoes the
    participant's work; solve overwrites it with the reference answer). Returns what changed."""
    import pykube

    changed = []
    for doc in docs:
        body = json.loads(json.dumps(doc))
        cls = _class_for(api, body)
        namespaced = issubclass(cls, pykube.objects.NamespacedAPIObject)
        if namespaced:  # a StorageClass is cluster-scoped: the lab names it after its namespace
            body["metadata"]["namespace"] = namespace
        name = body["metadata"]["name"]
        try:
            current = (cls.objects(api, namespace=namespace) if namespaced else cls.objects(api)).get(
                name=name
            )
        except pykube.exceptions.ObjectDoesNotExist:
            cls(api, body).create()
            changed.append(f"created {body['kind']}/{name}")
            continue
        # a ConfigMap has data, not a spec; a StorageClass has neither and cannot change
        content = next((key for key in ("spec", "data") if key in body), None)
        if replace and content and current.obj.get(content) != body.get(content):
            current.obj[content] = body.get(content)
            _replace(current)
            changed.append(f"updated {body['kind']}/{name}")
    return changed


def api_context(api: Any, namespace: str) -> Any:
    """A context of the AWS endpoint's handlers for the lab namespace, in process (no endpoint has
    to run): the same kubeconfig as `api`, and the embedded cluster's image registry."""
    from kubernetes import config as k8s_config

    from ecsk.api.context import Context, Settings
    from ecsk.api.store import Store
    from ecsk.cluster import paths, registry

    path = getattr(api.config, "filepath", None)
    client = k8s_config.new_client_from_config(config_file=str(path)) if path else None
    settings = Settings(
        namespace=namespace,
        registry_url=registry.url(),
        registry_storage=str(registry.storage_dir(paths.home())),
    )
    return Context(store=Store(namespace, client), settings=settings)


def call_api(api: Any, namespace: str, step: Callable[[Any], list[str]]) -> list[str]:
    """Run a lab's AWS API step; an AWS error or an unreachable registry becomes a LabError."""
    from urllib.error import URLError

    from ecsk.api.errors import AwsError

    try:
        return step(api_context(api, namespace))
    except AwsError as exc:
        raise LabError(f"the AWS API refused a lab step: {exc.code}: {exc.message}") from exc
    except (URLError, OSError) as exc:
        raise LabError(
            f"the image registry is not reachable ({exc}): is the embedded cluster up? `ecsk cluster status`"
        ) from exc


def put_values(api: Any, namespace: str, values: StoredValues) -> list[str]:
    """Store the answer's SSM parameters and Secrets Manager secrets in the lab namespace through
    the AWS endpoint's own handlers. A secret that exists gets a new value (PutSecretValue), as a
    participant re-running the step would do."""
    if not values.parameters and not values.secrets:
        return []
    return call_api(api, namespace, lambda ctx: _put_values(ctx, values))


def _put_values(ctx: Any, values: StoredValues) -> list[str]:
    from ecsk.api.secretsmanager import secrets as sm
    from ecsk.api.ssm import parameters as ssm

    done = []
    for name, kind, value in values.parameters:
        ssm.put_parameter(ctx, {"Name": name, "Type": kind, "Value": value, "Overwrite": True})
        done.append(f"put SSM parameter {name} ({kind})")
    for name, value in values.secrets:
        if sm.find(ctx, name) is None:
            sm.create_secret(ctx, {"Name": name, "SecretString": value})
        else:
            sm.put_secret_value(ctx, {"SecretId": name, "SecretString": value})
        done.append(f"stored Secrets Manager secret {name}")
    return done


def _annotations(api: Any, namespace: str) -> dict[str, str]:
    ns = _namespace(api, namespace)
    return dict(((ns.obj if ns else {}).get("metadata") or {}).get("annotations") or {})


def _annotate(api: Any, namespace: str, key: str, value: str) -> None:
    ns = _namespace(api, namespace)
    if ns is not None:
        ns.patch({"metadata": {"annotations": {key: value}}})


def variant(api: Any, namespace: str) -> str | None:
    """The variant `start` recorded on the lab namespace, or None (no namespace, or older). A
    failed read is a LabError in plain words, as for `snapshot`."""
    import pykube
    import requests

    try:
        return _annotations(api, namespace).get(VARIANT_ANNOTATION)
    except (pykube.exceptions.PyKubeError, requests.exceptions.RequestException) as exc:
        raise _read_error(namespace, exc) from exc


def record_variant(api: Any, namespace: str, chosen: str) -> None:
    _annotate(api, namespace, VARIANT_ANNOTATION, chosen)


EXEC_TIMEOUT = 30.0


def executor(api: Any, namespace: str) -> Exec:
    """`kubectl exec` in the lab namespace, with the client's own kubeconfig (pykube has no exec):
    the real-container checks' one way into a running task. Failures become ProbeError."""
    import subprocess

    from ecsk.cluster import binaries

    path = getattr(getattr(api, "config", None), "filepath", None)
    prefix = ["--kubeconfig", str(path)] if path else []

    def run(pod: str, container: str, argv: list[str]) -> str:
        try:
            kubectl = str(binaries.ensure(lambda _m: None, with_metrics_server=False)["kubectl"])
            cmd = [kubectl, *prefix, "-n", namespace, "exec", pod, "-c", container, "--", *argv]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=EXEC_TIMEOUT)
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            raise ProbeError(f"could not run a command in {pod}/{container}: {exc}") from exc
        if proc.returncode != 0:
            raise ProbeError(
                f"`{' '.join(argv)}` failed in {pod}/{container}: {_why(proc.stdout, proc.stderr)}"
            )
        return proc.stdout

    return run


def _why(stdout: str, stderr: str) -> str:
    """The last line the command said, stderr first; kubectl's own `command terminated with exit
    code N` only when the command said nothing (the test app's `get` prints a failed answer's
    body, e.g. `open /srv/x: no such file or directory`, on stdout)."""
    for text in (stderr, stdout):
        said = [line for line in text.strip().splitlines() if not line.startswith("command terminated")]
        if said:
            return said[-1].strip()
    return (stderr.strip().splitlines() or ["no output"])[-1]


HTTP_TIMEOUT = 5.0


def balancer_url(node_port: int) -> str:
    """The host's URL of a load-balanced Service (kind's published node ports)."""
    from ecsk.cluster.kind import cluster

    try:
        return cluster.load_balancer_url(node_port)
    except cluster.KindError as exc:
        raise ProbeError(str(exc)) from exc


def http_get(url: str) -> str:
    """One GET on a new connection; refused, reset, timed out or not 2xx is a ProbeError."""
    import http.client
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:  # 127.0.0.1: the host's own ports
            return str(resp.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        raise ProbeError(f"{url} answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise ProbeError(f"no answer on {url}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ProbeError(f"no answer on {url}: {exc!r}") from exc


def probes(api: Any, namespace: str) -> Probes:
    """The doors of a real-container check: `kubectl exec` in the lab namespace, and HTTP from
    the host through the kind cluster's published load balancer ports."""
    return Probes(run=executor(api, namespace), balancer_url=balancer_url, get=http_get)


def hints_shown(api: Any, namespace: str) -> int:
    try:
        return int(_annotations(api, namespace).get(HINTS_ANNOTATION, "0"))
    except ValueError:
        return 0


def record_hint(api: Any, namespace: str, shown: int) -> None:
    _annotate(api, namespace, HINTS_ANNOTATION, str(shown))


def label_nodes(api: Any, namespace: str, wanted: dict[str, dict[str, str | None]]) -> list[str]:
    """Set node labels, remembering on the lab namespace each label's value before the lab first
    touched it, so `reset` puts the node back exactly."""
    import pykube

    saved: dict[str, dict[str, str | None]] = json.loads(
        _annotations(api, namespace).get(NODE_LABELS_ANNOTATION, "{}")
    )
    changed = []
    for node_name, labels in wanted.items():
        node = pykube.Node.objects(api).get(name=node_name)
        current = node.obj["metadata"].get("labels") or {}
        before = saved.setdefault(node_name, {})
        for key in labels:
            before.setdefault(key, current.get(key))
        _annotate(api, namespace, NODE_LABELS_ANNOTATION, json.dumps(saved, sort_keys=True))
        node.patch({"metadata": {"labels": labels}})
        changed.append(f"labelled Node/{node_name} {labels}")
    return changed


def restore_nodes(api: Any, namespace: str) -> list[str]:
    """Put back every node label the lab changed (values it replaced; labels it added removed)."""
    import pykube

    saved: dict[str, dict[str, str | None]] = json.loads(
        _annotations(api, namespace).get(NODE_LABELS_ANNOTATION, "{}")
    )
    restored = []
    for node_name, labels in saved.items():
        try:
            node = pykube.Node.objects(api).get(name=node_name)
        except pykube.exceptions.ObjectDoesNotExist:
            continue  # a node that went away has nothing to restore
        node.patch({"metadata": {"labels": labels}})
        restored.append(f"restored labels of Node/{node_name}")
    return restored


def delete_fargate_nodes(api: Any, namespace: str) -> list[str]:
    """The simulated Fargate nodes of the lab's tasks (the operator removes them with the pod; if
    it is stopped first, reset must not leave them behind). Nodes of other namespaces are kept."""
    import pykube

    from ecsk.core.capacity.fargate import ORIGIN_LABEL, POD_ANNOTATION

    gone = []
    for node in pykube.Node.objects(api).filter(selector={ORIGIN_LABEL: "fargate"}):
        if (node.annotations.get(POD_ANNOTATION) or "").startswith(f"{namespace}/"):
            node.delete()
            gone.append(f"deleted Fargate Node/{node.name}")
    return gone


def delete_ecs_resources(api: Any, namespace: str, wait: float = 15.0) -> None:
    """Delete the lab's ECS resources and wait (bounded) until they are gone, so the operator
    stops launching capacity-provider instances before `delete_provider_nodes` removes them."""
    import time

    import pykube

    for kind in ECS_KINDS:
        for obj in _list(_ecs_class(kind), api, namespace):
            with contextlib.suppress(pykube.exceptions.ObjectDoesNotExist):
                _ecs_class(kind)(api, obj).delete()
    deadline = time.monotonic() + wait
    while _list(_ecs_class("CapacityProvider"), api, namespace) and time.monotonic() < deadline:
        time.sleep(0.5)


def provider_names(api: Any, namespace: str) -> set[str]:
    return {
        str((obj.get("spec") or {}).get("name") or obj["metadata"]["name"])
        for obj in _list(_ecs_class("CapacityProvider"), api, namespace)
    }


def delete_provider_nodes(api: Any, names: set[str]) -> list[str]:
    """The instances of the lab's capacity providers (Nodes, cluster-scoped), so no group is left
    behind; other providers' nodes are kept."""
    import pykube

    from ecsk.core.capacity.scaling import PROVIDER_LABEL

    gone = []
    for node in pykube.Node.objects(api):
        if node.labels.get(PROVIDER_LABEL) in names:
            node.delete()
            gone.append(f"deleted capacity-provider Node/{node.name}")
    return gone


def delete_namespace(api: Any, namespace: str) -> bool:
    """Delete the lab namespace (and so everything the lab made in it); False if already gone."""
    import pykube

    ns = _namespace(api, namespace)
    if ns is None or _terminating(ns.obj):
        return False
    try:
        ns.delete()
    except pykube.exceptions.ObjectDoesNotExist:
        return False
    return True
