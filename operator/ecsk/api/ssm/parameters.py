"""Parameter Store operations on `ecsk.api.vault` entries.

An entry's metadata keeps the parameter's attributes and one record per version (number, date,
labels, type, description); its data keeps each version's value under `v<N>` and the latest under
`value`, the key a task's secret reference reads. Versions beyond 100 drop the oldest, unless it
has a label (AWS's ParameterMaxVersionLimitExceeded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ecsk.api import vault
from ecsk.api.context import Context, page
from ecsk.api.errors import AwsError
from ecsk.api.ssm import rules
from ecsk.api.vault import Entry
from ecsk.core.translate.names import STORE_SSM, ssm_secret_name
from ecsk.core.translate.secrets import SECRET_VALUE_KEY

DEFAULT_KEY_ID = "alias/aws/ssm"
ATTEMPTS = 5


# --- naming and reading -----------------------------------------------------------------------


def arn(ctx: Context, name: str) -> str:
    return ctx.arn("ssm", "parameter" + (name if name.startswith("/") else f"/{name}"))


def _arn_prefix_len(ctx: Context) -> int:
    return len(arn(ctx, "/"))


def _split_selector(ref: str) -> tuple[str, str | None]:
    """`/db/pass:3` or `/db/pass:prod` (a version or a label) -> (name, selector)."""
    head = ref
    if ref.startswith("arn:"):
        parts = ref.split(":", 5)
        head = parts[5] if len(parts) == 6 else ""
    if ":" not in head:
        return ref, None
    name, _, selector = ref.rpartition(":")
    return name, selector


def _candidates(ref: str) -> list[str]:
    """Names a reference may mean: an ARN's `parameter/x` is `/x`, or `x` stored without slash."""
    if not ref.startswith("arn:"):
        return [ref]
    parts = ref.split(":", 5)
    if len(parts) != 6 or parts[2] != "ssm" or not parts[5].startswith("parameter/"):
        raise rules.validation(f"Invalid parameter ARN: {ref}")
    rest = parts[5][len("parameter/") :]
    return [f"/{rest}", rest] if "/" in rest else [rest, f"/{rest}"]


def _read(ctx: Context, ref: str) -> Entry | None:
    for name in _candidates(ref):
        entry = vault.read(ctx.store, STORE_SSM, ssm_secret_name(name), name)
        if entry is not None:
            return entry
    return None


def _versions(entry: Entry) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = entry.meta.setdefault("versions", [])
    return out


def _latest(entry: Entry) -> dict[str, Any]:
    return _versions(entry)[-1]


def _pick(entry: Entry, selector: str | None) -> dict[str, Any]:
    if selector is None:
        return _latest(entry)
    if selector.isdigit():
        found = [v for v in _versions(entry) if v["version"] == int(selector)]
        if not found:
            raise AwsError(
                "ParameterVersionNotFound",
                f"Systems Manager could not find version {selector} of {entry.name}. "
                "Verify the version and try again.",
            )
        return found[0]
    found = [v for v in _versions(entry) if selector in v.get("labels", [])]
    if not found:
        raise AwsError(
            "ParameterVersionNotFound", f"Systems Manager could not find label {selector} of {entry.name}."
        )
    return found[0]


def _not_found(name: str) -> AwsError:
    return AwsError("ParameterNotFound", f"Parameter {name} not found.")


def _shown_value(entry: Entry, version: Mapping[str, Any], decrypt: bool) -> str:
    """SecureString without WithDecryption: an opaque stand-in for the ciphertext (a digest, so the
    value can never be read back from it), as AWS returns KMS ciphertext."""
    value = entry.data.get(f"v{version['version']}", "")
    if version.get("type") == "SecureString" and not decrypt:
        digest = hashlib.sha256(f"{entry.name}:{version['version']}:{value}".encode()).hexdigest()
        return f"AQICAH{digest}"
    return value


def _parameter(ctx: Context, entry: Entry, selector: str | None, decrypt: bool) -> dict[str, Any]:
    version = _pick(entry, selector)
    out: dict[str, Any] = {
        "Name": entry.name,
        "Type": version.get("type", entry.meta.get("type")),
        "Value": _shown_value(entry, version, decrypt),
        "Version": version["version"],
        "LastModifiedDate": version["modified"],
        "ARN": arn(ctx, entry.name),
        "DataType": entry.meta.get("dataType", "text"),
    }
    if selector is not None:
        out["Selector"] = f":{selector}"
    return out


# --- writes -----------------------------------------------------------------------------------


def _user(ctx: Context) -> str:
    return f"arn:aws:iam::{ctx.settings.account}:user/{ctx.access_key or 'ecsk'}"


def _write(ctx: Context, name: str, change: Callable[[Entry | None], Entry | None]) -> Entry:
    """Read, change, write back with the read resourceVersion; retried when another writer won.
    `change` raises for a refusal and returns None to write nothing."""
    for _ in range(ATTEMPTS):
        entry = _read(ctx, name)
        new = change(entry)
        if new is None:
            assert entry is not None
            return entry
        done = vault.replace if entry is not None else vault.create
        if done(ctx.store, STORE_SSM, new):
            return new
        if entry is None and vault.occupant(ctx.store, new.k8s_name) not in (None, name):
            raise rules.validation(
                f"ecsk keeps parameter {vault.occupant(ctx.store, new.k8s_name)!r} in the Kubernetes "
                f"Secret {new.k8s_name!r} that {name!r} would need; delete it or choose another name."
            )
    raise AwsError("TooManyUpdates", "There are concurrent updates for the resource that you want to update.")


def _fresh(name: str) -> Entry:
    return Entry(name=name, k8s_name=ssm_secret_name(name), meta={"versions": []}, data={})


def _trim_versions(entry: Entry) -> None:
    versions = _versions(entry)
    while len(versions) > rules.MAX_VERSIONS:
        oldest = versions[0]
        if oldest.get("labels"):
            raise AwsError(
                "ParameterMaxVersionLimitExceeded",
                f"You attempted to create a new version of {entry.name} by calling the PutParameter "
                f"API with the overwrite flag. Version {oldest['version']}, the oldest version, can't "
                "be deleted because it has a label associated with it. Move the label to another "
                "version of the parameter, and try again.",
            )
        versions.pop(0)
        entry.data.pop(f"v{oldest['version']}", None)


def _put(ctx: Context, p: Mapping[str, Any], entry: Entry | None) -> Entry:
    name, value = p["Name"], p["Value"]
    if entry is None:
        if not p.get("Type"):
            raise rules.validation("A parameter type is required when you create a parameter.")
        entry = _fresh(name)
    elif not p.get("Overwrite"):
        raise AwsError(
            "ParameterAlreadyExists",
            "The parameter already exists. To overwrite this value, set the overwrite option in "
            "the request to true.",
        )
    meta = entry.meta
    kind = p.get("Type") or meta["type"]
    data_type = p.get("DataType") or meta.get("dataType") or "text"
    pattern = p["AllowedPattern"] if "AllowedPattern" in p else meta.get("allowedPattern")
    rules.check_value(value, pattern, data_type)
    tier = rules.tier_for(value, p.get("Tier"), meta.get("tier"))
    number = (_latest(entry)["version"] + 1) if _versions(entry) else 1
    meta.update(type=kind, dataType=data_type, tier=tier, allowedPattern=pattern)
    if "Description" in p:
        meta["description"] = p["Description"]
    if kind == "SecureString":
        meta["keyId"] = p.get("KeyId") or meta.get("keyId") or DEFAULT_KEY_ID
    if p.get("Tags"):
        meta["tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in p["Tags"]]
    _versions(entry).append(
        {"version": number, "modified": vault.now(), "labels": [], "type": kind, "user": _user(ctx)}
    )
    entry.data[f"v{number}"] = value
    entry.data[SECRET_VALUE_KEY] = value
    _trim_versions(entry)
    return entry


def put_parameter(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    rules.check_name(p["Name"], _arn_prefix_len(ctx))
    if p.get("Overwrite") and p.get("Tags"):
        raise rules.validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter "
            "with tags, please remove overwrite flag. To update tags for an existing parameter, "
            "please use AddTagsToResource or RemoveTagsFromResource."
        )
    entry = _write(ctx, p["Name"], lambda e: _put(ctx, p, e))
    return {"Version": _latest(entry)["version"], "Tier": entry.meta["tier"]}


# --- reads ------------------------------------------------------------------------------------


def get_parameter(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    name, selector = _split_selector(p["Name"])
    entry = _read(ctx, name)
    if entry is None:
        raise _not_found(name)
    return {"Parameter": _parameter(ctx, entry, selector, bool(p.get("WithDecryption")))}


def get_parameters(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = []
    invalid: list[str] = []
    for ref in dict.fromkeys(p["Names"]):
        name, selector = _split_selector(ref)
        entry = _read(ctx, name)
        try:
            if entry is None:
                raise _not_found(name)
            found.append(_parameter(ctx, entry, selector, bool(p.get("WithDecryption"))))
        except AwsError:
            invalid.append(ref)
    return {"Parameters": found, "InvalidParameters": invalid}


def _under(name: str, path: str, recursive: bool) -> bool:
    base = path.rstrip("/") + "/"
    if not name.startswith(base) or name == base:
        return False
    return recursive or "/" not in name[len(base) :]


def _paged(
    items: list[Entry], p: Mapping[str, Any], limit: int, error: str = "InvalidNextToken"
) -> tuple[list[Entry], str | None]:
    params = {"maxResults": p.get("MaxResults"), "nextToken": p.get("NextToken")}
    return page(items, params, key=lambda e: e.name, limit=limit, error=error)


def _listed(ctx: Context) -> list[Entry]:
    return [e for e in vault.list_entries(ctx.store, STORE_SSM) if _versions(e)]


def get_parameters_by_path(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    path = p["Path"]
    rules.check_path(path)
    filters = p.get("ParameterFilters") or []
    for f in filters:
        if f["Key"] not in ("Type", "KeyId", "Label"):
            raise AwsError(
                "InvalidFilterKey",
                f"The following filter key is not valid: {f['Key']}. Valid filter keys include: "
                "[Type, KeyId, Label].",
            )
    matching = [
        e for e in _listed(ctx) if _under(e.name, path, bool(p.get("Recursive"))) and _matches(e, filters)
    ]
    chunk, token = _paged(matching, p, limit=10)
    decrypt = bool(p.get("WithDecryption"))
    out: dict[str, Any] = {"Parameters": [_parameter(ctx, e, None, decrypt) for e in chunk]}
    if token:
        out["NextToken"] = token
    return out


# --- filters ----------------------------------------------------------------------------------


def _field(entry: Entry, key: str) -> list[str]:
    """The values a ParameterStringFilter key compares against."""
    meta = entry.meta
    if key == "Name":
        return [entry.name]
    if key == "Label":
        return [label for v in _versions(entry) for label in v.get("labels", [])]
    if key.startswith("tag:"):
        return [t["Value"] for t in meta.get("tags", []) if t["Key"] == key[4:]]
    attr = {"Type": "type", "KeyId": "keyId", "Tier": "tier", "DataType": "dataType"}.get(key)
    return [str(meta[attr])] if attr and meta.get(attr) else []


def _one(entry: Entry, f: Mapping[str, Any]) -> bool:
    key, option, values = f["Key"], f.get("Option") or "Equals", f.get("Values") or []
    if key == "Path":
        path = values[0] if values else "/"
        return _under(entry.name, path, option == "Recursive")
    have = _field(entry, key)
    if key.startswith("tag:") and not values:
        return bool(have) or any(t["Key"] == key[4:] for t in entry.meta.get("tags", []))
    test: Callable[[str, str], bool] = {
        "Equals": lambda a, b: a == b,
        "BeginsWith": lambda a, b: a.startswith(b),
        "Contains": lambda a, b: b in a,
    }.get(option, lambda a, b: False)
    return any(test(h, v) for h in have for v in values)


def _matches(entry: Entry, filters: Iterable[Mapping[str, Any]]) -> bool:
    return all(_one(entry, f) for f in filters)


DESCRIBE_KEYS = ("Name", "Type", "KeyId", "Path", "Tier", "DataType")


def _metadata(ctx: Context, entry: Entry) -> dict[str, Any]:
    latest = _latest(entry)
    meta = entry.meta
    out: dict[str, Any] = {
        "Name": entry.name,
        "ARN": arn(ctx, entry.name),
        "Type": meta["type"],
        "LastModifiedDate": latest["modified"],
        "LastModifiedUser": latest.get("user", _user(ctx)),
        "Version": latest["version"],
        "Tier": meta.get("tier", "Standard"),
        "Policies": [],
        "DataType": meta.get("dataType", "text"),
    }
    for key, attr in (
        ("KeyId", "keyId"),
        ("Description", "description"),
        ("AllowedPattern", "allowedPattern"),
    ):
        if meta.get(attr):
            out[key] = meta[attr]
    return out


def describe_parameters(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    filters = list(p.get("ParameterFilters") or [])
    filters += [{"Key": f["Key"], "Option": "Equals", "Values": f["Values"]} for f in p.get("Filters") or []]
    for f in filters:
        if f["Key"] not in DESCRIBE_KEYS and not f["Key"].startswith("tag:"):
            raise AwsError(
                "InvalidFilterKey",
                f"The following filter key is not valid: {f['Key']}. Valid filter keys include: "
                f"[{', '.join(DESCRIBE_KEYS)}, tag:<key>].",
            )
    matching = [e for e in _listed(ctx) if _matches(e, filters)]
    chunk, token = _paged(matching, p, limit=50)
    out: dict[str, Any] = {"Parameters": [_metadata(ctx, e) for e in chunk]}
    if token:
        out["NextToken"] = token
    return out


def get_parameter_history(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    entry = _read(ctx, p["Name"])
    if entry is None:
        raise _not_found(p["Name"])
    decrypt = bool(p.get("WithDecryption"))
    rows = []
    for v in _versions(entry):
        row = _parameter(ctx, entry, str(v["version"]), decrypt)
        row.pop("Selector", None)
        row.pop("ARN", None)
        row.update(Labels=v.get("labels", []), LastModifiedUser=v.get("user", _user(ctx)))
        rows.append(row)
    params = {"maxResults": p.get("MaxResults"), "nextToken": p.get("NextToken")}
    chunk, token = page(rows, params, key=lambda r: f"{r['Version']:08d}", limit=50, error="InvalidNextToken")
    out: dict[str, Any] = {"Parameters": chunk}
    if token:
        out["NextToken"] = token
    return out


# --- deletes and labels -----------------------------------------------------------------------


def delete_parameter(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    entry = _read(ctx, p["Name"])
    if entry is None or not vault.delete(ctx.store, entry):
        raise _not_found(p["Name"])
    return {}


def delete_parameters(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    deleted: list[str] = []
    invalid: list[str] = []
    for name in dict.fromkeys(p["Names"]):
        entry = _read(ctx, name)
        (deleted if entry is not None and vault.delete(ctx.store, entry) else invalid).append(name)
    return {"DeletedParameters": deleted, "InvalidParameters": invalid}


def _relabel(entry: Entry | None, name: str, number: int | None, labels: list[str]) -> Entry:
    if entry is None:
        raise _not_found(name)
    target = _pick(entry, None if number is None else str(number))
    for v in _versions(entry):
        if v is not target:
            v["labels"] = [x for x in v.get("labels", []) if x not in labels]
    merged = list(dict.fromkeys([*target.get("labels", []), *labels]))
    if len(merged) > rules.MAX_LABELS_PER_VERSION:
        raise AwsError(
            "ParameterVersionLabelLimitExceeded",
            f"A parameter version can have maximum {rules.MAX_LABELS_PER_VERSION} labels.",
        )
    target["labels"] = merged
    return entry


def label_parameter_version(ctx: Context, p: dict[str, Any]) -> dict[str, Any]:
    labels = list(dict.fromkeys(p["Labels"]))
    invalid = [x for x in labels if rules.label_problem(x)]
    good = [x for x in labels if x not in invalid]
    number = p.get("ParameterVersion")

    def change(entry: Entry | None) -> Entry | None:
        relabelled = _relabel(entry, p["Name"], number, good)  # checks name and version first
        return relabelled if good else None

    entry = _write(ctx, p["Name"], change)
    version = _pick(entry, None if number is None else str(number))["version"]
    return {"InvalidLabels": invalid, "ParameterVersion": version}
