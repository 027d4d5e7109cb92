"""Environment, secrets and environment files.

The Kubernetes Secrets/ConfigMaps are *referenced*, never rendered: their content lives in AWS
(SSM, Secrets Manager, S3) and is synced by the operator or created by the user under the names
given by `ecsk.core.translate.names` (documented in docs/translation.md). Rendering empty shells
would make server-side apply fight whoever fills them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.core.models import ContainerDefinition, TaskDefinition
from ecsk.core.translate import names
from ecsk.core.translate.types import Context

SECRET_VALUE_KEY = "value"
"""Data key of a stored parameter's or secret's current value (what a task's env var reads)."""
VERSION_KEY_PREFIX = "v."
"""Data keys `v.<version-id>`: each Secrets Manager version's value."""
CURRENT_STAGE = "AWSCURRENT"
JSON_KEY_PREFIX = "json."
"""Data keys `json.<key>`: each top-level key of a secret's current JSON value, so ECS's
`valueFrom: <arn>:<json-key>::` is one `secretKeyRef` away."""


def json_data_keys(secret_string: str) -> dict[str, str]:
    """`{"user": "app", "port": 5432}` -> {"json.user": "app", "json.port": "5432"}; strings as
    they are, other JSON values as JSON text (what ECS injects); not a JSON object -> nothing.
    Keys that are not valid Secret keys are left out (the task then stops: key not found)."""
    try:
        doc = json.loads(secret_string)
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in doc.items():
        if _valid_key(JSON_KEY_PREFIX + key):
            out[JSON_KEY_PREFIX + key] = value if isinstance(value, str) else json.dumps(value)
    return out


def stored_ref(value_from: str) -> tuple[str, str]:
    """(Secret name, data key) of an SSM parameter or Secrets Manager secret ARN (App Runner's
    RuntimeEnvironmentSecrets read the same stored values task `secrets` do)."""
    secret, key, _ = _stored_ref(value_from)
    return secret, key


def _stored_ref(value_from: str) -> tuple[str, str, str | None]:
    """(Secret name, data key, what cannot be honoured) for a `valueFrom`: the Secret the AWS
    endpoint stores the parameter or secret in (`ecsk.api.vault`). A Secrets Manager json-key reads
    `json.<key>`, a version-id `v.<id>`; a version-stage other than AWSCURRENT (or a pinned
    version with a json-key) cannot be a Secret reference, so the current value is used."""
    if not (value_from.startswith("arn:") and ":secretsmanager:" in value_from):
        return names.ssm_secret_name(value_from), SECRET_VALUE_KEY, None
    _, json_key, stage, version = names.split_secretsmanager_arn(value_from)
    secret = names.secretsmanager_secret_name(value_from)
    if json_key:
        dropped = "version-stage/version-id" if (version or stage not in (None, CURRENT_STAGE)) else None
        return secret, JSON_KEY_PREFIX + json_key, dropped
    if version:
        return secret, f"{VERSION_KEY_PREFIX}{version}", "version-stage" if stage else None
    return secret, SECRET_VALUE_KEY, "version-stage" if stage not in (None, CURRENT_STAGE) else None


def secret_ref(value_from: str, path: str, ctx: Context) -> tuple[str, str]:
    """(Secret name, key) for an ECS `valueFrom`, with a warning for what cannot be pinned."""
    secret, key, dropped = _stored_ref(value_from)
    if dropped:
        ctx.warn(
            path,
            f"Secrets Manager {dropped} cannot be pinned in a Kubernetes Secret reference; "
            "the current (AWSCURRENT) value is used",
            "SecretVersionIgnored",
        )
    if not _valid_key(key):
        ctx.error(
            path,
            f"json-key {key.removeprefix(JSON_KEY_PREFIX)!r} is not a valid Kubernetes Secret key "
            "([-._a-zA-Z0-9]+)",
        )
    return secret, key


def _valid_key(key: str) -> bool:
    return bool(key) and len(key) <= 253 and all(ch.isalnum() or ch in "-._" for ch in key)


def container_env(c: ContainerDefinition, path: str, k8s: str, ctx: Context) -> dict[str, Any]:
    """env (plain, then secrets) and envFrom (environment files). `environment` wins over the
    files because Kubernetes lets `env` override `envFrom`, which is ECS's precedence too."""
    out: dict[str, Any] = {}
    env: list[dict[str, Any]] = []
    for kv in c.environment or ():
        if kv.name is None:
            ctx.warn(f"{path}.environment", "environment entry without a name is ignored (as ECS does)")
            continue
        env.append({"name": kv.name, "value": kv.value or ""})
    if c.environment:
        ctx.note(f"{path}.environment", f"{k8s}.env", "name/value pairs, order kept")
    for i, s in enumerate(c.secrets or ()):
        sp = f"{path}.secrets[{i}]"
        secret, key = secret_ref(s.valueFrom, f"{sp}.valueFrom", ctx)
        env.append({"name": s.name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
        ctx.note(
            sp,
            f"{k8s}.env[{s.name}].valueFrom.secretKeyRef",
            f"Secret {secret!r} key {key!r} (naming rule in docs/translation.md)",
        )
    if env:
        out["env"] = env
    env_from: list[dict[str, Any]] = []
    for i, f in enumerate(c.environmentFiles or ()):
        cm = names.s3_configmap_name(f.value)
        env_from.append({"configMapRef": {"name": cm}})
        ctx.note(
            f"{path}.environmentFiles[{i}]",
            f"{k8s}.envFrom[{i}].configMapRef",
            f"ConfigMap {cm!r} (from the S3 object); `environment` overrides it, as in ECS",
        )
    if env_from:
        out["envFrom"] = env_from
    return out


def pull_secret(c: ContainerDefinition, path: str, ctx: Context) -> str | None:
    """repositoryCredentials (a Secrets Manager secret with username/password) -> an
    imagePullSecret of that Secret's name; the operator stores it as kubernetes.io/dockerconfigjson."""
    if c.repositoryCredentials is None:
        return None
    name, _ = secret_ref(c.repositoryCredentials.credentialsParameter, f"{path}.repositoryCredentials", ctx)
    ctx.note(
        f"{path}.repositoryCredentials.credentialsParameter",
        "spec.imagePullSecrets",
        f"image pull Secret {name!r} (type kubernetes.io/dockerconfigjson)",
    )
    return name


# --- resolution at task start ------------------------------------------------------------------

INIT_ERROR = "ResourceInitializationError: unable to pull secrets or registry auth: "


@dataclass(frozen=True)
class SecretUse:
    """One `secrets` entry of one container, and where its value is read from."""

    container: str
    name: str
    value_from: str
    secret: str
    key: str

    @property
    def from_secrets_manager(self) -> bool:
        return self.value_from.startswith("arn:") and ":secretsmanager:" in self.value_from


def secret_uses(td: TaskDefinition) -> list[SecretUse]:
    out: list[SecretUse] = []
    for c in td.containerDefinitions:
        for s in c.secrets or ():
            secret, key, _ = _stored_ref(s.valueFrom)
            out.append(SecretUse(c.name or "", s.name, s.valueFrom, secret, key))
    return out


def _stored_meta(body: Mapping[str, Any]) -> dict[str, Any]:
    raw = ((body.get("metadata") or {}).get("annotations") or {}).get(names.ANN_AWS_METADATA)
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _secret_arn(value_from: str) -> str:
    """The secret's ARN without the json-key/version suffixes ECS allows after it."""
    return ":".join(value_from.split(":")[:7])


def _wrong_arn(use: SecretUse, meta: Mapping[str, Any]) -> bool:
    """A full ARN (name plus AWS's six-character suffix) names one secret: the same name created
    again gets another suffix, and the old ARN no longer finds it."""
    full = names.split_secretsmanager_arn(use.value_from)[0] != names.secretsmanager_name(use.value_from)
    return full and bool(meta.get("arn")) and _secret_arn(use.value_from) != meta["arn"]


def _not_fetched(use: SecretUse, what: str = "secret.") -> str:
    if use.from_secrets_manager:
        return (
            f"failed to fetch secret {_secret_arn(use.value_from)} from secrets manager: "
            f"ResourceNotFoundException: Secrets Manager can't find the specified {what}"
        )
    return f"invalid ssm parameters: {names.ssm_parameter_name(use.value_from)}"


def unresolved(use: SecretUse, body: Mapping[str, Any] | None) -> str | None:
    """Why the agent could not fetch this secret (ECS's words), or None when it can. `body` is the
    Secret the reference names (None when absent); a Secrets Manager secret scheduled for
    deletion or recreated under another ARN fails as on AWS."""
    if body is None:
        return _not_fetched(use)
    meta = _stored_meta(body)
    if use.from_secrets_manager and (meta.get("deleted") or _wrong_arn(use, meta)):
        return _not_fetched(use)
    if use.key in (body.get("data") or {}):
        return None
    if use.key.startswith(JSON_KEY_PREFIX):
        missing = use.key.removeprefix(JSON_KEY_PREFIX)
        return f"retrieved secret from Secrets Manager did not contain json key {missing}"
    return _not_fetched(use, "secret value for the version.")


def init_failure(problems: list[tuple[SecretUse, str]]) -> str | None:
    """The task's stoppedReason when secrets could not be fetched, in the agent's wording: the
    SSM names together, else the first Secrets Manager failure."""
    if not problems:
        return None
    retrieval = "execution resource retrieval failed: "
    ssm = [text for use, text in problems if not use.from_secrets_manager]
    if ssm:
        names_ = " ".join(dict.fromkeys(t.removeprefix("invalid ssm parameters: ") for t in ssm))
        return (
            f"{INIT_ERROR}{retrieval}unable to retrieve secrets from ssm: service call has been "
            f"retried 1 time(s): invalid ssm parameters: {names_}"
        )
    return (
        f"{INIT_ERROR}{retrieval}unable to retrieve secret from asm: service call has been retried "
        f"1 time(s): {problems[0][1]}"
    )


# --- environment files -------------------------------------------------------------------------

ENV_FILE_ERROR = "ResourceInitializationError: failed to download env files: "


def parse_env_file(text: str) -> tuple[dict[str, str], list[str]]:
    """An ECS environment file: `VARIABLE=VALUE` per line, `#` comment lines and blank lines
    skipped, the value taken literally after the first `=` (no quotes, no expansion). Returns the
    variables and the problems (line numbers, never the line: it may hold a secret)."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name or not _valid_env_name(name):
            problems.append(f"line {number}: not in VARIABLE=VALUE form")
            continue
        found[name] = value
    return found, problems


def _valid_env_name(name: str) -> bool:
    """A Kubernetes ConfigMap key that is also an environment variable name."""
    return _valid_key(name) and not name[0].isdigit() and "=" not in name


def env_file_failure(missing: list[str]) -> str | None:
    """stoppedReason when environment files are not there (the S3 objects, kept as ConfigMaps)."""
    if not missing:
        return None
    return f"{ENV_FILE_ERROR}NoSuchKey: The specified key does not exist: {', '.join(missing)}"


def env_files(td: TaskDefinition) -> list[tuple[str, str]]:
    """(S3 ARN, ConfigMap name) of every environment file of the task definition."""
    return [
        (f.value, names.s3_configmap_name(f.value))
        for c in td.containerDefinitions
        for f in c.environmentFiles or ()
    ]
