"""A watch-fed copy of the endpoint's custom resources, so Describe*/List* need no API request.

One thread per kind lists, then watches from that resourceVersion (bookmarks on; 410 Gone or a
broken stream relists). The store keeps it read-your-writes: every object its own writes return
goes in at once, and an event never replaces a newer copy (resourceVersions compared as the
integers etcd makes them) nor revives a deleted object. While a kind's watch is broken (the API
server is down or restarting) the kind reads as not synced, and the store asks the API server,
which answers the caller with the same retryable error as without a cache.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

log = logging.getLogger("ecsk.api.cache")

WATCH_SECONDS = 240
"""Server-side timeout of one watch request; the stream is then resumed from the last version."""


def _rv(obj: Mapping[str, Any]) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


class KindCache:
    """The objects of one kind in one namespace, by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.synced = False
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}
        self._gone: dict[str, int] = {}

    def replace(self, items: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self._items = {o["metadata"]["name"]: o for o in items}
            self._gone.clear()

    def put(self, obj: Mapping[str, Any]) -> None:
        name, rv = obj["metadata"]["name"], _rv(obj)
        with self._lock:
            have = self._items.get(name)
            if (have is not None and _rv(have) >= rv) or self._gone.get(name, -1) >= rv:
                return
            self._items[name] = dict(obj)
            self._gone.pop(name, None)

    def remove(self, name: str, rv: int) -> None:
        with self._lock:
            have = self._items.get(name)
            if have is not None and _rv(have) > rv > 0:
                return
            self._items.pop(name, None)
            known = _rv(have) if have is not None else 0
            self._gone[name] = max(rv, known, self._gone.get(name, 0))

    def get(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._items.get(name)

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items.values())


Lister = Callable[[], tuple[list[dict[str, Any]], str]]
Watcher = Callable[[str], Iterable[bytes]]


class Informer(threading.Thread):
    """Keeps one KindCache current: list, then watch, again after any failure."""

    def __init__(self, cache: KindCache, lister: Lister, watcher: Watcher, stop: threading.Event) -> None:
        super().__init__(name=f"watch-{cache.kind}", daemon=True)
        self.cache, self.lister, self.watcher, self.stop = cache, lister, watcher, stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                items, rv = self.lister()
                self.cache.replace(items)
                self.cache.synced = True
                while not self.stop.is_set():
                    rv = self._watch(rv)
            except _Relist:
                continue
            except Exception as exc:  # the API server is away: reads go to it (and fail) meanwhile
                log.info("watch of %s broken (%s); relisting", self.cache.kind, exc)
                self.cache.synced = False
                self.stop.wait(1.0)

    def _watch(self, rv: str) -> str:
        for line in self.watcher(rv):
            if not line.strip():
                continue
            event = json.loads(line)
            obj = event.get("object") or {}
            kind = event.get("type")
            if kind == "ERROR":
                raise _Relist()  # 410 Gone: our version is too old
            rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
            if kind in ("ADDED", "MODIFIED"):
                self.cache.put(obj)
            elif kind == "DELETED":
                self.cache.remove(obj["metadata"]["name"], _rv(obj))
        return rv


class _Relist(Exception):
    pass


def wait_synced(caches: Iterable[KindCache], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    pending = list(caches)
    while pending and time.monotonic() < deadline:
        pending = [c for c in pending if not c.synced]
        time.sleep(0.05)
    return not pending
