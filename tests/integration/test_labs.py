"""Every lab on the live cluster: `check` fails right after `start`, passes after `solve`, and
`reset` (twice) leaves nothing behind.

The labs run under a prefix of their own (`ECSK_LAB_PREFIX`), and one namespaced operator
watches exactly those lab namespaces, as `operator_ns` does for other modules.
"""

from __future__ import annotations

import json
import os
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykube
import pytest
from kubectl import kubectl
from kubetest import ROOT, OperatorProcess, wait_for
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.core.capacity.fargate import ORIGIN_LABEL, POD_ANNOTATION
from ecsk.core.capacity.scaling import PROVIDER_LABEL
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    AGENT_VERSION_LABEL,
    REGISTERED_AT_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
)
from ecsk.labs import catalog, kube, lab16_app_runner, lab17_copilot, runner
from ecsk.labs.engine import NODE_LABELS_ANNOTATION, PREFIX_ENV, Lab, namespace_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab_prefix(kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A prefix for this run's lab namespaces and one operator watching all of them."""
    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "crds"))
    prefix = f"t{uuid.uuid4().hex[:6]}-"
    before = os.environ.get(PREFIX_ENV)
    os.environ[PREFIX_ENV] = prefix
    names = [namespace_for(lab.number) for lab in catalog.LABS]
    more = tuple(arg for name in names[1:] for arg in ("-n", name))
    op = OperatorProcess(
        kubeconfig,
        names[0],
        tmp_path_factory.mktemp("labs") / "operator.log",
        settings=(*more, *OperatorProcess.TEST_SETTINGS),
    )
    op.start()
    try:
        yield prefix
    finally:
        op.stop()
        if before is None:
            os.environ.pop(PREFIX_ENV, None)
        else:
            os.environ[PREFIX_ENV] = before


def _check(lab: Lab) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["lab", "check", str(lab.number)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        return result.exit_code, f"{result.output}Traceback (the check raised):\n{trace}"
    return result.exit_code, result.output


OPERATOR_KEPT = {RUNNING_TASKS_COUNT_LABEL, REGISTERED_AT_LABEL, AGENT_CONNECTED_LABEL, AGENT_VERSION_LABEL}


def _node_labels(api: pykube.HTTPClient) -> dict[str, dict[str, Any]]:
    """The fleet's labels, less those the operator keeps current from the tasks (other tests
    change them at any time)."""
    return {
        n.name: {k: v for k, v in n.labels.items() if k not in OPERATOR_KEPT}
        for n in pykube.Node.objects(api).filter(selector={ORIGIN_LABEL: "fleet"})
    }


def _storage_classes(api: pykube.HTTPClient) -> set[str]:
    return {sc.name for sc in pykube.object_factory(api, "storage.k8s.io/v1", "StorageClass").objects(api)}


def _leftovers(api: pykube.HTTPClient, ns: str) -> list[str]:
    left = []
    try:
        pykube.Namespace.objects(api).get(name=ns)
        left.append(f"namespace {ns}")
    except pykube.exceptions.ObjectDoesNotExist:
        pass
    for node in pykube.Node.objects(api).filter(selector={ORIGIN_LABEL: "fargate"}):
        if (node.annotations.get(POD_ANNOTATION) or "").startswith(f"{ns}/"):
            left.append(f"node {node.name}")
    for node in pykube.Node.objects(api):
        if node.labels.get(PROVIDER_LABEL, "").endswith(ns):
            left.append(f"capacity-provider node {node.name}")
    for volume in pykube.PersistentVolume.objects(api):
        if (volume.obj["spec"].get("claimRef") or {}).get("namespace") == ns:
            left.append(f"persistent volume {volume.name}")
    return left


@pytest.mark.parametrize("lab", catalog.LABS, ids=lambda lab: f"{lab.number:02d}-{lab.slug}")
def test_lab_cycle(api: pykube.HTTPClient, lab_prefix: str, lab: Lab) -> None:
    ns = namespace_for(lab.number)
    labels_before = _node_labels(api)
    classes_before = _storage_classes(api)
    try:
        runner.start(api, lab)
        again = runner.start(api, lab)  # resumes, creates nothing twice
        assert "resumed" in again.lines[0] and not any(line.startswith("created") for line in again.lines)
        code, out = _check(lab)
        assert code == 1, out
        assert "not done yet" in out and "Traceback" not in out
        runner.solve(api, lab)
        last: list[str] = []

        def passes() -> bool:
            code, out = _check(lab)
            last[:] = [out]
            return code == 0

        try:
            wait_for(passes, 90, what=f"lab {lab.number} check to pass after solve")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last check said: {last}") from None
        assert "passed" in last[0]
    finally:
        first = runner.reset(api, lab)
        second = runner.reset(api, lab)
    assert "deleted namespace" in first.lines[0], first.lines
    assert "nothing to delete" in second.lines[0], second.lines
    wait_for(lambda: not _leftovers(api, ns), 90, what=f"lab {lab.number} namespace and nodes gone")
    assert _node_labels(api) == labels_before
    assert _storage_classes(api) <= classes_before, "reset left a StorageClass behind"


def test_hints_are_remembered_on_the_namespace(api: pykube.HTTPClient, lab_prefix: str) -> None:
    lab = catalog.LABS[0]
    try:
        runner.start(api, lab)
        shown = [runner.hint(api, lab).lines[0] for _ in range(len(lab.hints) + 1)]
        assert [s.split(":")[0] for s in shown[:-1]] == [f"Hint {i}/{len(lab.hints)}" for i in range(1, 4)]
        assert shown[-1].startswith("No more hints")
        assert kube.hints_shown(api, namespace_for(lab.number)) == len(lab.hints)
    finally:
        runner.reset(api, lab)


def test_node_labels_annotation_restores(api: pykube.HTTPClient, lab_prefix: str) -> None:
    """The restore machinery itself: a label added is removed, a label replaced gets its value back."""
    lab = catalog.LABS[0]
    ns = namespace_for(lab.number)
    node = next(iter(_node_labels(api)))
    before = _node_labels(api)[node]
    try:
        runner.start(api, lab)
        kube.label_nodes(
            api, ns, {node: {"labs.ecsk.io/test": "x", "eks.amazonaws.com/capacityType": "SPOT"}}
        )
        ann = pykube.Namespace.objects(api).get(name=ns).annotations[NODE_LABELS_ANNOTATION]
        assert json.loads(ann)[node]["labs.ecsk.io/test"] is None
    finally:
        runner.reset(api, lab)
    assert _node_labels(api)[node] == before


def _problems(api: pykube.HTTPClient, lab: Lab) -> list[str]:
    return lab.problems(kube.snapshot(api, namespace_for(lab.number)))


def test_lab16_the_participant_s_way(api: pykube.HTTPClient, kubeconfig: str, lab_prefix: str) -> None:
    """The guide's steps: apply the service, see the check ask for the pause, pause and resume
    with the annotation the API sets, pass."""
    import yaml

    lab = catalog.find(16)
    ns = namespace_for(16)
    try:
        runner.start(api, lab)
        doc = lab16_app_runner.service_doc()
        kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump(doc))
        pause = [
            "the operations history has no PAUSE_SERVICE: pause the service (aws apprunner pause-service)"
        ]
        wait_for(lambda: _problems(api, lab) == pause, 90, what="only the pause missing")
        kubectl(kubeconfig, "-n", ns, "annotate", "ars", "hello-web", "ecs.ecsk.io/paused=true")
        wait_for(
            lambda: (
                _problems(api, lab)[:1]
                == [
                    "the service is PAUSED: resume it (aws apprunner resume-service, "
                    "or kubectl annotate ars hello-web ecs.ecsk.io/paused-)"
                ]
            ),
            90,
            what="PAUSED named by the check",
        )
        kubectl(kubeconfig, "-n", ns, "annotate", "ars", "hello-web", "ecs.ecsk.io/paused-")
        wait_for(lambda: _problems(api, lab) == [], 90, what="lab 16 passing after resume")
    finally:
        runner.reset(api, lab)


def test_lab17_the_participant_s_way(
    api: pykube.HTTPClient, kubeconfig: str, lab_prefix: str, tmp_path: Path
) -> None:
    """The guide's commands through the CLI: app init, env init --namespace <lab>, svc init (its
    manifest is not yet the lab's: the check says what differs), the lab's manifest deployed over
    it (the count range's objects appear), pass; reset leaves no environment record."""
    lab = catalog.find(17)
    ns = namespace_for(17)
    cli = CliRunner(env={"KUBECONFIG": kubeconfig})

    def copilot(*args: str) -> str:
        result = cli.invoke(app, ["copilot", *args, "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        return result.output

    try:
        runner.start(api, lab)
        copilot("app", "init", "coffee")
        assert "no Copilot environment in" in _problems(api, lab)[0]
        assert f"created ECSCluster/coffee-test in {ns}" in copilot(
            "env", "init", "--name", "test", "--namespace", ns
        )
        image = ["--image", "public.ecr.aws/nginx/nginx:1.27", "--port", "80"]
        copilot("svc", "init", "--name", "web", "--svc-type", "Load Balanced Web Service", *image)
        assert _problems(api, lab)[0].startswith("no service web deployed in environment test")
        copilot("svc", "deploy", "--name", "web", "--env", "test", "--wait", "0")
        assert _problems(api, lab) == [
            "the container has no variable COFFEE=espresso (manifest `variables`)",
            "ECSService web has desiredCount 1; with count.range 2-6 Copilot deploys between 2 and 6",
            "no ScalableTarget web: the deployed manifest has no count.range (the lab asks for 2-6)",
        ]
        (tmp_path / "copilot" / "web" / "manifest.yml").write_text(lab17_copilot.MANIFEST)
        out = copilot("svc", "deploy", "--name", "web", "--env", "test", "--wait", "120")
        assert "applied ScalableTarget/web" in out and "web in test: COMPLETED" in out, out
        wait_for(lambda: _problems(api, lab) == [], 90, what="lab 17 passing after the deploy")
    finally:
        runner.reset(api, lab)
    selector = {"ecs.ecsk.io/copilot-application": "coffee", "ecs.ecsk.io/copilot-role": "environment"}
    wait_for(
        lambda: (
            not [
                cm
                for cm in pykube.ConfigMap.objects(api, namespace=pykube.all).filter(selector=selector)
                if cm.namespace == ns
            ]
        ),
        90,
        what="the environment record gone with the lab namespace",
    )
