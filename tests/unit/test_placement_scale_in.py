"""Scale-in victim order (ECS's rules) and the pod-deletion-cost values that reproduce it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ecsk.core.placement import DELETION_COST_ANNOTATION, cost_patches, deletion_costs, scale_in_order

ZONES = {"a1": "za", "a2": "za", "b1": "zb", "c1": "zc"}


def nodes(alloc: dict[str, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    out = []
    for name, zone in ZONES.items():
        cpu, mem = (alloc or {}).get(name, ("2000m", "8Gi"))
        out.append(
            {
                "metadata": {
                    "name": name,
                    "labels": {"topology.kubernetes.io/zone": zone, "attribute.ecs.ecsk.io/rack": name[-1]},
                },
                "status": {"allocatable": {"cpu": cpu, "memory": mem}},
            }
        )
    return out


def pod(name: str, node: str | None, cpu: str = "100m", mem: str = "256Mi", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, **meta},
        "spec": {
            **({"nodeName": node} if node else {}),
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}],
        },
        "status": {"phase": "Running"},
    }


def zone_counts(pods: list[dict[str, Any]], gone: list[str]) -> Counter[str]:
    return Counter(ZONES[p["spec"]["nodeName"]] for p in pods if p["metadata"]["name"] not in gone)


def test_spread_on_zone_keeps_zones_balanced_at_every_step() -> None:
    pods = [pod(f"a{i}", "a1") for i in range(3)] + [pod(f"b{i}", "b1") for i in range(2)] + [pod("c0", "c1")]
    order = scale_in_order(pods, nodes(), [{"type": "spread", "field": "attribute:ecs.availability-zone"}])
    assert len(order) == 6
    for k in range(1, 6):
        counts = zone_counts(pods, order[:k])
        present = [counts.get(z, 0) for z in ("za", "zb", "zc")]
        assert max(present) - min(present) <= 1 or k >= 4, (k, counts)
    assert order[0].startswith("a")


def test_default_is_zone_with_most_tasks_then_instance_with_most_tasks() -> None:
    pods = [pod("x1", "a1"), pod("x2", "a2"), pod("x3", "a2"), pod("y1", "b1"), pod("z1", "c1")]
    order = scale_in_order(pods, nodes(), None)
    assert order[0] in ("x2", "x3")  # zone za has 3, and within it a2 has 2


def test_spread_on_instance_id_stops_on_the_fullest_instance() -> None:
    pods = [pod("p1", "a1"), pod("p2", "b1"), pod("p3", "b1"), pod("p4", "b1")]
    order = scale_in_order(pods, nodes(), [{"type": "spread", "field": "instanceId"}])
    assert {order[0], order[1]} <= {"p2", "p3", "p4"}
    assert "p1" not in order[:2]


def test_spread_on_a_custom_attribute_reads_the_node_label() -> None:
    pods = [pod("p1", "a1"), pod("p2", "c1"), pod("p3", "a2")]
    # racks: a1 -> "1", c1 -> "1", a2 -> "2": rack 1 holds two tasks, so one of them goes first
    order = scale_in_order(pods, nodes(), [{"type": "spread", "field": "attribute:rack"}])
    assert order[0] in ("p1", "p2")


def test_binpack_stops_the_task_whose_instance_keeps_the_most_left() -> None:
    big = {"b1": ("2000m", "16Gi")}
    pods = [pod("small-node", "a1", mem="1Gi"), pod("big-node", "b1", mem="1Gi")]
    order = scale_in_order(pods, nodes(big), [{"type": "binpack", "field": "memory"}])
    assert order[0] == "big-node"


def test_binpack_counts_other_pods_on_the_instance() -> None:
    pods = [pod("t1", "a1", mem="512Mi"), pod("t2", "b1", mem="512Mi")]
    others = [*pods, pod("other", "a1", mem="7Gi")]
    order = scale_in_order(pods, nodes(), [{"type": "binpack", "field": "memory"}], node_pods=others)
    assert order[0] == "t2"


def test_binpack_then_spread_breaks_binpack_ties_by_zone() -> None:
    pods = [pod("a", "a1"), pod("b", "a2"), pod("c", "b1")]
    order = scale_in_order(
        pods,
        nodes(),
        [{"type": "binpack", "field": "cpu"}, {"type": "spread", "field": "attribute:ecs.availability-zone"}],
    )
    assert order[0] in ("a", "b")


def test_costs_are_the_victim_rank_and_skip_unscheduled_pods() -> None:
    pods = [pod("p1", "a1"), pod("p2", "a1"), pod("pending", None), pod("gone", "b1", deletionTimestamp="x")]
    costs = deletion_costs(pods, nodes(), None)
    assert sorted(costs) == ["p1", "p2"]
    assert sorted(costs.values()) == [0, 1]


def test_order_is_stable_across_calls() -> None:
    pods = [pod(f"p{i}", n) for i, n in enumerate(["a1", "a2", "b1", "c1", "a1", "b1"])]
    assert scale_in_order(pods, nodes(), None) == scale_in_order(list(reversed(pods)), nodes(), None)


def test_patches_only_for_changed_annotations() -> None:
    pods = [
        pod("p1", "a1", annotations={DELETION_COST_ANNOTATION: "0"}),
        pod("p2", "a1", annotations={DELETION_COST_ANNOTATION: "0"}),
    ]
    patches = cost_patches(pods, {"p1": 0, "p2": 1})
    assert patches == {"p2": {"metadata": {"annotations": {DELETION_COST_ANNOTATION: "1"}}}}


def test_reproduces_replicaset_choice_for_every_scale_in_size() -> None:
    """The ReplicaSet deletes the k lowest-cost pods; they must be ECS's first k victims."""
    pods = [pod(f"p{i}", n) for i, n in enumerate(["a1", "a1", "a2", "b1", "b1", "c1", "c1", "c1", "a2"])]
    strategy = [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    costs = deletion_costs(pods, nodes(), strategy)
    order = scale_in_order(pods, nodes(), strategy)
    for k in range(len(pods)):
        lowest = sorted(costs, key=lambda n: costs[n])[:k]
        assert lowest == order[:k]
        left = zone_counts(pods, lowest)
        values = [left.get(z, 0) for z in ("za", "zb", "zc")]
        assert max(values) - min(values) <= 1 or sum(values) < 3 or k < 2
