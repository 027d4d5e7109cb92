"""Watch-fed cache of the objects ecsk renders (Deployments, Services, revision ConfigMaps, ...).

Every service reconcile used to read its children from the API: one GET per rendered object
before applying it, five LISTs to find children it no longer renders, and a LIST of revision
ConfigMaps to resolve its task definition. That was ~10 reads per pass and ~13 passes per new
service, which on a small machine competed with the controller-manager for the apiserver. The
operator already watches these kinds (filtered by `managed-by=ecsk`) to notice drift, so it keeps
what the watch says here, the way client-go informers do.

Correctness rules, because a cache can be stale:
* It is seeded by one LIST per kind before the workers start, so a miss means "does not exist"
  rather than "not seen yet".
* Writes go through it (`put`/`drop`): a reconcile reads what it just wrote, even before the
  watch echoes it. Older resourceVersions never replace newer ones.
* Staleness only delays: every watch event on a child wakes its owner, whose next pass sees the
  newer object. A child deleted behind our back arrives as a DELETED event and the owner
  re-applies it.
* Pods are not cached: 10,000 of them would cost more memory than the reads they save.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.controller.kube.client import resource_version

Key = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True)
class _Entry:
    """One object as compact JSON (a parsed Deployment costs ~10x its JSON size in Python
    objects, and at 1,000 services that decided whether the operator stayed under 250 MB);
    labels kept parsed for `select`."""

    version: int
    labels: dict[str, str]
    body: bytes


def _entry(obj: Mapping[str, Any]) -> _Entry:
    """managedFields are dropped: half of a small object's size, never read by us."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    body = json.dumps({**obj, "metadata": meta}, separators=(",", ":")).encode()
    return _Entry(resource_version(obj), dict(meta.get("labels") or {}), body)


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


class ChildCache:
    """Objects by (kind, namespace, name) for the kinds registered with `seed`. Reads return
    fresh dicts, so callers may change them."""

    def __init__(self) -> None:
        self._objs: dict[Key, _Entry] = {}
        self._names: dict[tuple[str, str], set[str]] = {}
        """(kind, namespace) -> names: `select` runs five times per service pass, and scanning
        every cached object (two per service and more) made each pass O(services)."""
        self._kinds: set[str] = set()
        self._lock = threading.Lock()

    def covers(self, kind: str) -> bool:
        """Whether `kind` was seeded: only then may a miss be read as "absent"."""
        return kind in self._kinds

    def seed(self, kind: str, items: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for item in items:
                obj = {**item, "kind": kind}
                key = _key(obj)
                old = self._objs.get(key)
                if old is None or old.version <= resource_version(obj):
                    self._set(key, _entry(obj))
            self._kinds.add(kind)

    def _set(self, key: Key, entry: _Entry) -> None:
        self._objs[key] = entry
        self._names.setdefault((key[0], key[1]), set()).add(key[2])

    def _pop(self, key: Key) -> None:
        if self._objs.pop(key, None) is not None:
            names = self._names.get((key[0], key[1]))
            if names is not None:
                names.discard(key[2])
                if not names:
                    del self._names[(key[0], key[1])]

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A watch event. DELETED removes; anything else stores unless we hold something newer."""
        key = _key(body)
        if key[0] not in self._kinds:
            return
        with self._lock:
            if event_type == "DELETED":
                self._pop(key)
                return
            old = self._objs.get(key)
            if old is None or old.version <= resource_version(body):
                self._set(key, _entry(body))

    def put(self, obj: Mapping[str, Any] | None) -> None:
        """Write-through of what the API returned for our own write."""
        if obj is not None and obj.get("kind") in self._kinds:
            self.observe("MODIFIED", obj)

    def drop(self, kind: str, namespace: str, name: str) -> None:
        with self._lock:
            self._pop((kind, namespace, name))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._objs.get((kind, namespace, name))
        return json.loads(entry.body) if entry is not None else None

    def select(self, kind: str, namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """Objects of `kind` in `namespace` carrying every label in `labels` (equality selector)."""
        with self._lock:
            entries = [
                self._objs[(kind, namespace, n)] for n in sorted(self._names.get((kind, namespace), ()))
            ]
            found = [
                entry.body
                for entry in entries
                if all(entry.labels.get(lk) == lv for lk, lv in labels.items())
            ]
        return [json.loads(body) for body in found]

    def __len__(self) -> int:
        return len(self._objs)
