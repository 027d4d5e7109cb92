"""The placement hook: constraints, strategies, combinations, merging, Fargate and DAEMON."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.helpers_translate import pod_spec, render, render_svc, svc, td

from ecsk.core.cql import NodeView, node_matches, task_group_label_value
from ecsk.core.placement import (
    DEFAULT_PROFILES,
    FARGATE_CONSTRAINTS,
    FARGATE_STRATEGIES,
    LEGACY_PROFILES,
    NEEDS_INVENTORY,
    PlacementEngine,
    SchedulerProfiles,
    chain,
    place,
)
from ecsk.core.translate import PlacementInputs

GROUP = "service:web"
GROUP_LABEL = {"ecs.ecsk.io/task-group": task_group_label_value(GROUP)}
REQ = "requiredDuringSchedulingIgnoredDuringExecution"


def inputs(**kw: Any) -> PlacementInputs:
    kw.setdefault("task_group", GROUP)
    kw.setdefault("scheduling_strategy", "REPLICA")
    return PlacementInputs(**kw)


def node_terms(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["affinity"]["nodeAffinity"][REQ]["nodeSelectorTerms"]


def zone_spread() -> dict[str, Any]:
    return {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": GROUP_LABEL},
        "matchLabelKeys": ["pod-template-hash"],
    }


# --- strategies --------------------------------------------------------------------------------


def test_service_without_strategy_spreads_over_zones_with_the_default_scheduler() -> None:
    spec: dict[str, Any] = {}
    out = place(spec, inputs())
    assert out.diagnostics == []
    assert spec == {"topologySpreadConstraints": [zone_spread()]}


def test_standalone_task_without_strategy_gets_nothing() -> None:
    spec: dict[str, Any] = {}
    place(spec, inputs(task_group="family:app", scheduling_strategy=None))
    assert spec == {}


def test_spread_on_instance_id_and_host_use_the_hostname_once() -> None:
    spec: dict[str, Any] = {}
    place(
        spec,
        inputs(
            placement_strategy=[
                {"type": "spread", "field": "instanceId"},
                {"type": "spread", "field": "host"},
            ]
        ),
    )
    assert [c["topologyKey"] for c in spec["topologySpreadConstraints"]] == ["kubernetes.io/hostname"]
    assert "schedulerName" not in spec


def test_spread_zone_then_instance_gives_two_constraints_in_order() -> None:
    spec: dict[str, Any] = {}
    place(
        spec,
        inputs(
            placement_strategy=[
                {"type": "spread", "field": "attribute:ecs.availability-zone"},
                {"type": "spread", "field": "instanceId"},
            ]
        ),
    )
    keys = [c["topologyKey"] for c in spec["topologySpreadConstraints"]]
    assert keys == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    assert all(
        c["whenUnsatisfiable"] == "ScheduleAnyway" and c["maxSkew"] == 1
        for c in spec["topologySpreadConstraints"]
    )


def test_spread_on_a_custom_attribute_uses_its_label() -> None:
    spec: dict[str, Any] = {}
    place(spec, inputs(placement_strategy=[{"type": "spread", "field": "attribute:rack"}]))
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "attribute.ecs.ecsk.io/rack"


@pytest.mark.parametrize(
    ("field", "profile"), [("cpu", "ecsk-binpack-cpu"), ("memory", "ecsk-binpack-memory")]
)
def test_binpack_picks_the_per_resource_profile_and_no_spread(field: str, profile: str) -> None:
    spec: dict[str, Any] = {}
    out = place(spec, inputs(placement_strategy=[{"type": "binpack", "field": field}]))
    assert spec == {"schedulerName": profile}
    assert out.diagnostics == []


def test_binpack_with_legacy_profiles_uses_the_single_binpack_profile() -> None:
    spec: dict[str, Any] = {}
    place(spec, inputs(placement_strategy=[{"type": "binpack", "field": "memory"}]), profiles=LEGACY_PROFILES)
    assert spec["schedulerName"] == "ecsk-binpack"


def test_spread_zone_then_binpack_memory_is_spread_plus_binpack_profile() -> None:
    spec: dict[str, Any] = {}
    place(
        spec,
        inputs(
            placement_strategy=[
                {"type": "spread", "field": "attribute:ecs.availability-zone"},
                {"type": "binpack", "field": "memory"},
            ]
        ),
    )
    assert spec == {"topologySpreadConstraints": [zone_spread()], "schedulerName": "ecsk-binpack-memory"}


def test_rules_after_binpack_are_tie_breakers_and_dropped_with_a_note() -> None:
    spec: dict[str, Any] = {}
    out = place(
        spec,
        inputs(
            placement_strategy=[
                {"type": "binpack", "field": "cpu"},
                {"type": "spread", "field": "instanceId"},
                {"type": "binpack", "field": "memory"},
            ]
        ),
    )
    assert spec == {"schedulerName": "ecsk-binpack-cpu"}
    assert [d.severity for d in out.diagnostics] == ["info", "info"]
    assert all(d.code == "placement.strategy-tie-breaker" for d in out.diagnostics)
    assert out.diagnostics[0].path == "placementStrategy[1]"


def test_random_keeps_earlier_spreads_on_the_default_scheduler_and_ends_the_plan() -> None:
    spec: dict[str, Any] = {}
    place(
        spec,
        inputs(
            placement_strategy=[
                {"type": "spread", "field": "attribute:ecs.availability-zone"},
                {"type": "random"},
            ]
        ),
    )
    assert spec == {"topologySpreadConstraints": [zone_spread()]}
    spec = {}
    out = place(spec, inputs(placement_strategy=[{"type": "random"}, {"type": "binpack", "field": "cpu"}]))
    assert spec == {}
    assert [d.code for d in out.diagnostics] == ["placement.strategy-tie-breaker"]


def test_a_random_profile_can_be_configured() -> None:
    spec: dict[str, Any] = {}
    place(
        spec, inputs(placement_strategy=[{"type": "random"}]), profiles=SchedulerProfiles(random="my-random")
    )
    assert spec == {"schedulerName": "my-random"}


def test_an_invalid_strategy_is_an_error() -> None:
    out = place({}, inputs(placement_strategy=[{"type": "binpack", "field": "disk"}]))
    assert [d.code for d in out.diagnostics] == ["placement.strategy-field"]
    out = place({}, inputs(placement_strategy=[{"type": "pack"}]))
    assert [d.code for d in out.diagnostics] == ["placement.strategy-type"]
    out = place({}, inputs(placement_strategy=[{"type": "random"}] * 6))
    assert "placement.strategy-count" in [d.code for d in out.diagnostics]


def test_an_existing_scheduler_name_is_not_overridden() -> None:
    spec: dict[str, Any] = {"schedulerName": "fargate-scheduler"}
    out = place(spec, inputs(placement_strategy=[{"type": "binpack", "field": "cpu"}]))
    assert spec["schedulerName"] == "fargate-scheduler"
    assert [d.code for d in out.diagnostics] == ["placement.scheduler-taken"]


def test_an_existing_spread_on_the_same_key_wins() -> None:
    mine = {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    spec: dict[str, Any] = {"topologySpreadConstraints": [mine]}
    place(spec, inputs())
    assert spec["topologySpreadConstraints"] == [mine]


# --- constraints -------------------------------------------------------------------------------


def test_distinct_instance_is_required_anti_affinity_on_the_hostname_within_the_group() -> None:
    spec: dict[str, Any] = {}
    place(spec, inputs(placement_constraints=[{"type": "distinctInstance"}]))
    assert spec["affinity"] == {
        "podAntiAffinity": {
            REQ: [{"labelSelector": {"matchLabels": GROUP_LABEL}, "topologyKey": "kubernetes.io/hostname"}]
        }
    }


def test_member_of_compiles_into_required_node_affinity() -> None:
    spec: dict[str, Any] = {}
    out = place(
        spec,
        inputs(
            placement_constraints=[
                {
                    "type": "memberOf",
                    "expression": "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
                }
            ]
        ),
    )
    assert out.diagnostics == []
    assert node_terms(spec) == [
        {
            "matchExpressions": [
                {
                    "key": "topology.kubernetes.io/zone",
                    "operator": "In",
                    "values": ["us-east-1a", "us-east-1b"],
                }
            ]
        }
    ]


def test_task_definition_and_service_constraints_are_anded() -> None:
    spec: dict[str, Any] = {}
    place(
        spec,
        inputs(
            placement_constraints=[
                {
                    "type": "memberOf",
                    "expression": "attribute:ecs.instance-type == m5.large"
                    " or attribute:ecs.instance-type == c5.large",
                },
                {"type": "memberOf", "expression": "attribute:ecs.availability-zone != us-east-1c"},
            ]
        ),
    )
    terms = node_terms(spec)
    for name, labels, ok in [
        (
            "a",
            {"node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/zone": "us-east-1a"},
            True,
        ),
        (
            "b",
            {"node.kubernetes.io/instance-type": "c5.large", "topology.kubernetes.io/zone": "us-east-1c"},
            False,
        ),
        (
            "c",
            {"node.kubernetes.io/instance-type": "m5.xlarge", "topology.kubernetes.io/zone": "us-east-1a"},
            False,
        ),
    ]:
        assert node_matches(terms, labels, name) is ok


def test_task_group_expressions_become_pod_affinity() -> None:
    spec: dict[str, Any] = {}
    place(
        spec,
        inputs(placement_constraints=[{"type": "memberOf", "expression": "not(task:group == database)"}]),
    )
    assert spec["affinity"]["podAntiAffinity"][REQ] == [
        {
            "labelSelector": {
                "matchExpressions": [
                    {
                        "key": "ecs.ecsk.io/task-group",
                        "operator": "In",
                        "values": [task_group_label_value("database")],
                    }
                ]
            },
            "topologyKey": "kubernetes.io/hostname",
        }
    ]


def test_more_than_ten_constraints_is_an_error() -> None:
    many = [{"type": "memberOf", "expression": "attribute:x exists"}] * 11
    spec: dict[str, Any] = {}
    out = place(spec, inputs(placement_constraints=many))
    assert [d.code for d in out.diagnostics] == ["placement.constraint-count"]
    assert "maximum of 10" in out.diagnostics[0].message
    assert spec == {}


def test_syntax_errors_name_the_constraint() -> None:
    out = place({}, inputs(placement_constraints=[{"type": "memberOf", "expression": "attribute:x == a b"}]))
    assert out.diagnostics[0].path == "placementConstraints[0].expression"
    assert out.diagnostics[0].code == "placement.cql-syntax"


def test_bad_constraint_shapes_are_errors() -> None:
    out = place({}, inputs(placement_constraints=[{"type": "memberOf"}, {"type": "sameInstance"}]))
    assert [d.code for d in out.diagnostics] == ["placement.expression", "placement.constraint-type"]


def test_unsatisfiable_constraints_warn_that_tasks_stay_pending() -> None:
    spec: dict[str, Any] = {}
    out = place(
        spec,
        inputs(
            placement_constraints=[
                {"type": "memberOf", "expression": "attribute:ecs.cpu-architecture == amd64"}
            ]
        ),
    )
    assert [d.code for d in out.diagnostics] == ["placement.unsatisfiable"]
    assert node_terms(spec) == [
        {"matchExpressions": [{"key": "ecs.ecsk.io/cql-unsatisfiable", "operator": "Exists"}]}
    ]


# --- regexes and the inventory -------------------------------------------------------------------

REGEX = [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ 'm5\\..*'"}]


def fleet() -> list[NodeView]:
    return [
        NodeView("n1", {"ecs.instance-type": "m5.large"}),
        NodeView("n2", {"ecs.instance-type": "c5.large"}),
        NodeView("n3", {"ecs.instance-type": "m5.xlarge"}),
    ]


def test_a_regex_without_inventory_is_a_clear_error_that_flags_the_inventory() -> None:
    spec: dict[str, Any] = {}
    out = place(spec, inputs(placement_constraints=REGEX))
    assert [d.code for d in out.diagnostics] == [NEEDS_INVENTORY]
    assert "live nodes" in out.diagnostics[0].message
    assert out.depends_on_inventory
    assert spec == {}


def test_a_regex_resolves_against_the_inventory() -> None:
    spec: dict[str, Any] = {}
    engine = PlacementEngine(fleet())
    assert engine(spec, inputs(placement_constraints=REGEX)) == []
    assert engine.depends_on_inventory
    assert node_terms(spec) == [
        {
            "matchExpressions": [
                {
                    "key": "node.kubernetes.io/instance-type",
                    "operator": "In",
                    "values": ["m5.large", "m5.xlarge"],
                }
            ]
        }
    ]


def test_an_engine_without_regexes_does_not_depend_on_the_inventory() -> None:
    engine = PlacementEngine(fleet())
    engine({}, inputs(placement_constraints=[{"type": "distinctInstance"}]))
    assert not engine.depends_on_inventory


# --- merging with what the pod already has ---------------------------------------------------------


def test_existing_node_terms_are_crossed_not_appended() -> None:
    spec: dict[str, Any] = {
        "affinity": {
            "nodeAffinity": {
                REQ: {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a"]}]},
                        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["b"]}]},
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}],
            }
        }
    }
    place(
        spec,
        inputs(
            placement_constraints=[
                {
                    "type": "memberOf",
                    "expression": "attribute:ecs.availability-zone == z1 or attribute:ecs.instance-type == t",
                }
            ]
        ),
    )
    terms = node_terms(spec)
    assert len(terms) == 4
    for name, labels, ok in [
        ("1", {"pool": "a", "topology.kubernetes.io/zone": "z1"}, True),
        ("2", {"pool": "b", "node.kubernetes.io/instance-type": "t"}, True),
        ("3", {"pool": "c", "topology.kubernetes.io/zone": "z1"}, False),
        ("4", {"pool": "a", "topology.kubernetes.io/zone": "z2"}, False),
    ]:
        assert node_matches(terms, labels, name) is ok
    assert spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]


def test_placing_twice_changes_nothing() -> None:
    spec: dict[str, Any] = {"nodeSelector": {"kubernetes.io/arch": "amd64"}}
    given = inputs(
        placement_constraints=[
            {
                "type": "memberOf",
                "expression": "attribute:ecs.availability-zone == a or attribute:ecs.instance-type == t",
            },
            {"type": "distinctInstance"},
        ],
        placement_strategy=[
            {"type": "spread", "field": "instanceId"},
            {"type": "binpack", "field": "memory"},
        ],
    )
    place(spec, given)
    once = repr(spec)
    place(spec, given)
    assert repr(spec) == once


def test_existing_pod_anti_affinity_is_kept() -> None:
    theirs = {"labelSelector": {"matchLabels": {"x": "y"}}, "topologyKey": "kubernetes.io/hostname"}
    spec: dict[str, Any] = {"affinity": {"podAntiAffinity": {REQ: [theirs]}}}
    place(spec, inputs(placement_constraints=[{"type": "distinctInstance"}]))
    assert spec["affinity"]["podAntiAffinity"][REQ][0] == theirs
    assert len(spec["affinity"]["podAntiAffinity"][REQ]) == 2


def test_runtime_platform_node_selector_stays_and_contradictions_warn() -> None:
    t = td(
        runtimePlatform={"cpuArchitecture": "X86_64"},
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.cpu-architecture == arm64"}],
    )
    result = render_svc(svc(), t, placement_hook=PlacementEngine())
    spec = pod_spec(result)
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert node_terms(spec) == [
        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]}
    ]
    assert "placement.contradiction" in [d.code for d in result.diagnostics]


# --- through the translator -------------------------------------------------------------------------


def test_render_service_labels_pods_with_the_group_the_terms_select() -> None:
    t = td(
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"}]
    )
    s = svc(
        placementConstraints=[{"type": "distinctInstance"}],
        placementStrategy=[{"type": "binpack", "field": "cpu"}],
    )
    result = render_svc(s, t, placement_hook=PlacementEngine())
    assert result.ok
    dep = next(o for o in result.objects if o["kind"] == "Deployment")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    spec = dep["spec"]["template"]["spec"]
    anti = spec["affinity"]["podAntiAffinity"][REQ][0]
    assert anti["labelSelector"]["matchLabels"].items() <= labels.items()
    assert spec["schedulerName"] == "ecsk-binpack-cpu"
    assert node_terms(spec)[0]["matchExpressions"][0]["values"] == ["m5.large"]


def test_render_task_definition_places_standalone_tasks_without_default_spread() -> None:
    t = td(
        placementConstraints=[
            {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1a"}
        ]
    )
    spec = pod_spec(render(t, placement_hook=PlacementEngine()))
    assert "topologySpreadConstraints" not in spec
    assert node_terms(spec)


def test_daemon_services_refuse_strategies_and_get_no_default_spread() -> None:
    spec: dict[str, Any] = {}
    out = place(spec, inputs(scheduling_strategy="DAEMON", placement_strategy=[{"type": "random"}]))
    assert [d.code for d in out.diagnostics] == ["placement.daemon"]
    spec = {}
    place(
        spec,
        inputs(
            scheduling_strategy="DAEMON",
            placement_constraints=[
                {"type": "memberOf", "expression": "attribute:ecs.availability-zone == a"}
            ],
        ),
    )
    assert "topologySpreadConstraints" not in spec and node_terms(spec)


# --- Fargate -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"launch_type": "FARGATE"},
        {"capacity_provider_strategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
        {"requires_compatibilities": ["FARGATE"]},
    ],
)
def test_fargate_refuses_constraints_and_strategies_in_ecs_words(kw: dict[str, Any]) -> None:
    spec: dict[str, Any] = {}
    out = place(
        spec,
        inputs(
            placement_constraints=[{"type": "distinctInstance"}],
            placement_strategy=[{"type": "random"}],
            **kw,
        ),
    )
    assert [d.message for d in out.diagnostics] == [FARGATE_CONSTRAINTS, FARGATE_STRATEGIES]
    assert all(d.severity == "error" for d in out.diagnostics)
    assert spec == {}


def test_fargate_without_placement_adds_nothing() -> None:
    spec: dict[str, Any] = {}
    assert place(spec, inputs(launch_type="FARGATE")).diagnostics == []
    assert spec == {}


def test_ec2_compatible_task_definitions_are_not_fargate() -> None:
    spec: dict[str, Any] = {}
    place(spec, inputs(requires_compatibilities=["EC2", "FARGATE"]))
    assert spec["topologySpreadConstraints"]


def test_chain_runs_hooks_in_order_and_collects_diagnostics() -> None:
    seen: list[str] = []

    def first(spec: dict[str, Any], _: PlacementInputs) -> None:
        seen.append("first")
        spec["schedulerName"] = "fargate-scheduler"

    hook = chain(first, None, PlacementEngine(profiles=DEFAULT_PROFILES))
    spec: dict[str, Any] = {}
    found = hook(spec, inputs(placement_strategy=[{"type": "binpack", "field": "cpu"}]))
    assert seen == ["first"]
    assert [d.code for d in found] == ["placement.scheduler-taken"]


def test_standalone_inputs_and_task_definition_constraints_and_the_call_group() -> None:
    from ecsk.core.models import RunTask
    from ecsk.core.placement import standalone_inputs

    t = td(
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"}]
    )
    call = RunTask.model_validate(
        {
            "taskDefinition": "app",
            "group": "batch",
            "placementConstraints": [{"type": "distinctInstance"}],
            "placementStrategy": [{"type": "spread", "field": "instanceId"}],
        }
    )
    given = standalone_inputs(call, t)
    assert given.task_group == "batch"
    assert [c["type"] for c in given.placement_constraints or ()] == ["memberOf", "distinctInstance"]
    spec: dict[str, Any] = {}
    assert place(spec, given).diagnostics == []
    assert spec["topologySpreadConstraints"][0]["labelSelector"] == {
        "matchLabels": {"ecs.ecsk.io/task-group": task_group_label_value("batch")}
    }
    assert node_terms(spec) and spec["affinity"]["podAntiAffinity"]
    default = standalone_inputs(RunTask.model_validate({"taskDefinition": "app"}), t)
    assert default.task_group == "family:app"
