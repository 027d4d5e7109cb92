"""Every rendered corpus object is accepted by the real apiserver (server-side dry-run), and the
CRDs are accepted by it too, with their CEL rules refusing bad input at admission."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubectl import assert_server_accepts, kubectl

from ecsk.core.models import errors_of
from ecsk.core.models.load import load_text
from ecsk.core.placement import offline_hook
from ecsk.core.translate.bundle import render_documents
from ecsk.core.translate.types import RenderOptions

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CORPUS = [
    *sorted(p for p in (ROOT / "tests/fixtures/corpus").iterdir() if p.is_dir()),
    ROOT / "tests/fixtures/fidelity",  # describe output with "" / null, ADOT health check, placement
]


def _load(case: Path) -> list:  # type: ignore[type-arg]
    docs = []
    for f in sorted(case.iterdir()):
        docs.extend(load_text(f.read_text()))
    return docs


def _admit(kubeconfig: str, namespace: str, text: str) -> tuple[int, str]:
    """Server-side dry-run of custom resources: (exit code, stderr) of `kubectl apply`."""
    proc = kubectl(
        kubeconfig, "apply", "-n", namespace, "--dry-run=server", "-f", "-", stdin=text, check=False
    )
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_rendered_corpus_is_accepted_by_the_apiserver(
    case: Path, kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    # exactly what `ecsk render` prints: placement included (offline engine)
    items = render_documents(_load(case), RenderOptions(namespace=namespace, placement_hook=offline_hook()))
    assert items, f"{case.name}: nothing rendered"
    objects = []
    for item in items:
        assert not errors_of(item.issues), f"{case.name}/{item.name}: {item.issues}"
        assert item.result is not None
        errors = [d for d in item.result.diagnostics if d.severity == "error"]
        assert not errors, f"{case.name}/{item.name}: {errors}"
        objects.extend(item.result.objects)
    assert_server_accepts(kubeconfig, objects, what=case.name)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_imported_custom_resources_pass_admission(
    case: Path, kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    """`ecsk import` output is what users kubectl-apply: the CRD schemas and CEL must accept it."""
    from typer.testing import CliRunner

    from ecsk.cli.main import app

    args = ["import"]
    for f in sorted(case.iterdir()):
        args += ["-f", str(f)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert docs
    code, err = _admit(kubeconfig, namespace, yaml.safe_dump_all(docs))
    assert code == 0, f"{case.name}: admission refused:\n{err}"


def test_admission_refuses_an_invalid_fargate_size_with_the_ecs_message(
    kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    bad = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "bad-size"},
        "spec": {
            "family": "bad-size",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "4096",
            "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27"}],
        },
    }
    code, err = _admit(kubeconfig, namespace, json.dumps(bad))
    assert code != 0
    assert "Invalid 'cpu' setting for task" in err


def test_admission_refuses_eleven_containers(kubeconfig: str, namespace: str, crds_installed: None) -> None:
    containers = [{"name": f"c{i}", "image": "busybox", "memory": 64} for i in range(11)]
    bad = {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "too-many"},
        "spec": {"family": "too-many", "containerDefinitions": containers},
    }
    code, err = _admit(kubeconfig, namespace, json.dumps(bad))
    assert code != 0
    assert "containerDefinitions" in err


def _fargate_td(name: str, **fields: object) -> dict:  # type: ignore[type-arg]
    spec = {
        "family": name,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27"}],
        **fields,
    }
    return {
        "apiVersion": "ecs.ecsk.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_admission_accepts_what_ecs_registers(kubeconfig: str, namespace: str, crds_installed: None) -> None:
    """A health check without CMD (AWS's ADOT samples) and pidMode task on Fargate: ECS registers
    both, so admission must not refuse them."""
    doc = _fargate_td("adot", pidMode="task")
    doc["spec"]["containerDefinitions"][0]["healthCheck"] = {"command": ["/healthcheck"]}
    code, err = _admit(kubeconfig, namespace, json.dumps(doc))
    assert code == 0, err


def test_admission_still_refuses_pid_mode_host_on_fargate(
    kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    code, err = _admit(kubeconfig, namespace, json.dumps(_fargate_td("pid-host", pidMode="host")))
    assert code != 0
    assert "On Fargate for Linux containers, the only valid pidMode is task." in err
