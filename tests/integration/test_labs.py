"""Every lab on the live cluster: `check` fails right after `start`, passes after `solve`, and
`reset` (twice) leaves nothing behind.

The labs run under a prefix of their own (`ECSK_LAB_PREFIX`), and one namespaced operator
watches exactly those lab namespaces, as `operator_ns` does for other modules.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
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
from ecsk.labs import catalog, kube, runner
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
