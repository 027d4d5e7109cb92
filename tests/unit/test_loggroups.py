"""The awslogs log-group rule the agent applies as a task starts (ecsk.core.translate.loggroups)."""

from __future__ import annotations

from typing import Any

from ecsk.core.models import TaskDefinition
from ecsk.core.translate import loggroups as lg


def _td(*options: dict[str, str] | None) -> TaskDefinition:
    containers: list[dict[str, Any]] = []
    for i, opts in enumerate(options):
        c: dict[str, Any] = {"name": f"c{i}", "image": "nginx", "memory": 64}
        if opts is not None:
            c["logConfiguration"] = {"logDriver": "awslogs", "options": opts}
        containers.append(c)
    return TaskDefinition.model_validate({"family": "web", "containerDefinitions": containers})


WEB = {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}


def test_missing_group_fails_only_when_enforced() -> None:
    td = _td(WEB)
    assert lg.start_plan(td, [], enforced=True) == (lg.MISSING_GROUP, [])
    assert lg.start_plan(td, [], enforced=False) == (None, [])
    assert lg.start_plan(td, ["/ecs/web"], enforced=True) == (None, [])


def test_create_group_option_creates_instead_of_failing() -> None:
    td = _td({**WEB, "awslogs-create-group": "True"}, None, {**WEB, "awslogs-group": "/ecs/side"})
    assert lg.awslogs_groups(td) == [("/ecs/web", True), ("/ecs/side", False)]
    assert lg.start_plan(td, ["/ecs/side"], enforced=True) == (None, ["/ecs/web"])
    assert lg.start_plan(td, ["/ecs/other"], enforced=True) == (lg.MISSING_GROUP, [])
    assert lg.start_plan(td, [], enforced=False) == (None, ["/ecs/web"])


def test_non_awslogs_drivers_are_ignored() -> None:
    td = TaskDefinition.model_validate(
        {
            "family": "web",
            "containerDefinitions": [
                {"name": "a", "image": "x", "memory": 64, "logConfiguration": {"logDriver": "json-file"}}
            ],
        }
    )
    assert lg.awslogs_groups(td) == []
    assert lg.start_plan(td, [], enforced=True) == (None, [])


def test_stopped_reason_is_the_fargate_agents() -> None:
    assert lg.MISSING_GROUP == (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 "
        "times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group "
        "does not exist. : exit status 1"
    )


def test_configmap_names_never_collide() -> None:
    assert lg.configmap_name("/ecs/web") == "logs.ecs.web"
    names = {lg.configmap_name(n) for n in ("/ecs/web", "ecs/web", "/ecs//web", "/ECS/web", "/ecs/web#1")}
    assert len(names) == 5
    cm = lg.group_configmap("/ecs/web", "ns", 1700000000000, {"team": "a"})
    assert lg.stored_name(cm) == "/ecs/web"
    assert lg.stored_name({"metadata": {"labels": {}}, "data": {lg.NAME_KEY: "/x"}}) is None


def test_name_rule() -> None:
    assert lg.name_problem("/ecs/web_1.a-b#c") is None
    assert lg.name_problem("") is not None
    assert "logGroupName" in (lg.name_problem("/ecs/web app") or "")
    assert lg.name_problem("a" * 513) is not None
