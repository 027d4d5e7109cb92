"""The bad-input corpus (tests/fixtures/bad-input), without a cluster: its shape, and every case
the operator must refuse in status is refused by ecsk's own rules with the named rule id.

The live half (admission refusals, conditions, Warning events, an operator that survives it
all) is tests/integration/test_bad_input_live.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bad_input import BadInput, corpus, support
from ecsk.core.apprunner import rules as apprunner_rules
from ecsk.core.apprunner import scaling as apprunner_scaling
from ecsk.core.autoscaling.models import validate_autoscaling
from ecsk.core.capacity.validation import (
    validate_capacity_provider,
    validate_cluster,
    validate_fargate_profile,
)
from ecsk.core.ecr.validation import validate_repository
from ecsk.core.models.errors import ValidationIssue, errors_of
from ecsk.core.models.load import load_document
from ecsk.core.validation import validate_documents

KINDS = (
    "TaskDefinition",
    "ECSService",
    "Task",
    "ScheduledTask",
    "ECSCluster",
    "CapacityProvider",
    "FargateProfile",
    "ScalableTarget",
    "ScalingPolicy",
    "ScheduledAction",
    "Repository",
    "AppRunnerService",
    "AppRunnerAutoScalingConfiguration",
)
ADMISSION_ONLY = {"AppRunnerAutoScalingConfiguration"}
"""Kinds whose every rule the CRD states (schema and CEL): nothing is left for the operator."""
LIVE_RULES = {"autoscaling.service-exists"}
"""Rules that need the cluster's state (the named service exists): checked by the live test only."""
CASES = corpus()


def _ecs_issues(case: BadInput) -> list[ValidationIssue]:
    """As the operator and `ecsk render` see it: loaded, then validated beside the task
    definitions the corpus refers to (services are checked against them)."""
    docs = [load_document(d)[0] for d in support()] + [load_document(case.doc)[0]]
    return validate_documents(docs)[-1][1]


def _spec(case: BadInput) -> Mapping[str, Any]:
    return case.doc.get("spec") or {}


VALIDATORS: dict[str, Callable[[BadInput], list[ValidationIssue]]] = {
    **dict.fromkeys(("TaskDefinition", "ECSService", "Task", "ScheduledTask"), _ecs_issues),
    "ECSCluster": lambda c: validate_cluster(_spec(c)),
    "CapacityProvider": lambda c: validate_capacity_provider(_spec(c)),
    "FargateProfile": lambda c: validate_fargate_profile(_spec(c)),
    **{
        kind: (lambda c: validate_autoscaling(c.kind, _spec(c), c.name))
        for kind in ("ScalableTarget", "ScalingPolicy", "ScheduledAction")
    },
    "Repository": lambda c: validate_repository(_spec(c)),
    "AppRunnerService": lambda c: apprunner_rules.check(_spec(c))[1],
    "AppRunnerAutoScalingConfiguration": lambda c: apprunner_scaling.check(
        {"AutoScalingConfigurationName": c.name, **_spec(c)}
    )[1],
}


def test_corpus_covers_every_kind_with_at_least_150_cases() -> None:
    per_kind = Counter(c.kind for c in CASES)
    assert len(CASES) >= 150
    assert set(per_kind) == set(KINDS), per_kind
    assert all(n >= 7 for n in per_kind.values()), per_kind
    for kind in KINDS:  # both doors are exercised where the kind has both
        expects = {c.expect for c in CASES if c.kind == kind}
        assert expects == ({"admission"} if kind in ADMISSION_ONLY else {"admission", "status"}), (
            kind,
            expects,
        )
    names = Counter((c.kind, c.name) for c in CASES)
    assert [k for k, n in names.items() if n > 1] == []  # one object per case when applied together
    assert all(c.message for c in CASES)


def test_every_case_is_in_its_kind_directory_and_documents_its_mistake() -> None:
    for case in CASES:
        assert case.path.parent.name == case.kind, case.id
        assert case.what and not case.what.startswith("expect"), case.id
        assert case.name.startswith("bad-") and len(case.name) <= 63, case.id


def test_the_support_documents_are_valid() -> None:
    docs = [load_document(d)[0] for d in support()]
    assert [errors_of(issues) for _, issues in validate_documents(docs)] == [[], [], []]


STATUS = [c for c in CASES if c.expect == "status" and c.rule not in LIVE_RULES]


@pytest.mark.parametrize("case", STATUS, ids=[c.id for c in STATUS])
def test_status_case_is_refused_with_its_rule(case: BadInput) -> None:
    issues = VALIDATORS[case.kind](case)
    named = [i for i in errors_of(issues) if i.rule == case.rule]
    assert named, f"{case.id}: no error with rule {case.rule}; got {[(i.rule, str(i)) for i in issues]}"
    assert any(case.message in str(i) for i in named), f"{case.id}: {[str(i) for i in named]}"


ECS_ADMISSION = [c for c in CASES if c.expect == "admission" and VALIDATORS[c.kind] is _ecs_issues]


@pytest.mark.parametrize("case", ECS_ADMISSION, ids=[c.id for c in ECS_ADMISSION])
def test_what_admission_refuses_ecsk_render_refuses_too(case: BadInput) -> None:
    """`ecsk render` and `ecsk import` take the same AWS JSON without an apiserver in front: the
    rules the CRD states must hold there too."""
    assert errors_of(VALIDATORS[case.kind](case)), case.id


ADMISSION_OTHERS = [
    c
    for c in CASES
    if c.expect == "admission" and c.kind in ("AppRunnerService", "AppRunnerAutoScalingConfiguration")
]


@pytest.mark.parametrize("case", ADMISSION_OTHERS, ids=[c.id for c in ADMISSION_OTHERS])
def test_what_admission_refuses_the_app_runner_api_refuses_too(case: BadInput) -> None:
    """The API endpoint validates App Runner calls with the same rules the CRD's CEL states."""
    assert errors_of(VALIDATORS[case.kind](case)), case.id
