"""Secrets Manager operations on `ecsk.api.vault` entries.

An entry's metadata keeps the ARN (with the random six-character suffix AWS appends to the name),
description, tags, dates, the deletion date while a delete is pending, and per version id its
staging labels; its data keeps each version's value under `v.<version-id>` and, for AWSCURRENT,
the string under `value` and each top-level JSON key under `json.<key>` (what a task's
`secrets` reference reads). Versions that lose their last staging label are dropped, as AWS
deprecates them.
"""

from __future__ import annotations

import re
import secrets as random
import string
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ecsk.api import vault
from ecsk.api.context import Context, page
from ecsk.api.errors import AwsError
from ecsk.api.vault import Entry
from ecsk.core.translate.names import STORE_SECRETS_MANAGER, secretsmanager_store_name
from ecsk.core.translate.secrets import (
    CURRENT_STAGE,
    JSON_KEY_PREFIX,
    SECRET_VALUE_KEY,
    VERSION_KEY_PREFIX,
    json_data_keys,
)

CURRENT, PREVIOUS = CURRENT_STAGE, "AWSPREVIOUS"
NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@!-]{1,512}$")
DAY = 86400.0
ATTEMPTS = 5
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."


def _invalid_param(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message)


# --- finding a secret -------------------------------------------------------------------------


def _purge_expired(ctx: Context, entry: Entry | None) -> Entry | None:
    """A secret whose recovery window has passed is gone: deleted on the first read after it."""
    if entry is not None and (entry.meta.get("deleted") or 0) and entry.meta["deleted"] <= vault.now():
        vault.delete(ctx.store, entry)
        return None
    return entry


def _by_name(ctx: Context, name: str) -> Entry | None:
    found = vault.read(ctx.store, STORE_SECRETS_MANAGER, secretsmanager_store_name(name), name)
    return _purge_expired(ctx, found)


def find(ctx: Context, secret_id: str) -> Entry | None:
    """A name, a partial ARN (no suffix) or the full ARN; a full ARN must be this secret's own
    (a secret deleted and created again under the same name has a new suffix, as on AWS)."""
    if not secret_id.startswith("arn:"):
        return _by_name(ctx, secret_id)
    fields = secret_id.split(":", 6)
    if len(fields) != 7 or fields[2] != "secretsmanager" or fields[5] != "secret":
        raise _invalid_param(f"Invalid ARN: {secret_id}")
    rest = fields[6]
    exact = _by_name(ctx, rest)
    if exact is not None:
        return exact
    if len(rest) > 7 and rest[-7] == "-":
        entry = _by_name(ctx, rest[:-7])
        if entry is not None and entry.meta.get("arn") == secret_id:
            return entry
    return None


def _existing(ctx: Context, secret_id: str, allow_deleted: bool = False) -> Entry:
    entry = find(ctx, secret_id)
    if entry is None:
        raise AwsError("ResourceNotFoundException", NOT_FOUND)
    if entry.meta.get("deleted") and not allow_deleted:
        raise _invalid_request(MARKED)
    return entry


# --- values and versions ----------------------------------------------------------------------


def _value(p: Mapping[str, Any], required: bool) -> tuple[str, bool] | None:
    """(stored text, is binary): SecretBinary travels base64 in AWS JSON and is kept as such."""
    text, blob = p.get("SecretString"), p.get("SecretBinary")
    if text is not None and blob is not None:
        raise _invalid_param(
            "You can't specify both a binary secret value and a string secret value in the same secret."
        )
    if text is None and blob is None:
        if required:
            raise _invalid_request("You must provide either SecretString or SecretBinary.")
        return None
    return (str(text), False) if text is not None else (str(blob), True)


def _versions(entry: Entry) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = entry.meta.setdefault("versions", {})
    return out


def _with_stage(entry: Entry, stage: str) -> str | None:
    return next((vid for vid, v in _versions(entry).items() if stage in v["stages"]), None)


def _refresh_current(entry: Entry) -> None:
    """`value` and `json.*` mirror AWSCURRENT: what new tasks resolve."""
    for key in [k for k in entry.data if k == SECRET_VALUE_KEY or k.startswith(JSON_KEY_PREFIX)]:
        del entry.data[key]
    vid = _with_stage(entry, CURRENT)
    if vid is None or _versions(entry)[vid].get("binary"):
        return
    text = entry.data[VERSION_KEY_PREFIX + vid]
    entry.data[SECRET_VALUE_KEY] = text
    entry.data.update(json_data_keys(text))


def _add_version(entry: Entry, value: tuple[str, bool], token: str | None, stages: list[str]) -> str:
    """A new version with `stages` (each moved off any other version; AWSCURRENT's old holder
    becomes AWSPREVIOUS). Same token with the same value is a retry: nothing changes."""
    vid = token or str(uuid.uuid4())
    versions = _versions(entry)
    if vid in versions:
        if entry.data.get(VERSION_KEY_PREFIX + vid) != value[0]:
            raise AwsError(
                "ResourceExistsException",
                "You can't modify an existing version, you can only create a new version.",
            )
        return vid
    old_current = _with_stage(entry, CURRENT)
    for v in versions.values():
        v["stages"] = [s for s in v["stages"] if s not in stages]
    if CURRENT in stages and old_current is not None:
        for v in versions.values():
            v["stages"] = [s for s in v["stages"] if s != PREVIOUS]
        versions[old_current]["stages"].append(PREVIOUS)
    versions[vid] = {"stages": list(stages), "created": vault.now(), "binary": value[1]}
    entry.data[VERSION_KEY_PREFIX + vid] = value[0]
    for gone in [k for k, v in versions.items() if not v["stages"]]:
        del versions[gone]
        entry.data.pop(VERSION_KEY_PREFIX + gone, None)
    _refresh_current(entry)
    entry.meta["changed"] = vault.now()
    return vid


def _write(ctx: Context, secret_id: str, change: Callable[[Entry], Entry]) -> Entry:
    for _ in range(ATTEMPTS):
        entry = change(_existing(ctx, secret_id, allow_deleted=True))
        if vault.replace(ctx.store, STORE_SECRETS_MANAGER, entry):
            return entry
    raise AwsError("InternalServiceError", "The secret keeps changing concurrently; retry.", 500)


# --- operations -------------------------------------------------------------------------------


def _suffix() -> str:
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(6))


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise AwsError(
            "ValidationException",
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
            "following: -/_+=.@!",
        )


def create_secret(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    name = p["Name"]
    _check_name(name)
    value = _value(p, required=False)
    existing = find(ctx, name)
    if existing is not None:
        if existing.meta.get("deleted"):
            raise _invalid_request(
                "You can't create this secret because a secret with this name is already scheduled "
                "for deletion."
            )
        raise AwsError(
            "ResourceExistsException", f"The operation failed because the secret {name} already exists."
        )
    now = vault.now()
    meta: dict[str, Any] = {
        "arn": ctx.arn("secretsmanager", f"secret:{name}-{_suffix()}"),
        "created": now,
        "changed": now,
        "versions": {},
        "tags": [{"Key": t["Key"], "Value": t["Value"]} for t in p.get("Tags") or []],
    }
    for key, attr in (("Description", "description"), ("KmsKeyId", "kmsKeyId")):
        if key in p:
            meta[attr] = p[key]
    entry = Entry(name=name, k8s_name=secretsmanager_store_name(name), meta=meta, data={})
    vid = _add_version(entry, value, p.get("ClientRequestToken"), [CURRENT]) if value else None
    if not vault.create(ctx.store, STORE_SECRETS_MANAGER, entry):
        raise AwsError(
            "ResourceExistsException", f"The operation failed because the secret {name} already exists."
        )
    out = {"ARN": meta["arn"], "Name": name}
    return {**out, "VersionId": vid} if vid else out


def _version_for(entry: Entry, version_id: str | None, stage: str | None) -> str:
    versions = _versions(entry)
    if version_id is not None:
        if version_id not in versions or (stage and stage not in versions[version_id]["stages"]):
            raise AwsError(
                "ResourceNotFoundException",
                f"Secrets Manager can't find the specified secret value for VersionId: {version_id}",
            )
        return version_id
    wanted = stage or CURRENT
    found = _with_stage(entry, wanted)
    if found is None:
        raise AwsError(
            "ResourceNotFoundException",
            f"Secrets Manager can't find the specified secret value for staging label: {wanted}",
        )
    return found


def get_secret_value(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    entry = _existing(ctx, p["SecretId"])
    vid = _version_for(entry, p.get("VersionId"), p.get("VersionStage"))
    version = _versions(entry)[vid]
    out: dict[str, Any] = {
        "ARN": entry.meta["arn"],
        "Name": entry.name,
        "VersionId": vid,
        "VersionStages": version["stages"],
        "CreatedDate": version["created"],
    }
    out["SecretBinary" if version.get("binary") else "SecretString"] = entry.data[VERSION_KEY_PREFIX + vid]
    return out


def put_secret_value(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    value = _value(p, required=True)
    assert value is not None
    stages = list(p.get("VersionStages") or [CURRENT])
    made: dict[str, str] = {}

    def change(entry: Entry) -> Entry:
        if entry.meta.get("deleted"):
            raise _invalid_request(MARKED)
        made["vid"] = _add_version(entry, value, p.get("ClientRequestToken"), stages)
        return entry

    entry = _write(ctx, p["SecretId"], change)
    vid = made["vid"]
    return {
        "ARN": entry.meta["arn"],
        "Name": entry.name,
        "VersionId": vid,
        "VersionStages": _versions(entry)[vid]["stages"],
    }


def update_secret(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    value = _value(p, required=False)
    made: dict[str, str] = {}

    def change(entry: Entry) -> Entry:
        if entry.meta.get("deleted"):
            raise _invalid_request(MARKED)
        for key, attr in (("Description", "description"), ("KmsKeyId", "kmsKeyId")):
            if key in p:
                entry.meta[attr] = p[key]
        entry.meta["changed"] = vault.now()
        if value is not None:
            made["vid"] = _add_version(entry, value, p.get("ClientRequestToken"), [CURRENT])
        return entry

    entry = _write(ctx, p["SecretId"], change)
    out = {"ARN": entry.meta["arn"], "Name": entry.name}
    return {**out, "VersionId": made["vid"]} if made else out


def _described(entry: Entry, versions_key: str) -> dict[str, Any]:
    meta = entry.meta
    out: dict[str, Any] = {
        "ARN": meta["arn"],
        "Name": entry.name,
        "CreatedDate": meta["created"],
        "LastChangedDate": meta.get("changed", meta["created"]),
        "Tags": meta.get("tags", []),
        versions_key: {vid: v["stages"] for vid, v in _versions(entry).items()},
    }
    for key, attr in (("Description", "description"), ("KmsKeyId", "kmsKeyId")):
        if meta.get(attr):
            out[key] = meta[attr]
    if meta.get("deleted"):
        out["DeletedDate"] = meta["deleted"]
    return out


def describe_secret(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    return _described(_existing(ctx, p["SecretId"], allow_deleted=True), "VersionIdsToStages")


def _filter_hit(entry: Entry, key: str, value: str) -> bool:
    meta = entry.meta
    tags = meta.get("tags", [])
    fields = {
        "name": [entry.name],
        "description": [meta.get("description") or ""],
        "tag-key": [t["Key"] for t in tags],
        "tag-value": [t["Value"] for t in tags],
        "primary-region": [],
        "owning-service": [],
    }
    if key == "all":
        words = [w.lower() for vals in fields.values() for v in vals for w in v.split()]
        return any(w.startswith(value.lower()) for w in words)
    if key == "description":
        return any(v.lower().startswith(value.lower()) for v in fields[key])
    return any(v.startswith(value) for v in fields[key])


def _passes(entry: Entry, filters: list[dict[str, Any]]) -> bool:
    """Filters AND together; a filter's values OR together; `!value` negates."""
    for f in filters:
        values = f.get("Values") or []
        hits = [
            not _filter_hit(entry, f["Key"], v[1:]) if v.startswith("!") else _filter_hit(entry, f["Key"], v)
            for v in values
        ]
        if values and not any(hits):
            return False
    return True


def list_secrets(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    entries = [_purge_expired(ctx, e) for e in vault.list_entries(ctx.store, STORE_SECRETS_MANAGER)]
    alive = [
        e
        for e in entries
        if e is not None
        and (p.get("IncludePlannedDeletion") or not e.meta.get("deleted"))
        and _passes(e, p.get("Filters") or [])
    ]
    params = {"maxResults": p.get("MaxResults"), "nextToken": p.get("NextToken")}
    reverse = p.get("SortOrder") == "desc"
    chunk, token = page(
        alive, params, key=lambda e: e.name, limit=100, error="InvalidNextTokenException", reverse=reverse
    )
    out: dict[str, Any] = {"SecretList": [_described(e, "SecretVersionsToStages") for e in chunk]}
    if token:
        out["NextToken"] = token
    return out


def delete_secret(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    force = bool(p.get("ForceDeleteWithoutRecovery"))
    window = p.get("RecoveryWindowInDays")
    if force and window is not None:
        raise _invalid_param(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
        )
    if window is not None and not 7 <= window <= 30:
        raise _invalid_param("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
    if force:
        entry = _existing(ctx, p["SecretId"], allow_deleted=True)
        vault.delete(ctx.store, entry)
        return {"ARN": entry.meta["arn"], "Name": entry.name, "DeletionDate": vault.now()}

    def change(entry: Entry) -> Entry:
        if entry.meta.get("deleted"):
            raise _invalid_request(MARKED)
        entry.meta["deleted"] = vault.now() + (window or 30) * DAY
        return entry

    entry = _write(ctx, p["SecretId"], change)
    return {"ARN": entry.meta["arn"], "Name": entry.name, "DeletionDate": entry.meta["deleted"]}


def restore_secret(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    def change(entry: Entry) -> Entry:
        entry.meta.pop("deleted", None)
        return entry

    entry = _write(ctx, p["SecretId"], change)
    return {"ARN": entry.meta["arn"], "Name": entry.name}
