"""`taskdef_overrides`: Copilot's path rules applied to the task definition ecsk registers.

Copilot applies them to the CloudFormation `AWS::ECS::TaskDefinition` properties (PascalCase,
https://aws.github.io/copilot-cli/docs/developing/overrides/taskdef-overrides/); ecsk's
TaskDefinition spec is the ECS API shape, whose names are the same with a lower-case first
letter (`ContainerDefinitions[0].Ulimits[-]` -> `containerDefinitions[0].ulimits[-]`), so a
path and its value's keys are converted that way. Rules apply in order, missing fields are
inserted, `[-]` appends, and `Family` / `ContainerDefinitions[i].Name` are refused as Copilot
refuses them. A value ECS does not accept is caught afterwards by the task definition's rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ecsk.core.models.errors import ValidationIssue

_SEGMENT = re.compile(r"^([A-Za-z][A-Za-z0-9]*)((?:\[(?:\d+|-)\])*)$")
_INDEX = re.compile(r"\[(\d+|-)\]")
_FORBIDDEN = (re.compile(r"^Family$"), re.compile(r"^ContainerDefinitions\[\d+\]\.Name$"))
_FREE_FORM = frozenset({"dockerLabels", "options", "freeformTags"})
"""Maps whose keys are the user's (Docker labels, log driver options): kept verbatim."""


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def camel_keys(value: Any, free: bool = False) -> Any:
    """The CloudFormation-cased value in the ECS API's casing."""
    if isinstance(value, Mapping):
        if free:
            return dict(value)
        return {_camel(str(k)): camel_keys(v, _camel(str(k)) in _FREE_FORM) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def _steps(path: str) -> list[str | int | None]:
    """`A.B[0].C[-]` -> ['a', 'b', 0, 'c', None] (None appends)."""
    steps: list[str | int | None] = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise ValueError(
                f'invalid path "{path}": segment "{part}" is not a field name with optional [index]'
            )
        steps.append(_camel(m.group(1)))
        for idx in _INDEX.findall(m.group(2)):
            steps.append(None if idx == "-" else int(idx))
    return steps


def _container(step: str | int | None) -> Any:
    return {} if isinstance(step, str) else []


def _set(node: Any, steps: list[str | int | None], value: Any, path: str) -> None:
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        nxt = None if last else steps[i + 1]
        if isinstance(step, str):
            if not isinstance(node, dict):
                raise ValueError(f'cannot set "{path}": the parent is not a map')
            if last:
                node[step] = value
                return
            if not isinstance(node.get(step), (dict, list)):
                node[step] = _container(nxt)
            node = node[step]
            continue
        if not isinstance(node, list):
            raise ValueError(f'cannot set "{path}": the parent is not a list')
        if step is None:
            node.append(value if last else _container(nxt))
            node = node[-1]
        elif step >= len(node):
            raise ValueError(f'cannot set "{path}": index {step} out of bounds for a list of {len(node)}')
        elif last:
            node[step] = value
        else:
            node = node[step]
        if last:
            return


def apply_overrides(spec: dict[str, Any], rules: Any) -> list[ValidationIssue]:
    """Apply `rules` to `spec` in place; the problems found (one per refused rule)."""
    if not isinstance(rules, list):
        return [
            ValidationIssue("taskdef_overrides", "must be a list of {path, value} rules", "copilot.overrides")
        ]
    out: list[ValidationIssue] = []
    for n, rule in enumerate(rules):
        where = f"taskdef_overrides[{n}]"
        if not isinstance(rule, Mapping) or "path" not in rule or "value" not in rule:
            out.append(ValidationIssue(where, '"path" and "value" must be specified', "copilot.overrides"))
            continue
        path = str(rule["path"])
        blocked = next((rx for rx in _FORBIDDEN if rx.match(path)), None)
        if blocked is not None:
            shown = blocked.pattern.strip("^$").replace("\\[\\d+\\]", "\\[\\d+\\]")
            out.append(
                ValidationIssue(
                    where, f'"{shown}" cannot be overridden with a custom value', "copilot.overrides"
                )
            )
            continue
        try:
            steps = _steps(path)
            free = isinstance(steps[-1], str) and steps[-1] in _FREE_FORM
            _set(spec, steps, camel_keys(rule["value"], free), path)
        except ValueError as exc:
            out.append(ValidationIssue(where, f"apply task definition override: {exc}", "copilot.overrides"))
    return out
