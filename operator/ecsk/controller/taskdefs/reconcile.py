"""TaskDefinition: every distinct spec registers the next revision, frozen in an immutable ConfigMap.

The user edits one object per family (the "family"); ECS's immutable revisions become
ConfigMaps `td-<family>-<revision>` with `immutable: true`, owned by that object. They, not the
status, are the source of truth: a lost status is rebuilt from them, and a revision's content can
never change underneath a running service. INACTIVE is a label on the ConfigMap (metadata stays
mutable on immutable ConfigMaps), set from the annotation `ecs.ecsk.io/deregister: "3,4"` and
never cleared, like DeregisterTaskDefinition. `ecs.ecsk.io/delete: "3"` (DeleteTaskDefinitions)
moves INACTIVE revisions to DELETE_IN_PROGRESS; once no task runs one and no service deployment
names it, its ConfigMap is replaced by a content-less tombstone (numbering never reuses it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.controller.kube.client import API_VERSION, GROUP, KubeError, now_iso, owner_reference
from ecsk.controller.runtime.common import (
    Runtime,
    blocking_text,
    condition,
    cr_document,
    merge_conditions,
    valid_text,
    warning_event,
)
from ecsk.core.models import TaskDefinition, load_document, parse_task_definition
from ecsk.core.taskdefs import revisions as rv
from ecsk.core.translate.names import LABEL_FAMILY, LABEL_REVISION, label_value
from ecsk.core.validation import validate_task_definition

log = logging.getLogger("ecsk.controller.taskdefs.reconcile")

DEREGISTER_ANNOTATION = f"{GROUP}/deregister"
DELETE_ANNOTATION = f"{GROUP}/delete"
DELETE_RECHECK = 15.0
"""Seconds between checks of a DELETE_IN_PROGRESS revision still in use."""
COMPONENT = rv.COMPONENT
L_COMPONENT = rv.L_COMPONENT
L_FAMILY = rv.L_FAMILY
L_REVISION = rv.L_REVISION
L_STATUS = rv.L_STATUS
A_HASH = rv.A_HASH
A_REGISTERED = rv.A_REGISTERED
A_DEREGISTERED = rv.A_DEREGISTERED
DATA_KEY = rv.DATA_KEY


family_of = rv.family_of


def _selector(family: str) -> str:
    return f"{L_COMPONENT}={COMPONENT},{L_FAMILY}={label_value(family)}"


def stored_revisions(
    rt: Runtime, namespace: str, family: str, cached: bool = False
) -> tuple[list[rv.Revision], dict[int, dict[str, Any]]]:
    """Revisions of a family from their ConfigMaps (label values are sanitised: re-check family).

    `cached`: read the watch-fed cache (services and tasks resolve on every pass). Registration
    itself always reads the API, since it decides the next revision number."""
    cms: list[dict[str, Any]] = []
    if cached and rt.children.covers("ConfigMap"):
        cms = rt.children.select(
            "ConfigMap", namespace, {L_COMPONENT: COMPONENT, L_FAMILY: label_value(family)}
        )
    if not cms:
        cms = rt.kube.list("v1", "ConfigMap", namespace, _selector(family))
    return rv.revisions_from_configmaps(cms, family)


def _snapshot(body: Mapping[str, Any], td: TaskDefinition, rev: rv.Revision, rt: Runtime) -> dict[str, Any]:
    family = td.family
    arn = rv.task_definition_arn(family, rev.revision, rt.config.region, rt.config.account)
    doc = {
        **td.identity(),
        "family": family,
        "revision": rev.revision,
        "taskDefinitionArn": arn,
        "status": "ACTIVE",
        "registeredAt": rev.registeredAt,
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": rv.snapshot_name(family, rev.revision),
            "namespace": body["metadata"]["namespace"],
            "labels": {
                L_COMPONENT: COMPONENT,
                L_FAMILY: label_value(family),
                L_REVISION: str(rev.revision),
                L_STATUS: "ACTIVE",
                "app.kubernetes.io/managed-by": "ecsk",
            },
            "annotations": {A_HASH: rev.hash, A_REGISTERED: rev.registeredAt},
            "ownerReferences": [owner_reference(body)],
        },
        "immutable": True,
        "data": {DATA_KEY: json.dumps(doc, sort_keys=True, indent=1)},
    }


def reconcile(rt: Runtime, body: Mapping[str, Any]) -> float | None:
    meta = body["metadata"]
    ns, generation = meta["namespace"], meta.get("generation")
    status = dict(body.get("status") or {})
    conds = status.get("conditions") or []
    family = family_of(body)
    doc = load_document(cr_document(body))[0]
    issues = list(doc.issues)
    td: TaskDefinition | None = None
    if doc.model is not None and isinstance(doc.model, TaskDefinition):
        td = doc.model
        issues += validate_task_definition(td)
    revisions, cms = stored_revisions(rt, ns, family)
    now = now_iso()
    new_cond = []
    events: list[tuple[str, str, str]] = []
    blocking = blocking_text(issues)
    if blocking or td is None:
        msg = f"ClientException: {blocking or 'spec is not a task definition'}"
        new_cond.append(condition(conds, "Valid", False, "ValidationFailed", msg, generation))
        if not any(c.get("type") == "Valid" and c.get("message") == msg for c in conds):
            events.append(("Warning", "ValidationFailed", msg))
    else:
        msg = valid_text("task definition is valid", issues)
        new_cond.append(condition(conds, "Valid", True, "Registered", msg, generation))
        warned = warning_event(conds, msg, issues)
        if warned:
            events.append(warned)
        token = (meta.get("annotations") or {}).get(rv.A_REGISTRATION)
        digest = rv.registration_hash(td.identity(), token)
        revisions, rev, created = rv.register(revisions, digest, now, deleted_revisions(rt, ns, family))
        if created:
            made = rt.kube.create(_snapshot(body, td, rev, rt))
            if made is None:
                # A previous run created it but our list did not see it yet: look again shortly.
                return 1.0
            rt.children.put(made)  # the services woken below resolve from the cache
            events.append(("Normal", "Registered", f"Registered task definition {family}:{rev.revision}"))
            for svc in rt.cached_all("ECSService", ns):
                rt.enqueue("ECSService", ns, svc["metadata"]["name"])
            for st in rt.cached_all("ScheduledTask", ns):
                rt.enqueue("ScheduledTask", ns, st["metadata"]["name"])
    annotations = meta.get("annotations") or {}
    after = rv.deregister(
        revisions, rv.parse_deregister_annotation(annotations.get(DEREGISTER_ANNOTATION)), now
    )
    after = rv.mark_deleting(after, rv.parse_deregister_annotation(annotations.get(DELETE_ANNOTATION)))
    _relabel(rt, ns, family, cms, revisions, after, events)
    revisions, requeue = _finish_deletions(rt, body, family, after, cms, events)
    latest = revisions[-1] if revisions else None
    new_status: dict[str, Any] = {
        "family": family,
        "revisions": [r.to_dict() for r in revisions],
        "revision": latest.revision if latest else None,
        "status": latest.status if latest else None,
        "taskDefinitionArn": (
            rv.task_definition_arn(family, latest.revision, rt.config.region, rt.config.account)
            if latest
            else None
        ),
        "observedGeneration": generation,
        "conditions": merge_conditions(conds, new_cond),
    }
    out = rt.kube.patch_status(body, new_status)
    if out is not None:
        rt.remember(out)
    for type_, reason, message in events:
        rt.kube.event(body, reason, message, type_)
    return requeue


def _relabel(
    rt: Runtime,
    ns: str,
    family: str,
    cms: Mapping[int, Mapping[str, Any]],
    before: list[rv.Revision],
    after: list[rv.Revision],
    events: list[tuple[str, str, str]],
) -> None:
    """Write each status change (INACTIVE, DELETE_IN_PROGRESS) onto the revision's ConfigMap."""
    for old, r in zip(before, after, strict=True):
        if old.status == r.status or r.revision not in cms:
            continue
        ann = {A_DEREGISTERED: r.deregisteredAt} if r.status == "INACTIVE" else {}
        patch = {"metadata": {"labels": {L_STATUS: r.status}, "annotations": ann}}
        rt.children.put(
            rt.kube.merge_patch("v1", "ConfigMap", cms[r.revision]["metadata"]["name"], ns, patch)
        )
        verb = "Deregistered" if r.status == "INACTIVE" else "Deleting"
        events.append(("Normal", verb, f"{verb} task definition {family}:{r.revision}"))


def _in_use(rt: Runtime, ns: str, family: str, revision: int) -> bool:
    """A task still runs the revision, or a service deployment still names it (ECS keeps a
    DELETE_IN_PROGRESS revision until "all the associated tasks and services have been terminated")."""
    selector = f"{LABEL_FAMILY}={label_value(family)},{LABEL_REVISION}={revision}"
    pods = rt.kube.list("v1", "Pod", ns, selector)
    if any((p.get("status") or {}).get("phase") not in ("Succeeded", "Failed") for p in pods):
        return True
    suffix = f":task-definition/{family}:{revision}"
    return any(
        str(d.get("taskDefinition") or "").endswith(suffix)
        for svc in rt.cached_all("ECSService", ns)
        for d in (svc.get("status") or {}).get("deployments") or []
    )


def _tombstone(body: Mapping[str, Any], family: str, r: rv.Revision, now: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{rv.snapshot_name(family, r.revision)}-deleted",
            "namespace": body["metadata"]["namespace"],
            "labels": {
                L_COMPONENT: rv.DELETED_COMPONENT,
                L_FAMILY: label_value(family),
                L_REVISION: str(r.revision),
                "app.kubernetes.io/managed-by": "ecsk",
            },
            "annotations": {A_HASH: r.hash, A_REGISTERED: r.registeredAt, rv.A_DELETED: now},
            "ownerReferences": [owner_reference(body)],
        },
        "immutable": True,
        "data": {DATA_KEY: json.dumps({"family": family, "revision": r.revision})},
    }


def _finish_deletions(
    rt: Runtime,
    body: Mapping[str, Any],
    family: str,
    revisions: list[rv.Revision],
    cms: Mapping[int, Mapping[str, Any]],
    events: list[tuple[str, str, str]],
) -> tuple[list[rv.Revision], float | None]:
    """Delete the DELETE_IN_PROGRESS revisions nothing uses any more: tombstone first, then the
    ConfigMap, so a crash in between never frees the number. Returns what is left, and when to
    look again at those still in use."""
    ns = body["metadata"]["namespace"]
    left, requeue = [], None
    for r in revisions:
        if r.status != "DELETE_IN_PROGRESS" or r.revision not in cms:
            left.append(r)
            continue
        if _in_use(rt, ns, family, r.revision):
            left.append(r)
            requeue = DELETE_RECHECK
            continue
        rt.kube.create(_tombstone(body, family, r, now_iso()))  # None: already there (a retry)
        name = cms[r.revision]["metadata"]["name"]
        rt.kube.delete("v1", "ConfigMap", name, ns)
        rt.children.drop("ConfigMap", ns, name)
        events.append(("Normal", "Deleted", f"Deleted task definition {family}:{r.revision}"))
    return left, requeue


def deleted_revisions(rt: Runtime, namespace: str, family: str) -> list[rv.Revision]:
    """The family's tombstones (numbers and hashes of deleted revisions)."""
    selector = f"{L_COMPONENT}={rv.DELETED_COMPONENT},{L_FAMILY}={label_value(family)}"
    return rv.revisions_from_configmaps(rt.kube.list("v1", "ConfigMap", namespace, selector), family)[0]


class NotYetRegistered(rv.TaskDefinitionError):
    """The family exists but its first revision is not registered yet (both applied together):
    callers wait a moment instead of reporting an error that would vanish a second later."""


def _valid(body: Mapping[str, Any]) -> bool:
    conds = (body.get("status") or {}).get("conditions") or []
    return not any(c.get("type") == "Valid" and c.get("status") == "False" for c in conds)


@dataclass(frozen=True)
class Resolved:
    family: str
    revision: rv.Revision
    arn: str
    task_definition: TaskDefinition


def find_family(rt: Runtime, namespace: str, family: str) -> Mapping[str, Any] | None:
    """The family object, from the watch cache or, on a miss, from the API: right after a start
    the services may be listed before the task definitions, and a miss must not flap the service."""
    by_name = rt.cached("TaskDefinition", namespace, family)
    if by_name is not None and family_of(by_name) == family:
        return by_name
    found = next((b for b in rt.cached_all("TaskDefinition", namespace) if family_of(b) == family), None)
    if found is not None:
        return found
    live = rt.kube.list(API_VERSION, "TaskDefinition", namespace)
    return next((b for b in live if family_of(b) == family), None)


def resolve(rt: Runtime, namespace: str, ref: str, keep_revision: int | None = None) -> Resolved:
    """The task definition a service or task names, refusing what ECS refuses.

    `keep_revision`: the revision the caller already runs; it may be INACTIVE (ECS lets existing
    services keep and scale a deregistered revision)."""
    parsed = rv.parse_reference(ref)
    family_obj = find_family(rt, namespace, parsed.family)
    if family_obj is None:
        raise rv.TaskDefinitionError("ClientException: Unable to describe task definition.")
    revisions, cms = stored_revisions(rt, namespace, parsed.family, cached=True)
    latest = (family_obj.get("status") or {}).get("revision")
    wanted = {r for r in (keep_revision, parsed.revision, latest) if isinstance(r, int)}
    if not wanted <= set(cms):
        revisions, cms = stored_revisions(rt, namespace, parsed.family)  # the cache lags: ask the API
    if not revisions and _valid(family_obj):
        raise NotYetRegistered(f"{parsed.family} has no revision yet")
    allow = parsed.revision is not None and parsed.revision == keep_revision
    family, rev = rv.resolve(ref, revisions, allow_inactive=allow)
    if parsed.revision is None and keep_revision is not None and rev.revision < keep_revision:
        # Deregistering the latest revision must not roll a family-tracking service backwards.
        family, rev = rv.resolve(f"{parsed.family}:{keep_revision}", revisions, allow_inactive=True)
    try:
        doc = json.loads(cms[rev.revision]["data"][DATA_KEY])
    except (KeyError, ValueError) as exc:
        raise rv.TaskDefinitionError("ClientException: Unable to describe task definition.") from exc
    for key in ("revision", "taskDefinitionArn", "status", "registeredAt"):
        doc.pop(key, None)
    try:
        td = parse_task_definition(doc)
    except ValueError as exc:
        raise KubeError(f"stored revision {family}:{rev.revision} no longer loads: {exc}") from exc
    td = td.model_copy(update={"revision": rev.revision})
    arn = rv.task_definition_arn(family, rev.revision, rt.config.region, rt.config.account)
    return Resolved(family, rev, arn, td)
