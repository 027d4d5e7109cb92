"""PutAttributes / DeleteAttributes / ListAttributes (pure part) and the instances listing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers_fake_kube import merge

from ecsk.cli.instances_cmd import describe
from ecsk.core.cql import attribute_label_key, compile_expression, evaluate, parse
from ecsk.core.cql.kube import node_matches
from ecsk.core.placement import node_view, node_views
from ecsk.core.placement.attributes import (
    LIMIT_EXCEEDED,
    PER_CALL,
    Attribute,
    AttributeRequestError,
    custom_attributes,
    delete_patch,
    find_node,
    list_attributes,
    parse_attributes,
    put_patch,
    target_name,
    validate,
)
from ecsk.core.placement.nodes import ATTRIBUTES_ANNOTATION


def node(name: str = "ip-10-0-0-4.ec2.internal", **extra_labels: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "resourceVersion": "7",
            "labels": {
                "ecs.ecsk.io/instance-id": "i-0abc",
                "node.kubernetes.io/instance-type": "m5.large",
                **extra_labels,
            },
            "annotations": {},
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


def applied(n: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    assert patch is not None
    body = json.loads(json.dumps(patch))
    body["metadata"].pop("resourceVersion", None)
    return merge(n, body)


# --- parsing -------------------------------------------------------------------------------------


def test_shorthand_and_json_forms_parse_to_the_same_attributes() -> None:
    short = parse_attributes(["name=stack,value=prod,targetId=i-0abc", "name=gpu,targetId=i-0abc"])
    doc = parse_attributes(
        ['[{"name": "stack", "value": "prod", "targetId": "i-0abc"}, {"name": "gpu", "targetId": "i-0abc"}]']
    )
    assert (
        short == doc == [Attribute("stack", "prod", None, "i-0abc"), Attribute("gpu", None, None, "i-0abc")]
    )
    assert parse_attributes(['{"name": "a", "value": "b", "targetId": "x"}']) == [
        Attribute("a", "b", None, "x")
    ]


@pytest.mark.parametrize("bad", ["name", "name=a,colour=b", "[1]", "{not json"])
def test_malformed_input_is_an_invalid_parameter(bad: str) -> None:
    with pytest.raises(AttributeRequestError) as err:
        parse_attributes([bad])
    assert err.value.code == "InvalidParameterException"


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["stack", "team/app", "a\\b", "x.y-z_1", "n" * 128],
)
def test_valid_names(name: str) -> None:
    validate([Attribute(name, "v", targetId="n")], put=True)


@pytest.mark.parametrize("name", ["", "n" * 129, "has space", "colon:no", "at@no"])
def test_invalid_names_quote_ecs_rule(name: str) -> None:
    with pytest.raises(AttributeRequestError) as err:
        validate([Attribute(name, "v", targetId="n")], put=True)
    assert "The name must contain between 1 and 128 characters" in str(err.value)


@pytest.mark.parametrize("value", ["prod", "a b", "user@host:/x\\y", "v" * 128, None])
def test_valid_values(value: str | None) -> None:
    validate([Attribute("stack", value, targetId="n")], put=True)


@pytest.mark.parametrize("value", ["", " lead", "trail ", "v" * 129, "semi;colon", "caf\u00e9"])
def test_invalid_values_quote_ecs_rule(value: str) -> None:
    with pytest.raises(AttributeRequestError) as err:
        validate([Attribute("stack", value, targetId="n")], put=True)
    assert "The value can't start or end with a space." in str(err.value)


def test_built_in_names_targetless_and_foreign_target_types_are_refused() -> None:
    for bad in (
        Attribute("ecs.instance-type", "x", targetId="n"),
        Attribute("stack", "x"),
        Attribute("stack", "x", targetType="task", targetId="n"),
    ):
        with pytest.raises(AttributeRequestError):
            validate([bad], put=True)
    validate([Attribute("stack", "x", targetType="container-instance", targetId="n")], put=True)


def test_at_most_ten_attributes_per_call() -> None:
    items = [Attribute(f"a{i}", "v", targetId="n") for i in range(11)]
    with pytest.raises(AttributeRequestError, match=PER_CALL):
        validate(items, put=True)
    validate(items[:10], put=True)


# --- targets -------------------------------------------------------------------------------------


def test_target_is_node_name_instance_id_or_container_instance_arn() -> None:
    nodes = [node(), node("other", **{"ecs.ecsk.io/instance-id": "i-0def"})]
    assert find_node(nodes, "ip-10-0-0-4.ec2.internal") is nodes[0]
    assert find_node(nodes, "i-0def") is nodes[1]
    arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i-0abc"
    assert target_name(arn) == "i-0abc"
    assert find_node(nodes, arn) is nodes[0]
    assert find_node(nodes, "i-missing") is None


# --- patches -------------------------------------------------------------------------------------


def test_put_writes_label_and_annotation_in_one_patch_with_the_resource_version() -> None:
    n = node()
    patch = put_patch(n, [Attribute("stack", "prod", targetId="x")])
    assert patch == {
        "metadata": {
            "resourceVersion": "7",
            "labels": {attribute_label_key("stack"): "prod"},
            "annotations": {ATTRIBUTES_ANNOTATION: '{"stack":"prod"}'},
        }
    }
    applied(n, patch)
    assert put_patch(n, [Attribute("stack", "prod", targetId="x")]) is None  # idempotent


def test_put_keeps_other_attributes_and_labels_and_updates_values() -> None:
    n = node(team="platform")
    applied(n, put_patch(n, [Attribute("stack", "prod", targetId="x"), Attribute("gpu", None, targetId="x")]))
    applied(n, put_patch(n, [Attribute("stack", "staging", targetId="x")]))
    assert custom_attributes(n) == {"stack": "staging", "gpu": None}
    assert n["metadata"]["labels"]["team"] == "platform"
    assert n["metadata"]["labels"][attribute_label_key("gpu")] == ""


def test_unreadable_label_values_round_trip_through_the_annotation() -> None:
    """A value with a space or colon is hashed in the label; a regex still sees the original."""
    n = node()
    value = "user@host:/var/lib data"
    applied(n, put_patch(n, [Attribute("path", value, targetId="x")]))
    assert n["metadata"]["labels"][attribute_label_key("path")] != value
    view = node_view(n)
    assert view.attributes["path"] == value
    assert evaluate(parse("attribute:path =~ 'user@host:.*'"), view)
    compiled = compile_expression("attribute:path =~ 'user@host:.*'", node_views([n]))
    assert node_matches(compiled.node_selector_terms, n["metadata"]["labels"], n["metadata"]["name"])


def test_put_makes_an_equality_constraint_admit_the_node() -> None:
    n = node()
    compiled = compile_expression("attribute:stack == prod")
    assert not node_matches(compiled.node_selector_terms, n["metadata"]["labels"], n["metadata"]["name"])
    applied(n, put_patch(n, [Attribute("stack", "prod", targetId="x")]))
    assert node_matches(compiled.node_selector_terms, n["metadata"]["labels"], n["metadata"]["name"])


def test_eleventh_custom_attribute_exceeds_the_limit() -> None:
    n = node()
    applied(n, put_patch(n, [Attribute(f"a{i}", "v", targetId="x") for i in range(10)]))
    with pytest.raises(AttributeRequestError) as err:
        put_patch(n, [Attribute("one-more", "v", targetId="x")])
    assert err.value.code == "AttributeLimitExceededException"
    assert err.value.message == LIMIT_EXCEEDED
    assert put_patch(n, [Attribute("a3", "new", targetId="x")]) is not None  # replacing is fine


def test_delete_removes_the_label_and_the_annotation_entry() -> None:
    n = node()
    applied(n, put_patch(n, [Attribute("stack", "prod", targetId="x"), Attribute("gpu", "1", targetId="x")]))
    patch = delete_patch(n, ["stack"])
    assert patch is not None
    assert patch["metadata"]["labels"] == {attribute_label_key("stack"): None}
    applied(n, patch)
    assert attribute_label_key("stack") not in n["metadata"]["labels"]
    assert json.loads(n["metadata"]["annotations"][ATTRIBUTES_ANNOTATION]) == {"gpu": "1"}
    applied(n, delete_patch(n, ["gpu"]))
    assert ATTRIBUTES_ANNOTATION not in n["metadata"]["annotations"]
    assert delete_patch(n, ["gpu"]) is None  # deleting what is gone changes nothing


def test_hand_written_verbatim_labels_are_adopted_not_lost() -> None:
    n = node(**{attribute_label_key("legacy"): "yes", attribute_label_key("ecs.ami-id"): "ami-1"})
    applied(n, put_patch(n, [Attribute("stack", "prod", targetId="x")]))
    assert json.loads(n["metadata"]["annotations"][ATTRIBUTES_ANNOTATION]) == {
        "ecs.ami-id": "ami-1",
        "legacy": "yes",
        "stack": "prod",
    }
    assert node_view(n).attributes["ecs.ami-id"] == "ami-1"


# --- listing -------------------------------------------------------------------------------------


def test_list_attributes_filters_by_name_and_value() -> None:
    a, b = node("a"), node("b")
    applied(a, put_patch(a, [Attribute("stack", "prod", targetId="a")]))
    applied(b, put_patch(b, [Attribute("stack", "dev", targetId="b"), Attribute("gpu", None, targetId="b")]))
    assert list_attributes([b, a]) == [
        {"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": "a"},
        {"name": "gpu", "targetType": "container-instance", "targetId": "b"},
        {"name": "stack", "value": "dev", "targetType": "container-instance", "targetId": "b"},
    ]
    assert [r["targetId"] for r in list_attributes([a, b], "stack", "prod")] == ["a"]
    assert [r["targetId"] for r in list_attributes([a, b], "gpu")] == ["b"]


def test_instances_listing_shows_custom_attributes() -> None:
    n = node()
    applied(n, put_patch(n, [Attribute("stack", "prod", targetId="x"), Attribute("gpu", None, targetId="x")]))
    attrs = describe(n, [])["attributes"]
    assert {"name": "stack", "value": "prod"} in attrs
    assert {"name": "gpu"} in attrs
    assert {"name": "ecs.instance-type", "value": "m5.large"} in attrs


def test_fargate_nodes_are_not_targets() -> None:
    fargate = node("fargate-ip-1", **{"eks.amazonaws.com/compute-type": "fargate"})
    assert find_node([fargate], "fargate-ip-1") is None


def test_cli_takes_the_aws_space_separated_form_and_fails_like_the_aws_cli() -> None:
    """The second item arrives as a positional argument; validation runs before any API call."""
    from typer.testing import CliRunner

    from ecsk.cli.main import app

    result = CliRunner().invoke(
        app,
        ["attributes", "put", "--attributes", "name=ok,value=1,targetId=n", "name=ecs.x,value=1,targetId=n"],
    )
    assert result.exit_code == 254
    assert "An error occurred (InvalidParameterException): ecs.x:" in result.output
    result = CliRunner().invoke(app, ["attributes", "list", "--attribute-value", "prod"])
    assert result.exit_code == 254 and "attributeValue" in result.output
