"""Task definition revision bookkeeping: numbering, ACTIVE/INACTIVE, references and ARNs.

ECS numbers revisions from 1 per family and never changes a registered revision. In ecsk the
user edits one TaskDefinition object per family; each distinct spec becomes the next revision.
These functions decide *what* the bookkeeping says; the controller only stores the result, so
the rules (idempotent resyncs, refusal wording) are unit-tested without a cluster.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

RevisionStatus = Literal["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"]
STATUSES: tuple[RevisionStatus, ...] = ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS")

# How the operator stores a revision: an immutable ConfigMap with these labels and annotations,
# read back by the operator, the CLI and the AWS API endpoint alike.
GROUP = "ecs.ecsk.io"
COMPONENT = "task-definition-revision"
DELETED_COMPONENT = "task-definition-revision-deleted"
"""A deleted revision's tombstone: no content, only its number and hash, so numbering never
reuses a deleted number (ECS: "the revision is incremented the next time") and the family's
unchanged spec is not registered again on the next pass."""
L_COMPONENT = "app.kubernetes.io/component"
L_FAMILY = f"{GROUP}/family"
L_REVISION = f"{GROUP}/revision"
L_STATUS = f"{GROUP}/status"
A_HASH = f"{GROUP}/spec-hash"
A_REGISTRATION = f"{GROUP}/registration"
"""On a TaskDefinition: a fresh token the AWS endpoint writes with every RegisterTaskDefinition.
ECS adds a revision on every call, even of JSON identical to the latest revision's, while a
`kubectl apply` of an unchanged document must add none: the token takes part in the revision's
hash (`registration_hash`), so a new token is a new revision and a kept one (a resync, a
re-apply, a restart) is not."""
A_REGISTERED = f"{GROUP}/registered-at"
A_DEREGISTERED = f"{GROUP}/deregistered-at"
A_DELETED = f"{GROUP}/deleted-at"
DATA_KEY = "taskDefinition.json"

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

_ARN = re.compile(
    r"^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):task-definition/([A-Za-z0-9_-]{1,255})(?::(\d+))?$"
)
_REF = re.compile(r"^([A-Za-z0-9_-]{1,255})(?::(\d+))?$")


class TaskDefinitionError(ValueError):
    """A reference ECS would refuse; the message is ECS's ClientException text."""


@dataclass(frozen=True)
class Revision:
    revision: int
    hash: str
    registeredAt: str
    status: RevisionStatus = "ACTIVE"
    deregisteredAt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "revision": self.revision,
            "status": self.status,
            "registeredAt": self.registeredAt,
            "hash": self.hash,
        }
        if self.deregisteredAt:
            out["deregisteredAt"] = self.deregisteredAt
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Revision:
        return cls(
            int(d["revision"]),
            str(d.get("hash", "")),
            str(d.get("registeredAt", "")),
            status_of(d.get("status")),
            d.get("deregisteredAt"),
        )


def status_of(raw: Any) -> RevisionStatus:
    """A stored status (label or status entry); anything unknown counts as ACTIVE."""
    return next((s for s in STATUSES if s == raw), "ACTIVE")


def spec_hash(spec: dict[str, Any]) -> str:
    """Canonical JSON, so key order or a resync never looks like a change."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def registration_hash(identity: dict[str, Any], token: str | None) -> str:
    """The hash a revision is recorded under: the spec's, joined with the registration token the
    AWS endpoint wrote (none for objects only kubectl ever wrote, whose hashes stay as they were)."""
    digest = spec_hash(identity)
    return spec_hash({"spec": digest, "registration": token}) if token else digest


def revisions_from_status(items: Iterable[dict[str, Any]] | None) -> list[Revision]:
    out = []
    for item in items or []:
        try:
            out.append(Revision.from_dict(item))
        except (KeyError, TypeError, ValueError):
            continue  # a hand-edited status entry must not break the family
    return sorted(out, key=lambda r: r.revision)


def register(
    revisions: Sequence[Revision], digest: str, now: str, deleted: Sequence[Revision] = ()
) -> tuple[list[Revision], Revision, bool]:
    """The revision for a spec: the latest one if its hash matches (a resync), else the next number.

    Going back to an older spec registers a new revision, as re-registering the same JSON in ECS
    does; only the latest revision absorbs an unchanged spec. `deleted` (tombstones) take part in
    numbering and in "latest", never in the list returned.
    """
    revs = sorted(revisions, key=lambda r: r.revision)
    latest = max([*revs, *deleted], key=lambda r: r.revision, default=None)
    if latest is not None and latest.hash == digest:
        return list(revs), latest, False
    nxt = Revision(revision=(latest.revision + 1) if latest else 1, hash=digest, registeredAt=now)
    return [*revs, nxt], nxt, True


def parse_deregister_annotation(raw: str | None) -> set[int]:
    """`"3,4"` or `"3 4"`; junk entries are ignored rather than failing the whole family."""
    out: set[int] = set()
    for part in re.split(r"[\s,]+", raw or ""):
        part = part.strip()
        if part.isdigit() and int(part) > 0:
            out.add(int(part))
    return out


def deregister(revisions: Sequence[Revision], numbers: Iterable[int], now: str) -> list[Revision]:
    """Deregistration is one-way in ECS: removing a number from the annotation does not reactivate."""
    wanted = set(numbers)
    out = []
    for r in revisions:
        if r.revision in wanted and r.status == "ACTIVE":
            out.append(Revision(r.revision, r.hash, r.registeredAt, "INACTIVE", now))
        else:
            out.append(r)
    return out


def mark_deleting(revisions: Sequence[Revision], numbers: Iterable[int]) -> list[Revision]:
    """DeleteTaskDefinitions: INACTIVE -> DELETE_IN_PROGRESS; an ACTIVE revision is never deleted
    (ECS refuses it: deregister first), and the transition is one-way."""
    wanted = set(numbers)
    return [
        replace(r, status="DELETE_IN_PROGRESS") if r.revision in wanted and r.status == "INACTIVE" else r
        for r in revisions
    ]


def task_definition_arn(
    family: str, revision: int, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    return f"arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}"


@dataclass(frozen=True)
class Reference:
    family: str
    revision: int | None = None


def parse_reference(ref: str) -> Reference:
    """`family`, `family:revision` or a full task-definition ARN (region/account are not checked:
    one ecsk cluster stands for one account and Region)."""
    text = (ref or "").strip()
    m = _ARN.match(text)
    if m:
        return Reference(m.group(3), int(m.group(4)) if m.group(4) else None)
    m = _REF.match(text)
    if m:
        return Reference(m.group(1), int(m.group(2)) if m.group(2) else None)
    raise TaskDefinitionError(
        f"ClientException: Invalid revision number. Number: {text}"
        if ":" in text
        else f"ClientException: TaskDefinition not found: {text}"
    )


def resolve(ref: str, revisions: Sequence[Revision], *, allow_inactive: bool = False) -> tuple[str, Revision]:
    """The revision a reference names, with ECS's refusals.

    `family` alone means the latest ACTIVE revision. An INACTIVE (or DELETE_IN_PROGRESS)
    revision is refused for new references (`allow_inactive=False`) but kept for a service
    already running it, which ECS allows ("existing services that reference an INACTIVE task
    definition can still scale").
    """
    parsed = parse_reference(ref)
    if not revisions:
        raise TaskDefinitionError("ClientException: Unable to describe task definition.")
    if parsed.revision is None:
        active = [r for r in revisions if r.status == "ACTIVE"]
        if not active:
            raise TaskDefinitionError(
                f"ClientException: No active task definition found in family {parsed.family}."
            )
        return parsed.family, max(active, key=lambda r: r.revision)
    match = next((r for r in revisions if r.revision == parsed.revision), None)
    if match is None:
        raise TaskDefinitionError("ClientException: Unable to describe task definition.")
    if match.status != "ACTIVE" and not allow_inactive:
        raise TaskDefinitionError("ClientException: TaskDefinition is inactive")
    return parsed.family, match


def snapshot_name(family: str, revision: int) -> str:
    """ConfigMap holding a revision's frozen spec; families are [A-Za-z0-9_-], names are DNS-1123."""
    base = re.sub(r"[^a-z0-9-]+", "-", family.lower()).strip("-") or "td"
    if base != family:
        base = f"{base[:40]}-{hashlib.sha256(family.encode()).hexdigest()[:6]}"
    return f"td-{base[:200]}-{revision}"


def revisions_from_configmaps(
    cms: Iterable[dict[str, Any]], family: str
) -> tuple[list[Revision], dict[int, dict[str, Any]]]:
    """A family's revisions from its ConfigMaps (label values are sanitised: the stored document's
    family is re-checked), sorted, with the ConfigMap of each number."""
    revs: list[Revision] = []
    by_rev: dict[int, dict[str, Any]] = {}
    for cm in cms:
        meta = cm.get("metadata", {})
        labels, ann = meta.get("labels") or {}, meta.get("annotations") or {}
        try:
            number = int(labels.get(L_REVISION, ""))
            doc = json.loads((cm.get("data") or {}).get(DATA_KEY, "{}"))
        except (ValueError, TypeError):
            continue
        if doc.get("family") != family:
            continue
        status = status_of(labels.get(L_STATUS))
        revs.append(
            Revision(number, ann.get(A_HASH, ""), ann.get(A_REGISTERED, ""), status, ann.get(A_DEREGISTERED))
        )
        by_rev[number] = cm
    return sorted(revs, key=lambda r: r.revision), by_rev


def family_of(body: Any) -> str:
    """A TaskDefinition resource's family: `spec.family`, else its name (a manifest may omit it)."""
    return str((body.get("spec") or {}).get("family") or body["metadata"]["name"])
