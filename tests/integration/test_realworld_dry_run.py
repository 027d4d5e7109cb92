"""The realworld corpus against a real apiserver: every file that renders offline (and every
ecspresso project that does) is accepted by a server-side dry run, as are the custom resources
`ecsk import` makes of it. Files go in batches, one `kubectl apply` per batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubectl import assert_server_accepts

from ecsk.core.models import LoadedDocument
from ecsk.core.placement import offline_hook
from ecsk.core.translate.bundle import render_documents
from ecsk.core.translate.types import RenderOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_realworld_corpus import MANIFEST, PROJECTS, load_ecspresso, load_entry

pytestmark = pytest.mark.integration

BATCH = 25

CASES: list[tuple[str, Any]] = [
    *((e["file"], e) for e in MANIFEST if e["expect"] == "renders"),
    *((p["config"], p) for p in PROJECTS if p["expect"] == "renders"),
]
BATCHES = [CASES[i : i + BATCH] for i in range(0, len(CASES), BATCH)]


def _docs(entry: dict[str, Any]) -> list[LoadedDocument]:
    if "config" in entry:
        return load_ecspresso(entry)
    return load_entry(entry)


def _own(entry: dict[str, Any], source: str) -> bool:
    """Whether a document comes from the entry itself, not from a `with` file: that file is an
    entry of its own, and the same object twice would make one List apply it twice."""
    return "config" in entry or source == entry["file"]


@pytest.mark.parametrize("batch", BATCHES, ids=[f"batch{i}" for i in range(len(BATCHES))])
def test_rendered_realworld_objects_pass_server_side_dry_run(
    batch: list[tuple[str, Any]], kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    objects: list[dict[str, Any]] = []
    for name, entry in batch:
        items = render_documents(
            _docs(entry), RenderOptions(namespace=namespace, placement_hook=offline_hook())
        )
        assert items and all(it.result is not None for it in items), name
        objects += [o for it in items if it.result and _own(entry, it.source) for o in it.result.objects]
    assert_server_accepts(kubeconfig, objects, namespace, ", ".join(n for n, _ in batch))


@pytest.mark.parametrize("batch", BATCHES, ids=[f"batch{i}" for i in range(len(BATCHES))])
def test_imported_realworld_custom_resources_pass_admission(
    batch: list[tuple[str, Any]], kubeconfig: str, namespace: str, crds_installed: None
) -> None:
    """What `ecsk import` prints for these files: the CRD schemas and CEL rules accept it."""
    from ecsk.cli.render_cmd import to_custom_resource

    resources = []
    for _, entry in batch:
        resources += [
            to_custom_resource(d.model) for d in _docs(entry) if d.model is not None and _own(entry, d.source)
        ]
    resources = [r for r in resources if r["kind"] in ("TaskDefinition", "ECSService")]
    for r in resources:
        r["metadata"]["namespace"] = namespace
    assert_server_accepts(kubeconfig, yaml.safe_load(yaml.safe_dump(resources)), namespace, "import")
