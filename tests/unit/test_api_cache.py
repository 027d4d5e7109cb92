"""The endpoint's watch cache: newer copies win, deletions stay deleted, a broken watch stops
serving (so reads fall back to the API server and its errors), a 410 relists."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from ecsk.api.cache import Informer, KindCache, wait_synced


def obj(name: str, rv: int, **spec: Any) -> dict[str, Any]:
    return {"kind": "ECSService", "metadata": {"name": name, "resourceVersion": str(rv)}, "spec": spec}


def test_newer_copy_wins_and_deleted_stays_deleted() -> None:
    cache = KindCache("ECSService")
    cache.put(obj("web", 10, desiredCount=2))
    cache.put(obj("web", 9, desiredCount=1))  # a late event for an older version
    assert cache.get("web")["spec"]["desiredCount"] == 2  # type: ignore[index]
    cache.remove("web", 11)
    cache.put(obj("web", 10, desiredCount=2))  # a stale event after the delete must not revive it
    assert cache.get("web") is None
    cache.put(obj("web", 12, desiredCount=3))  # re-created later: back
    assert cache.get("web")["spec"]["desiredCount"] == 3  # type: ignore[index]


def _lines(*events: tuple[str, dict[str, Any]]) -> list[bytes]:
    return [json.dumps({"type": t, "object": o}).encode() + b"\n" for t, o in events]


def test_informer_lists_watches_relists_and_unsyncs_on_failure() -> None:
    cache = KindCache("ECSService")
    stop = threading.Event()
    lists: list[str] = []
    broken = threading.Event()
    go_down = threading.Event()
    watches = iter(
        [
            _lines(
                ("ADDED", obj("b", 6)), ("MODIFIED", obj("a", 7, desiredCount=5)), ("DELETED", obj("b", 8))
            ),
            _lines(("ERROR", {"code": 410})),  # too old: relist
            None,  # the API server goes away
        ]
    )

    def lister() -> tuple[list[dict[str, Any]], str]:
        if broken.is_set():
            raise ConnectionError("apiserver still down")
        lists.append("list")
        return [obj("a", 5)], "5"

    def watcher(rv: str) -> Iterator[bytes]:
        batch = next(watches, "end")
        if batch is None:
            go_down.wait(5)
            broken.set()
            raise ConnectionError("apiserver down")
        if batch == "end":
            stop.wait(5)
            return
        yield from batch

    Informer(cache, lister, watcher, stop).start()
    assert wait_synced([cache], 5)
    deadline = time.monotonic() + 5
    while len(lists) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(lists) == 2  # listed again after the 410
    assert cache.get("a")["spec"] == {}  # type: ignore[index]  # the relist's copy
    go_down.set()
    assert broken.wait(5)
    deadline = time.monotonic() + 5
    while cache.synced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not cache.synced  # reads now go to the API server
    stop.set()


def test_update_spec_rereads_from_the_api_server_after_a_conflict() -> None:
    from ecsk.api.store import Conflict, Store

    store = Store("ns", api_client=object())  # type: ignore[arg-type]
    reads: list[bool] = []
    writes: list[dict[str, Any]] = []

    def get(kind: str, name: str, fresh: bool = False) -> dict[str, Any]:
        reads.append(fresh)
        # the cache still has version 1; the API server has 2 (the operator wrote status)
        return obj(name, 2 if fresh else 1, desiredCount=1)

    def replace(body: dict[str, Any]) -> dict[str, Any]:
        if body["metadata"]["resourceVersion"] != "2":
            raise Conflict("the object has been modified")
        writes.append(body)
        return body

    store.get = get  # type: ignore[method-assign]
    store.replace = replace  # type: ignore[method-assign]
    out = store.update_spec("ECSService", "web", lambda live: {**live["spec"], "desiredCount": 3})
    assert reads == [False, True]
    assert out is not None and out["spec"] == {"desiredCount": 3}
    assert len(writes) == 1
