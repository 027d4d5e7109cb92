"""Node -> NodeView adapter and the resource arithmetic placement reads from API objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ecsk.core.cql import (
    attribute_label_key,
    attribute_label_value,
    compile_expression,
    evaluate,
    node_labels,
    parse,
)
from ecsk.core.placement import (
    ATTRIBUTES_ANNOTATION,
    Resources,
    node_attributes,
    node_usage,
    node_view,
    node_views,
    pod_requests,
    quantity,
)


def node(name: str, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {
                "topology.kubernetes.io/zone": "us-east-1a",
                "node.kubernetes.io/instance-type": "m5.large",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                **(labels or {}),
            },
            "creationTimestamp": "2026-11-24T07:39:33Z",
            **extra,
        },
        "status": {
            "allocatable": {"cpu": "1930m", "memory": "7074Mi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(
    name: str, node_name: str | None, cpu: str = "250m", mem: str = "512Mi", **labels: str
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            **({"nodeName": node_name} if node_name else {}),
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}],
        },
        "status": {"phase": "Running"},
    }


def test_built_in_attributes_come_from_well_known_labels_in_ecs_spelling() -> None:
    attrs = node_attributes(node("n"))
    assert attrs == {
        "ecs.availability-zone": "us-east-1a",
        "ecs.instance-type": "m5.large",
        "ecs.cpu-architecture": "x86_64",
        "ecs.os-type": "linux",
    }


def test_custom_attributes_prefer_the_annotation_over_encoded_labels() -> None:
    long_value = "x" * 80
    labels = {attribute_label_key("team"): attribute_label_value(long_value)}
    n = node("n", labels, annotations={ATTRIBUTES_ANNOTATION: json.dumps({"team": long_value, "flag": None})})
    attrs = node_attributes(n)
    assert attrs["team"] == long_value
    assert attrs["flag"] is None


def test_verbatim_custom_labels_are_read_back_and_hashed_ones_skipped() -> None:
    labels = {
        attribute_label_key("stack"): "prod",
        attribute_label_key("team"): attribute_label_value("a b"),
    }
    attrs = node_attributes(node("n", labels))
    assert attrs["stack"] == "prod"
    assert "team" not in attrs


def test_node_view_round_trips_through_the_cql_label_contract() -> None:
    labels = {attribute_label_key("stack"): "prod"}
    view = node_view(node("ip-1", labels), [pod("p", "ip-1", **{"ecs.ecsk.io/task-group": "service_web"})])
    assert view.ec2_instance_id == "ip-1"
    assert view.registered_at == datetime(2026, 11, 24, 7, 39, 33, tzinfo=UTC)
    assert view.running_tasks_count == 1
    assert view.task_groups == frozenset({"service_web"})
    assert view.agent_connected
    # the labels CQL expects for this view are on the node (for the attributes it read)
    expected = node_labels(view)
    for key in (attribute_label_key("stack"), "topology.kubernetes.io/zone", "kubernetes.io/arch"):
        assert expected[key] == node("ip-1", labels)["metadata"]["labels"][key]


def test_regex_over_views_admits_what_evaluate_admits() -> None:
    nodes = [node("a"), node("b", {"node.kubernetes.io/instance-type": "c5.large"})]
    views = node_views(nodes)
    expr = "attribute:ecs.instance-type =~ 'm5\\..*'"
    compiled = compile_expression(expr, views)
    assert compiled.depends_on_inventory
    admitted = [v.ec2_instance_id for v in views if evaluate(parse(expr), v)]
    assert admitted == ["a"]


def test_not_ready_nodes_are_disconnected_agents() -> None:
    n = node("n")
    n["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert not node_view(n).agent_connected


def test_quantities() -> None:
    assert quantity("1930m") * 1000 == 1930
    assert quantity("7074Mi") == 7074 * 2**20
    assert quantity("1.5Gi") == 1536 * 2**20
    assert quantity("2") == 2
    assert quantity("garbage") == 0


def test_pod_requests_prefer_pod_level_resources() -> None:
    spec = {
        "resources": {"requests": {"cpu": "512m"}, "limits": {"memory": "1Gi"}},
        "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
    }
    assert pod_requests(spec) == Resources(512, 1024)


def test_pod_requests_sum_containers_and_take_the_init_peak() -> None:
    spec = {
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
            {"name": "b", "resources": {"limits": {"cpu": "200m", "memory": "256Mi"}}},
        ],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}],
    }
    assert pod_requests(spec) == Resources(1000, 384)


def test_node_usage_counts_every_bound_pod() -> None:
    usage = node_usage([node("a"), node("b")], [pod("p1", "a"), pod("p2", "a"), pod("p3", None)])
    assert usage["a"].requested == Resources(500, 1024)
    assert usage["a"].remaining == Resources(1430, 6050)
    assert usage["b"].requested == Resources()
    assert usage["a"].zone == "us-east-1a"
