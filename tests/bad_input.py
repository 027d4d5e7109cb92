"""The bad-input corpus (tests/fixtures/bad-input): one invalid document per file, with the
outcome ecsk must give it in the file's header comment.

    # <the mistake, in words>
    # expect: admission                      refused by the CRD schema or a CEL rule
    # expect: status <rule id>               admitted, then refused by the operator
    # message: <substring of the refusal>    the apiserver's message, or the condition's

`rule id` is the `ValidationIssue.rule` that ecsk.core reports for it. `_support.yaml` holds
the valid documents the corpus refers to (task definitions, a healthy service).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad-input"
SUPPORT = CORPUS / "_support.yaml"


@dataclass(frozen=True)
class BadInput:
    path: Path
    what: str
    expect: Literal["admission", "status"]
    rule: str | None
    message: str
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def _header(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    lines = [line.removeprefix("#").strip() for line in text.splitlines() if line.startswith("#")]
    fields["what"] = lines[0] if lines else ""
    for line in lines[1:]:
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def load(path: Path) -> BadInput:
    text = path.read_text()
    head = _header(text)
    expect, _, rule = head["expect"].partition(" ")
    if expect not in ("admission", "status") or (expect == "status") != bool(rule):
        raise ValueError(f"{path}: `expect: admission` or `expect: status <rule id>`, not {head['expect']!r}")
    return BadInput(path, head["what"], expect, rule or None, head["message"], yaml.safe_load(text))  # type: ignore[arg-type]


def corpus() -> list[BadInput]:
    return [load(p) for p in sorted(CORPUS.glob("*/*.yaml"))]


def support() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(SUPPORT.read_text()) if d]
