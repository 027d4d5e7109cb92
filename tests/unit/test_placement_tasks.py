"""RunTask placement: each standalone task pod gets the task definition's and the call's
constraints and strategies (plus the launch-type gates), and refusals read as ECS's."""

from __future__ import annotations

from typing import Any

import pytest

from ecsk.controller.kube import inventory as node_inventory
from ecsk.controller.runtime.common import OperatorConfig
from ecsk.controller.tasks import reconcile as tasks
from ecsk.core.cql import task_group_label_value
from ecsk.core.models import RunTask, parse_task_definition
from ecsk.core.placement import FARGATE_CONSTRAINTS, standalone_inputs

BODY = {
    "metadata": {"name": "batch", "namespace": "ns", "uid": "u1"},
    "apiVersion": "ecs.ecsk.io/v1alpha1",
    "kind": "Task",
}
TEMPLATE = {
    "metadata": {"labels": {"app.kubernetes.io/managed-by": "ecsk"}},
    "spec": {"containers": [{"name": "main"}]},
}


def node(name: str, zone: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": "m5.large"},
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


class FakeKube:
    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return [node("a", "us-east-1a"), node("b", "us-east-1b")] if kind == "Node" else []


class FakeRuntime:
    def __init__(self) -> None:
        self.kube = FakeKube()
        self.config = OperatorConfig()

    def enqueue(self, kind: str, namespace: str, name: str, delay: float = 0.0) -> None:
        pass


@pytest.fixture(autouse=True)
def _fresh_inventory() -> None:
    node_inventory.reset()


def td(**extra: Any) -> Any:
    return parse_task_definition(
        {"family": "job", "containerDefinitions": [{"name": "main", "image": "x", "memory": 32}], **extra}
    )


def place(task: dict[str, Any], definition: Any = None) -> tuple[dict[str, Any], str | None]:
    run = RunTask.model_validate({"taskDefinition": "job", **task})
    definition = definition or td()
    hook = tasks.placement_hook(FakeRuntime(), ("Task", "ns", "batch"))  # type: ignore[arg-type]
    pod, found = tasks._pod(BODY, TEMPLATE, run, 0, standalone_inputs(run, definition), hook)
    return pod, tasks.placement_error(found)


def required_terms(pod: dict[str, Any]) -> list[dict[str, Any]]:
    na = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    return list(na["nodeSelectorTerms"])


def test_member_of_on_run_task_becomes_required_node_affinity() -> None:
    pod, error = place(
        {
            "placementConstraints": [
                {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1b"}
            ]
        }
    )
    assert error is None
    assert required_terms(pod) == [
        {
            "matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1b"]}
            ]
        }
    ]


def test_task_definition_and_call_constraints_are_anded() -> None:
    definition = td(
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"}]
    )
    pod, error = place(
        {
            "placementConstraints": [
                {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1a"}
            ]
        },
        definition,
    )
    assert error is None
    (term,) = required_terms(pod)
    keys = {e["key"] for e in term["matchExpressions"]}
    assert keys == {"topology.kubernetes.io/zone", "node.kubernetes.io/instance-type"}


def test_distinct_instance_is_anti_affinity_on_the_pods_own_group_label() -> None:
    pod, error = place({"group": "nightly", "placementConstraints": [{"type": "distinctInstance"}]})
    assert error is None
    (term,) = pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    group = pod["metadata"]["labels"]["ecs.ecsk.io/task-group"]
    assert group == task_group_label_value("nightly")
    assert term["labelSelector"]["matchLabels"]["ecs.ecsk.io/task-group"] == group


def test_default_group_is_the_family() -> None:
    pod, _ = place({"placementConstraints": [{"type": "distinctInstance"}]})
    assert pod["metadata"]["labels"]["ecs.ecsk.io/task-group"] == task_group_label_value("family:job")


def test_strategies_apply_and_standalone_tasks_get_no_default_spread() -> None:
    spread, _ = place({"placementStrategy": [{"type": "spread", "field": "instanceId"}]})
    (tsc,) = spread["spec"]["topologySpreadConstraints"]
    assert tsc["topologyKey"] == "kubernetes.io/hostname"
    binpack, _ = place({"placementStrategy": [{"type": "binpack", "field": "memory"}]})
    assert binpack["spec"]["schedulerName"] == "ecsk-binpack-memory"
    plain, _ = place({})
    assert "topologySpreadConstraints" not in plain["spec"] and "affinity" not in plain["spec"]


def test_regex_constraints_resolve_against_the_live_nodes() -> None:
    pod, error = place(
        {
            "placementConstraints": [
                {"type": "memberOf", "expression": "attribute:ecs.availability-zone =~ '.*-1b'"}
            ]
        }
    )
    assert error is None
    assert required_terms(pod)[0]["matchExpressions"][0]["values"] == ["us-east-1b"]


def test_bad_cql_is_an_invalid_parameter_naming_the_position() -> None:
    _, error = place({"placementConstraints": [{"type": "memberOf", "expression": "attribute:x == a b"}]})
    assert error is not None
    assert error.startswith("InvalidParameterException: ")
    assert "line 1, column 18" in error


def test_fargate_only_task_definition_refuses_constraints_in_ecs_words() -> None:
    definition = td(requiresCompatibilities=["FARGATE"], cpu="256", memory="512", networkMode="awsvpc")
    _, error = place({"placementConstraints": [{"type": "distinctInstance"}]}, definition)
    assert error == f"InvalidParameterException: {FARGATE_CONSTRAINTS}"


def test_warnings_do_not_stop_the_task() -> None:
    """A constraint no node meets today leaves the task PENDING, as in ECS, rather than refusing it."""
    _, error = place(
        {
            "placementConstraints": [
                {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ 'r5\\..*'"}
            ]
        }
    )
    assert error is None
