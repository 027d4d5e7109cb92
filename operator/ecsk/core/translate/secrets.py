"""Environment, secrets and environment files.

The Kubernetes Secrets/ConfigMaps are *referenced*, never rendered: their content lives in AWS
(SSM, Secrets Manager, S3) and is synced by the operator or created by the user under the names
given by `ecsk.core.translate.names` (documented in docs/translation.md). Rendering empty shells
would make server-side apply fight whoever fills them.
"""

from __future__ import annotations

import json
from typing import Any

from ecsk.core.models import ContainerDefinition
from ecsk.core.translate import names
from ecsk.core.translate.types import Context

SECRET_VALUE_KEY = "value"
"""Data key of a stored parameter's or secret's current value (what a task's env var reads)."""
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


def secret_ref(value_from: str, path: str, ctx: Context) -> tuple[str, str]:
    """(Secret name, key) for an ECS `valueFrom`: Secrets Manager ARN (json-key -> key) or an
    SSM parameter ARN/name (key `value`)."""
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        _, json_key, stage, version = names.split_secretsmanager_arn(value_from)
        if stage or version:
            ctx.warn(
                path,
                "Secrets Manager version-stage/version-id cannot be pinned in a Kubernetes "
                "Secret reference; the synced (current) version is used",
                "SecretVersionIgnored",
            )
        key = json_key or SECRET_VALUE_KEY
        if not _valid_key(key):
            ctx.error(path, f"json-key {key!r} is not a valid Kubernetes Secret key ([-._a-zA-Z0-9]+)")
        return names.secretsmanager_secret_name(value_from), key
    return names.ssm_secret_name(value_from), SECRET_VALUE_KEY


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
