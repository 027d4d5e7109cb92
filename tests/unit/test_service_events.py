"""ECS service event wording and kube-scheduler reason parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecsk.core.services import events as ev


def test_exact_wording() -> None:
    assert ev.steady_state("web") == "(service web) has reached a steady state."
    assert ev.started_tasks("web", ["a", "b"]) == "(service web) has started 2 tasks: (task a) (task b)."
    assert ev.started_tasks("web", ["a"]) == "(service web) has started 1 tasks: (task a)."
    assert ev.stopped_tasks("web", ["a"]) == "(service web) has stopped 1 running tasks: (task a)."
    assert (
        ev.deployment_completed("web", "ecs-svc/1")
        == "(service web) (deployment ecs-svc/1) deployment completed."
    )
    assert (
        ev.unable_to_start_consistently("web")
        == "(service web) is unable to consistently start tasks successfully."
    )
    assert ev.unable_to_place("web", "cpu", "node-1") == (
        "(service web) was unable to place a task because no container instance met all of its requirements. "
        "The closest matching container-instance node-1 has insufficient CPU units available."
    )
    assert ev.unable_to_place("web", "memory", "i").endswith(
        "container-instance i has insufficient memory available."
    )
    assert ev.unable_to_place("web", "port", "i").endswith("is already using a port required by your task.")
    assert "MemberOf placement constraint unsatisfied" in ev.unable_to_place("web", "constraint", "i")
    assert ev.unable_to_place("web", "no-instances").endswith(
        "No Container Instances were found in your cluster."
    )
    assert "minimumHealthyPercent or maximumPercent" in ev.deployment_config_blocked("web")


def test_parse_resource_beats_constraint() -> None:
    msg = (
        "0/9 nodes are available: 3 Insufficient cpu, 6 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/9 nodes are available: 3 No preemption victims found for incoming pod, "
        "6 Preemption is not helpful for scheduling."
    )
    f = ev.parse_failed_scheduling(msg)
    assert f is not None and f.reason == "cpu" and f.total_nodes == 9 and f.resource == "cpu"


def test_parse_most_frequent_resource() -> None:
    f = ev.parse_failed_scheduling("0/5 nodes are available: 1 Insufficient cpu, 4 Insufficient memory.")
    assert f is not None and f.reason == "memory"
    f = ev.parse_failed_scheduling("0/4 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.")
    assert f is not None and f.reason == "cpu"


def test_parse_ports_constraints_taints() -> None:
    f = ev.parse_failed_scheduling(
        "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports."
    )
    assert f is not None and f.reason == "port"
    f = ev.parse_failed_scheduling(
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
        "2 node(s) didn't match pod anti-affinity rules."
    )
    assert f is not None and f.reason == "constraint" and len(f.counts) == 2
    f = ev.parse_failed_scheduling("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.")
    assert f is not None and f.reason == "gpu"


def test_parse_no_nodes() -> None:
    f = ev.parse_failed_scheduling("no nodes available to schedule pods")
    assert f is not None and f.reason == "no-instances"
    f = ev.parse_failed_scheduling("0/0 nodes are available: .")
    assert f is not None and f.reason == "no-instances"
    assert ev.parse_failed_scheduling("something else") is None


def test_event_list_bounded_dedup() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    events, added = ev.add_events([], ["a", "b"], now)
    assert [e["message"] for e in events] == ["b", "a"] and added == ["a", "b"]
    events2, added2 = ev.add_events(events, ["b"], now + timedelta(minutes=1))
    assert events2 == events and added2 == []
    events3, added3 = ev.add_events(events, ["b"], now + timedelta(minutes=10))
    assert added3 == ["b"] and len(events3) == 3
    many, _ = ev.add_events([], [str(i) for i in range(50)], now)
    assert len(many) == ev.MAX_EVENTS and many[0]["message"] == "49"
    assert ev.event_id("x", "t") == ev.event_id("x", "t")


def test_kind_not_served_names_the_kind_and_the_missing_controller() -> None:
    msg = ev.kind_not_served("web", "TargetGroupBinding.elbv2.k8s.aws/v1beta1")
    assert msg.startswith("(service web) could not create its TargetGroupBinding.elbv2.k8s.aws/v1beta1")
    assert "AWS Load Balancer Controller" in msg and "tasks run without it" in msg
    assert "Load Balancer" not in ev.kind_not_served("web", "Ingress.networking.k8s.io/v1")
