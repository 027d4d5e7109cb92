"""Offline placement (`ecsk render` / `import`): the operator's engine without a node inventory.

Only what needs the live nodes (a regex, a negated ordered comparison) is deferred, with a
warning that says so; everything else is rendered exactly as the operator renders it, and
`--explain` names what each placementConstraints / placementStrategy entry became.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.core.cql import NodeView, task_group_label_value
from ecsk.core.models import load_text
from ecsk.core.placement import NEEDS_INVENTORY, PlacementEngine, offline_hook, place, with_launch_gates
from ecsk.core.placement.constraints import DEFERRED
from ecsk.core.translate import PlacementInputs, RenderOptions, RenderResult
from ecsk.core.translate.bundle import render_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REQ = "requiredDuringSchedulingIgnoredDuringExecution"
ZONE_SPREAD = "spec.topologySpreadConstraints"


def td_doc(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "family": "web",
        "networkMode": "bridge",
        "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 256}],
    }
    doc.update(fields)
    return doc


def svc_doc(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 3,
        "launchType": "EC2",
    }
    doc.update(fields)
    return doc


def render(*docs: dict[str, Any], hook: Any = None) -> list[Any]:
    loaded = [d for doc in docs for d in load_text(json.dumps(doc))]
    return render_documents(loaded, RenderOptions(placement_hook=hook or offline_hook()))


def service_result(*docs: dict[str, Any], hook: Any = None) -> RenderResult:
    item = next(i for i in render(*docs, hook=hook) if i.kind == "ECSService")
    assert item.result is not None, [str(i) for i in item.issues]
    return item.result


def deployment_spec(result: RenderResult) -> dict[str, Any]:
    dep = next(o for o in result.objects if o["kind"] == "Deployment")
    spec: dict[str, Any] = dep["spec"]["template"]["spec"]
    return spec


def explained(result: RenderResult) -> dict[str, tuple[tuple[str, ...] | None, str]]:
    return {e.ecs_path: (e.k8s_paths, e.note) for e in result.explanations}


def test_spread_then_binpack_renders_zone_spread_and_the_binpack_profile() -> None:
    strategy = [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "binpack", "field": "memory"},
    ]
    result = service_result(td_doc(), svc_doc(placementStrategy=strategy))
    spec = deployment_spec(result)
    [spread] = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway" and spread["maxSkew"] == 1
    assert spread["labelSelector"]["matchLabels"] == {
        "ecs.ecsk.io/task-group": task_group_label_value("service:web")
    }
    assert spec["schedulerName"] == "ecsk-binpack-memory"
    notes = explained(result)
    assert notes["placementStrategy[0]"][0] == (ZONE_SPREAD,)
    assert "topology.kubernetes.io/zone" in notes["placementStrategy[0]"][1]
    assert notes["placementStrategy[1]"][0] == ("spec.schedulerName",)
    assert "ecsk-binpack-memory" in notes["placementStrategy[1]"][1]
    assert not result.diagnostics


def test_tie_breaker_after_binpack_is_explained_as_not_rendered() -> None:
    strategy = [{"type": "binpack", "field": "cpu"}, {"type": "spread", "field": "instanceId"}]
    result = service_result(td_doc(), svc_doc(placementStrategy=strategy))
    spec = deployment_spec(result)
    assert spec["schedulerName"] == "ecsk-binpack-cpu" and "topologySpreadConstraints" not in spec
    k8s, note = explained(result)["placementStrategy[1]"]
    assert k8s is None and "only breaks ties after binpack on cpu" in note


def test_distinct_instance_renders_required_pod_anti_affinity_on_the_hostname() -> None:
    result = service_result(td_doc(), svc_doc(placementConstraints=[{"type": "distinctInstance"}]))
    [term] = deployment_spec(result)["affinity"]["podAntiAffinity"][REQ]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == {
        "ecs.ecsk.io/task-group": task_group_label_value("service:web")
    }
    k8s, note = explained(result)["placementConstraints[0]"]
    assert k8s == (f"spec.affinity.podAntiAffinity.{REQ}",)
    assert note.startswith("distinctInstance -> required pod anti-affinity on kubernetes.io/hostname")


def test_member_of_without_inventory_parts_renders_node_affinity() -> None:
    constraint = {
        "type": "memberOf",
        "expression": "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    }
    result = service_result(td_doc(), svc_doc(placementConstraints=[constraint]))
    terms = deployment_spec(result)["affinity"]["nodeAffinity"][REQ]["nodeSelectorTerms"]
    assert terms == [
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
    k8s, note = explained(result)["placementConstraints[0]"]
    assert k8s == (f"spec.affinity.nodeAffinity.{REQ}.nodeSelectorTerms",)
    assert "1 nodeSelectorTerms" in note
    assert not result.diagnostics


def test_a_regex_is_deferred_and_the_rest_is_rendered() -> None:
    """Task definition: memberOf with a regex (needs the live nodes); service: distinctInstance
    and a zone memberOf (need nothing). Offline, only the regex is left out, with a warning."""
    regex = {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"}
    zone = {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1a"}
    result = service_result(
        td_doc(placementConstraints=[regex]),
        svc_doc(placementConstraints=[{"type": "distinctInstance"}, zone]),
    )
    assert result.ok
    [warning] = result.diagnostics
    assert (warning.severity, warning.code) == ("warning", DEFERRED)
    assert warning.path == "taskDefinition.placementConstraints[0].expression"
    assert "=~ m5.*" in warning.message and "live nodes" in warning.message
    affinity = deployment_spec(result)["affinity"]
    terms = affinity["nodeAffinity"][REQ]["nodeSelectorTerms"]
    assert terms == [
        {
            "matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1a"]}
            ]
        }
    ]
    assert affinity["podAntiAffinity"][REQ][0]["topologyKey"] == "kubernetes.io/hostname"
    notes = explained(result)
    assert notes["taskDefinition:placementConstraints[0]"][0] is None
    assert "deferred to the operator" in notes["taskDefinition:placementConstraints[0]"][1]
    assert notes["placementConstraints[1]"][0] == (f"spec.affinity.nodeAffinity.{REQ}.nodeSelectorTerms",)


def test_a_real_cql_error_is_still_refused_offline() -> None:
    bad = {"type": "memberOf", "expression": "attribute:ecs.instance-type =="}
    [item] = [i for i in render(td_doc(placementConstraints=[bad])) if i.kind == "TaskDefinition"]
    # Refused by validation now (as ECS refuses RegisterTaskDefinition), before any rendering.
    assert item.result is None
    assert [i.rule for i in item.issues] == ["placement.cql-syntax"]


def test_the_operator_without_inventory_still_refuses_a_regex() -> None:
    """Not offline (the operator whose node list failed): nothing is applied until it has nodes."""
    spec: dict[str, Any] = {}
    inputs = PlacementInputs(
        task_group="service:web",
        placement_constraints=[{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"}],
    )
    out = place(spec, inputs)
    assert [d.code for d in out.diagnostics] == [NEEDS_INVENTORY] and spec == {}


def test_offline_and_live_renders_agree_when_nothing_needs_the_inventory() -> None:
    """One code path: with the same inputs, the operator's hook (live nodes) and `ecsk render`'s
    produce the same objects."""
    docs = (
        td_doc(placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]),
        svc_doc(
            placementConstraints=[{"type": "distinctInstance"}],
            placementStrategy=[
                {"type": "spread", "field": "instanceId"},
                {"type": "binpack", "field": "cpu"},
            ],
        ),
    )
    live = with_launch_gates(PlacementEngine([NodeView("n1", {"ecs.os-type": "linux"})]))
    assert service_result(*docs).objects == service_result(*docs, hook=live).objects


def test_render_cli_prints_the_placement_and_warns_on_stderr() -> None:
    runner = CliRunner()
    fid = FIXTURES / "fidelity"
    args = [
        "render",
        "-f",
        str(fid / "webapp-ec2-taskdef.json"),
        "-f",
        str(fid / "webapp-services-describe.json"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    [dep] = [o for o in yaml.safe_load_all(result.stdout) if o["kind"] == "Deployment"]
    spec = dep["spec"]["template"]["spec"]
    assert spec["schedulerName"] == "ecsk-binpack-memory"
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert spec["affinity"]["podAntiAffinity"][REQ][0]["topologyKey"] == "kubernetes.io/hostname"
    assert "warning" in result.stderr and "deferred to the operator" in result.stderr
    explain = runner.invoke(app, [*args, "--explain", "-o", "json"])
    rows = {(r["kind"], r["ecsPath"]): r for r in json.loads(explain.stdout)}
    assert rows[("ECSService", "placementStrategy[1]")]["kubernetes"] == ["spec.schedulerName"]
    assert rows[("ECSService", "placementConstraints[0]")]["kubernetes"] == [
        f"spec.affinity.podAntiAffinity.{REQ}"
    ]


def test_import_reports_deferred_placement_and_still_converts() -> None:
    fid = FIXTURES / "fidelity"
    result = CliRunner().invoke(
        app,
        [
            "import",
            "-f",
            str(fid / "webapp-ec2-taskdef.json"),
            "-f",
            str(fid / "webapp-services-describe.json"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    kinds = [o["kind"] for o in yaml.safe_load_all(result.stdout)]
    assert kinds == ["TaskDefinition", "ECSService"]
    assert "deferred to the operator" in result.stderr
