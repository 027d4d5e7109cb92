"""App Runner auto scaling configurations: named, revisioned, immutable resources.

Each AppRunnerAutoScalingConfiguration object is one revision (CreateAutoScalingConfiguration's
input as its spec). Creating another object with the same AutoScalingConfigurationName makes
the next revision, as calling CreateAutoScalingConfiguration again does; the revision number is
the object's label `ecs.ecsk.io/autoscaling-revision` (written at creation by the API, or by the
operator for a `kubectl apply`d object). The newest active revision of a name is `Latest`; a
deleted one (DeleteAutoScalingConfiguration: the annotation `ecs.ecsk.io/deleted-at`) is
INACTIVE and can no longer be associated. `DefaultConfiguration` revision 1 (100 / 1 / 25) is
App Runner's own and exists without an object; users may add revisions to it.

Pure functions over the objects' JSON, shared by the operator (which resolves a service's
AutoScalingConfigurationArn into the HPA's numbers) and the API endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from ecsk.core.apprunner import identity
from ecsk.core.apprunner.identity import ConfigRef
from ecsk.core.apprunner.models import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_SIZE,
    DEFAULT_MIN_SIZE,
    SCHEMA_MAX_LENGTH,
    AppRunnerService,
    Tag,
)
from ecsk.core.apprunner.rules import (
    FieldRule,
    cel_field_rules,
    field_issues,
    min_max_cel,
    min_max_issue,
    scaling_rules,
)
from ecsk.core.models.common import AwsModel
from ecsk.core.models.errors import ValidationIssue, model_issues
from ecsk.core.translate.names import GROUP

KIND = "AppRunnerAutoScalingConfiguration"
LABEL_REVISION = f"{GROUP}/autoscaling-revision"
ANN_DELETED = f"{GROUP}/deleted-at"
ANN_DEFAULT = f"{GROUP}/default-configuration"
"""On the revision UpdateDefaultAutoScalingConfiguration made the default (at most one object);
without it App Runner's `DefaultConfiguration` is the default."""
DEFAULT_NAME = "DefaultConfiguration"
Scaling = tuple[int, int, int]
"""(MaxConcurrency, MinSize, MaxSize)."""
DEFAULT_SCALING: Scaling = (DEFAULT_MAX_CONCURRENCY, DEFAULT_MIN_SIZE, DEFAULT_MAX_SIZE)


class AutoScalingConfigurationSpec(AwsModel):
    """An App Runner auto scaling configuration revision (CreateAutoScalingConfiguration input):
    concurrent requests per instance before App Runner adds one, and the instance count's range."""

    AutoScalingConfigurationName: str = Field(json_schema_extra={"maxLength": SCHEMA_MAX_LENGTH})
    MaxConcurrency: int | None = None
    MinSize: int | None = None
    MaxSize: int | None = None
    Tags: list[Tag] | None = None

    @property
    def scaling(self) -> Scaling:
        """The three numbers with App Runner's defaults (100 / 1 / 25)."""
        return (
            self.MaxConcurrency or DEFAULT_MAX_CONCURRENCY,
            self.MinSize or DEFAULT_MIN_SIZE,
            self.MaxSize or DEFAULT_MAX_SIZE,
        )


CONFIG_RULES: tuple[FieldRule, ...] = (
    FieldRule(("AutoScalingConfigurationName",), "autoScalingConfigurationName", 4, 32, length=True),
    FieldRule(
        ("AutoScalingConfigurationName",),
        "autoScalingConfigurationName",
        pattern=identity.CONFIG_NAME_PATTERN,
    ),
    *scaling_rules(),
)
"""CreateAutoScalingConfiguration's field rules (the service's inline block shares the last three)."""


def check(raw: Mapping[str, Any]) -> tuple[AutoScalingConfigurationSpec | None, list[ValidationIssue]]:
    """The spec as the model and every problem, in App Runner's wording."""
    shape = model_issues(AutoScalingConfigurationSpec, raw)
    issues = list(field_issues(raw, CONFIG_RULES))
    if shape:
        return None, [*shape, *issues]
    spec = AutoScalingConfigurationSpec.model_validate(dict(raw))
    _, lo, hi = spec.scaling
    broken = min_max_issue("MinSize", lo, hi)
    return spec, [*issues, *([broken] if broken else [])]


# --- revisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """One revision as App Runner describes it; `object_name` None is App Runner's own default."""

    name: str
    revision: int
    scaling: Scaling
    config_id: str
    object_name: str | None = None
    created: str | None = None
    deleted: str | None = None
    tags: tuple[tuple[str, str | None], ...] = ()
    marked_default: bool = False

    @property
    def active(self) -> bool:
        return self.deleted is None

    def arn(self, region: str, account: str) -> str:
        return identity.config_arn(region, account, self.name, self.revision, self.config_id)


def implicit_default(region: str, account: str) -> Revision:
    """`DefaultConfiguration` revision 1, which App Runner provides in every account and Region."""
    return Revision(DEFAULT_NAME, 1, DEFAULT_SCALING, identity.config_id(f"default/{region}/{account}"))


def spec_name(body: Mapping[str, Any]) -> str:
    """The configuration name (metadata.name when the spec leaves it out)."""
    return str((body.get("spec") or {}).get("AutoScalingConfigurationName") or body["metadata"]["name"])


def label_revision(body: Mapping[str, Any]) -> int | None:
    raw = str(((body.get("metadata") or {}).get("labels") or {}).get(LABEL_REVISION) or "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def revision_of(body: Mapping[str, Any]) -> Revision | None:
    """The object as a revision, or None while it has no revision number or a refused spec."""
    number = label_revision(body)
    spec, issues = check({"AutoScalingConfigurationName": spec_name(body), **(body.get("spec") or {})})
    if number is None or spec is None or issues:
        return None
    meta = body["metadata"]
    return Revision(
        name=spec.AutoScalingConfigurationName,
        revision=number,
        scaling=spec.scaling,
        config_id=identity.config_id(str(meta.get("uid") or meta["name"])),
        object_name=meta["name"],
        created=meta.get("creationTimestamp"),
        deleted=(meta.get("annotations") or {}).get(ANN_DELETED),
        tags=tuple((t.Key, t.Value) for t in spec.Tags or ()),
        marked_default=(meta.get("annotations") or {}).get(ANN_DEFAULT) == "true",
    )


def revisions(bodies: Iterable[Mapping[str, Any]], region: str, account: str) -> list[Revision]:
    """Every revision of the namespace, App Runner's default first, then by name and number."""
    found = [r for r in (revision_of(b) for b in bodies) if r is not None]
    default = implicit_default(region, account)
    taken = any(r.name == DEFAULT_NAME and r.revision == 1 for r in found)
    out = found if taken else [default, *found]
    return sorted(out, key=lambda r: (r.name, r.revision))


def latest(revs: Sequence[Revision]) -> set[tuple[str, int]]:
    """(name, revision) of the newest active revision of each name (App Runner's `Latest`)."""
    best: dict[str, int] = {}
    for r in revs:
        if r.active:
            best[r.name] = max(best.get(r.name, 0), r.revision)
    return set(best.items())


def next_revision(bodies: Iterable[Mapping[str, Any]], name: str, exclude: str | None = None) -> int:
    """The number CreateAutoScalingConfiguration gives the next revision of `name`: one above
    every number the name has had (deleted revisions included; App Runner's default counts)."""
    used = [
        label_revision(b) or 0 for b in bodies if spec_name(b) == name and b["metadata"]["name"] != exclude
    ]
    return max([1 if name == DEFAULT_NAME else 0, *used]) + 1


def assigned(body: Mapping[str, Any], bodies: Sequence[Mapping[str, Any]]) -> int:
    """The revision number `body` keeps or gets: its label, unless missing or an older object of
    the same name holds the same number (two writers raced); then the next free one."""
    mine = label_revision(body)
    name, me = spec_name(body), body["metadata"]["name"]

    def order(b: Mapping[str, Any]) -> tuple[str, str]:
        return (str(b["metadata"].get("creationTimestamp") or ""), b["metadata"]["name"])

    clash = any(
        spec_name(b) == name and label_revision(b) == mine and order(b) < order(body)
        for b in bodies
        if b["metadata"]["name"] != me
    )
    if mine is not None and not clash and not (name == DEFAULT_NAME and mine == 1):
        return mine
    return next_revision(bodies, name, exclude=me)


def resolve(ref: ConfigRef, revs: Sequence[Revision], region: str, account: str) -> Revision | None:
    """The active revision an ARN names: its revision (and id, when given), or the latest."""
    if (ref.region, ref.account) != (region, account):
        return None
    named = [r for r in revs if r.name == ref.name and r.active]
    if ref.revision is None:
        return max(named, key=lambda r: r.revision, default=None)
    return next(
        (
            r
            for r in named
            if r.revision == ref.revision and (ref.config_id is None or r.config_id == ref.config_id)
        ),
        None,
    )


def find(arn: str, revs: Sequence[Revision], region: str, account: str) -> Revision | None:
    """`resolve` on an ARN's text (None for text that is no configuration ARN)."""
    ref = identity.parse_config_arn(arn)
    return resolve(ref, revs, region, account) if ref is not None else None


def default_name(revs: Sequence[Revision]) -> str:
    """The default configuration's name: the one UpdateDefaultAutoScalingConfiguration chose
    (each account and Region has one), else App Runner's `DefaultConfiguration`."""
    return next((r.name for r in revs if r.marked_default and r.active), DEFAULT_NAME)


def default_ref(revs: Sequence[Revision], region: str, account: str) -> ConfigRef:
    """What a service without AutoScalingConfigurationArn gets: the default's latest revision."""
    return ConfigRef(region, account, default_name(revs))


# --- the configuration a service uses ------------------------------------------------------------

INLINE_SUFFIX = "-scaling"


def inline_revision(service_name: str, service_id: str, scaling: Scaling) -> Revision:
    """ecsk's inline block, described as App Runner would describe a configuration of its own
    (`<ServiceName>-scaling`, revision 1, the service's id)."""
    return Revision(f"{service_name}{INLINE_SUFFIX}"[:32], 1, scaling, service_id)


def in_use(
    spec: AppRunnerService,
    service_id: str,
    revs: Sequence[Revision],
    pinned: Mapping[str, Any] | None,
    where: tuple[str, str],
) -> Revision | None:
    """The revision a service runs with (None: its ARN names no active revision).

    An ARN without a revision (and a service without an ARN: the latest DefaultConfiguration)
    binds the latest revision when the service is created or updated, as App Runner associates
    it; `pinned` ({"ref": the ARN text, "arn": the revision's ARN}, kept in the service's status)
    keeps that binding while the ARN text stays the same, so a newer revision does not move a
    running service."""
    if spec.AutoScalingConfiguration is not None:
        return inline_revision(spec.ServiceName, service_id, spec.scaling)
    region, account = where
    text = spec.AutoScalingConfigurationArn or ""
    ref = identity.parse_config_arn(text) if text else default_ref(revs, region, account)
    if ref is None:
        return None
    if pinned and pinned.get("ref") == text:
        bound = find(str(pinned.get("arn") or ""), revs, region, account)
        if bound is not None:
            return bound
    return resolve(ref, revs, region, account)


def summary(rev: Revision, region: str, account: str) -> dict[str, Any]:
    """DescribeService's AutoScalingConfigurationSummary (the fields App Runner fills there)."""
    return {
        "AutoScalingConfigurationArn": rev.arn(region, account),
        "AutoScalingConfigurationName": rev.name,
        "AutoScalingConfigurationRevision": rev.revision,
    }


IMMUTABLE = (
    "An auto scaling configuration revision can't be changed: create a new revision (another "
    "object with the same AutoScalingConfigurationName, or CreateAutoScalingConfiguration)."
)


def cel_rules() -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """x-kubernetes-validations of the AppRunnerAutoScalingConfiguration CRD (inside `spec`):
    the field rules, MinSize <= MaxSize, and immutability (App Runner revisions never change)."""
    root: list[dict[str, Any]] = []
    for rule in CONFIG_RULES:
        _, cels = cel_field_rules(rule)
        root.extend(cels)
    return {(): [*root, min_max_cel(), {"rule": "self == oldSelf", "message": IMMUTABLE}]}
