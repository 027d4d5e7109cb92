"""kopf as the watch layer, a keyed work queue as the reconcile layer.

kopf watches our four kinds and the children we own, with raw event handlers only: those store
nothing on the objects (no finalizers, no progress annotations), which keeps "no-op resync
writes nothing" true. Every event becomes a key in the work queue; worker threads run the
level-based reconcilers, a resync thread re-queues every known object periodically, and a
reconciler may ask to be re-run after N seconds (rollouts, retention expiry, `at()` times).
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import json
import logging
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import kopf

from ecsk.controller.apprunner import reconcile as apprunner
from ecsk.controller.apprunner import scaling as apprunner_scaling
from ecsk.controller.autoscaling import reconcile as autoscaling
from ecsk.controller.capacity import fargate, launch
from ecsk.controller.capacity import providers as capacity
from ecsk.controller.ecr import repositories as ecr_repositories
from ecsk.controller.kube.children import ChildCache
from ecsk.controller.kube.client import GROUP, VERSION, Kube, KubeError, resource_version
from ecsk.controller.kube.leases import KubeLeases
from ecsk.controller.placement import instances
from ecsk.controller.placement import live as placement
from ecsk.controller.runtime import leader
from ecsk.controller.runtime.common import OperatorConfig
from ecsk.controller.runtime.workqueue import WorkQueue
from ecsk.controller.services import reconcile as services
from ecsk.controller.taskdefs import reconcile as taskdefs
from ecsk.controller.tasks import reconcile as tasks
from ecsk.controller.tasks import scheduled
from ecsk.core.translate.names import LABEL_SERVICE, MANAGED_BY, label_value

log = logging.getLogger("ecsk.controller")

Key = tuple[str, str, str]  # kind, namespace, name
MAX_GONE_PODS = 500
"""Deleted pods kept per service until its next pass (a bound, should that pass never come)."""
Reconciler = Callable[[Any, Mapping[str, Any]], "float | None"]

PLURALS = {
    "TaskDefinition": "taskdefinitions",
    "ECSService": "ecsservices",
    "Task": "tasks",
    "ScheduledTask": "scheduledtasks",
}
CHILDREN = (
    ("apps", "v1", "deployments"),
    ("apps", "v1", "daemonsets"),
    ("", "v1", "pods"),
    ("batch", "v1", "cronjobs"),
    ("", "v1", "services"),
    ("networking.k8s.io", "v1", "ingresses"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("", "v1", "configmaps"),  # task definition revisions
)
"""Kinds we render and watch for drift and progress (only objects labelled managed-by=ecsk)."""
CHILD_PLURALS = tuple(plural for _, _, plural in CHILDREN)
CACHED_CHILDREN = (
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "CronJob"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ConfigMap"),
)
"""Children kept in `OperatorRuntime.children` (every watched kind but pods: see children.py)."""
RECONCILERS: dict[str, Reconciler] = {
    "TaskDefinition": taskdefs.reconcile,
    "ECSService": services.reconcile,
    "Task": tasks.reconcile,
    "ScheduledTask": scheduled.reconcile,
}
PLURALS |= autoscaling.PLURALS | apprunner.PLURALS | apprunner_scaling.PLURALS | ecr_repositories.PLURALS
RECONCILERS |= (
    autoscaling.RECONCILERS
    | apprunner.RECONCILERS
    | apprunner_scaling.RECONCILERS
    | ecr_repositories.RECONCILERS
)


class OperatorRuntime:
    """The state shared by kopf's handlers and the worker threads."""

    def __init__(
        self, config: OperatorConfig, kube: Kube | None = None, namespaces: list[str] | None = None
    ) -> None:
        self.config = config
        self.namespaces = namespaces or None  # scope of the node-level launch-type controllers
        self._kube = kube
        self.queue: WorkQueue[Key] = WorkQueue()
        self._store: dict[Key, _Packed] = {}
        self._service_labels: dict[Key, tuple[str, str]] = {}
        """ECSService key -> (namespace, service label value): pods name their service only by
        label, and a pod event must find its service without scanning every cached service."""
        self._by_label: dict[tuple[str, str], set[Key]] = {}
        """The reverse of `_service_labels` (a scan of it per pod event was 5% of the operator's
        CPU while 10,000 tasks started)."""
        self._lock = threading.Lock()
        self._gone_pods: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """(namespace, service label) -> final state of service pods deleted since the service's
        last pass: its stopped tasks (ListTasks desiredStatus=STOPPED) come from these."""
        self._threads: list[threading.Thread] = []
        self.children = ChildCache()
        self._stop = threading.Event()

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            self._kube = Kube()
        return self._kube

    # --- the cache (fed by watch events and by our own status writes) --------------------------

    def observe(self, kind: str, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        with self._lock:
            if event_type == "DELETED":
                self._store.pop(key, None)
                label = self._service_labels.pop(key, None)
                if label is not None:
                    self._unindex(key, label)
                    self._gone_pods.pop(label, None)  # no pass will come to take them
                return
            old = self._store.get(key)
            if old is not None and old.version >= resource_version(body):
                # Our own newer write is cached already, or this is the echo of it (same version:
                # nothing the last pass did not see). Re-running on echoes doubled every pass.
                return
            self._store[key] = _pack(body)
            self._index(key, body)
        # A spec no pass has seen yet (a new object, an edit) goes before the periodic passes.
        observed = (body.get("status") or {}).get("observedGeneration")
        self.queue.add(key, urgent=observed is None or int(observed) != _generation(body))

    def _index(self, key: Key, body: Mapping[str, Any]) -> None:
        if key[0] == "ECSService":
            sname = (body.get("spec") or {}).get("serviceName") or key[2]
            label = (key[1], label_value(str(sname)))
            before = self._service_labels.get(key)
            if before != label:
                if before is not None:
                    self._unindex(key, before)
                self._service_labels[key] = label
                self._by_label.setdefault(label, set()).add(key)

    def _unindex(self, key: Key, label: tuple[str, str]) -> None:
        keys = self._by_label.get(label)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_label[label]

    def remember(self, obj: Mapping[str, Any]) -> None:
        kind = obj.get("kind", "")
        meta = obj.get("metadata") or {}
        key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        spec_changed = False
        with self._lock:
            old = self._store.get(key)
            if old is None or old.version <= resource_version(obj):
                self._store[key] = _pack(obj)
                self._index(key, obj)
                spec_changed = old is None or old.generation != _generation(obj)
        if spec_changed and kind in RECONCILERS:
            # The watch echo of this write will be skipped (same version), so a write that changed
            # the spec (autoscaling setting desiredCount) wakes the object's reconciler here.
            self.queue.add(key)

    def cached(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._store.get((kind, namespace, name))
        return json.loads(entry.body) if entry is not None else None

    def cached_all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                entry.body
                for (k, ns, _), entry in self._store.items()
                if k == kind and (namespace is None or ns == namespace)
            ]
        return [json.loads(body) for body in found]

    def deleted_pods(self, namespace: str, service_label: str) -> list[dict[str, Any]]:
        """The service pods deleted since the last call (each is handed out once)."""
        with self._lock:
            return self._gone_pods.pop((namespace, service_label), [])

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None:
        self.queue.add_after((kind, namespace, name), delay)

    def child_changed(self, body: Mapping[str, Any], event_type: str | None = None) -> None:
        """A child changed: cache it, wake its owner (owner references, or the service label for pods)."""
        self.children.observe(event_type, body)
        if body.get("kind") == "ConfigMap":
            return  # revisions are immutable and never re-created: the cache is all they feed
        meta = body.get("metadata") or {}
        ns = meta.get("namespace", "")
        for ref in meta.get("ownerReferences") or []:
            if str(ref.get("apiVersion", "")).startswith(f"{GROUP}/") and ref.get("kind") in PLURALS:
                self.queue.add_coalesced((ref["kind"], ns, ref.get("name", "")), self.config.coalesce_seconds)
                return
        svc_label = (meta.get("labels") or {}).get(LABEL_SERVICE)
        if svc_label:
            with self._lock:
                owners = sorted(self._by_label.get((ns, svc_label), ()))
                if owners and event_type == "DELETED" and body.get("kind") == "Pod":
                    # Only for a service we know: the pods of a deleted service go after it (the
                    # garbage collector), and no pass would ever collect theirs (a leak per
                    # deleted service, found by bench/soak_bench.py). A service not seen yet
                    # records its vanished tasks from its own status instead (_gone_tasks).
                    gone = self._gone_pods.setdefault((ns, svc_label), [])
                    gone.append(_stored(body))
                    del gone[:-MAX_GONE_PODS]
            for kind, owner_ns, name in owners:
                self.queue.add_coalesced((kind, owner_ns, name), self.config.coalesce_seconds)

    # --- workers -------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                self._reconcile(key)
            finally:
                self.queue.done(key)

    def _reconcile(self, key: Key) -> None:
        body = self.cached(*key)
        if body is None:
            return
        kind = key[0]
        try:
            again = RECONCILERS[kind](self, body)
        except KubeError as exc:
            delay = self.queue.add_rate_limited(key)
            log.warning("%s %s/%s: %s (retry in %.1fs)", kind, key[1], key[2], exc, delay)
            return
        except Exception:  # a bug must not take the operator down, nor stop other objects
            delay = self.queue.add_rate_limited(key)
            log.exception("%s %s/%s: reconcile failed (retry in %.1fs)", kind, key[1], key[2], delay)
            return
        self.queue.forget(key)
        if again is not None:
            self.queue.add_after(key, again)

    def _resync(self) -> None:
        while not self._stop.wait(self.config.resync_seconds):
            with self._lock:
                keys = list(self._store)
            for key in keys:
                self.queue.add(key)

    def seed_children(self) -> None:
        """One LIST per cached kind before any worker runs, so a cache miss means "absent"."""
        selector = f"{MANAGED_BY}=ecsk"
        scopes: list[str | None] = list(self.namespaces) if self.namespaces else [None]
        for api_version, kind in CACHED_CHILDREN:
            try:
                items = [item for ns in scopes for item in self.kube.list(api_version, kind, ns, selector)]
            except KubeError as exc:  # e.g. a kind this cluster does not serve: read it live
                log.warning("not caching %s: %s", kind, exc)
                continue
            self.children.seed(kind, items)

    def start(self) -> None:
        launch.pending.reset()  # an operator restarted in-process learns the pods again from its watch
        self.seed_children()
        for i in range(max(1, self.config.workers)):
            t = threading.Thread(target=self._work, name=f"ecsk-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._resync, name="ecsk-resync", daemon=True)
        t.start()
        self._threads.append(t)
        # Fargate nodes and capacity provider groups: level-based polling loops of their own.
        for loop in (fargate, capacity):
            self._threads.append(
                loop.start(self.kube, self._stop, region=self.config.region, namespaces=self.namespaces)
            )
        # runningTasksCount & co. as node labels, for memberOf constraints on those subjects.
        self._threads.append(instances.start(self.kube, self._stop, namespaces=self.namespaces))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.shut_down()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True)
class _Packed:
    """A cached object as compact JSON (parsed, an ECSService with its status costs several
    times its JSON size in Python objects: tens of MB at 2,000 services). Reads parse a fresh
    copy, which is also what a deep copy gave callers before, and costs less."""

    version: int
    generation: int
    body: bytes


def _pack(obj: Mapping[str, Any]) -> _Packed:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    body = json.dumps({**obj, "metadata": meta}, separators=(",", ":")).encode()
    return _Packed(resource_version(obj), _generation(obj), body)


def _stored(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy without managedFields: nothing reads them, and on objects several managers
    write (kubectl, our status, the HPA's scale) they are the largest part of the body."""
    out = copy.deepcopy({k: v for k, v in obj.items() if k != "metadata"})
    out["metadata"] = copy.deepcopy(
        {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    )
    return out


def _generation(obj: Mapping[str, Any]) -> int:
    return int((obj.get("metadata") or {}).get("generation") or 0)


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf's diff base, switched off: only raw event handlers are registered, and those never
    read a diff, yet kopf deep-copied every event's whole body to build one (6% of the
    operator's CPU while 10,000 tasks started, bench/scale_bench.py)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return cast(kopf.BodyEssence, {})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def build_registry(rt: OperatorRuntime) -> kopf.OperatorRegistry:
    """Raw event handlers only: our kinds, plus the children we render (filtered by our label)."""
    registry = kopf.OperatorRegistry()
    ours = {MANAGED_BY: "ecsk"}

    # The handlers are coroutines although they do no I/O: they only record the event in memory
    # and queue a key, and kopf runs a plain function in its thread pool, a hand-off per event
    # that cost more than the handler itself (7% of the operator's CPU while 10,000 tasks started).
    def make(kind: str) -> Callable[..., Awaitable[None]]:
        async def handler(type: str | None, body: kopf.Body, **_: Any) -> None:
            rt.observe(kind, type, dict(body))

        return handler

    for kind, plural in PLURALS.items():
        kopf.on.event(GROUP, VERSION, plural, registry=registry, id=f"watch-{plural}")(make(kind))

    async def child(type: str | None, body: kopf.Body, **_: Any) -> None:
        rt.child_changed(dict(body), type)

    async def task_pod(type: str | None, body: kopf.Body, **_: Any) -> None:
        pod = dict(body)
        rt.child_changed(pod, type)  # the owning service's next pass
        instances.pod_event(type, pod)  # running tasks per node (runningTasksCount)
        launch.pending.observe(type, pod)  # gated tasks, for the Fargate and capacity loops

    for group, version, plural in CHILDREN:
        handler = task_pod if plural == "pods" else child
        kopf.on.event(group, version, plural, labels=ours, registry=registry, id=f"watch-{plural}")(handler)

    @kopf.on.event("", "v1", "nodes", registry=registry, id="watch-nodes")
    async def node(type: str | None, body: kopf.Body, **_: Any) -> None:
        # Placement resolved against node labels (regex constraints) must follow the fleet.
        placement.node_event(rt, type, dict(body))
        instances.node_event(type, dict(body))

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> Any:
        # A custom registry does not inherit kopf's default login handlers.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.level = logging.WARNING  # kopf's own k8s Events only for real trouble
        settings.posting.enabled = False
        settings.peering.standalone = True
        settings.persistence.diffbase_storage = NoDiffBase()
        settings.watching.server_timeout = 300
        for plural in CHILD_PLURALS:  # server-side filter: never stream the cluster's other pods
            settings.watching.label_selectors[plural] = f"{MANAGED_BY}=ecsk"
        settings.networking.request_timeout = 60
        # Memory at scale (2,000 nodes, 20,000 tasks; docs/benchmarks.md): the initial listing of
        # each kind arrives in pages instead of one response holding every object at once, and a
        # per-object worker exits 1 s after its last event instead of 5 s (the handlers only
        # record the event, so thousands of idle workers were kept for nothing during bursts).
        settings.watching.chunk_size = 500
        settings.queueing.idle_timeout = 1.0
        rt.start()

    @kopf.on.probe(registry=registry, id="workers")
    def workers_alive(**_: Any) -> int:
        """Liveness fails (kubelet restarts us) if a worker thread died: kopf alone would not notice."""
        dead = [t.name for t in rt._threads if not t.is_alive()]
        if dead and not rt._stop.is_set():
            raise RuntimeError(f"dead threads: {', '.join(dead)}")
        return len(rt.queue)

    @kopf.on.cleanup(registry=registry)
    def cleanup(**_: Any) -> None:
        rt.stop()

    return registry


def run(
    config: OperatorConfig,
    liveness: str | None = None,
    namespaces: list[str] | None = None,
    timing: leader.Timing | None = None,
) -> None:
    """Stand by until this process leads its scope (docs/operator.md "One active operator"), then
    run kopf in-process until interrupted: cluster-wide unless namespaces. Nothing is watched or
    written before we lead; losing the Lease ends the process at once (exit 1) so a supervisor
    restarts it as a standby; a clean stop releases the Lease so a standby takes over at once."""
    elector = leader.Elector(KubeLeases(), namespaces, timing=timing)
    with standby_probe(liveness):
        if not _stand_by(elector):
            return
    renewing = threading.Event()
    renewer = threading.Thread(
        target=elector.keep_leading, args=(renewing, _lost), name="ecsk-lease", daemon=True
    )
    renewer.start()
    try:
        rt = OperatorRuntime(config, namespaces=namespaces)
        rt.kube.may_write = elector.confident
        kopf.run(
            registry=build_registry(rt),
            standalone=True,
            clusterwide=not namespaces,
            namespaces=namespaces or (),
            liveness_endpoint=liveness,
        )
    finally:
        renewing.set()
        renewer.join(elector.timing.retry_period + 5)
        elector.release()
        log.info("released Lease(s) %s", ", ".join(elector.names))


def _stand_by(elector: leader.Elector) -> bool:
    """Wait to lead; SIGTERM/SIGINT while waiting release what we hold (a cluster-wide standby
    holds its Lease while namespaced operators finish) and return False."""
    stop = threading.Event()

    def interrupted(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if elector.acquire(stop):
            return True
        elector.release()
        log.info("stopped while standing by")
        return False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def standby_probe(liveness: str | None) -> Iterator[None]:
    """Answer the liveness endpoint while standing by: kopf serves it only once we lead, and a
    Deployment's standby pod must not be restarted by its liveness probe for waiting."""
    if not liveness:
        yield
        return
    url = urllib.parse.urlsplit(liveness)
    path = url.path or "/"

    class Probe(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.split("?", 1)[0] == path
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"standby": true}' if found else b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # one line per probe otherwise
            return

    server = http.server.ThreadingHTTPServer((url.hostname or "0.0.0.0", url.port or 80), Probe)
    thread = threading.Thread(target=server.serve_forever, name="ecsk-standby-probe", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()  # before kopf binds the same port
        server.server_close()


def _lost(reason: str) -> None:
    """Deposed: no reconcile may run another instant. client-go exits the same way."""
    log.critical("lost leadership, exiting so nothing acts without the Lease: %s", reason)
    logging.shutdown()
    os._exit(1)
