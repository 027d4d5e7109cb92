"""The one error type every layer reports: a field path, a message, and the rule's id.

It lives with the models (not the validation package) because the loader must turn pydantic's
errors into the same form, and models must not import validation (validation imports models).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

IssueSeverity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """`error`: ECS refuses the call (nothing is applied). `warning`: ECS registers it, but it
    documents a rule it does not enforce; the message says what happens instead, and the
    translation goes ahead."""

    path: str
    message: str
    rule: str
    severity: IssueSeverity = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def errors_of(issues: Iterable[ValidationIssue]) -> list[ValidationIssue]:
    """What blocks: callers act on these and only surface the rest."""
    return [i for i in issues if i.is_error]


def warnings_of(issues: Iterable[ValidationIssue]) -> list[ValidationIssue]:
    return [i for i in issues if not i.is_error]


class ModelLoadError(ValueError):
    """A document did not fit the AWS shape; `issues` holds every problem found, not the first."""

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        self.issues: list[ValidationIssue] = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


def join_path(prefix: str, loc: Iterable[Any]) -> str:
    """`containerDefinitions[1].healthCheck` from pydantic's ('containerDefinitions', 1, 'healthCheck')."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _message(error: Any) -> tuple[str, str]:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "Unknown parameter: not part of the ECS API shape", "schema.unknown-field"
    if kind == "missing":
        return "Missing required parameter", "schema.required"
    if "." in kind:  # a model's own rule, raised as PydanticCustomError(rule id, message)
        return str(error["msg"]), kind
    return str(error["msg"]), f"schema.{kind}"


def issues_from_pydantic(exc: ValidationError, prefix: str = "") -> list[ValidationIssue]:
    """Pydantic's errors in our form; union branch tags and key markers are dropped from paths."""
    issues: list[ValidationIssue] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if isinstance(part, int) or not _is_internal(str(part))]
        message, rule = _message(error)
        path = join_path(prefix, loc)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        issues.append(ValidationIssue(path, message, rule))
    return issues


def refuse(rule: str, message: str) -> PydanticCustomError:
    """Raise this from a model validator so the refusal keeps its rule id (`issues_from_pydantic`
    reports `rule`, not `schema.value_error`), for kinds whose rules live in their models."""
    return PydanticCustomError(rule, message)


def model_issues(model: type[BaseModel], spec: Mapping[str, Any], prefix: str = "") -> list[ValidationIssue]:
    """Every shape and model-rule problem of `spec` as issues (empty when it validates)."""
    try:
        model.model_validate(dict(spec))
    except ValidationError as exc:
        return issues_from_pydantic(exc, prefix)
    return []


def _is_internal(part: str) -> bool:
    """Pydantic inserts validator names such as 'function-before[...]' or '[key]' into locations."""
    return (part.endswith("]") and "[" in part) or part in {"str", "int", "float", "bool"}


def issues_text(issues: Iterable[ValidationIssue], limit: int = 10) -> str:
    """Issues as one message (operator conditions, API errors): the first `limit`, then a count."""
    items = [str(i) for i in issues]
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more
