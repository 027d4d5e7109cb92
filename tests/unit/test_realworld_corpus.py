"""Real task and service definitions from public repositories (tests/fixtures/realworld).

Each file is kept as its author wrote it; MANIFEST.yaml records where it comes from and what
must happen: it renders offline without errors, it loads (RunTask input), or it is refused with
the reason ECS gives too (`reason` is a substring of our error; `ecs` says why ECS refuses it).
A service definition lists in `with` the files it is rendered with (its task definition), as
`ecsk render -f service.json -f task-definition.json` does.
The integration test server-side dry-runs everything that renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsk.core.models import LoadedDocument, errors_of, load_text
from ecsk.core.models.ecspresso import load_project
from ecsk.core.placement import offline_hook
from ecsk.core.translate.bundle import BundleItem, render_documents
from ecsk.core.translate.types import RenderOptions

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "realworld"
_ALL = yaml.safe_load((ROOT / "MANIFEST.yaml").read_text())
MANIFEST: list[dict[str, Any]] = _ALL["files"]
PROJECTS: list[dict[str, Any]] = _ALL["ecspresso"]


def load_entry(entry: dict[str, Any]) -> list[LoadedDocument]:
    """What `ecsk render -f FILE -f WITH...` loads; each document's source is its corpus file."""
    docs: list[LoadedDocument] = []
    for name in [entry["file"], *entry.get("with", [])]:
        loaded = load_text((ROOT / name).read_text())
        for doc in loaded:
            doc.source = name
        docs += loaded
    return docs


def render_loaded(docs: list[LoadedDocument]) -> tuple[list[BundleItem], list[str]]:
    items = render_documents(docs, RenderOptions(placement_hook=offline_hook()))
    errors = [i.message for d in docs for i in d.issues if i.is_error]
    for it in items:
        errors += [i.message for i in errors_of(it.issues)]
        errors += [d.message for d in (it.result.diagnostics if it.result else ()) if d.severity == "error"]
    return items, errors


def test_manifest_lists_every_file_once_with_its_origin() -> None:
    listed = [e["file"] for e in MANIFEST]
    on_disk = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.json"))
    assert sorted(listed) == on_disk
    for e in MANIFEST:
        assert e["file"] == f"{e['repo']}/{e['path']}"
        assert all(w in listed and w.startswith(f"{e['repo']}/") for w in e.get("with", [])), e["file"]
        assert len(e["commit"]) == 40 and e["license"] in {"MIT", "MIT-0", "Apache-2.0"}
        assert e["expect"] in {"renders", "loads", "refused"}
        assert e["expect"] != "refused" or (e["reason"] and e["ecs"])


def test_corpus_size_and_mix() -> None:
    task_defs = [e for e in MANIFEST if e["kind"] == "TaskDefinition"]
    assert len(task_defs) >= 100
    assert sum(e["expect"] == "renders" for e in task_defs) >= 100
    services = [e for e in MANIFEST if e["kind"] == "ECSService"]
    assert len(services) >= 20
    rendered = [e for e in services if e["expect"] == "renders"]
    rendered += [p for p in PROJECTS if p["expect"] == "renders" and "ECSService" in p["kinds"]]
    assert len(rendered) >= 10


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_realworld_file(entry: dict[str, Any]) -> None:
    items, errors = render_loaded(load_entry(entry))
    if entry["expect"] == "refused":
        assert any(entry["reason"] in e for e in errors), errors
        return
    assert errors == []
    if entry["expect"] == "loads":
        assert items == []
        return
    assert items and all(it.result is not None and it.result.objects for it in items)


def load_ecspresso(project: dict[str, Any]) -> list[LoadedDocument]:
    """What `ecsk render -f ecspresso.yml` loads, with the manifest's environment."""
    config = ROOT / project["config"]
    return load_project(config.read_text(), str(config), lambda p: Path(p).read_text(), project["env"])


@pytest.mark.parametrize("project", PROJECTS, ids=[p["config"] for p in PROJECTS])
def test_ecspresso_project(project: dict[str, Any]) -> None:
    assert project["config"] == f"{project['repo']}/{project['path']}" and len(project["commit"]) == 40
    assert project["license"] in {"MIT", "MIT-0", "Apache-2.0"}
    docs = load_ecspresso(project)
    items, errors = render_loaded(docs)
    if project["expect"] == "refused":
        assert any(project["reason"] in e for e in errors), errors
        return
    assert errors == []
    assert [it.kind for it in items] == project["kinds"]
    assert all(it.result is not None and it.result.objects for it in items)
