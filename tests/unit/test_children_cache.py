"""The operator's watch-fed cache of rendered children: the staleness rules it promises."""

from __future__ import annotations

from typing import Any

from ecsk.controller.kube.children import ChildCache


def deployment(name: str, rv: int, ns: str = "shop", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": str(rv),
            "labels": {"app.kubernetes.io/managed-by": "ecsk", **labels},
            "managedFields": [{"manager": "ecsk", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {"replicas": 2},
    }


def seeded(*items: dict[str, Any]) -> ChildCache:
    cache = ChildCache()
    cache.seed("Deployment", [{k: v for k, v in i.items() if k != "kind"} for i in items])
    return cache


def test_unseeded_kinds_are_not_covered_and_not_stored() -> None:
    cache = ChildCache()
    cache.observe("ADDED", deployment("web", 1))
    assert not cache.covers("Deployment")
    assert cache.get("Deployment", "shop", "web") is None


def test_seed_adds_the_kind_list_items_lack_and_drops_managed_fields() -> None:
    cache = seeded(deployment("web", 5))
    got = cache.get("Deployment", "shop", "web")
    assert cache.covers("Deployment")
    assert got is not None and got["kind"] == "Deployment"
    assert "managedFields" not in got["metadata"]


def test_an_older_event_never_replaces_a_newer_write() -> None:
    cache = seeded()
    newer = deployment("web", 10)
    newer["spec"]["replicas"] = 5
    cache.put(newer)
    cache.observe("MODIFIED", deployment("web", 9))  # the watch echo of an earlier state
    got = cache.get("Deployment", "shop", "web")
    assert got is not None and got["spec"]["replicas"] == 5
    cache.observe("MODIFIED", deployment("web", 11))
    got = cache.get("Deployment", "shop", "web")
    assert got is not None and got["spec"]["replicas"] == 2


def test_deleted_events_and_drop_remove() -> None:
    cache = seeded(deployment("web", 1), deployment("api", 1))
    cache.observe("DELETED", deployment("web", 2))
    cache.drop("Deployment", "shop", "api")
    assert cache.get("Deployment", "shop", "web") is None
    assert cache.get("Deployment", "shop", "api") is None
    assert len(cache) == 0


def test_select_matches_every_label_in_one_namespace() -> None:
    cache = seeded(
        deployment("a", 1, **{"ecs.ecsk.io/service": "web"}),
        deployment("b", 1, **{"ecs.ecsk.io/service": "api"}),
        deployment("c", 1, ns="other", **{"ecs.ecsk.io/service": "web"}),
    )
    names = [
        d["metadata"]["name"] for d in cache.select("Deployment", "shop", {"ecs.ecsk.io/service": "web"})
    ]
    assert names == ["a"]


def test_reads_are_copies() -> None:
    cache = seeded(deployment("web", 1))
    got = cache.get("Deployment", "shop", "web")
    assert got is not None
    got["spec"]["replicas"] = 99
    again = cache.get("Deployment", "shop", "web")
    assert again is not None and again["spec"]["replicas"] == 2
