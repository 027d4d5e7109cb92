"""The labs' checks as pure functions of a snapshot: the words a participant reads for a started,
a half-done, a wrongly done and a solved lab; and the catalog the CLI lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ecsk.core.taskdefs.revisions import DATA_KEY, L_REVISION
from ecsk.core.translate.names import LABEL_SERVICE, service_account_name
from ecsk.labs import (
    catalog,
    lab01_taskdefs,
    lab02_launch_types,
    lab03_iam_roles,
    lab04_rolling_updates,
    lab05_placement_strategies,
    lab06_placement_constraints,
    lab07_service_autoscaling,
    lab08_capacity_providers,
    lab09_eks_node_types,
    lab10_load_balancing,
    lab11_environment,
    lab12_ecr,
    lab13_bind_mounts,
    lab14_efs,
    lab15_ecs_vs_kubernetes,
    lab16_app_runner,
    lab17_copilot,
)
from ecsk.labs.engine import Lab, PendingLab, Snapshot, namespace_for

ROOT = Path(__file__).resolve().parents[2]
EC2_NODE = {
    "metadata": {"name": "ip-10-0-0-4.ec2.internal", "labels": {"topology.kubernetes.io/zone": "us-east-1a"}}
}
FARGATE_NODE = {
    "metadata": {
        "name": "fargate-ip-10-1-0-4.ec2.internal",
        "labels": {"eks.amazonaws.com/compute-type": "fargate"},
    }
}


def pod(name: str, service: str, node: str, sa: str | None = None) -> dict[str, Any]:
    """A running task as the kubelet (or kwok) reports it."""
    return {
        "metadata": {"name": name, "labels": {LABEL_SERVICE: service}},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c"}],
            **({"serviceAccountName": sa} if sa else {}),
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "c", "ready": True, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
            ],
        },
    }


def revision_cm(doc: dict[str, Any], number: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"td-{doc['family']}-{number}", "labels": {L_REVISION: str(number)}},
        "data": {DATA_KEY: json.dumps(doc)},
    }


def snap_of(lab: Lab, objs: list[dict[str, Any]], **more: Any) -> Snapshot:
    ecs: dict[str, list[dict[str, Any]]] = {}
    for obj in objs:
        ecs.setdefault(obj["kind"], []).append(obj)
    return Snapshot(namespace=namespace_for(lab.number, "u-"), ecs=ecs, **more)


# --- lab 01 ------------------------------------------------------------------------------------


def test_lab01_right_after_start_names_every_missing_piece() -> None:
    lab = lab01_taskdefs.LAB
    start = lab.starting_objects()
    snap = snap_of(lab, start, config_maps=[revision_cm(start[0]["spec"], 1)])
    assert lab.problems(snap) == [
        "shop has 1 revision (shop:1); change the spec and apply it again to register shop:2",
        "revision shop:1 has the containers [app]: add a second container named log-router",
        "in shop:1 the app container has no environment variable LOG_LEVEL=info",
    ]


def test_lab01_essential_sidecar_and_solved() -> None:
    lab = lab01_taskdefs.LAB
    first = lab.starting_objects()[0]["spec"]
    solved = lab.solution_objects(Snapshot("x"))[0]
    wrong = json.loads(json.dumps(solved["spec"]))
    wrong["containerDefinitions"][1]["essential"] = True
    cms = [revision_cm(first, 1), revision_cm(wrong, 2)]
    assert lab.problems(snap_of(lab, [solved], config_maps=cms)) == [
        'in shop:2 log-router is essential: set "essential": false, '
        "so a crashing sidecar does not stop the task"
    ]
    cms = [revision_cm(first, 1), revision_cm(solved["spec"], 2)]
    assert lab.problems(snap_of(lab, [solved], config_maps=cms)) == []


def test_lab01_unregistered_refused_and_gone() -> None:
    lab = lab01_taskdefs.LAB
    td = lab.starting_objects()[0]
    assert "no registered revision yet" in lab.problems(snap_of(lab, [td]))[0]
    refused = {
        **td,
        "status": {"conditions": [{"type": "Valid", "status": "False", "message": "Too many containers"}]},
    }
    assert lab.problems(snap_of(lab, [refused])) == [
        "the operator refused TaskDefinition shop: Too many containers"
    ]
    assert lab.problems(snap_of(lab, [])) == [
        "TaskDefinition shop is gone: `ecsk lab start 1` creates it again"
    ]
    assert lab.problems(Snapshot("u-lab-01", exists=False)) == [
        "namespace u-lab-01 does not exist: run `ecsk lab start` for this lab first"
    ]


# --- lab 02 ------------------------------------------------------------------------------------


def test_lab02_started_and_half_done() -> None:
    lab = lab02_launch_types.LAB
    objs = lab.starting_objects()
    pods = [pod("a", "api", EC2_NODE["metadata"]["name"]), pod("b", "api", EC2_NODE["metadata"]["name"])]
    assert lab.problems(snap_of(lab, objs, pods=pods, nodes=[EC2_NODE])) == [
        "TaskDefinition api has requiresCompatibilities ['EC2']: add FARGATE",
        "ECSService api still has launchType EC2: set launchType: FARGATE",
        "0 of 2 running tasks are on a Fargate node; still on EC2 instances: ip-10-0-0-4.ec2.internal",
    ]
    solved = lab.solution_objects(Snapshot("x"))
    pods = [pod("a", "api", FARGATE_NODE["metadata"]["name"]), pod("b", "api", EC2_NODE["metadata"]["name"])]
    assert lab.problems(snap_of(lab, solved, pods=pods, nodes=[EC2_NODE, FARGATE_NODE])) == [
        "1 of 2 running tasks are on a Fargate node; still on EC2 instances: ip-10-0-0-4.ec2.internal"
    ]


def test_lab02_solved_and_bridge_mode() -> None:
    lab = lab02_launch_types.LAB
    solved = lab.solution_objects(Snapshot("x"))
    pods = [pod(n, "api", FARGATE_NODE["metadata"]["name"]) for n in "ab"]
    assert lab.problems(snap_of(lab, solved, pods=pods, nodes=[FARGATE_NODE])) == []
    bridge = json.loads(json.dumps(solved))
    bridge[0]["spec"]["networkMode"] = "bridge"
    assert lab.problems(snap_of(lab, bridge, pods=pods, nodes=[FARGATE_NODE])) == [
        "TaskDefinition api has networkMode bridge: Fargate needs awsvpc"
    ]


# --- lab 03 ------------------------------------------------------------------------------------


def _sa(role: str) -> dict[str, Any]:
    return {
        "metadata": {"name": service_account_name(role), "annotations": {"eks.amazonaws.com/role-arn": role}}
    }


def test_lab03_shared_role_and_missing_execution_role() -> None:
    lab = lab03_iam_roles.LAB
    shared = lab03_iam_roles.SHARED
    pods = [pod(n, n, "n1", service_account_name(shared)) for n in ("orders", "reports")]
    out = lab.problems(snap_of(lab, lab.starting_objects(), pods=pods, service_accounts=[_sa(shared)]))
    assert out[0] == (
        "TaskDefinition orders uses the task role arn:aws:iam::123456789012:role/shared-app, shared with "
        "another application: give it its own role (arn:aws:iam::123456789012:role/orders-task)"
    )
    assert any(line.startswith("TaskDefinition reports has no executionRoleArn") for line in out)


def test_lab03_pods_still_on_the_old_identity_then_solved() -> None:
    lab = lab03_iam_roles.LAB
    objs = lab.solution_objects(Snapshot("x")) + lab.starting_objects()[2:]
    roles = lab03_iam_roles.ROLES
    old = service_account_name(lab03_iam_roles.SHARED)
    pods = [
        pod("o1", "orders", "n1", old),
        pod("r1", "reports", "n1", service_account_name(roles["reports"])),
    ]
    sas = [_sa(r) for r in roles.values()]
    assert lab.problems(snap_of(lab, objs, pods=pods, service_accounts=sas)) == [
        "1 of 1 orders tasks still run without ServiceAccount iam-orders-task: o1"
    ]
    pods[0] = pod("o2", "orders", "n1", service_account_name(roles["orders"]))
    assert lab.problems(snap_of(lab, objs, pods=pods, service_accounts=sas)) == []


# --- catalog -----------------------------------------------------------------------------------


def test_catalog_numbers_unique_and_guides_exist() -> None:
    numbers = [lab.number for lab in catalog.LABS] + [p.number for p in catalog.PENDING]
    assert len(numbers) == len(set(numbers))
    for lab in catalog.LABS:
        assert (ROOT / lab.guide).is_file(), lab.guide
        assert len(lab.hints) >= 2 and lab.steps
    readme = (ROOT / "README.md").read_text()
    for lab in catalog.LABS:
        assert f"ecsk lab start {lab.number}`" in readme, f"README labs section lacks lab {lab.number}"


def test_pending_and_unknown_labs_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    pending = FUTURE_LAB
    monkeypatch.setattr(catalog, "PENDING", (pending,))
    with pytest.raises(catalog.UnknownLab, match=r"pending: it waits for issue \d+"):
        catalog.find(pending.number)
    with pytest.raises(catalog.UnknownLab, match=r"no lab 99: the labs are 1, "):
        catalog.find(99)


def test_namespace_prefix_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECSK_LAB_PREFIX", raising=False)
    assert namespace_for(5) == "ecsk-lab-05"
    monkeypatch.setenv("ECSK_LAB_PREFIX", "t1-")
    assert namespace_for(12) == "t1-lab-12"
    assert re.fullmatch(r"[a-z0-9-]+", namespace_for(1))


# --- lab 04 ------------------------------------------------------------------------------------


def _deployment(surge: int, unavailable: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "labels": {LABEL_SERVICE: "web"}},
        "spec": {"strategy": {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}},
    }


def _rolled(objs: list[dict[str, Any]], revision: int, state: str) -> list[dict[str, Any]]:
    svc = json.loads(json.dumps(objs[1]))
    svc["status"] = {"deployments": [{"status": "PRIMARY", "revision": revision, "rolloutState": state}]}
    return [objs[0], svc]


def _web_pods(revisions: list[int]) -> list[dict[str, Any]]:
    pods = []
    for i, rev in enumerate(revisions):
        p = pod(f"w{i}", "web", "n1")
        p["metadata"]["labels"][L_REVISION] = str(rev)
        pods.append(p)
    return pods


def test_lab04_started_names_the_bounds_and_the_revision() -> None:
    lab = lab04_rolling_updates.LAB
    objs = _rolled(lab.starting_objects(), 1, "COMPLETED")
    snap = snap_of(lab, objs, pods=_web_pods([1, 1, 1, 1]), deployments=[_deployment(4, 0)])
    assert lab.problems(snap) == [
        "minimumHealthyPercent is 100: with 4 tasks the goal is at least 3 healthy during a deployment (75)",
        "maximumPercent is 200: with 4 tasks the goal is at most 5 in total (125)",
        "the service still runs web:1: register v2 (VERSION=v2) so it deploys web:2",
    ]


def test_lab04_mid_rollout_then_done() -> None:
    lab = lab04_rolling_updates.LAB
    solved = lab.solution_objects(Snapshot("x"))
    snap = snap_of(
        lab, _rolled(solved, 2, "IN_PROGRESS"), pods=_web_pods([2, 1, 1, 1]), deployments=[_deployment(1, 1)]
    )
    assert lab.problems(snap) == [
        "the deployment of web:2 is IN_PROGRESS: wait until COMPLETED",
        "1 of 4 tasks run web:2; 3 older ones remain",
    ]
    snap = snap_of(
        lab, _rolled(solved, 2, "COMPLETED"), pods=_web_pods([2, 2, 2, 2]), deployments=[_deployment(2, 0)]
    )
    assert lab.problems(snap) == [
        "the Deployment still has maxSurge 2, maxUnavailable 0 (the bounds give 1 and 1)"
    ]
    snap.deployments = [_deployment(1, 1)]
    assert lab.problems(snap) == []


# --- lab 05 ------------------------------------------------------------------------------------

ZONE_NODES = [
    {"metadata": {"name": f"n-{z}", "labels": {"topology.kubernetes.io/zone": f"us-east-1{z}"}}}
    for z in "abc"
]


def test_lab05_packed_tasks_are_reported_by_zone() -> None:
    lab = lab05_placement_strategies.LAB
    pods = [pod(f"w{i}", "web", "n-a" if i < 4 else "n-b") for i in range(6)]
    assert lab.problems(snap_of(lab, lab.starting_objects(), pods=pods, nodes=ZONE_NODES)) == [
        "the service still has no spread on attribute:ecs.availability-zone",
        "4 of 6 tasks are in us-east-1a (us-east-1a: 4, us-east-1b: 2, us-east-1c: 0): "
        "not spread evenly over the zones",
    ]


def test_lab05_order_matters_and_solved() -> None:
    lab = lab05_placement_strategies.LAB
    objs = lab.starting_objects()[:1] + lab.solution_objects(Snapshot("x"))
    pods = [pod(f"w{i}", "web", f"n-{'abc'[i % 3]}") for i in range(6)]
    assert lab.problems(snap_of(lab, objs, pods=pods, nodes=ZONE_NODES)) == []
    reversed_ = json.loads(json.dumps(objs))
    reversed_[1]["spec"]["placementStrategy"].reverse()
    assert lab.problems(snap_of(lab, reversed_, pods=pods[:5], nodes=ZONE_NODES)) == [
        "spread on attribute:ecs.availability-zone must come first: strategies are applied in order",
        "5 of 6 tasks are running; wait for the deployment to finish",
    ]


# --- lab 06 ------------------------------------------------------------------------------------


def _fleet_node(name: str, itype: str, zone: str) -> dict[str, Any]:
    labels = {
        "node.kubernetes.io/instance-type": itype,
        "topology.kubernetes.io/zone": zone,
        "ecs.ecsk.io/origin": "fleet",
    }
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }


FLEET = [
    _fleet_node("m5a", "m5.large", "us-east-1a"),
    _fleet_node("m5b", "m5.large", "us-east-1b"),
    _fleet_node("m5c", "m5.large", "us-east-1c"),
    _fleet_node("c5a", "c5.large", "us-east-1a"),
]


def _with_constraints(lab: Lab, constraints: list[dict[str, str]]) -> list[dict[str, Any]]:
    objs = json.loads(json.dumps(lab.starting_objects()))
    objs[1]["spec"]["placementConstraints"] = constraints
    return objs


def test_lab06_started_shared_and_outside() -> None:
    lab = lab06_placement_constraints.LAB
    pods = [pod("a", "cache", "m5a"), pod("b", "cache", "m5a"), pod("c", "cache", "c5a")]
    assert lab.problems(snap_of(lab, lab.starting_objects(), pods=pods, nodes=FLEET)) == [
        "the service has no distinctInstance constraint",
        "the service has no memberOf constraint: add one with a Cluster Query Language expression",
        "2 of 3 tasks share the instance m5a",
        "1 of 3 tasks run outside m5 instances in us-east-1a / us-east-1b, "
        "e.g. on c5a (c5.large in us-east-1a)",
    ]


def test_lab06_expression_is_evaluated_against_the_fleet() -> None:
    lab = lab06_placement_constraints.LAB
    pods = [pod("a", "cache", "m5a"), pod("b", "cache", "m5b")]
    too_wide = _with_constraints(
        lab,
        [
            {"type": "distinctInstance"},
            {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"},
        ],
    )
    assert lab.problems(snap_of(lab, too_wide, pods=pods, nodes=FLEET)) == [
        "memberOf 'attribute:ecs.instance-type =~ m5.*' also selects 1 instance(s) outside the goal, "
        "e.g. m5c (m5.large in us-east-1c)",
        "2 of 3 tasks are running; wait for the deployment to finish",
    ]
    broken = _with_constraints(
        lab, [{"type": "distinctInstance"}, {"type": "memberOf", "expression": "attribute:"}]
    )
    assert lab.problems(snap_of(lab, broken, nodes=FLEET))[0].startswith(
        "memberOf expression 'attribute:' does not parse"
    )
    solved = lab.starting_objects()[:1] + lab.solution_objects(Snapshot("x"))
    pods = [pod("a", "cache", "m5a"), pod("b", "cache", "m5b"), pod("c", "cache", "m5b2")]
    fleet = [*FLEET, _fleet_node("m5b2", "m5.xlarge", "us-east-1b")]
    assert lab.problems(snap_of(lab, solved, pods=pods, nodes=fleet)) == []


# --- lab 07 ------------------------------------------------------------------------------------


def test_lab07_started_lists_the_three_resources() -> None:
    lab = lab07_service_autoscaling.LAB
    assert lab.problems(snap_of(lab, lab.starting_objects())) == [
        "no ScalableTarget for service/default/web: register the service with Application Auto Scaling first",
        "no target-tracking ScalingPolicy on ECSServiceAverageCPUUtilization for service/default/web",
        "no ScheduledAction raising MinCapacity to 4 (weekday mornings) for service/default/web",
    ]


def test_lab07_wrong_values_unrendered_and_solved() -> None:
    lab = lab07_service_autoscaling.LAB
    answer = lab.solution_objects(Snapshot("x"))
    wrong = json.loads(json.dumps(answer))
    wrong[0]["spec"]["MaxCapacity"] = 20
    wrong[1]["spec"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] = 70
    assert lab.problems(snap_of(lab, lab.starting_objects() + wrong)) == [
        "the scalable target's capacity is 2-20 tasks; the goal is 2-8",
        "the CPU policy tracks 70%; the goal is 50%",
        "policy cpu50 is not rendered yet: no HorizontalPodAutoscaler tracks it (operator running?)",
    ]
    answer[0]["status"] = {"trackedPolicies": ["cpu50"]}
    hpa = {"metadata": {"name": "ecsk-web"}, "spec": {"minReplicas": 2, "maxReplicas": 8}}
    assert lab.problems(snap_of(lab, lab.starting_objects() + answer, hpas=[hpa])) == []


# --- lab 08 ------------------------------------------------------------------------------------


def test_lab08_disabled_scaling_and_pending_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECSK_LAB_PREFIX", "u-")
    lab = lab08_capacity_providers.LAB
    name = lab08_capacity_providers.provider_name(8)
    assert name == "asg-u-lab-08"
    node = {"metadata": {"name": "i1", "labels": {"ecs.ecsk.io/capacity-provider": name}}}
    waiting = {"metadata": {"name": "p2", "labels": {LABEL_SERVICE: "batch"}}, "spec": {}, "status": {}}
    pods = [pod("p1", "batch", "i1"), waiting, {**waiting, "metadata": {**waiting["metadata"], "name": "p3"}}]
    assert lab.problems(snap_of(lab, lab.starting_objects(), pods=pods, nodes=[node])) == [
        "managed scaling of the capacity provider is DISABLED: "
        "the Auto Scaling group never grows for PENDING tasks",
        "1 of 3 tasks run on the group's instances (2 PENDING); the Auto Scaling group has 1 instance(s)",
    ]
    solved = lab.solution_objects(Snapshot("x")) + lab.starting_objects()[1:]
    nodes = [
        {"metadata": {"name": f"i{i}", "labels": {"ecs.ecsk.io/capacity-provider": name}}} for i in (1, 2, 3)
    ]
    pods = [pod(f"p{i}", "batch", f"i{i}") for i in (1, 2, 3)]
    assert lab.problems(snap_of(lab, solved, pods=pods, nodes=nodes)) == []


# --- the command line (no cluster needed for these) ----------------------------------------------


def test_lab_list_shows_ready_and_pending_labs() -> None:
    from typer.testing import CliRunner

    from ecsk.cli.main import app

    result = CliRunner().invoke(app, ["lab", "list"])
    assert result.exit_code == 0, result.output
    for lab in catalog.LABS:
        assert f"ecsk lab start {lab.number}" in result.output
    for pending in catalog.PENDING:
        assert pending.title in result.output and f"pending: {pending.waits_for}" in result.output


FUTURE_LAB = PendingLab(18, "next", "A lab still to come", "a topic", "issue 99 (a feature)")


def test_pending_lab_start_exits_2_with_its_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ecsk.cli.main import app

    monkeypatch.setattr(catalog, "PENDING", (FUTURE_LAB,))
    result = CliRunner().invoke(app, ["lab", "start", "18"])
    assert result.exit_code == 2
    assert "is pending: it waits for issue 99 (a feature)" in result.output


# --- lab 09 ------------------------------------------------------------------------------------


def _plain_pod(name: str, app: str, node: str) -> dict[str, Any]:
    p = pod(name, "-", node)
    p["metadata"]["labels"] = {"app": app}
    return p


def test_lab09_waiting_for_a_profile_then_solved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECSK_LAB_PREFIX", "u-")
    lab = lab09_eks_node_types.LAB
    managed = {"metadata": {"name": "m1", "labels": {"eks.amazonaws.com/nodegroup": "ng-general"}}}
    deployments = lab.starting_objects()
    pods = [_plain_pod("a1", "api", "m1"), _plain_pod("a2", "api", "m1")]
    snap = snap_of(lab, [], pods=pods, nodes=[managed, FARGATE_NODE], deployments=deployments)
    assert lab.problems(snap) == [
        "no FargateProfile selects namespace u-lab-09 with labels app=reports: "
        "the reports pods wait for a profile",
        "0 of 2 reports pods run on Fargate",
        "no StorageClass u-lab-09-efs: EKS volumes need a StorageClass naming a CSI driver (efs.csi.aws.com)",
    ]
    profile, sc, claim = lab.solution_objects(Snapshot("x"))
    wrong_ns = json.loads(json.dumps(profile))
    wrong_ns["spec"]["selectors"][0]["namespace"] = "default"
    snap.ecs = {"FargateProfile": [wrong_ns]}
    assert lab.problems(snap)[0].startswith("no FargateProfile selects namespace u-lab-09")
    snap.ecs = {"FargateProfile": [profile]}
    snap.pods += [_plain_pod(f"r{i}", "reports", FARGATE_NODE["metadata"]["name"]) for i in (1, 2)]
    snap.storage_classes, snap.pvcs = [sc], [claim]  # the claim stays Pending here: no driver, not a problem
    assert lab.problems(snap) == []


def test_lab09_storage_class_on_ebs_and_a_single_writer_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECSK_LAB_PREFIX", "u-")
    lab = lab09_eks_node_types.LAB
    profile, sc, claim = json.loads(json.dumps(lab.solution_objects(Snapshot("x"))))
    managed = {"metadata": {"name": "m1", "labels": {"eks.amazonaws.com/nodegroup": "ng-general"}}}
    pods = [_plain_pod("a1", "api", "m1"), _plain_pod("a2", "api", "m1")]
    pods += [_plain_pod(f"r{i}", "reports", FARGATE_NODE["metadata"]["name"]) for i in (1, 2)]
    sc["provisioner"] = "ebs.csi.aws.com"
    claim["spec"]["accessModes"] = ["ReadWriteOnce"]
    claim["spec"]["storageClassName"] = "gp2"
    snap = snap_of(
        lab,
        [profile],
        pods=pods,
        nodes=[managed, FARGATE_NODE],
        deployments=lab.starting_objects(),
        storage_classes=[sc],
        pvcs=[claim],
    )
    assert lab.problems(snap) == [
        "StorageClass u-lab-09-efs uses ebs.csi.aws.com: Fargate pods can mount EFS only "
        "(provisioner efs.csi.aws.com)",
        "PersistentVolumeClaim reports-data asks StorageClass gp2, not u-lab-09-efs",
        "PersistentVolumeClaim reports-data is not ReadWriteMany: the reports pods on two nodes share it",
    ]
    snap.pvcs = []
    sc["provisioner"], sc["parameters"] = "efs.csi.aws.com", {}
    assert lab.problems(snap) == [
        "StorageClass u-lab-09-efs has no parameters.fileSystemId: the driver makes access points in it",
        "no PersistentVolumeClaim reports-data on StorageClass u-lab-09-efs",
    ]


@pytest.mark.parametrize("lab", catalog.LABS, ids=lambda lab: lab.slug)
def test_steps_and_hints_format_with_the_namespace(lab: Lab) -> None:
    """`start` and `hint` fill {ns}; a stray brace in a YAML snippet would crash them."""
    for text in (*lab.steps, *lab.hints):
        filled = text.format(ns="ecsk-lab-00")
        assert "{ns}" not in filled


# --- lab 10 ------------------------------------------------------------------------------------


def _with_ports(
    p: dict[str, Any], host_port: int | None = None, ip: str = "", sg: str | None = None
) -> dict[str, Any]:
    port: dict[str, Any] = {"containerPort": 80, **({"hostPort": host_port} if host_port else {})}
    p["spec"]["containers"][0]["ports"] = [port]
    p["status"]["podIP"] = ip
    if sg:
        p["metadata"]["labels"][f"sg.ecs.ecsk.io/{sg}"] = "true"
    return p


def _lab10_rendered(tg_web: str = "instance", svc_web: str = "NodePort") -> dict[str, Any]:
    return {
        "target_group_bindings": [
            {"metadata": {"name": "web-tg0"}, "spec": {"targetType": tg_web}},
            {"metadata": {"name": "api-tg0"}, "spec": {"targetType": "ip"}},
        ],
        "services": [
            {"metadata": {"name": "web"}, "spec": {"type": svc_web}},
            {"metadata": {"name": "api"}, "spec": {"type": "ClusterIP"}},
        ],
        "network_policies": [{"metadata": {"name": "api"}}],
    }


def test_lab10_right_after_start_static_port_and_no_target_groups() -> None:
    lab = lab10_load_balancing.LAB
    running = [_with_ports(pod(f"w{i}", "web", f"c5-{i}"), host_port=80) for i in range(3)]
    waiting = [
        {"metadata": {"name": f"w{i}", "labels": {LABEL_SERVICE: "web"}}, "spec": {}, "status": {}}
        for i in (3, 4)
    ]
    api = [_with_ports(pod(f"a{i}", "api", "fargate-ip"), ip=f"10.1.0.{i}") for i in (1, 2)]
    snap = snap_of(lab, lab.starting_objects(), pods=running + waiting + api)
    m = lab10_load_balancing
    assert lab.problems(snap) == [
        "TaskDefinition web maps container port 80 to the static host port 80: one web task per instance; "
        "set hostPort 0 (dynamic host port mapping)",
        "service web is not registered with the ALB target group web-alb: add loadBalancers "
        f"[{{targetGroupArn: {m.WEB_TG}, containerName: web, containerPort: 80}}]",
        "3 of 5 web tasks are running (2 PENDING): the three c5.large instances hold one task each "
        "while a host port is fixed",
        f"service api has no security group {m.SG} in networkConfiguration.awsvpcConfiguration",
        "service api is not registered with the NLB target group api-nlb: add loadBalancers "
        f"[{{targetGroupArn: {m.API_TG}, containerName: api, containerPort: 8080}}]",
    ]


def test_lab10_wrong_target_group_shared_ip_and_solved() -> None:
    lab = lab10_load_balancing.LAB
    m = lab10_load_balancing
    answer = [*lab.solution_objects(Snapshot("x")), lab.starting_objects()[2]]
    web = [_with_ports(pod(f"w{i}", "web", f"c5-{i % 3}")) for i in range(5)]
    api = [_with_ports(pod(f"a{i}", "api", "f"), ip=f"10.1.0.{i}", sg=m.SG) for i in (1, 2)]
    assert lab.problems(snap_of(lab, answer, pods=web + api, **_lab10_rendered())) == []
    wrong = json.loads(json.dumps(answer))
    wrong[1]["spec"]["loadBalancers"][0]["containerPort"] = 8080  # not the port the container maps
    same_ip = [_with_ports(pod(f"a{i}", "api", "f"), ip="10.1.0.9", sg=m.SG) for i in (1, 2)]
    assert lab.problems(snap_of(lab, wrong, pods=web + same_ip, **_lab10_rendered())) == [
        "service web is not registered with the ALB target group web-alb: add loadBalancers "
        f"[{{targetGroupArn: {m.WEB_TG}, containerName: web, containerPort: 80}}]",
        "2 of 2 api tasks are running, with 1 private IP(s)",
    ]
    rendered = _lab10_rendered(tg_web="ip", svc_web="ClusterIP")
    rendered["network_policies"] = []
    old = [_with_ports(pod(f"w{i}", "web", f"c5-{i % 3}"), host_port=80) for i in range(5)]
    assert lab.problems(snap_of(lab, answer, pods=old + api, **rendered)) == [
        "TargetGroupBinding web-tg0 has targetType ip, not instance",
        "Service web is of type ClusterIP, not NodePort",
        "5 running web task(s) still bind a host port: wait for the new revision",
        "no NetworkPolicy api yet: the operator renders the security group as one",
    ]
    assert lab.problems(snap_of(lab, answer, pods=web + api)) == [
        "no TargetGroupBinding web-tg0 yet: the operator renders it from loadBalancers",
        "no TargetGroupBinding api-tg0 yet: the operator renders it from loadBalancers",
        "no NetworkPolicy api yet: the operator renders the security group as one",
    ]


# --- lab 11 ------------------------------------------------------------------------------------

SM_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:checkout/db-password-AbC123"


def _stored(name: str, arn: str | None = None) -> dict[str, Any]:
    meta = json.dumps({"arn": arn} if arn else {"type": "SecureString"})
    return {
        "metadata": {"name": name, "annotations": {"ecs.ecsk.io/aws-metadata": meta}},
        "data": {"value": ""},
    }


def _env_pod(name: str, wired: bool) -> dict[str, Any]:
    p = pod(name, "checkout", "i1")
    c = p["spec"]["containers"][0]
    c["name"] = p["status"]["containerStatuses"][0]["name"] = "app"
    if wired:
        c["env"] = [
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sm.checkout.db-password"}}},
            {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "ssm.checkout.api-key"}}},
        ]
        c["envFrom"] = [{"configMapRef": {"name": "s3.checkout-config.prod.env"}}]
    else:
        c["env"] = [{"name": "DB_PASSWORD", "value": "hunter2"}]
    return p


def test_lab11_right_after_start_everything_hard_coded() -> None:
    lab = lab11_environment.LAB
    pods = [_env_pod("c1", False), _env_pod("c2", False)]
    assert lab.problems(snap_of(lab, lab.starting_objects(), pods=pods)) == [
        "DB_PASSWORD is a plain `environment` value in TaskDefinition checkout: whoever can describe the "
        "task definition reads it; move it to Secrets Manager (checkout/db-password) and `secrets`",
        "API_KEY is a plain `environment` value in TaskDefinition checkout: whoever can describe the "
        "task definition reads it; move it to SSM Parameter Store (/checkout/api-key) and `secrets`",
        "CURRENCY is still hard-coded in `environment`, which overrides environment files: remove it, "
        "the file arn:aws:s3:::checkout-config/prod.env provides it",
        "FEATURE_FLAGS is still hard-coded in `environment`, which overrides environment files: remove "
        "it, the file arn:aws:s3:::checkout-config/prod.env provides it",
        "container app has no `secrets` entry for DB_PASSWORD",
        "container app has no `secrets` entry for API_KEY",
        "container app has no environmentFiles entry "
        "{value: arn:aws:s3:::checkout-config/prod.env, type: s3}",
        "TaskDefinition checkout has no executionRoleArn: the agent reads secrets and downloads "
        "environment files with it (arn:aws:iam::123456789012:role/ecsTaskExecutionRole)",
        "2 of 2 checkout tasks do not read DB_PASSWORD and API_KEY from a secretKeyRef and the "
        "environment file from envFrom yet: c1, c2",
    ]


def test_lab11_nothing_stored_wrong_store_and_solved() -> None:
    lab = lab11_environment.LAB
    service = lab.starting_objects()[1]
    stored = [_stored("sm.checkout.db-password", SM_ARN), _stored("ssm.checkout.api-key")]
    snap = snap_of(lab, [service], secrets=stored)
    assert lab11_environment.stored_arn(snap, "checkout/db-password") == SM_ARN
    cm, td = lab.solution_objects(snap)
    pods = [_env_pod("c1", True), _env_pod("c2", True)]
    assert lab.problems(snap_of(lab, [td, service], pods=pods, secrets=stored, config_maps=[cm])) == []
    # nothing stored yet: the agent's own words for each reference, and the missing file
    assert lab.problems(snap_of(lab, [td, service], pods=pods)) == [
        f"a new task could not fetch DB_PASSWORD: failed to fetch secret {SM_ARN} from secrets manager: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        "a new task could not fetch API_KEY: invalid ssm parameters: /checkout/api-key",
        "the environment file arn:aws:s3:::checkout-config/prod.env does not exist: `ecsk envfile put` it",
    ]
    # the secret created again has another ARN; the API key read from Secrets Manager; a thin file
    swapped = json.loads(json.dumps(td))
    swapped["spec"]["containerDefinitions"][0]["secrets"][1]["valueFrom"] = SM_ARN.replace(
        "checkout/db-password", "checkout/api-key"
    )
    thin = {**cm, "data": {"CURRENCY": "EUR"}}
    again = [_stored("sm.checkout.db-password", SM_ARN.replace("AbC123", "XyZ789")), stored[1]]
    assert lab.problems(snap_of(lab, [swapped, service], pods=pods, secrets=again, config_maps=[thin])) == [
        "API_KEY must come from SSM Parameter Store /checkout/api-key: set its valueFrom to the "
        "parameter name /checkout/api-key (or its ARN)",
        f"a new task could not fetch DB_PASSWORD: failed to fetch secret {SM_ARN} from secrets manager: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        "a new task could not fetch API_KEY: failed to fetch secret "
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:checkout/api-key-AbC123 from secrets "
        "manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        "the environment file arn:aws:s3:::checkout-config/prod.env does not define FEATURE_FLAGS",
    ]


def test_lab11_secrets_without_execution_role_are_refused_in_ecs_words() -> None:
    lab = lab11_environment.LAB
    td = json.loads(json.dumps(lab.solution_objects(Snapshot("x"))[1]))
    del td["spec"]["executionRoleArn"]
    message = (
        "ClientException: executionRoleArn: When you are specifying container secrets, you must also "
        "specify a value for 'executionRoleArn'."
    )
    td["status"] = {"conditions": [{"type": "Valid", "status": "False", "message": message}]}
    assert lab.problems(snap_of(lab, [td, lab.starting_objects()[1]])) == [
        f"the operator refused TaskDefinition checkout: {message}"
    ]


# --- lab 13 ------------------------------------------------------------------------------------


def _sidecar_pod(name: str, shared: bool, storage: str = "50Gi", sidecar_ro: bool = True) -> dict[str, Any]:
    p = pod(name, "frontend", "fargate-ip-10-1-0-4.ec2.internal")
    web: dict[str, Any] = {"name": "web", "resources": {"requests": {"ephemeral-storage": storage}}}
    router: dict[str, Any] = {"name": "log-router"}
    if shared:
        web["volumeMounts"] = [{"name": "logs", "mountPath": "/var/log/nginx"}]
        router["volumeMounts"] = [{"name": "logs", "mountPath": "/var/log/nginx", "readOnly": sidecar_ro}]
        p["spec"]["volumes"] = [{"name": "logs", "emptyDir": {}}]
    p["spec"]["containers"] = [web, router]
    p["status"]["containerStatuses"] = [
        {**p["status"]["containerStatuses"][0], "name": c} for c in ("web", "log-router")
    ]
    return p


def test_lab13_right_after_start_nothing_shared() -> None:
    lab = lab13_bind_mounts.LAB
    pods = [_sidecar_pod("f1", False), _sidecar_pod("f2", False)]
    assert lab.problems(snap_of(lab, lab.starting_objects(), pods=pods)) == [
        "TaskDefinition frontend has no volume named logs: add volumes [{name: logs}]",
        "container web does not mount logs at /var/log/nginx, where nginx writes its logs",
        "container log-router does not see web's logs: add volumesFrom "
        "[{sourceContainer: web, readOnly: true}]",
        "the task has Fargate's default 20 GiB of ephemeral storage; "
        "the goal is ephemeralStorage.sizeInGiB 50",
        "task f1 has no emptyDir volume logs: wait for the new revision's tasks",
    ]


def test_lab13_half_done_and_solved() -> None:
    lab = lab13_bind_mounts.LAB
    solved = [*lab.solution_objects(Snapshot("x")), lab.starting_objects()[1]]
    pods = [_sidecar_pod("f1", True), _sidecar_pod("f2", True)]
    assert lab.problems(snap_of(lab, solved, pods=pods)) == []
    wrong = json.loads(json.dumps(solved))
    td = wrong[0]["spec"]
    td["volumes"] = [{"name": "logs", "host": {"sourcePath": "/var/log/frontend"}}]
    td["containerDefinitions"][1]["volumesFrom"][0]["readOnly"] = False
    td["containerDefinitions"][1]["essential"] = True
    td["ephemeralStorage"]["sizeInGiB"] = 30
    old = [_sidecar_pod("f1", True, storage="30Gi", sidecar_ro=False), _sidecar_pod("f2", True)]
    assert lab.problems(snap_of(lab, wrong, pods=old)) == [
        "volume logs has host.sourcePath: that is a directory of an EC2 instance, and Fargate has none; "
        "leave `host` out so the volume lives with the task",
        "log-router mounts web's volumes read-write: the sidecar only reads, set readOnly: true",
        "log-router is essential: a crashing log router would stop the application's task",
        "the task has 30 GiB of ephemeral storage; the goal is ephemeralStorage.sizeInGiB 50",
        "task f1 mounts logs read-write in log-router: wait for the new revision's tasks",
    ]
    assert lab13_bind_mounts.pod_problem(_sidecar_pod("f3", True, storage="20Gi")) == (
        "requests 20 GiB of ephemeral-storage, not 50"
    )
    assert lab.problems(snap_of(lab, solved, pods=pods[:1])) == ["1 of 2 frontend tasks are running"]


# --- lab 14 ------------------------------------------------------------------------------------

ZONES_3 = ("us-east-1a", "us-east-1b", "us-east-1c")
CLAIM = "efs-fs-0a1b2c3d4e5f60718-2f8d306a"


def _zone_nodes() -> list[dict[str, Any]]:
    return [
        {"metadata": {"name": f"n{i}", "labels": {"topology.kubernetes.io/zone": z}}}
        for i, z in enumerate(ZONES_3)
    ]


def _efs_pod(name: str, node: str, claim: str | None) -> dict[str, Any]:
    p = pod(name, "cms", node)
    volume = {"persistentVolumeClaim": {"claimName": claim}} if claim else {"emptyDir": {}}
    p["spec"]["volumes"] = [{"name": "uploads", **volume}]
    return p


def _claim(phase: str, modes: tuple[str, ...] = ("ReadWriteMany",), sc: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": CLAIM},
        "spec": {"accessModes": list(modes), "volumeName": "pv1", "storageClassName": sc},
        "status": {"phase": phase},
    }


PV = {"metadata": {"name": "pv1"}, "spec": {"csi": {"driver": "efs.csi.aws.com"}}}


def test_lab14_right_after_start_one_volume_per_task() -> None:
    lab = lab14_efs.LAB
    pods = [_efs_pod(f"c{i}", f"n{i}", None) for i in range(3)]
    assert lab.problems(snap_of(lab, lab.starting_objects(), pods=pods, nodes=_zone_nodes())) == [
        "volume uploads is a Docker volume of scope task: every task writes its own copy, lost when the "
        "task stops; make it an EFS volume (efsVolumeConfiguration, fileSystemId fs-0a1b2c3d4e5f60718)",
        "3 of 3 tasks still write to a volume of their own (c0, c1, c2): wait for the new revision's tasks",
    ]


def test_lab14_dynamic_claim_pending_one_zone_and_solved() -> None:
    lab = lab14_efs.LAB
    solved = [*lab.solution_objects(Snapshot("x")), lab.starting_objects()[1]]
    nodes = _zone_nodes()
    pods = [_efs_pod(f"c{i}", f"n{i}", CLAIM) for i in range(3)]
    assert (
        lab.problems(
            snap_of(lab, solved, pods=pods, nodes=nodes, pvcs=[_claim("Bound")], persistent_volumes=[PV])
        )
        == []
    )
    # no access point, no encryption: the claim waits for a provisioner that is not there
    dynamic = json.loads(json.dumps(solved))
    efs = dynamic[0]["spec"]["volumes"][0]["efsVolumeConfiguration"]
    del efs["authorizationConfig"], efs["transitEncryption"]
    waiting = [
        {"metadata": {"name": f"c{i}", "labels": {LABEL_SERVICE: "cms"}}, "spec": {}, "status": {}}
        for i in range(3)
    ]
    sc = {"metadata": {"name": "efs-x"}, "provisioner": "efs.csi.aws.com"}
    snap = snap_of(
        lab, dynamic, pods=waiting, nodes=nodes, pvcs=[_claim("Pending", sc="efs-x")], storage_classes=[sc]
    )
    assert lab.problems(snap) == [
        "volume uploads has no access point fsap-0123456789abcdef0 (authorizationConfig.accessPointId): "
        "without one the claim is provisioned dynamically, which needs the EFS CSI driver",
        "volume uploads does not encrypt in transit: set transitEncryption ENABLED",
        "0 of 3 cms tasks are running (3 PENDING)",
        f"PersistentVolumeClaim {CLAIM} is Pending, waiting for efs.csi.aws.com to create a volume: this "
        "cluster runs no EFS CSI driver, so use the access point (its volume is made statically)",
    ]
    # one zone only, a ReadWriteOnce claim on another driver, two claims
    same_zone = [_efs_pod(f"c{i}", "n0", CLAIM) for i in range(3)]
    other = {"metadata": {"name": "pv1"}, "spec": {"csi": {"driver": "ebs.csi.aws.com"}}}
    rwo = _claim("Bound", modes=("ReadWriteOnce",))
    assert lab.problems(
        snap_of(lab, solved, pods=same_zone, nodes=nodes, pvcs=[rwo], persistent_volumes=[other])
    ) == [
        f"PersistentVolumeClaim {CLAIM} is not ReadWriteMany: tasks on other instances cannot mount it",
        f"PersistentVolumeClaim {CLAIM} is bound to a volume of driver ebs.csi.aws.com, not efs.csi.aws.com",
        "all 3 tasks run in us-east-1a: the goal is at least 2 zones",
    ]
    two = [*pods[:2], _efs_pod("c2", "n2", "other-claim")]
    assert lab.problems(
        snap_of(lab, solved, pods=two, nodes=nodes, pvcs=[_claim("Bound")], persistent_volumes=[PV])
    )[0] == (f"the running tasks mount 2 different claims ({CLAIM}, other-claim); the goal is one, shared")


# --- lab 15 ------------------------------------------------------------------------------------


def _rendered_catalog() -> dict[str, Any]:
    """The Deployment the operator renders from the ECS service (cpu 256 -> 250m, memory 512 hard)."""
    api = {
        "name": "api",
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
    }
    return {
        "metadata": {"name": "catalog"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [api]}}},
    }


def _k8s_half_snapshot(lab: Lab, half: list[dict[str, Any]], zones: tuple[str, ...]) -> Snapshot:
    nodes = [
        {"metadata": {"name": f"n{i}", "labels": {"topology.kubernetes.io/zone": z}}}
        for i, z in enumerate(ZONES_3)
    ]
    tasks = [pod(f"t{i}", "catalog", f"n{i}") for i in range(3)]
    plain = [_plain_pod(f"k{i}", "catalog-k8s", f"n{ZONES_3.index(z)}") for i, z in enumerate(zones)]
    by_kind = {
        kind: [d for d in half if d["kind"] == kind]
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler")
    }
    return snap_of(
        lab,
        lab.starting_objects(),
        pods=tasks + plain,
        nodes=nodes,
        deployments=[_rendered_catalog(), *by_kind["Deployment"]],
        services=by_kind["Service"],
        hpas=by_kind["HorizontalPodAutoscaler"],
    )


def test_lab15_right_after_start_only_the_ecs_half() -> None:
    lab = lab15_ecs_vs_kubernetes.LAB
    assert lab.problems(_k8s_half_snapshot(lab, [], ())) == [
        "no Deployment catalog-k8s: write the Kubernetes half (Deployment, Service, HorizontalPodAutoscaler)",
        "no Service catalog-k8s: one stable address for the pods (ECS: the target group / Service Connect)",
        "no HorizontalPodAutoscaler catalog-k8s: the ECS service scales 3-6 tasks on CPU 60%",
        "0 of 3 catalog-k8s pods are running",
    ]


def test_lab15_different_resources_spread_scaling_and_solved() -> None:
    lab = lab15_ecs_vs_kubernetes.LAB
    answer = lab.solution_objects(Snapshot("x"))
    assert lab.problems(_k8s_half_snapshot(lab, answer, ZONES_3)) == []
    wrong = json.loads(json.dumps(answer))
    deployment, service, hpa = wrong
    deployment["spec"]["replicas"] = 2
    pod_spec = deployment["spec"]["template"]["spec"]
    pod_spec["containers"][0]["resources"] = {"requests": {"cpu": "0.5", "memory": "512Mi"}}
    del pod_spec["topologySpreadConstraints"]
    service["spec"]["selector"] = {"app": "catalog"}
    hpa["spec"]["maxReplicas"] = 10
    hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 80
    assert lab.problems(_k8s_half_snapshot(lab, wrong, ("us-east-1a",) * 3)) == [
        "Deployment catalog-k8s asks for 2 replicas; the ECS service's desiredCount is 3",
        "catalog-k8s requests cpu 0.5, memory 512Mi; limit memory -; the ECS task's container gets "
        "requests cpu 250m, memory 512Mi; limit memory 512Mi (see `ecsk render`)",
        "Deployment catalog-k8s has no topologySpreadConstraints on topology.kubernetes.io/zone: "
        "the ECS service spreads over attribute:ecs.availability-zone",
        "Service catalog-k8s selects {'app': 'catalog'}, not the pods of Deployment catalog-k8s",
        "HorizontalPodAutoscaler catalog-k8s scales 3-10; the ECS scalable target scales 3-6",
        "HorizontalPodAutoscaler catalog-k8s does not target 60% CPU utilization (the ECS policy cpu60)",
        "ECS tasks per zone {'us-east-1a': 1, 'us-east-1b': 1, 'us-east-1c': 1}, catalog-k8s pods per "
        "zone {'us-east-1a': 3}: not the same spread",
    ]
    # equal quantities written differently are the same resources
    same = json.loads(json.dumps(answer))
    same[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "0.25"
    assert lab.problems(_k8s_half_snapshot(lab, same, ZONES_3)) == []


# --- lab 12 ------------------------------------------------------------------------------------


def _repository(monkeypatch: pytest.MonkeyPatch, **spec: Any) -> dict[str, Any]:
    monkeypatch.setenv("ECSK_LAB_PREFIX", "u-")
    images = [
        {"imageDigest": "sha256:" + "1" * 64, "imageTags": ["v1"]},
        {"imageDigest": "sha256:" + "3" * 64, "imageTags": ["v3"]},
        {"imageDigest": "sha256:" + "9" * 64, "imageTags": []},
    ]
    return {
        "kind": "Repository",
        "metadata": {"name": "u-lab-12-web"},
        "spec": {"repositoryName": "u-lab-12/web", **spec},
        "status": {"images": images},
    }


def _ecr_pod(name: str, image: str) -> dict[str, Any]:
    p = pod(name, "web", "i1")
    p["spec"]["containers"][0]["image"] = image
    return p


def test_lab12_right_after_start(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = lab12_ecr.LAB
    repo = _repository(monkeypatch)
    public = [_ecr_pod(f"w{i}", "public.ecr.aws/nginx/nginx:1.27") for i in (1, 2)]
    uri = "000000000000.dkr.ecr.us-east-1.amazonaws.com/u-lab-12/web:prod"
    assert lab.problems(snap_of(lab, [*lab.starting_objects(), repo], pods=public)) == [
        "the repository has no lifecycle rule expiring untagged images (put-lifecycle-policy)",
        "the repository policy does not let account 111122223333 pull (ecr:BatchGetImage, "
        "ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability): set-repository-policy",
        "no image is tagged prod: tag v3's manifest as prod with put-image",
        f"TaskDefinition web does not pull {uri} (it uses public.ecr.aws/nginx/nginx:1.27)",
        f"0 of 2 web tasks run the image {uri}",
    ]


def test_lab12_pass_not_run_wrong_tag_and_solved(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = lab12_ecr.LAB
    text = {
        "lifecyclePolicyText": json.dumps(lab12_ecr.LIFECYCLE),
        "repositoryPolicyText": json.dumps(lab12_ecr.POLICY),
    }
    repo = _repository(monkeypatch, **text)
    uri = lab12_ecr.image_uri("prod")
    td = lab.solution_objects(Snapshot("x"))[0]
    service = lab.starting_objects()[1]
    pods = [_ecr_pod(f"w{i}", uri) for i in (1, 2)]
    # prod on v1's image, the untagged image not expired yet
    repo["status"]["images"][0]["imageTags"].append("prod")
    assert lab.problems(snap_of(lab, [td, service, repo], pods=pods)) == [
        "1 untagged image(s) are still in the repository: the lifecycle pass has not run yet "
        "(the endpoint runs one every --lifecycle-interval seconds)",
        "prod names another image than v3: put-image the manifest of v3 under the tag prod",
    ]
    # no prod at all: the core's pull rule says what the agent would
    repo["status"]["images"] = [{"imageDigest": "sha256:" + "3" * 64, "imageTags": ["v3"]}]
    problems = lab.problems(snap_of(lab, [td, service, repo], pods=pods))
    assert problems[0] == "no image is tagged prod: tag v3's manifest as prod with put-image"
    assert (
        problems[1].startswith("a new task would stop: CannotPullContainerError")
        and "manifest unknown" in problems[1]
    )
    # a policy for the wrong account, pulling only half
    wrong = json.loads(json.dumps(lab12_ecr.POLICY))
    wrong["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::444455556666:root"}
    repo["spec"]["repositoryPolicyText"] = json.dumps(wrong)
    repo["status"]["images"][0]["imageTags"].append("prod")
    assert lab.problems(snap_of(lab, [td, service, repo], pods=pods)) == [
        "the repository policy does not let account 111122223333 pull (ecr:BatchGetImage, "
        "ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability): set-repository-policy"
    ]
    repo["spec"]["repositoryPolicyText"] = json.dumps(lab12_ecr.POLICY)
    assert lab.problems(snap_of(lab, [td, service, repo], pods=pods)) == []
    assert lab.problems(snap_of(lab, [td, service], pods=pods)) == [
        "repository u-lab-12/web is gone: `ecsk lab reset 12` then `ecsk lab start 12` makes it again"
    ]


def test_a_failed_api_seed_removes_the_fresh_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lab 12's start seeds through the AWS API; when that fails (no registry) the namespace it just
    made goes again, so the next start seeds instead of resuming half a lab."""
    from ecsk.labs import kube, runner
    from ecsk.labs.engine import LabError

    deleted: list[str] = []

    def refuse(api: Any, ns: str, step: Any) -> list[str]:
        raise LabError("the image registry is not reachable")

    monkeypatch.setenv("ECSK_LAB_PREFIX", "u-")
    monkeypatch.setattr(kube, "ensure_namespace", lambda api, lab, ns: True)
    monkeypatch.setattr(kube, "variant", lambda api, ns: None)
    monkeypatch.setattr(kube, "record_variant", lambda api, ns, chosen: None)
    monkeypatch.setattr(kube, "call_api", refuse)
    monkeypatch.setattr(kube, "delete_namespace", lambda api, ns: deleted.append(ns) or True)
    monkeypatch.setattr(kube, "apply", lambda *a, **k: pytest.fail("nothing is applied after a failed seed"))
    with pytest.raises(LabError, match="not reachable"):
        runner.start(object(), lab12_ecr.LAB)
    assert deleted == ["u-lab-12"]


# --- lab 16 ------------------------------------------------------------------------------------

ARS_URL = "abcdefghij.us-east-1.awsapprunner.com"


def _ars(
    body: dict[str, Any] | None = None, state: str = "RUNNING", ops: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The lab's AppRunnerService as the operator reports it (operations newest first)."""
    doc = lab16_app_runner.service_doc()
    if body is not None:
        doc["spec"] = body
    history = [{"Type": t, "Status": "SUCCEEDED"} for t in (*ops, "CREATE_SERVICE")]
    doc["status"] = {
        "Status": state,
        "ServiceUrl": ARS_URL if state == "RUNNING" else None,
        "Operations": history,
    }
    return doc


def _ars_rendering(ready: int = 2, hpa_range: tuple[int, int] = (2, 5)) -> dict[str, Any]:
    """The Deployment, Service, Ingress and HPA the operator makes for the lab's service."""
    name = lab16_app_runner.NAME
    container = {
        "name": "app",
        "ports": [{"containerPort": 8000}],
        "env": [{"name": "GREETING", "value": "hello from lab 16"}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
    }
    hpa_spec = {
        "minReplicas": hpa_range[0],
        "maxReplicas": hpa_range[1],
        "metrics": [{"external": {"target": {"type": "AverageValue", "averageValue": "10"}}}],
    }
    return {
        "deployments": [
            {
                "metadata": {"name": name},
                "spec": {"template": {"spec": {"containers": [container]}}},
                "status": {"readyReplicas": ready},
            }
        ],
        "services": [{"metadata": {"name": name}, "spec": {"ports": [{"port": 80, "targetPort": 8000}]}}],
        "ingresses": [{"metadata": {"name": name}, "spec": {"rules": [{"host": ARS_URL}]}}],
        "hpas": [{"metadata": {"name": name}, "spec": hpa_spec}],
    }


def test_lab16_right_after_start_and_app_runner_defaults() -> None:
    lab = lab16_app_runner.LAB
    assert lab.problems(snap_of(lab, [])) == [
        "no AppRunnerService hello-web in u-lab-16: create it from "
        "public.ecr.aws/aws-containers/hello-app-runner:latest "
        "(kubectl apply, or aws apprunner create-service)"
    ]
    minimal = {
        "ServiceName": "hello-web",
        "SourceConfiguration": {
            "ImageRepository": {
                "ImageIdentifier": lab16_app_runner.IMAGE,
                "ImageRepositoryType": "ECR_PUBLIC",
            }
        },
    }
    assert lab.problems(snap_of(lab, [_ars(minimal)])) == [
        "the service listens on port 8080 (App Runner's default); "
        "the lab asks for 8000 (ImageConfiguration.Port)",
        "RuntimeEnvironmentVariables has no GREETING; the lab asks for GREETING=hello from lab 16",
        "the health check is TCP (App Runner's default); the lab asks for an HTTP check on /health",
        "the service has MinSize 1 (App Runner's default); the lab asks for 2 (AutoScalingConfiguration)",
        "the service has MaxSize 25 (App Runner's default); the lab asks for 5 (AutoScalingConfiguration)",
        "the service has MaxConcurrency 100 (App Runner's default); "
        "the lab asks for 10 (AutoScalingConfiguration)",
        "the operations history has no PAUSE_SERVICE: pause the service (aws apprunner pause-service)",
    ]


def test_lab16_wrong_values_state_and_a_half_done_pause() -> None:
    lab = lab16_app_runner.LAB
    body = lab16_app_runner.service_doc()["spec"]
    body["AutoScalingConfiguration"]["MinSize"] = 1
    body["SourceConfiguration"]["ImageRepository"]["ImageRepositoryType"] = "ECR"
    out = lab.problems(snap_of(lab, [_ars(body, state="PAUSED", ops=("PAUSE_SERVICE",))]))
    assert out == [
        "ImageRepositoryType is ECR; an image in ECR Public is ECR_PUBLIC",
        "the service has MinSize 1; the lab asks for 2 (AutoScalingConfiguration)",
        "the service is PAUSED: resume it (aws apprunner resume-service, "
        "or kubectl annotate ars hello-web ecs.ecsk.io/paused-)",
        "the service was paused but not resumed since: no RESUME_SERVICE after the PAUSE_SERVICE",
    ]
    failed = _ars()
    failed["status"] = {
        "Status": "CREATE_FAILED",
        "conditions": [{"type": "Valid", "status": "False", "message": "MinSize must be less than or equal"}],
    }
    assert (
        lab.problems(snap_of(lab, [failed]))[0]
        == "the service is CREATE_FAILED: MinSize must be less than or equal"
    )
    refused = _ars()
    refused["status"]["conditions"] = [
        {"type": "Valid", "status": "False", "message": "Value '0' at 'minSize'"}
    ]
    assert lab.problems(snap_of(lab, [refused]))[0] == (
        "the operator refused the last change of hello-web (UPDATE_SERVICE FAILED): Value '0' at 'minSize'"
    )
    half = _ars(ops=("RESUME_SERVICE", "PAUSE_SERVICE"))
    half["status"]["Operations"][0]["Status"] = "IN_PROGRESS"
    half["status"]["Status"] = "OPERATION_IN_PROGRESS"
    assert lab.problems(snap_of(lab, [half])) == [
        "the service is OPERATION_IN_PROGRESS, not RUNNING yet "
        "(operator running? kubectl get ars hello-web -w)",
        "the last RESUME_SERVICE is IN_PROGRESS, not SUCCEEDED",
    ]


def test_lab16_rendering_then_solved() -> None:
    lab = lab16_app_runner.LAB
    done = _ars(ops=("RESUME_SERVICE", "PAUSE_SERVICE"))
    assert lab.problems(snap_of(lab, [done])) == [
        "no Deployment hello-web: the operator has not rendered the service (is it running?)",
        "no Service hello-web in front of the instances",
        f"no Ingress hello-web for the ServiceUrl {ARS_URL}",
        "no HorizontalPodAutoscaler hello-web: App Runner's auto scaling is not rendered",
    ]
    assert lab.problems(snap_of(lab, [done], **_ars_rendering(ready=1, hpa_range=(1, 5)))) == [
        "1 of at least 2 instances (pods of Deployment hello-web) are ready",
        "HPA hello-web scales 1-5; the lab asks for 2-5",
    ]
    assert lab.problems(snap_of(lab, [done], **_ars_rendering())) == []
    resumed_then_paused = _ars(state="PAUSED", ops=("PAUSE_SERVICE", "RESUME_SERVICE", "PAUSE_SERVICE"))
    assert (
        "the service was paused but not resumed since"
        in lab.problems(snap_of(lab, [resumed_then_paused]))[-1]
    )


def test_lab16_solve_pauses_only_a_running_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference answer pauses a RUNNING service and resumes it; one the participant left
    PAUSED is only resumed (App Runner refuses to pause it again)."""
    import ecsk.api.apprunner.services as ars

    calls: list[str] = []

    def call(verb: str, op: str) -> Any:
        return lambda ctx, params: calls.append(f"{verb} {params['ServiceArn']}") or {"OperationId": op}

    monkeypatch.setattr(ars, "pause_service", call("pause", "op1"))
    monkeypatch.setattr(ars, "resume_service", call("resume", "op2"))
    listed = {"ServiceSummaryList": [{"ServiceName": "hello-web", "ServiceArn": "arn:x"}]}
    monkeypatch.setattr(ars, "list_services", lambda ctx, params: listed)
    states = iter(["RUNNING", "PAUSED"])
    out = lab16_app_runner.pause_and_resume(None, wait=lambda ctx, *wanted: next(states))
    assert calls == ["pause arn:x", "resume arn:x"]
    assert out == ["paused hello-web (operation op1)", "resumed hello-web (operation op2)"]
    calls.clear()
    out = lab16_app_runner.pause_and_resume(None, wait=lambda ctx, *wanted: "PAUSED")
    assert calls == ["resume arn:x"] and out == ["resumed hello-web (operation op2)"]


# --- lab 17 ------------------------------------------------------------------------------------


def _copilot_objects(manifest: str = lab17_copilot.MANIFEST) -> list[dict[str, Any]]:
    """What `env init --namespace` and `svc deploy` of `manifest` put in the lab namespace."""
    from ecsk.core.copilot import Environment, load, render

    rendering = render(load(manifest, "coffee", "test", {}), Environment("coffee", "test", "u-lab-17"))
    cluster = {"kind": "ECSCluster", "metadata": {"name": "coffee-test"}, "spec": {}}
    return [cluster, *rendering.objects]


ENV_RECORD = {
    "metadata": {"name": "copilot-env-test", "labels": {"ecs.ecsk.io/copilot-role": "environment"}},
    "data": {"application": "coffee", "environment": "test"},
}
COPILOT_HPA = {"metadata": {"name": "web-cpu"}, "spec": {"minReplicas": 2, "maxReplicas": 6}}


def test_lab17_right_after_start_and_before_deploy() -> None:
    lab = lab17_copilot.LAB
    assert lab.problems(snap_of(lab, [])) == [
        "no Copilot environment in u-lab-17: `ecsk copilot env init --name test --namespace u-lab-17` "
        "(without --namespace, Copilot makes its own namespace coffee-test, outside the lab)"
    ]
    cluster = _copilot_objects()[:1]
    prod = {**ENV_RECORD, "data": {"application": "coffee", "environment": "prod"}}
    assert lab.problems(snap_of(lab, cluster, config_maps=[prod])) == [
        "the environment in u-lab-17 is called prod; the lab asks for test"
    ]
    assert lab.problems(snap_of(lab, [], config_maps=[ENV_RECORD])) == [
        "ECSCluster coffee-test (the environment's cluster) is gone: run env init again"
    ]
    assert lab.problems(snap_of(lab, cluster, config_maps=[ENV_RECORD])) == [
        "no service web deployed in environment test: write copilot/web/manifest.yml (the guide has it) "
        "and run `ecsk copilot svc deploy --name web --env test`"
    ]


def test_lab17_the_manifest_svc_init_writes_is_not_the_lab_s() -> None:
    lab = lab17_copilot.LAB
    initial = (
        "name: web\ntype: Load Balanced Web Service\nhttp:\n  path: /\nimage:\n"
        "  location: public.ecr.aws/nginx/nginx:1.27\n  port: 8080\ncpu: 256\nmemory: 512\ncount: 1\n"
    )
    assert lab.problems(snap_of(lab, _copilot_objects(initial), config_maps=[ENV_RECORD])) == [
        "the container maps ports [8080]; the lab asks for image.port 80",
        "the container has no variable COFFEE=espresso (manifest `variables`)",
        "ECSService web has desiredCount 1; with count.range 2-6 Copilot deploys between 2 and 6",
        "no ScalableTarget web: the deployed manifest has no count.range (the lab asks for 2-6)",
    ]
    backend = lab17_copilot.MANIFEST.replace("Load Balanced Web Service", "Backend Service").replace(
        "range: 2-6", "range: 1-10"
    )
    backend = backend.replace("cpu_percentage: 70", "cpu_percentage: 50").replace("  path: /\n", "")
    backend = backend.replace("http:\n  healthcheck:\n    grace_period: 30s\n", "")
    assert lab.problems(snap_of(lab, _copilot_objects(backend), config_maps=[ENV_RECORD])) == [
        "ECSService web has no load balancer: the type must be Load Balanced Web Service",
        "ECSService web has desiredCount 1; with count.range 2-6 Copilot deploys between 2 and 6",
        "ScalableTarget web scales 1-10; the lab asks for count.range 2-6",
        "ScalingPolicy web-cpu tracks 50% CPU; the lab asks for cpu_percentage 70",
    ]


def test_lab17_kubernetes_side_then_solved() -> None:
    lab = lab17_copilot.LAB
    objs = _copilot_objects()
    cms = [ENV_RECORD]
    assert lab.problems(snap_of(lab, objs, config_maps=cms)) == [
        "no Deployment web: the operator has not rendered ECSService web (is it running?)"
    ]
    deployment = {"metadata": {"name": "web"}}
    pods = [pod("a", "web", FARGATE_NODE["metadata"]["name"]), pod("b", "web", EC2_NODE["metadata"]["name"])]
    nodes = [FARGATE_NODE, EC2_NODE]
    assert lab.problems(
        snap_of(lab, objs, config_maps=cms, deployments=[deployment], pods=pods, nodes=nodes)
    ) == [
        "1 of at least 2 web tasks run on Fargate nodes (2 running)",
        "no HorizontalPodAutoscaler scales web 2-6 (found []): the policy web-cpu is not rendered yet",
    ]
    pods[1] = pod("b", "web", FARGATE_NODE["metadata"]["name"])
    solved = snap_of(
        lab, objs, config_maps=cms, deployments=[deployment], pods=pods, nodes=nodes, hpas=[COPILOT_HPA]
    )
    assert lab.problems(solved) == []
    refused = json.loads(json.dumps(objs))
    refused[2]["status"] = {"conditions": [{"type": "Valid", "status": "False", "message": "bad cluster"}]}
    assert (
        lab.problems(snap_of(lab, refused, config_maps=cms))[0]
        == "the operator refused ECSService web: bad cluster"
    )


def test_lab16_and_lab17_never_crash_on_empty_fields() -> None:
    """Half-written objects (fields null or missing) get sentences, never a traceback."""
    lab16 = lab16_app_runner.LAB
    bare = {
        "kind": "AppRunnerService",
        "metadata": {"name": "hello-web"},
        "spec": {"SourceConfiguration": None},
    }
    out = lab16.problems(snap_of(lab16, [bare]))
    assert out[0] == (
        "the service names no image (ImageRepository.ImageIdentifier); "
        "the lab asks for public.ecr.aws/aws-containers/hello-app-runner:latest"
    )
    done = _ars(ops=("RESUME_SERVICE", "PAUSE_SERVICE"))
    done["status"]["Operations"].append(None)
    rendering = _ars_rendering()
    rendering["deployments"][0]["spec"] = None
    rendering["hpas"][0]["spec"] = {"metrics": None}
    rendering["ingresses"][0]["spec"] = {"rules": None}
    out = lab16.problems(snap_of(lab16, [done], **rendering))
    assert "HPA hello-web scales None-None; the lab asks for 2-5" in out
    assert f"Ingress hello-web answers [], not the ServiceUrl {ARS_URL}" in out
    lab17 = lab17_copilot.LAB
    objs = _copilot_objects()
    for obj in objs:
        obj["spec"] = None
    out = lab17.problems(snap_of(lab17, objs, config_maps=[ENV_RECORD, {"metadata": {}}]))
    assert out[0] == "TaskDefinition web has family None; Copilot names it coffee-test-web"


def test_a_failed_read_is_a_sentence_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """An API server that fails a list (overloaded, restarting) makes `check` say so and exit 1."""
    import pykube
    from typer.testing import CliRunner

    from ecsk.cli import lab_cmd
    from ecsk.cli.main import app
    from ecsk.labs import kube

    def fail(api: Any, namespace: str) -> Any:
        raise pykube.exceptions.HTTPError(500, "etcdserver: request timed out")

    monkeypatch.setenv("ECSK_LAB_PREFIX", "u-")
    monkeypatch.setattr(kube, "_read", fail)
    monkeypatch.setattr(lab_cmd, "pykube_api", lambda: object())
    result = CliRunner().invoke(app, ["lab", "check", "16"])
    assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None)))
    assert (
        "could not read namespace u-lab-16 from the API server (etcdserver: request timed out)"
        in result.output
    )


def test_a_busy_api_server_is_asked_again() -> None:
    """A 429 (priority and fairness) or 503 on a list is retried with backoff; a 404 is "no such
    kind"; anything else, or a server still busy after the last attempt, is raised."""
    import pykube
    import requests

    from ecsk.labs import kube

    def response(code: int) -> requests.Response:
        r = requests.Response()
        r.status_code = code
        return r

    class Listing:
        def __init__(self, answers: list[Exception | None]) -> None:
            self.answers = answers

        def objects(self, api: Any, namespace: Any) -> list[Any]:
            answer = self.answers.pop(0)
            if answer is not None:
                raise answer
            return [type("O", (), {"obj": {"metadata": {"name": "a"}}})()]

    waits: list[float] = []
    busy = requests.exceptions.HTTPError("429 Too Many Requests", response=response(429))
    unavailable = pykube.exceptions.HTTPError(503, "etcd leader changed")
    listing = Listing([busy, unavailable, None])
    assert kube._list(listing, None, "ns", sleep=waits.append) == [{"metadata": {"name": "a"}}]
    assert waits == [0.25, 0.5]
    assert (
        kube._list(Listing([pykube.exceptions.HTTPError(404, "no CRD")]), None, "ns", sleep=waits.append)
        == []
    )
    forbidden = pykube.exceptions.HTTPError(403, "forbidden")
    with pytest.raises(pykube.exceptions.HTTPError, match="forbidden"):
        kube._list(Listing([forbidden]), None, "ns", sleep=waits.append)
    with pytest.raises(requests.exceptions.HTTPError):
        kube._list(Listing([busy] * kube.LIST_ATTEMPTS), None, "ns", sleep=waits.append)
