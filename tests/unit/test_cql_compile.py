"""Compiler: each mapping, the refusals, and agreement with Kubernetes' matching rules."""

from __future__ import annotations

from typing import Any

import pytest

from ecsk.core.cql import (
    TASK_GROUP_LABEL,
    UNSATISFIABLE_TERM,
    CompiledPlacement,
    CQLCompileError,
    NodeView,
    combine,
    compile_expression,
    compile_expressions,
    evaluate,
    node_labels,
    node_matches,
    parse,
    task_group_label_value,
)

INVENTORY = [
    NodeView(
        "i-1",
        {
            "ecs.instance-type": "g2.2xlarge",
            "ecs.availability-zone": "us-east-1a",
            "ecs.cpu-architecture": "x86_64",
        },
    ),
    NodeView(
        "i-2",
        {"ecs.instance-type": "t2.small", "ecs.availability-zone": "us-east-1d", "stack": "prod", "n": "5"},
        running_tasks_count=1,
    ),
    NodeView("i-3", {"ecs.instance-type": "t2.micro", "ecs.availability-zone": "us-east-1b", "n": "x"}),
]


def terms(text: str, inventory: list[NodeView] | None = None) -> list[dict[str, Any]]:
    return compile_expression(text, inventory).node_selector_terms


def req(key: str, op: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out


def admitted(placement: CompiledPlacement, inventory: list[NodeView]) -> set[str]:
    return {
        n.ec2_instance_id
        for n in inventory
        if node_matches(placement.node_selector_terms, node_labels(n), n.ec2_instance_id)
    }


def test_equality_and_lists() -> None:
    assert terms("attribute:ecs.instance-type == t2.small") == [
        {"matchExpressions": [req("node.kubernetes.io/instance-type", "In", "t2.small")]}
    ]
    assert terms("attribute:ecs.availability-zone in [us-east-1b, us-east-1a]") == [
        {"matchExpressions": [req("topology.kubernetes.io/zone", "In", "us-east-1a", "us-east-1b")]}
    ]


def test_inequality_requires_the_label() -> None:
    assert terms("attribute:stack != prod") == [
        {
            "matchExpressions": [
                req("attribute.ecs.ecsk.io/stack", "Exists"),
                req("attribute.ecs.ecsk.io/stack", "NotIn", "prod"),
            ]
        }
    ]
    # not (==) is NotIn alone: it admits nodes without the attribute, as `evaluate` does.
    assert terms("not (attribute:stack == prod)") == [
        {"matchExpressions": [req("attribute.ecs.ecsk.io/stack", "NotIn", "prod")]}
    ]
    assert terms("not (attribute:stack != prod)") == [
        {"matchExpressions": [req("attribute.ecs.ecsk.io/stack", "DoesNotExist")]},
        {"matchExpressions": [req("attribute.ecs.ecsk.io/stack", "In", "prod")]},
    ]


def test_exists() -> None:
    assert terms("attribute:ecs.ami-id exists") == [
        {"matchExpressions": [req("attribute.ecs.ecsk.io/ecs.ami-id", "Exists")]}
    ]
    assert terms("attribute:ecs.os-family !exists") == [
        {"matchExpressions": [req("attribute.ecs.ecsk.io/ecs.os-family", "DoesNotExist")]}
    ]


def test_os_and_arch() -> None:
    assert terms("attribute:ecs.os-type == linux") == [
        {"matchExpressions": [req("kubernetes.io/os", "In", "linux")]}
    ]
    assert terms("attribute:ecs.cpu-architecture in [x86_64, arm64]") == [
        {"matchExpressions": [req("kubernetes.io/arch", "In", "amd64", "arm64")]}
    ]
    # "amd64" is not an ECS value: no instance has it.
    assert compile_expression("attribute:ecs.cpu-architecture == amd64").matches_nothing
    assert terms("attribute:ecs.cpu-architecture != amd64") == [
        {"matchExpressions": [req("kubernetes.io/arch", "Exists")]}
    ]


@pytest.mark.parametrize(
    ("text", "op", "bound"),
    [
        ("attribute:n > 5", "Gt", "5"),
        ("attribute:n >= 5", "Gt", "4"),
        ("attribute:n < 5", "Lt", "5"),
        ("attribute:n <= 5", "Lt", "6"),
        ("attribute:n greater_than_equal -3", "Gt", "-4"),
    ],
)
def test_ordered_comparisons(text: str, op: str, bound: str) -> None:
    assert terms(text) == [{"matchExpressions": [req("attribute.ecs.ecsk.io/n", op, bound)]}]


def test_negated_ordered_comparison_on_attribute_lists_non_integers() -> None:
    with pytest.raises(CQLCompileError, match="inventory"):
        compile_expression("not (attribute:n > 3)")
    placement = compile_expression("not (attribute:n > 3)", INVENTORY)
    assert placement.depends_on_inventory
    assert placement.node_selector_terms == [
        {"matchExpressions": [req("attribute.ecs.ecsk.io/n", "DoesNotExist")]},
        {"matchExpressions": [req("attribute.ecs.ecsk.io/n", "In", "x")]},
        {"matchExpressions": [req("attribute.ecs.ecsk.io/n", "Lt", "4")]},
    ]
    assert admitted(placement, INVENTORY) == {"i-1", "i-3"}


def test_operator_maintained_labels() -> None:
    assert terms("runningTasksCount == 1") == [
        {"matchExpressions": [req("ecs.ecsk.io/running-tasks-count", "In", "1")]}
    ]
    # These labels are on every node, so negations need no inventory and never admit unlabelled nodes.
    assert terms("not (runningTasksCount > 2)") == [
        {"matchExpressions": [req("ecs.ecsk.io/running-tasks-count", "Lt", "3")]}
    ]
    assert terms("runningTasksCount != 0") == [
        {
            "matchExpressions": [
                req("ecs.ecsk.io/running-tasks-count", "Exists"),
                req("ecs.ecsk.io/running-tasks-count", "NotIn", "0"),
            ]
        }
    ]
    assert terms("registeredAt < 2018-06-18T22:28:28+00:00") == [
        {"matchExpressions": [req("ecs.ecsk.io/registered-at", "Lt", "1529360908")]}
    ]
    assert terms("registeredAt < 2018-02-13") == [
        {"matchExpressions": [req("ecs.ecsk.io/registered-at", "Lt", "1518480000")]}
    ]
    assert terms("agentVersion < 1.14.5") == [
        {"matchExpressions": [req("ecs.ecsk.io/agent-version", "Lt", "1014005")]}
    ]
    assert terms("agentConnected == true") == [
        {"matchExpressions": [req("ecs.ecsk.io/agent-connected", "In", "true")]}
    ]
    # The agentConnected domain is known, so its regexes need no inventory.
    placement = compile_expression("agentConnected =~ 'f.*'")
    assert not placement.depends_on_inventory
    assert placement.node_selector_terms == [
        {"matchExpressions": [req("ecs.ecsk.io/agent-connected", "In", "false")]}
    ]


def test_instance_ids_use_match_fields_one_value_each() -> None:
    assert terms("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']") == [
        {"matchFields": [req("metadata.name", "In", "i-abcd1234")]},
        {"matchFields": [req("metadata.name", "In", "i-wxyx7890")]},
    ]
    assert terms("ec2InstanceId !in [i-2, i-1]") == [
        {"matchFields": [req("metadata.name", "NotIn", "i-1"), req("metadata.name", "NotIn", "i-2")]}
    ]
    assert terms("ec2InstanceId == i-1 and ec2InstanceId == i-2") == [UNSATISFIABLE_TERM]
    placement = compile_expression("ec2InstanceId =~ 'i-[12]'", INVENTORY)
    assert placement.depends_on_inventory
    assert admitted(placement, INVENTORY) == {"i-1", "i-2"}


def test_regex_resolves_against_the_inventory() -> None:
    placement = compile_expression(
        "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d", INVENTORY
    )
    assert placement.depends_on_inventory
    assert placement.node_selector_terms == [
        {
            "matchExpressions": [
                req("node.kubernetes.io/instance-type", "In", "t2.micro", "t2.small"),
                req("topology.kubernetes.io/zone", "Exists"),
                req("topology.kubernetes.io/zone", "NotIn", "us-east-1d"),
            ]
        }
    ]
    assert admitted(placement, INVENTORY) == {"i-3"}
    # Negative regexes list the non-matching values seen, never "NotIn": a new value stays out.
    assert terms("attribute:ecs.instance-type !~ t2.*", INVENTORY) == [
        {"matchExpressions": [req("node.kubernetes.io/instance-type", "In", "g2.2xlarge")]}
    ]


def test_regex_without_match_matches_nothing() -> None:
    placement = compile_expression("attribute:ecs.instance-type =~ p4.*", INVENTORY)
    assert placement.matches_nothing
    assert placement.node_selector_terms == [UNSATISFIABLE_TERM]
    assert admitted(placement, INVENTORY) == set()


def test_regex_needs_inventory() -> None:
    with pytest.raises(CQLCompileError, match="inventory"):
        compile_expression("attribute:ecs.instance-type =~ t2.*")


def test_task_groups() -> None:
    prod = task_group_label_value("service:production")
    placement = compile_expression("task:group == service:production")
    assert placement.node_selector_terms == []
    assert placement.pod_affinity_terms == [
        {
            "labelSelector": {"matchExpressions": [req(TASK_GROUP_LABEL, "In", prod)]},
            "topologyKey": "kubernetes.io/hostname",
        }
    ]
    assert placement.pod_anti_affinity_terms == []
    anti = compile_expression("not(task:group == database)")
    assert anti.pod_affinity_terms == []
    assert anti.pod_anti_affinity_terms == [
        {
            "labelSelector": {"matchExpressions": [req(TASK_GROUP_LABEL, "In", "database")]},
            "topologyKey": "kubernetes.io/hostname",
        }
    ]
    assert compile_expression("task:group != database") == anti
    mixed = compile_expression("task:group in [a, b] and (attribute:x == 1 or attribute:y == 2)")
    assert len(mixed.node_selector_terms) == 2
    assert len(mixed.pod_affinity_terms) == 1
    assert compile_expression("task:group exists").pod_affinity_terms[0]["labelSelector"] == {
        "matchExpressions": [req(TASK_GROUP_LABEL, "Exists")]
    }


@pytest.mark.parametrize(
    "text",
    [
        "task:group == a or attribute:x == 1",
        "not (task:group == a and attribute:x == 1)",
        "task:group == a or task:group == b",
    ],
)
def test_task_group_under_or_is_refused(text: str) -> None:
    with pytest.raises(CQLCompileError, match="task:group"):
        compile_expression(text)


def test_task_group_regex_is_refused() -> None:
    with pytest.raises(CQLCompileError, match="regexes on task:group"):
        compile_expression("task:group =~ 'service:.*'")


def test_tautology_and_contradiction() -> None:
    everything = compile_expression("attribute:a exists or attribute:a !exists")
    assert admitted(everything, [*INVENTORY, NodeView("i-4", {"a": "1"})]) == {"i-1", "i-2", "i-3", "i-4"}
    assert everything.node_selector_terms == []
    assert (
        compile_expression(
            "attribute:a exists or attribute:b == 1 or not (attribute:b == 1)"
        ).node_selector_terms
        == []
    )
    assert compile_expression("not (attribute:a exists and attribute:a !exists)").node_selector_terms == []
    assert compile_expression("attribute:a exists and attribute:a !exists").matches_nothing
    assert compile_expression("attribute:a == x and attribute:a == y").matches_nothing


def test_term_cap() -> None:
    text = " and ".join(f"(attribute:a{i} == x or attribute:b{i} == y)" for i in range(7))
    with pytest.raises(CQLCompileError, match="nodeSelectorTerms"):
        compile_expression(text)
    assert len(compile_expression(text, max_terms=128).node_selector_terms) == 128


def test_several_expressions_are_anded() -> None:
    together = compile_expressions(
        ["attribute:ecs.os-type == linux", "attribute:stack in [a, b] or attribute:c exists"]
    )
    separately = combine(
        [
            compile_expression("attribute:ecs.os-type == linux"),
            compile_expression("attribute:stack in [a, b] or attribute:c exists"),
        ]
    )
    assert together.node_selector_terms == separately.node_selector_terms
    assert len(together.node_selector_terms) == 2
    assert compile_expressions([]) == CompiledPlacement()
    with_groups = combine([compile_expression("task:group != a"), compile_expression("task:group == b")])
    assert len(with_groups.pod_affinity_terms) == 1 and len(with_groups.pod_anti_affinity_terms) == 1
    with pytest.raises(CQLCompileError, match="nodeSelectorTerms"):
        combine([compile_expression("ec2InstanceId in [a, b, c, d, e, f, g, h]")] * 3, max_terms=64)


def test_affinity_block_and_keys() -> None:
    placement = compile_expression("attribute:stack == prod and task:group != db and runningTasksCount < 3")
    affinity = placement.affinity()
    assert set(affinity) == {"nodeAffinity", "podAntiAffinity"}
    assert (
        len(affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"])
        == 1
    )
    assert placement.node_label_keys_used == {
        "attribute.ecs.ecsk.io/stack",
        "ecs.ecsk.io/running-tasks-count",
    }
    assert CompiledPlacement().affinity() == {}


def test_output_is_deterministic() -> None:
    text = "ec2InstanceId in [i-9, i-1, i-5] or attribute:z == 1 or attribute:a in [q, b]"
    assert all(terms(text) == terms(text) for _ in range(3))
    assert parse(text)  # sanity


def test_compiled_agrees_with_evaluate_on_examples() -> None:
    for text in [
        "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
        "not (attribute:stack == prod) or runningTasksCount >= 1",
        "attribute:n <= 5 or not (attribute:ecs.cpu-architecture == x86_64)",
    ]:
        placement = compile_expression(text, INVENTORY)
        assert admitted(placement, INVENTORY) == {
            n.ec2_instance_id for n in INVENTORY if evaluate(parse(text), n)
        }


def test_regexes_never_admit_values_they_have_not_seen() -> None:
    newcomer = NodeView("i-9", {"ecs.instance-type": "t2.nano", "ecs.availability-zone": "us-east-1z"})
    for text in [
        "not (attribute:ecs.instance-type =~ t2.*)",
        "attribute:ecs.instance-type !~ g2.*",
        "attribute:ecs.availability-zone =~ 'us-east-1.'",
        "not (attribute:ecs.availability-zone !~ 'us-east-1.')",
    ]:
        placement = compile_expression(text, INVENTORY)
        assert placement.depends_on_inventory
        assert admitted(placement, [newcomer]) == set(), text
        # ...and once the operator re-resolves with the newcomer, it gets the right answer.
        fleet = [*INVENTORY, newcomer]
        expected = {n.ec2_instance_id for n in fleet if evaluate(parse(text), n)}
        assert admitted(compile_expression(text, fleet), fleet) == expected, text


def test_integers_that_cannot_be_label_values() -> None:
    # "-3" cannot be a label value (labels start alphanumeric), so Gt/Lt never see it as a number.
    fleet = [NodeView("i-1", {"n": "-3"}), NodeView("i-2", {"n": "7"}), NodeView("i-3", {"n": "+9"})]
    for text in ["attribute:n > -5", "attribute:n < 0", "not (attribute:n >= 8)", "attribute:n <= 9"]:
        placement = compile_expression(text, fleet)
        expected = {n.ec2_instance_id for n in fleet if evaluate(parse(text), n)}
        assert admitted(placement, fleet) == expected, text
    # Without an inventory the plain Gt/Lt is used: it may leave such nodes out, never lets others in.
    assert admitted(compile_expression("attribute:n > -5"), fleet) == {"i-2"}
