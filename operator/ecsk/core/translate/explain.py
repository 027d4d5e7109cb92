"""Account for every ECS field given in the input.

Translators leave specific notes for concrete paths (`containerDefinitions[0].cpu` -> "256 units
-> 250m"); everything else given in the input is explained from the coverage table. A note on a
parent path (`containerDefinitions[0].secrets[1]`) accounts for the fields below it. So a field
can only be silent if the coverage table lacks it, which the unit tests forbid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import BaseModel

from ecsk.core.translate.types import Explanation

_INDEX = re.compile(r"\[\d+\]")


def given_leaves(model: BaseModel, prefix: str = "") -> Iterator[str]:
    """Concrete paths of the fields set (non-None) in `model`, descending into sub-models and
    lists of sub-models; scalars, lists of scalars and maps are leaves."""
    given = model.__pydantic_fields_set__
    for name in type(model).model_fields:
        if name not in given:
            continue
        value = getattr(model, name)
        if value is None:
            continue
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, BaseModel):
            yield from given_leaves(value, path)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                yield from given_leaves(item, f"{path}[{i}]")
        else:
            yield path


def pattern(path: str) -> str:
    """`containerDefinitions[3].secrets[0].name` -> `containerDefinitions[].secrets[].name`."""
    return _INDEX.sub("[]", path)


def _covering_note(leaf: str, notes: dict[str, Explanation]) -> str | None:
    """The most specific noted path equal to `leaf` or an ancestor of it."""
    probe = leaf
    while True:
        if probe in notes:
            return probe
        cut = max(probe.rfind("."), probe.rfind("["))
        if cut <= 0:
            return None
        probe = probe[:cut]


def explain(
    root: str, model: BaseModel, notes: dict[str, Explanation], prefix: str = ""
) -> list[Explanation]:
    """Explanations for `model` (a TaskDefinition or ECSService) under coverage root `root`.

    `prefix` is prepended to the ECS paths in the output (the service render explains both the
    service and its task definition)."""
    # imported here so `python -m ecsk.core.translate.coverage` (the doc generator) does not find its
    # own module half-imported through the package __init__
    from ecsk.core.translate.coverage import lookup

    out: list[Explanation] = []
    used: set[str] = set()
    for leaf in given_leaves(model):
        hit = _covering_note(leaf, notes)
        if hit is not None:
            if hit not in used:
                used.add(hit)
                n = notes[hit]
                out.append(Explanation(f"{prefix}{n.ecs_path}", n.k8s_paths, n.note))
            continue
        entry = lookup(f"{root}.{pattern(leaf)}")
        if entry is None:
            out.append(Explanation(f"{prefix}{leaf}", None, "NOT COVERED: missing from the coverage table"))
        else:
            out.append(Explanation(f"{prefix}{leaf}", entry.targets, entry.note))
    return out
