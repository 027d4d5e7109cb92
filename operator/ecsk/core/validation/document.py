"""Validate loaded documents of any kind, including services against their task definitions."""

from __future__ import annotations

from collections.abc import Iterable

from ecsk.core.models.errors import ValidationIssue
from ecsk.core.models.load import LoadedDocument
from ecsk.core.models.service import ECSService
from ecsk.core.models.task import RunTask, ScheduledTask
from ecsk.core.models.taskdef import TaskDefinition
from ecsk.core.validation.service import validate_service
from ecsk.core.validation.task import validate_run_task, validate_scheduled_task
from ecsk.core.validation.taskdef import validate_task_definition


def validate_document(
    doc: LoadedDocument, task_definitions: dict[str, TaskDefinition] | None = None
) -> list[ValidationIssue]:
    """Shape issues if the document did not load, else the rule issues for its kind.

    `task_definitions` maps a service's `taskDefinition` reference (family, family:revision or
    ARN) to the task definition, for the cross checks of services and tasks.
    """
    model = doc.model
    if model is None:
        return list(doc.issues)
    if isinstance(model, TaskDefinition):
        return validate_task_definition(model)
    if isinstance(model, ECSService):
        td = _lookup(model.taskDefinition, task_definitions or {})
        return validate_service(model, td)
    if isinstance(model, RunTask):
        return validate_run_task(model, _lookup(model.taskDefinition, task_definitions or {}))
    if isinstance(model, ScheduledTask):
        return validate_scheduled_task(model)
    raise TypeError(f"unexpected model {type(model).__name__}")  # pragma: no cover


def validate_documents(docs: Iterable[LoadedDocument]) -> list[tuple[LoadedDocument, list[ValidationIssue]]]:
    """Each document with its issues; services see the task definitions loaded alongside them."""
    docs = list(docs)
    known: dict[str, TaskDefinition] = {}
    for doc in docs:
        if isinstance(doc.model, TaskDefinition):
            td = doc.model
            known[td.family] = td
            if td.revision is not None:
                known[f"{td.family}:{td.revision}"] = td
            if td.taskDefinitionArn:
                known[td.taskDefinitionArn] = td
    return [(doc, validate_document(doc, known)) for doc in docs]


def _lookup(ref: str | None, known: dict[str, TaskDefinition]) -> TaskDefinition | None:
    if not ref:
        return None
    if ref in known:
        return known[ref]
    tail = ref.rsplit("/", 1)[-1]  # arn:aws:ecs:region:acct:task-definition/family:rev
    return known.get(tail) or known.get(tail.split(":", 1)[0])
