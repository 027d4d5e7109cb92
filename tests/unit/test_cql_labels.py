"""Label encodings shared by the compiler and the operator."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecsk.core.cql import (
    ATTRIBUTE_LABEL_PREFIX,
    CQLEncodingError,
    NodeView,
    agent_version_code,
    attribute_label_key,
    attribute_label_value,
    encode_label_text,
    node_labels,
    task_group_label_value,
)

LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def test_well_known_attributes_map_to_kubernetes_labels() -> None:
    assert attribute_label_key("ecs.availability-zone") == "topology.kubernetes.io/zone"
    assert attribute_label_key("ecs.instance-type") == "node.kubernetes.io/instance-type"
    assert attribute_label_key("ecs.os-type") == "kubernetes.io/os"
    assert attribute_label_key("ecs.cpu-architecture") == "kubernetes.io/arch"
    for name in ("ecs.ami-id", "ecs.vpc-id", "ecs.subnet-id", "ecs.os-family", "stack"):
        assert attribute_label_key(name) == ATTRIBUTE_LABEL_PREFIX + name


def test_architecture_values_translate() -> None:
    assert attribute_label_value("x86_64", "ecs.cpu-architecture") == "amd64"
    assert attribute_label_value("arm64", "ecs.cpu-architecture") == "arm64"
    assert attribute_label_value("x86_64", "stack") == "x86_64"
    with pytest.raises(CQLEncodingError, match="x86_64"):
        attribute_label_value("amd64", "ecs.cpu-architecture")


def test_names_that_are_not_label_names_are_hashed() -> None:
    key = attribute_label_key("team/app")
    assert key.startswith(ATTRIBUTE_LABEL_PREFIX + "team_app--h")
    long_key = attribute_label_key("a" * 100)
    assert len(long_key.split("/", 1)[1]) <= 63
    assert attribute_label_key("a" * 100) == long_key  # deterministic
    # A name that looks like an encoded one is encoded too, so outputs never collide.
    lookalike = "team_app--h" + key.rsplit("--h", 1)[1]
    assert attribute_label_key(lookalike) != key


@pytest.mark.parametrize("bad", ["", "a b", "a:b", "x" * 129, "é"])
def test_invalid_attribute_names_are_refused(bad: str) -> None:
    with pytest.raises(CQLEncodingError, match="attribute name"):
        attribute_label_key(bad)


def test_values() -> None:
    assert attribute_label_value(None) == ""
    assert attribute_label_value("") == ""
    assert attribute_label_value("us-east-1a") == "us-east-1a"
    hashed = attribute_label_value("arn:aws:outposts:us-east-1:123:outpost/op-1")
    assert LABEL_VALUE.fullmatch(hashed) and len(hashed) <= 63
    assert hashed.startswith("arn_aws_outposts")
    assert attribute_label_value("-leading") != "-leading"
    assert LABEL_VALUE.fullmatch(attribute_label_value("@@@"))


def test_task_group_values() -> None:
    value = task_group_label_value("service:production")
    assert value.startswith("service_production--h")
    assert task_group_label_value("database") == "database"
    assert task_group_label_value("family:web") != task_group_label_value("family_web")
    with pytest.raises(CQLEncodingError):
        task_group_label_value("")


@settings(max_examples=300, derandomize=True)
@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200))
def test_encoding_is_valid_and_injective(a: str, b: str) -> None:
    ea, eb = encode_label_text(a), encode_label_text(b)
    assert LABEL_VALUE.fullmatch(ea) and 1 <= len(ea) <= 63
    assert (ea == eb) == (a == b)


def test_node_labels() -> None:
    node = NodeView(
        "i-1",
        {"ecs.availability-zone": "us-east-1a", "ecs.cpu-architecture": "x86_64", "flag": None},
        registered_at=datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC),
        running_tasks_count=3,
        agent_connected=False,
        agent_version="1.14.5",
    )
    assert node_labels(node) == {
        "topology.kubernetes.io/zone": "us-east-1a",
        "kubernetes.io/arch": "amd64",
        ATTRIBUTE_LABEL_PREFIX + "flag": "",
        "ecs.ecsk.io/registered-at": "1529360908",
        "ecs.ecsk.io/running-tasks-count": "3",
        "ecs.ecsk.io/agent-connected": "false",
        "ecs.ecsk.io/agent-version": "1014005",
    }


def test_agent_version_code() -> None:
    assert agent_version_code("1.14.5") == 1_014_005
    assert agent_version_code("1.14") == agent_version_code("1.14.0")
    assert agent_version_code("1.9.0") < agent_version_code("1.10.0")  # type: ignore[operator]
    assert agent_version_code("1.1000.0") is None
    assert agent_version_code("latest") is None
    with pytest.raises(CQLEncodingError):
        node_labels(NodeView("i-1", agent_version="latest"))
