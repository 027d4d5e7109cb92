"""Keep the container-instance labels (`runningTasksCount`, `registeredAt`, `agentConnected`,
`agentVersion`) current on Nodes, so memberOf constraints on those subjects admit the right nodes.

What the labels should say is decided in `ecsk.core.placement.instances`; this module only feeds it
from the operator's existing watches and writes the difference:

* Events only mark nodes dirty. One thread flushes the dirty nodes every `interval` seconds, and a
  node written less than `min_gap` seconds ago waits for a later pass, so 10,000 tasks starting
  cost at most one patch per node per `min_gap`, not one per task.
* A flush computes the labels from memory and sends a merge patch of just the labels that differ.
  A settled fleet therefore costs no write at all, however often the watch or resync fires.
* The patch response replaces the cached node, and older watch events are ignored (by
  resourceVersion), so a flush never re-sends a value the watch has not echoed yet.
* Before the first flush, the running tasks are listed once: kopf's initial pod listing may arrive
  after the nodes, and a node must not be labelled with 0 tasks while it runs some.

A namespaced operator sees only its namespaces' pods, so it labels only nodes that carry
`ecs.ecsk.io/namespace=<one of its namespaces>` (`core.placement.instances.in_scope`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ecsk.controller.kube import inventory
from ecsk.controller.kube.client import Kube, KubeError, resource_version
from ecsk.core.placement.instances import in_scope, instance_labels, is_running_task, label_patch
from ecsk.core.translate.names import MANAGED_BY

log = logging.getLogger("ecsk.controller.placement.instances")


_NODE_FIELDS = ("name", "labels", "annotations", "creationTimestamp", "resourceVersion")


class InstanceLabeler:
    """The labels' in-memory model (nodes, running tasks per node) and the batched writer."""

    def __init__(
        self,
        kube: Callable[[], Kube],
        namespaces: list[str] | None = None,
        interval: float = 1.0,
        min_gap: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube = kube
        self.namespaces = namespaces or None
        self.interval = interval
        self.min_gap = min_gap
        self._clock = clock
        self._lock = threading.Lock()
        self._nodes: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, str] = {}
        """Running task pod uid -> node name."""
        self._dirty: set[str] = set()
        self._last_write: dict[str, float] = {}
        self._seeded = False
        self._seen: set[str] = set()
        """Pod uids that events reported before the seeding list (theirs is the newer word)."""
        self.writes = 0

    # --- events (called from kopf's handlers: cheap, no I/O) ------------------------------------

    def node_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        name = str(meta.get("name", ""))
        with self._lock:
            if event_type == "DELETED" or not in_scope(body, self.namespaces):
                # Out of scope (Fargate, another namespace's node): not kept, so a namespaced
                # operator on a large cluster holds and scans only its own nodes.
                self._nodes.pop(name, None)
                self._last_write.pop(name, None)
                self._dirty.discard(name)
                return
            if self._store(name, body):
                self._dirty.add(name)

    def pod_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        running = event_type != "DELETED" and is_running_task(body)
        node = str((body.get("spec") or {}).get("nodeName") or "")
        with self._lock:
            if not self._seeded:
                self._seen.add(uid)
            self._set_task(uid, node if running else None)

    def _set_task(self, uid: str, node: str | None) -> None:
        before = self._tasks.get(uid)
        if before == node:
            return  # status churn of a task that stays where it was: nothing to relabel
        if node is None:
            self._tasks.pop(uid, None)
        else:
            self._tasks[uid] = node
        self._dirty.update(n for n in (before, node) if n)

    # --- the writer -----------------------------------------------------------------------------

    def seed(self) -> None:
        """List the running tasks once (see the module docstring), then trust the watch."""
        selector = f"{MANAGED_BY}=ecsk"
        pods: list[dict[str, Any]] = []
        scopes: list[str | None] = list(self.namespaces) if self.namespaces else [None]
        for ns in scopes:
            pods.extend(self._kube().list("v1", "Pod", ns, selector))
        with self._lock:
            for pod in pods:
                uid = str((pod.get("metadata") or {}).get("uid", ""))
                if uid in self._seen:
                    continue
                node = str((pod.get("spec") or {}).get("nodeName") or "")
                self._set_task(uid, node if is_running_task(pod) else None)
            self._seeded = True
            self._seen.clear()
            self._dirty.update(self._nodes)

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._tasks.values())

    def flush(self) -> int:
        """Write the dirty nodes' changed labels; returns how many nodes were patched."""
        if not self._seeded:
            self.seed()
        now = self._clock()
        with self._lock:
            counts = Counter(self._tasks.values())
            due: list[tuple[str, dict[str, Any]]] = []
            for name in sorted(self._dirty):
                node = self._nodes.get(name)
                if node is None or not in_scope(node, self.namespaces):
                    continue
                if now - self._last_write.get(name, -1e18) < self.min_gap:
                    continue  # written moments ago: batch this change with the next ones
                due.append((name, node))
            self._dirty -= {n for n, _ in due}
            self._dirty &= set(self._nodes)
        written = 0
        for name, node in due:
            patch = label_patch(node, instance_labels(node, counts.get(name, 0)))
            if patch is None:
                continue
            try:
                out = self._kube().merge_patch("v1", "Node", name, None, patch)
            except KubeError as exc:
                log.warning("instance labels on %s: %s (retrying)", name, exc)
                with self._lock:
                    self._dirty.add(name)
                continue
            written += 1
            with self._lock:
                self.writes += 1
                self._last_write[name] = now
                if name in self._nodes:
                    self._store(name, out)
        return written

    def _store(self, name: str, body: Mapping[str, Any]) -> bool:
        """Keep what the labels depend on; False (and nothing kept) when `body` is older than what
        we have, e.g. a watch event overtaken by our own patch's response."""
        old = self._nodes.get(name)
        if old is not None and resource_version(old) > resource_version(body):
            return False
        meta = body.get("metadata") or {}
        kept = {k: meta[k] for k in _NODE_FIELDS if k in meta}
        if "annotations" in kept:  # a kubectl-applied node carries a copy of itself there
            kept["annotations"] = {
                k: v
                for k, v in kept["annotations"].items()
                if k != "kubectl.kubernetes.io/last-applied-configuration"
            }
        self._nodes[name] = {  # only what the labels depend on: managedFields alone can be kilobytes
            "metadata": kept,
            "status": {"conditions": inventory.conditions(body.get("status") or {})},
        }
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.flush()
            except KubeError as exc:
                log.warning("instance labels pass: %s", exc)
            except Exception:
                log.exception("instance labels pass failed")
            stop.wait(self.interval)


_labeler: InstanceLabeler | None = None


def start(
    kube: Kube, stop: threading.Event, namespaces: list[str] | None = None, interval: float = 1.0
) -> threading.Thread:
    """Run the process's labeler in a daemon thread until `stop` is set (runtime.start)."""
    global _labeler
    labeler = InstanceLabeler(lambda: kube, namespaces=namespaces, interval=interval)
    _labeler = labeler
    thread = threading.Thread(target=labeler.run, args=(stop,), name="ecsk-instances", daemon=True)
    thread.start()
    return thread


def node_event(event_type: str | None, body: Mapping[str, Any]) -> None:
    """The Node watch's hook (a no-op until `start`)."""
    if _labeler is not None:
        _labeler.node_event(event_type, body)


def pod_event(event_type: str | None, body: Mapping[str, Any]) -> None:
    """The ecsk pod watch's hook (a no-op until `start`)."""
    if _labeler is not None:
        _labeler.pod_event(event_type, body)
