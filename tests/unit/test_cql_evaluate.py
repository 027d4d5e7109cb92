"""The reference semantics the compiler is checked against."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecsk.core.cql import NodeView, evaluate, parse

NODE = NodeView(
    "i-abcd1234",
    {
        "ecs.instance-type": "t2.small",
        "ecs.availability-zone": "us-east-1a",
        "stack": "prod",
        "tier": "007",
        "flag": None,
    },
    registered_at=datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC),
    running_tasks_count=1,
    agent_connected=True,
    agent_version="1.14.5",
    task_groups=frozenset({"service:production", "family:web"}),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attribute:ecs.instance-type == t2.small", True),
        ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", True),
        ("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", False),
        ("attribute:ecs.instance-type =~ t2.*", True),
        ("attribute:ecs.instance-type =~ t2", False),
        ("task:group == service:production", True),
        ("not(task:group == database)", True),
        ("task:group != family:web", False),
        ("task:group !in [a, b]", True),
        ("task:group exists", True),
        ("task:group =~ 'service:.*'", True),
        ("task:group !~ 'service:.*'", False),
        ("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", True),
        ("ec2InstanceId =~ 'i-abcd.*'", True),
        ("runningTasksCount == 1", True),
        ("runningTasksCount == 01", True),
        ("runningTasksCount >= 2", False),
        ("agentVersion < 1.14.5", False),
        ("agentVersion <= 1.14.5", True),
        ("agentVersion > 1.9.9", True),
        ("agentConnected == true", True),
        ("agentConnected != true", False),
        ("registeredAt < 2018-06-18T22:28:29Z", True),
        ("registeredAt == 2018-06-18T22:28:28+00:00", True),
        ("registeredAt == 2018-06-18T23:28:28+01:00", True),
        ("registeredAt == 2018-06-18T22:28:28", True),
        ("registeredAt > 2018-06-18", True),
        ("attribute:tier > 6", True),
        ("attribute:tier == 7", False),  # attribute equality is on strings
        ("attribute:stack > 1", False),  # not an integer: no ordered comparison holds
        ("not (attribute:stack > 1)", True),
        ("attribute:flag exists", True),
        ("attribute:flag == ''", True),
        ("attribute:flag != x", True),
    ],
)
def test_examples(text: str, expected: bool) -> None:
    assert evaluate(parse(text), NODE) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ECS: "attribute:stack != prod" lists instances *with* stack unless it is prod.
        ("attribute:missing != prod", False),
        ("attribute:missing !in [a]", False),
        ("attribute:missing !~ 'a.*'", False),
        ("attribute:missing == prod", False),
        ("attribute:missing > 1", False),
        ("attribute:missing exists", False),
        ("attribute:missing !exists", True),
        # ...while `not` is plain boolean negation.
        ("not (attribute:missing == prod)", True),
        ("not (attribute:missing != prod)", True),
    ],
)
def test_missing_attribute(text: str, expected: bool) -> None:
    assert evaluate(parse(text), NODE) is expected


def test_no_tasks() -> None:
    empty = NodeView("i-2")
    assert evaluate(parse("task:group != x"), empty)
    assert not evaluate(parse("task:group == x"), empty)
    assert evaluate(parse("task:group !exists"), empty)
