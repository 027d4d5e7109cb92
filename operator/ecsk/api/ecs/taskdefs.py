"""Task definitions: one `TaskDefinition` resource per family, revisions kept by the operator.

RegisterTaskDefinition writes the family's spec, as `kubectl apply` of the same document would,
plus a fresh registration token (`revisions.A_REGISTRATION`), then waits until the operator has
recorded which revision that is (the revision ConfigMap and `status.revisions`, matched by the hash
the operator computes with the same core function). So the number returned is the operator's,
never a guess; with no operator running the call fails after `register_timeout` with a retryable
ServerException saying so. The token makes every call a new revision, as on ECS, even of JSON
identical to the latest revision's (or to a deleted one's); `kubectl apply` of an unchanged
document keeps the token and adds none.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context, epoch, page
from ecsk.api.ecs.common import object_name, resource, tags_out, task_definition_arn, wants_tags
from ecsk.api.errors import AwsError
from ecsk.api.store import Conflict
from ecsk.core.models import ModelLoadError, TaskDefinition, parse_task_definition
from ecsk.core.models.errors import errors_of, issues_text
from ecsk.core.taskdefs import revisions as rv
from ecsk.core.translate.names import label_value
from ecsk.core.validation import validate_task_definition

DEREGISTER_ANNOTATION = f"{rv.GROUP}/deregister"
DELETE_ANNOTATION = f"{rv.GROUP}/delete"
STILL_ACTIVE = (
    "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
)
DOES_NOT_EXIST = (
    "The specified task definition does not exist. Specify a valid account, family, revision and try again."
)
UNABLE = "Unable to describe task definition."
POLL_SECONDS = 0.05
ALL_REVISIONS = f"{rv.L_COMPONENT}={rv.COMPONENT}"


def _parse(doc: Mapping[str, Any]) -> TaskDefinition:
    try:
        td = parse_task_definition(doc)
    except ModelLoadError as exc:
        raise AwsError("ClientException", issues_text(exc.issues)) from None
    issues = errors_of(validate_task_definition(td))  # warnings never refuse: ECS accepts those
    if issues:
        raise AwsError("ClientException", issues_text(issues))
    return td


def find_family(ctx: Context, family: str) -> dict[str, Any] | None:
    """The family's resource: by its derived name (one GET), else a scan for kubectl-made ones."""
    body = ctx.store.get("TaskDefinition", object_name(family))
    if body is not None and rv.family_of(body) == family:
        return body
    return next((b for b in ctx.store.list("TaskDefinition") if rv.family_of(b) == family), None)


def _write(ctx: Context, family: str, spec: dict[str, Any]) -> dict[str, Any]:
    token = {rv.A_REGISTRATION: uuid.uuid4().hex}
    for _ in range(5):
        body = find_family(ctx, family)
        try:
            if body is None:
                new = resource("TaskDefinition", object_name(family), spec)
                new["metadata"]["annotations"] = dict(token)
                return ctx.store.create(new)
        except Conflict:
            time.sleep(0.05)  # created meanwhile: let the watch bring it, then write on top of it
            continue
        out = ctx.store.update_spec(
            "TaskDefinition", body["metadata"]["name"], lambda _live: spec, annotations=token
        )
        if out is not None:
            return out  # another writer got there first: read again and write on top
    raise AwsError(
        "ServerException", f"Task definition family {family} is being changed concurrently; retry.", 500
    )


def _stored_hash(body: Mapping[str, Any]) -> str:
    """The hash the operator will compute for the stored spec and token (same loader, same identity)."""
    spec = {**(body.get("spec") or {}), "family": rv.family_of(body)}
    token = (body["metadata"].get("annotations") or {}).get(rv.A_REGISTRATION)
    return rv.registration_hash(parse_task_definition(spec).identity(), token)


def _failed(body: Mapping[str, Any], generation: int) -> str | None:
    status = body.get("status") or {}
    for cond in status.get("conditions") or []:
        if (
            cond.get("type") == "Valid"
            and cond.get("status") == "False"
            and cond.get("observedGeneration") == generation
        ):
            return str(cond.get("message") or "invalid task definition")
    return None


def _wait_revision(ctx: Context, family: str, name: str, generation: int, digest: str) -> int:
    deadline = time.monotonic() + ctx.settings.register_timeout
    while time.monotonic() < deadline:
        body = ctx.store.get("TaskDefinition", name)
        if body is None:
            break
        status = body.get("status") or {}
        if int(status.get("observedGeneration") or 0) >= generation:
            failed = _failed(body, generation)
            if failed:
                from ecsk.api.errors import from_prefixed

                raise from_prefixed(failed)
            matches = [r for r in rv.revisions_from_status(status.get("revisions")) if r.hash == digest]
            if matches:
                return matches[-1].revision
        time.sleep(POLL_SECONDS)
    raise AwsError(
        "ServerException",
        f"The ecsk operator did not register a revision of {family} within "
        f"{ctx.settings.register_timeout:.0f} s; is the operator running for namespace "
        f"{ctx.store.namespace}?",
        500,
    )


def _revisions(ctx: Context, family: str) -> tuple[list[rv.Revision], dict[int, dict[str, Any]]]:
    cms = ctx.store.list("ConfigMap", f"{ALL_REVISIONS},{rv.L_FAMILY}={label_value(family)}")
    return rv.revisions_from_configmaps(cms, family)


def _description(ctx: Context, cm: Mapping[str, Any]) -> dict[str, Any]:
    """The stored revision document as describe-task-definition returns it."""
    doc = json.loads(cm["data"][rv.DATA_KEY])
    labels = cm["metadata"].get("labels") or {}
    ann = cm["metadata"].get("annotations") or {}
    doc.pop("tags", None)
    doc["taskDefinitionArn"] = task_definition_arn(ctx, doc["family"], int(doc["revision"]))
    doc["status"] = rv.status_of(labels.get(rv.L_STATUS))
    doc["registeredAt"] = epoch(doc.get("registeredAt"))
    if doc["status"] != "ACTIVE":
        doc["deregisteredAt"] = epoch(ann.get(rv.A_DEREGISTERED))
    td = TaskDefinition.model_validate(
        {k: v for k, v in doc.items() if k not in ("registeredAt", "deregisteredAt")}
    )
    doc["compatibilities"] = _compatibilities(td)
    doc.setdefault("requiresAttributes", [])
    doc.setdefault("volumes", [])
    doc.setdefault("placementConstraints", [])
    doc.setdefault("networkMode", td.effective_network_mode())
    return {k: v for k, v in doc.items() if v is not None}


def _compatibilities(td: TaskDefinition) -> list[str]:
    """ECS lists EC2 always, FARGATE when the definition meets Fargate's rules (awsvpc + sizes)."""
    out = ["EC2"]
    if td.effective_network_mode() == "awsvpc" and td.cpu and td.memory:
        out.append("FARGATE")
    return out


def _tags(cm: Mapping[str, Any]) -> list[dict[str, str]]:
    return tags_out(json.loads(cm["data"][rv.DATA_KEY]).get("tags"))


def register_task_definition(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    td = _parse(params)
    family = td.family
    stored = _write(ctx, family, td.to_aws())
    revision = _wait_revision(
        ctx, family, stored["metadata"]["name"], int(stored["metadata"]["generation"]), _stored_hash(stored)
    )
    return _describe_revision(ctx, family, revision, include_tags=True)


def _describe_revision(ctx: Context, family: str, revision: int, include_tags: bool) -> dict[str, Any]:
    cm = _snapshot(ctx, family, revision)
    out: dict[str, Any] = {"taskDefinition": _description(ctx, cm)}
    if include_tags:
        out["tags"] = _tags(cm)
    return out


def _snapshot(ctx: Context, family: str, revision: int) -> dict[str, Any]:
    cm = ctx.store.get("ConfigMap", rv.snapshot_name(family, revision))
    if cm is None or rv.revisions_from_configmaps([cm], family)[0] == []:
        _, cms = _revisions(ctx, family)
        cm = cms.get(revision)
    if cm is None:
        raise AwsError("ClientException", UNABLE)
    return cm


def resolve_any(ctx: Context, ref: str, allow_inactive: bool) -> tuple[str, int]:
    """(family, revision) a reference names; `family` alone is the latest ACTIVE revision."""
    try:
        parsed = rv.parse_reference(ref)
        revisions, _ = _revisions(ctx, parsed.family)
        family, rev = rv.resolve(ref, revisions, allow_inactive=allow_inactive)
    except rv.TaskDefinitionError as exc:
        from ecsk.api.errors import from_prefixed

        raise from_prefixed(str(exc)) from None
    return family, rev.revision


def describe_task_definition(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    family, revision = resolve_any(ctx, params["taskDefinition"], allow_inactive=True)
    return _describe_revision(ctx, family, revision, wants_tags(params))


def _all_revisions(ctx: Context) -> dict[str, list[rv.Revision]]:
    families: dict[str, list[dict[str, Any]]] = {}
    for cm in ctx.store.list("ConfigMap", ALL_REVISIONS):
        try:
            family = json.loads((cm.get("data") or {}).get(rv.DATA_KEY, "{}")).get("family")
        except ValueError:
            continue
        if isinstance(family, str):
            families.setdefault(family, []).append(cm)
    return {f: rv.revisions_from_configmaps(cms, f)[0] for f, cms in families.items()}


def list_task_definitions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("familyPrefix") or ""
    wanted = params.get("status") or "ACTIVE"
    rows = [
        (f"{family}:{r.revision:010d}", task_definition_arn(ctx, family, r.revision))
        for family, revs in _all_revisions(ctx).items()
        if family.startswith(prefix)
        for r in revs
        if r.status == wanted
    ]
    chunk, token = page(rows, params, key=lambda row: row[0], reverse=params.get("sort") == "DESC")
    return {"taskDefinitionArns": [arn for _, arn in chunk], **({"nextToken": token} if token else {})}


def list_task_definition_families(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("familyPrefix") or ""
    wanted = params.get("status") or "ACTIVE"
    names = []
    for family, revs in _all_revisions(ctx).items():
        active = any(r.status == "ACTIVE" for r in revs)
        if family.startswith(prefix) and (wanted == "ALL" or (wanted == "ACTIVE") == active):
            names.append(family)
    chunk, token = page(names, params, key=str)
    return {"families": chunk, **({"nextToken": token} if token else {})}


def deregister_task_definition(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ref = params["taskDefinition"]
    try:
        parsed = rv.parse_reference(ref)
    except rv.TaskDefinitionError as exc:
        from ecsk.api.errors import from_prefixed

        raise from_prefixed(str(exc)) from None
    if parsed.revision is None:
        raise AwsError("ClientException", f"Invalid revision number. Number: {ref}")
    family, revision = resolve_any(ctx, f"{parsed.family}:{parsed.revision}", allow_inactive=True)
    body = find_family(ctx, family)
    if body is None:
        raise AwsError("ClientException", UNABLE)
    cm = _snapshot(ctx, family, revision)
    if _status(cm) == "ACTIVE":
        _annotate_revisions(ctx, body, DEREGISTER_ANNOTATION, {revision})
        cm = _wait_relabelled(ctx, family, revision, "ACTIVE", "deregister") or cm
    return {"taskDefinition": _description(ctx, cm)}


def _status(cm: Mapping[str, Any]) -> rv.RevisionStatus:
    return rv.status_of((cm["metadata"].get("labels") or {}).get(rv.L_STATUS))


def _annotate_revisions(ctx: Context, body: Mapping[str, Any], annotation: str, numbers: set[int]) -> None:
    """Add revision numbers to the family's deregister/delete annotation (the operator acts on it,
    exactly as for `kubectl annotate`)."""
    have = rv.parse_deregister_annotation((body["metadata"].get("annotations") or {}).get(annotation))
    value = ",".join(str(n) for n in sorted(have | numbers))
    ctx.store.merge_patch(
        "TaskDefinition", body["metadata"]["name"], {"metadata": {"annotations": {annotation: value}}}
    )


def _wait_relabelled(
    ctx: Context, family: str, revision: int, before: rv.RevisionStatus, verb: str
) -> dict[str, Any] | None:
    """Until the operator moved the revision on from status `before`: its ConfigMap (None once it
    is gone: deleted, nothing used it)."""
    deadline = time.monotonic() + ctx.settings.register_timeout
    while time.monotonic() < deadline:
        cm = ctx.store.get("ConfigMap", rv.snapshot_name(family, revision))
        if cm is None:
            return None
        if _status(cm) != before:
            return cm
        time.sleep(POLL_SECONDS)
    raise AwsError(
        "ServerException",
        f"The ecsk operator did not {verb} {family}:{revision} in time; is it running?",
        500,
    )


def load_revision(ctx: Context, family: str, revision: int) -> TaskDefinition:
    """A stored revision as the model (what services and tasks are validated against)."""
    doc = json.loads(_snapshot(ctx, family, revision)["data"][rv.DATA_KEY])
    for key in ("revision", "taskDefinitionArn", "status", "registeredAt"):
        doc.pop(key, None)
    return parse_task_definition(doc)


class _Refused(Exception):
    """One reference DeleteTaskDefinitions reports in `failures` (the others still proceed)."""

    def __init__(self, arn: str, reason: str) -> None:
        super().__init__(reason)
        self.failure = {"arn": arn, "reason": reason}


def _deletable(ctx: Context, ref: str) -> tuple[str, int, dict[str, Any]]:
    """(family, revision, ConfigMap) of a revision that may be deleted: it must name a revision
    (ECS: "You must specify a revision") and be INACTIVE or already DELETE_IN_PROGRESS."""
    try:
        parsed = rv.parse_reference(ref)
    except rv.TaskDefinitionError:
        raise _Refused(ref, DOES_NOT_EXIST) from None
    if parsed.revision is None:
        raise _Refused(ref, DOES_NOT_EXIST)
    arn = task_definition_arn(ctx, parsed.family, parsed.revision)
    try:
        cm = _snapshot(ctx, parsed.family, parsed.revision)
    except AwsError:
        raise _Refused(arn, DOES_NOT_EXIST) from None
    if _status(cm) == "ACTIVE":
        raise _Refused(arn, STILL_ACTIVE)
    return parsed.family, parsed.revision, cm


def delete_task_definitions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """INACTIVE revisions become DELETE_IN_PROGRESS (the operator's `ecs.ecsk.io/delete`
    annotation), then disappear once no task or service deployment uses them."""
    refs = params["taskDefinitions"]
    if not 1 <= len(refs) <= 10:
        raise AwsError("InvalidParameterException", "taskDefinitions can have at most 10 items.")
    found: dict[str, dict[int, dict[str, Any]]] = {}
    failures = []
    for ref in refs:
        try:
            family, revision, cm = _deletable(ctx, ref)
        except _Refused as exc:
            failures.append(exc.failure)
            continue
        found.setdefault(family, {})[revision] = cm
    for family, revs in found.items():
        body = find_family(ctx, family)
        todo = {n for n, cm in revs.items() if _status(cm) == "INACTIVE"}
        if body is None or not todo:
            continue
        _annotate_revisions(ctx, body, DELETE_ANNOTATION, todo)
        for n in sorted(todo):
            _wait_relabelled(ctx, family, n, "INACTIVE", "delete")
    out = [
        {**_description(ctx, cm), "status": "DELETE_IN_PROGRESS"}
        for revs in found.values()
        for cm in revs.values()
    ]
    return {"taskDefinitions": out, "failures": failures}
