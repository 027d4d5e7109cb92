"""Naming rules from ECS/AWS identifiers to Kubernetes names, label keys and label values.

Kubernetes names are much narrower than AWS names (lowercase, no `_`, short), so every rule here
is deterministic and documented in docs/translation.md: the same ECS input always yields the same
names (server-side apply stays a no-op) and a name that had to be altered gets a short hash of the
original appended, so two AWS names that differ only in case or punctuation never collide.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from ecsk.core.common.labels import GROUP, LABEL_DEPLOYMENT_TOKEN, LABEL_REVISION
from ecsk.core.cql.labels import encode_label_text, task_group_label_value

MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_FAMILY = f"{GROUP}/family"
LABEL_SERVICE = f"{GROUP}/service"
LABEL_CLUSTER = f"{GROUP}/cluster"
LABEL_TASK_GROUP = f"{GROUP}/task-group"
LABEL_CONTAINER = f"{GROUP}/container-name"
LABEL_STORE = f"{GROUP}/store"
"""On the Kubernetes Secrets holding SSM parameters (`ssm`) and Secrets Manager secrets
(`secretsmanager`): what the AWS endpoint lists, and what the operator resolves `secrets` from."""
STORE_SSM = "ssm"
STORE_SECRETS_MANAGER = "secretsmanager"
ANN_AWS_NAME = f"{GROUP}/aws-name"
"""The exact AWS name of the parameter or secret a store Secret holds (its name is derived)."""
ANN_AWS_METADATA = f"{GROUP}/aws-metadata"
"""JSON: the parameter's or secret's attributes and versions, never a value."""
_SM_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
ANN = f"{GROUP}/"
ANN_FORCE_DEPLOYMENT = f"{GROUP}/force-new-deployment"
"""On an ECSService: changing its value starts a new deployment of the same revision (what
UpdateService forceNewDeployment does; `kubectl annotate --overwrite` does the same)."""

__all__ = ["GROUP", "LABEL_DEPLOYMENT_TOKEN", "LABEL_REVISION"]  # re-exported: core/common/labels.py

_NOT_LABEL_CHAR = re.compile(r"[^a-z0-9-]+")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def short_hash(text: str) -> str:
    """8 hex chars of SHA-256: enough to separate names in one namespace, short enough to read."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def deployment_token(forced: str | None) -> str:
    """The pod label value for a force-new-deployment annotation value ("" when there is none):
    hashed, so any text the user annotates with is a valid label and changes the template."""
    return short_hash(forced) if forced else ""


def _label(part: str) -> str:
    return _NOT_LABEL_CHAR.sub("-", part.lower()).strip("-")


@lru_cache(maxsize=4096)
def dns_label(raw: str, max_len: int = 63, prefix: str = "") -> str:
    """A DNS-1123 label (also a valid DNS-1035 label when `prefix` starts with a letter or the
    result does): lowercase, runs of other characters become `-`; if that changed anything or the
    result is too long, `-<hash of raw>` is appended so distinct inputs stay distinct."""
    base = _label(raw)
    name = f"{prefix}{base}" if prefix else base
    if name and not name[0].isalpha():
        name = f"x-{name}"
        base = ""  # force the hash: the name no longer reads as the raw one
    if name == f"{prefix}{raw}" and len(name) <= max_len and _LABEL_RE.match(name):
        return name
    keep = max_len - 9
    head = name[:keep].rstrip("-") or "x"
    return f"{head}-{short_hash(raw)}"


@lru_cache(maxsize=4096)
def dns_subdomain(prefix: str, parts: tuple[str, ...], raw: str, max_len: int = 253) -> str:
    """A DNS-1123 subdomain `prefix.part1.part2...`: each part becomes a label; a hash of `raw`
    is appended when any part had to change, so hierarchical AWS names (SSM paths, S3 keys) keep
    their readable shape and still never collide."""
    labels = [_label(p) for p in parts if p]
    exact = all(lab == p for lab, p in zip(labels, [p for p in parts if p], strict=True))
    labels = [lab for lab in labels if lab]
    name = ".".join([prefix, *labels]) if labels else prefix
    if exact and len(name) <= max_len:
        return name
    keep = max_len - 9
    head = name[:keep].rstrip("-.") or prefix
    return f"{head}-{short_hash(raw)}"


@lru_cache(maxsize=4096)
def label_value(raw: str) -> str:
    """A valid label value, injectively: the CQL engine's encoding (verbatim when already valid,
    else `<readable>--h<10 hex>`), so pod labels and compiled (anti-)affinities always agree."""
    return encode_label_text(raw) if raw else ""


def label_name(raw: str) -> str:
    """The name part of a label/annotation key (<= 63, [A-Za-z0-9._-], alphanumeric ends)."""
    return encode_label_text(raw)


def is_label_value(raw: str) -> bool:
    return len(raw) <= 63 and bool(_VALUE_RE.match(raw))


def task_group_value(group: str) -> str:
    """`ecs.ecsk.io/task-group` value for an ECS task group (`service:web`, `family:api`); the
    same function the CQL compiler uses for `task:group` expressions."""
    return task_group_label_value(group)


def container_name(raw: str) -> str:
    """ECS allows 255 chars of [A-Za-z0-9_-]; Kubernetes container names are DNS-1123 labels.
    Context-free form (always hashed when altered); inside a task `task_local_names` is used."""
    return dns_label(raw)


def volume_name(raw: str) -> str:
    return dns_label(raw)


def task_local_names(raws: list[str]) -> dict[str, str]:
    """Names that only need to be unique within one task (containers, volumes): lowercase with
    runs of other characters as `-` (`log_router` -> `log-router`), since a collision is visible
    here; names that would collide, are empty or longer than 63 fall back to the hashed form."""
    friendly = {raw: _label(raw) for raw in raws}
    counts: dict[str, int] = {}
    for value in friendly.values():
        counts[value] = counts.get(value, 0) + 1
    out: dict[str, str] = {}
    for raw, value in friendly.items():
        ok = value and len(value) <= 63 and counts[value] == 1 and _LABEL_RE.match(value)
        out[raw] = value if ok else dns_label(raw)
    hashed = set(out.values())
    if len(hashed) != len(out):  # a friendly name equal to another's hashed form: hash them all
        out = {raw: dns_label(raw) for raw in raws}
    return out


def object_name(raw: str) -> str:
    """Base name for the objects of one ECS service or family (Deployment, Service, Ingress...).

    Kept to 57 chars so derived names (`-sd`, `-nlb`, `-tg0`) stay DNS-1035 labels (Service
    names must start with a letter and be <= 63)."""
    return dns_label(raw, max_len=57)


def role_name_from_arn(arn: str) -> str:
    """`arn:aws:iam::123:role/path/MyRole` -> `MyRole` (IAM role names are unique per account)."""
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def service_account_name(role_arn: str) -> str:
    """ServiceAccount for an IAM task role: `iam-<role name>` sanitised (hash if altered)."""
    return dns_label(role_name_from_arn(role_arn), max_len=63, prefix="iam-")


def ssm_parameter_name(value_from: str) -> str:
    """SSM parameter name from an ARN (`arn:aws:ssm:r:a:parameter/x/y` -> `/x/y`) or a bare name."""
    if value_from.startswith("arn:"):
        resource = value_from.split(":", 5)[5]
        name = resource[len("parameter") :] if resource.startswith("parameter") else resource
        return name if name.startswith("/") else f"/{name}"
    return value_from


def ssm_secret_name(value_from: str) -> str:
    """Secret for an SSM parameter: `ssm.` + the path segments (`/prod/db/pass` ->
    `ssm.prod.db.pass`), key `value`."""
    name = ssm_parameter_name(value_from)
    return dns_subdomain("ssm", tuple(name.split("/")), name)


def split_secretsmanager_arn(arn: str) -> tuple[str, str | None, str | None, str | None]:
    """Secrets Manager ARN -> (secret name incl. random suffix, json-key, version-stage, version-id).

    ECS accepts `arn:...:secret:NAME[:json-key:version-stage:version-id]` with empty parts allowed.
    """
    fields = arn.split(":")
    name = fields[6] if len(fields) > 6 else ""
    extra = [*fields[7:], "", "", ""]
    return name, extra[0] or None, extra[1] or None, extra[2] or None


def secretsmanager_store_name(name: str) -> str:
    """Secret holding the Secrets Manager secret `name` (without the ARN's random suffix)."""
    return dns_subdomain("sm", tuple(name.split("/")), name)


def secretsmanager_name(arn: str) -> str:
    """The secret's name from its full ARN: AWS appends `-` and six random characters to the name
    in every ARN it returns (`secret:prod/db-AbCdEf` names `prod/db`), which is what ECS documents
    for `valueFrom`."""
    return _SM_SUFFIX.sub("", split_secretsmanager_arn(arn)[0])


def secretsmanager_secret_name(arn: str) -> str:
    """Secret for a Secrets Manager secret ARN: `sm.` + the secret's name (`/` separated parts
    become labels), the object the AWS endpoint stores the secret in."""
    return secretsmanager_store_name(secretsmanager_name(arn))


def s3_configmap_name(arn: str) -> str:
    """ConfigMap for an environment file: `s3.<bucket>.<key segments>`
    (`arn:aws:s3:::cfg/app/prod.env` -> `s3.cfg.app.prod.env`)."""
    resource = arn.split(":::", 1)[-1] if arn.startswith("arn:") else arn
    parts: list[str] = []
    for segment in resource.split("/"):
        parts.extend(segment.split("."))
    return dns_subdomain("s3", tuple(parts), resource)


def cluster_name(raw: str | None) -> str:
    """`spec.cluster` may be a name or an ARN (`...:cluster/name`); labels carry the name."""
    return (raw or "default").rsplit("/", 1)[-1] or "default"
