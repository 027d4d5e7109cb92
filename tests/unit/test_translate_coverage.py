"""The coverage table is complete and docs/field-coverage.md is generated from it."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ecsk.core.models import ECSService, TaskDefinition, parse_task_definition
from ecsk.core.translate import render_task_definition
from ecsk.core.translate.coverage import COVERAGE, lookup, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "field-coverage.md"


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, False)]
    out: list[tuple[type[BaseModel], bool]] = []
    is_list = typing.get_origin(annotation) is list
    for arg in typing.get_args(annotation):
        out.extend((m, is_list or inner) for m, inner in _models_in(arg))
    return out


def model_paths(model: type[BaseModel], prefix: str) -> list[str]:
    """Every field path of a model, lists marked `[]`, as the coverage table spells them."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        found = _models_in(field.annotation)
        if found:
            sub, is_list = found[0]
            path = f"{prefix}.{name}" + ("[]" if is_list else "")
            paths.append(path)
            paths.extend(model_paths(sub, path))
        else:
            paths.append(f"{prefix}.{name}")
    return paths


def test_every_model_field_has_a_coverage_entry() -> None:
    missing = [
        p
        for root, model in (("TaskDefinition", TaskDefinition), ("ECSService", ECSService))
        for p in model_paths(model, root)
        if lookup(p) is None
    ]
    assert not missing, "add these to ecsk/core/translate/coverage.py: " + ", ".join(missing)


def test_no_stale_coverage_entries() -> None:
    known = {
        p
        for r, m in (("TaskDefinition", TaskDefinition), ("ECSService", ECSService))
        for p in model_paths(m, r)
    }
    stale = [k for k in COVERAGE if k not in known]
    assert not stale, stale


def test_field_coverage_doc_is_generated_from_the_table() -> None:
    assert DOC.read_text() == render_markdown(), (
        "docs/field-coverage.md is stale: regenerate it with "
        "`python -m ecsk.core.translate.coverage > docs/field-coverage.md`"
    )


def test_unknown_field_would_be_reported_not_dropped() -> None:
    td = parse_task_definition(
        {"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}
    )
    result = render_task_definition(td)
    assert {e.ecs_path for e in result.explanations} >= {
        "family",
        "containerDefinitions[0].name",
        "containerDefinitions[0].image",
        "containerDefinitions[0].memory",
    }
    assert all(not e.note.startswith("NOT COVERED") for e in result.explanations)


def test_subtree_entries_cover_children() -> None:
    assert lookup("ECSService.deployments[].rolloutState") is COVERAGE["ECSService.deployments[]"]
    assert lookup("TaskDefinition.containerDefinitions[].secrets[].valueFrom") is not None
