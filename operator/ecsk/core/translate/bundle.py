"""Render a set of loaded documents: task definitions, and services matched to them by reference.

A task definition and the services that use it may come from different files, so matching is done
over the whole set: `family`, `family:revision` or a task definition ARN; a bare family picks the
highest revision given. Shared by the CLI, the tests and the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecsk.core.models import ECSService, LoadedDocument, TaskDefinition, ValidationIssue, errors_of
from ecsk.core.translate.render import render_service, render_task_definition
from ecsk.core.translate.types import RenderOptions, RenderResult
from ecsk.core.validation import validate_service, validate_task_definition


@dataclass
class BundleItem:
    """One rendered document (or the reasons it was not rendered), with its validation warnings."""

    kind: str
    name: str
    source: str
    issues: list[ValidationIssue] = field(default_factory=list)
    result: RenderResult | None = None


def task_definition_ref(ref: str) -> tuple[str, int | None]:
    """(family, revision) from `family`, `family:3` or `arn:...:task-definition/family:3`."""
    if ref.startswith("arn:"):
        ref = ref.split("task-definition/", 1)[-1]
    family, _, rev = ref.partition(":")
    return family, int(rev) if rev.isdigit() else None


class TaskDefinitionIndex:
    """Task definitions by family and revision; a bare family means the highest revision."""

    def __init__(self, tds: list[TaskDefinition]) -> None:
        self._by: dict[str, dict[int, TaskDefinition]] = {}
        for td in tds:
            self._by.setdefault(td.family, {})[td.revision or 0] = td

    def find(self, ref: str | None) -> TaskDefinition | None:
        if not ref:
            return None
        family, rev = task_definition_ref(ref)
        revisions = self._by.get(family)
        if not revisions:
            return None
        if rev is not None and rev in revisions:
            return revisions[rev]
        if rev is not None and set(revisions) == {0}:
            return revisions[0]  # register input carries no revision: the reference names it
        return None if rev is not None else revisions[max(revisions)]


def render_documents(
    docs: list[LoadedDocument], options: RenderOptions | None = None, *, validate: bool = True
) -> list[BundleItem]:
    """Every task definition rendered on its own, every service with its task definition.
    Nothing is rendered for a document with validation errors (they are returned instead);
    warnings are returned alongside the render."""
    opts = options or RenderOptions()
    items: list[BundleItem] = []
    tds = [d.model for d in docs if isinstance(d.model, TaskDefinition)]
    index = TaskDefinitionIndex(tds)
    td_issues: dict[int, list[ValidationIssue]] = {}
    for doc in docs:
        model = doc.model
        if model is None:
            items.append(
                BundleItem(doc.kind, str(doc.metadata.get("name", "")), doc.source, list(doc.issues))
            )
        elif isinstance(model, TaskDefinition):
            issues = validate_task_definition(model) if validate else []
            td_issues[id(model)] = issues
            item = BundleItem("TaskDefinition", model.family, doc.source, issues)
            if not errors_of(issues):
                item.result = render_task_definition(model, opts)
            items.append(item)
    for doc in docs:
        model = doc.model
        if not isinstance(model, ECSService):
            continue
        item = BundleItem("ECSService", model.serviceName, doc.source)
        td = index.find(model.taskDefinition)
        if td is None:
            # The service's own rules (name, counts, placement) need no task definition: a
            # service that ECS would refuse for them says so too, not only "not found".
            if validate:
                item.issues.extend(validate_service(model))
            item.issues.append(
                ValidationIssue(
                    "taskDefinition",
                    f"TaskDefinition not found: {model.taskDefinition!r} is not among the given documents",
                    "service.task-definition",
                )
            )
        else:
            if validate:
                item.issues.extend(validate_service(model, td))
            if not errors_of(item.issues) and not errors_of(td_issues.get(id(td), [])):
                item.result = render_service(model, td, opts)
        items.append(item)
    return items
