"""How ECS names and values become Kubernetes node and pod labels.

Shared by the compiler (which writes requirements on these labels) and the operator (which must
write exactly these labels on Nodes, e.g. on PutAttributes, and on task Pods), so both always agree.

Encoding rule, for label values and for the name part of label keys: a string that is already a
valid label name/value (<= 63 chars of [A-Za-z0-9-_.], alphanumeric at both ends) is used verbatim;
anything else becomes `<readable>--h<10 hex of sha256>`, where `<readable>` is the string with
invalid characters turned into `_`, leading non-alphanumerics dropped, cut to 50 characters. A
verbatim string that itself ends in `--h` + 10 hex digits is hashed too, so two different inputs
never share an output (up to a 40-bit hash collision). The hash is not reversible; the operator keeps
the original ECS attributes on its own records, which is why the regex resolver reads `NodeView`s
rather than labels.
"""

from __future__ import annotations

import hashlib
import re

from ecsk.core.cql.errors import CQLEncodingError
from ecsk.core.cql.values import agent_version_code, epoch_seconds
from ecsk.core.cql.view import NodeView

ECSK_LABEL_PREFIX = "ecs.ecsk.io/"
ATTRIBUTE_LABEL_PREFIX = "attribute.ecs.ecsk.io/"
TASK_GROUP_LABEL = "ecs.ecsk.io/task-group"
RUNNING_TASKS_COUNT_LABEL = "ecs.ecsk.io/running-tasks-count"
REGISTERED_AT_LABEL = "ecs.ecsk.io/registered-at"
AGENT_CONNECTED_LABEL = "ecs.ecsk.io/agent-connected"
AGENT_VERSION_LABEL = "ecs.ecsk.io/agent-version"
# Never put on any node: a requirement `Exists` on it is how "matches no node" is written.
UNSATISFIABLE_LABEL = "ecs.ecsk.io/cql-unsatisfiable"
HOSTNAME_TOPOLOGY_KEY = "kubernetes.io/hostname"
NODE_NAME_FIELD = "metadata.name"

# Built-in attributes that already have a well-known Kubernetes label (written by kubelet or the
# cloud provider, not by ecsk); every other attribute lives under ATTRIBUTE_LABEL_PREFIX.
WELL_KNOWN_ATTRIBUTE_LABELS: dict[str, str] = {
    "ecs.availability-zone": "topology.kubernetes.io/zone",
    "ecs.instance-type": "node.kubernetes.io/instance-type",
    "ecs.os-type": "kubernetes.io/os",
    "ecs.cpu-architecture": "kubernetes.io/arch",
}
CPU_ARCHITECTURE = "ecs.cpu-architecture"
# ECS spelling -> Kubernetes (GOARCH) spelling. Other values are the same in both.
ARCH_ECS_TO_K8S: dict[str, str] = {"x86_64": "amd64", "arm64": "arm64"}
_ARCH_K8S_ONLY = frozenset(ARCH_ECS_TO_K8S.values()) - frozenset(ARCH_ECS_TO_K8S)

_ATTRIBUTE_NAME_RE = re.compile(r"[A-Za-z0-9_\-/.\\]{1,128}")
_LABEL_NAME_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_HASHED_RE = re.compile(r"--h[0-9a-f]{10}\Z")
_INVALID_CHARS_RE = re.compile(r"[^-A-Za-z0-9_.]")
_LEADING_JUNK_RE = re.compile(r"\A[^A-Za-z0-9]+")


def encode_label_text(raw: str) -> str:
    """The deterministic, injective label spelling of any non-empty string (see module docstring)."""
    if _LABEL_NAME_RE.fullmatch(raw) and not _HASHED_RE.search(raw):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:10]
    readable = _LEADING_JUNK_RE.sub("", _INVALID_CHARS_RE.sub("_", raw))[:50]
    return f"{readable or 'x'}--h{digest}"


def is_hashed(label_text: str) -> bool:
    """Whether a label name/value came out of the hashing branch (and so cannot be decoded)."""
    return _HASHED_RE.search(label_text) is not None


def attribute_label_key(name: str) -> str:
    """Node label key carrying ECS attribute `name`."""
    if not _ATTRIBUTE_NAME_RE.fullmatch(name):
        raise CQLEncodingError(
            f"attribute name {name!r} is invalid: ECS names are 1-128 letters, digits, hyphens, "
            "underscores, forward or back slashes, or periods"
        )
    well_known = WELL_KNOWN_ATTRIBUTE_LABELS.get(name)
    if well_known is not None:
        return well_known
    return ATTRIBUTE_LABEL_PREFIX + encode_label_text(name)


def attribute_label_value_or_none(value: str | None, attribute: str | None) -> str | None:
    """Like `attribute_label_value`, but None for a value no node can carry (arch `amd64`), so the
    compiler can drop it from value sets: `== amd64` matches nothing, `!= amd64` needs only presence."""
    if not value:
        return ""
    if attribute == CPU_ARCHITECTURE:
        if value in _ARCH_K8S_ONLY:
            return None
        value = ARCH_ECS_TO_K8S.get(value, value)
    return encode_label_text(value)


def attribute_label_value(value: str | None, attribute: str | None = None) -> str:
    """Node label value carrying an ECS attribute value. An attribute without a value is the empty
    label value. Pass `attribute` so built-ins whose Kubernetes spelling differs are translated
    (`ecs.cpu-architecture`: x86_64 -> amd64)."""
    encoded = attribute_label_value_or_none(value, attribute)
    if encoded is None:
        raise CQLEncodingError(
            f"{value!r} is not an ECS value of {attribute}: ECS says "
            + ", ".join(f"{ecs} (Kubernetes {k8s})" for ecs, k8s in ARCH_ECS_TO_K8S.items())
        )
    return encoded


def task_group_label_value(group: str) -> str:
    """Value of `ecs.ecsk.io/task-group` on a task's Pod (`service:web` -> `service_web--h...`)."""
    if not group:
        raise CQLEncodingError("task group must not be empty")
    return encode_label_text(group)


def node_labels(node: NodeView) -> dict[str, str]:
    """Every label ecsk's CQL compilation relies on for this node.

    The well-known ones (zone, instance type, os, arch) are normally set by kubelet / the cloud; the
    operator must set the rest and keep them current (running-tasks-count changes with every task).
    """
    labels = {
        attribute_label_key(name): attribute_label_value(value, name)
        for name, value in node.attributes.items()
    }
    labels[REGISTERED_AT_LABEL] = str(epoch_seconds(node.registered_at))
    labels[RUNNING_TASKS_COUNT_LABEL] = str(node.running_tasks_count)
    labels[AGENT_CONNECTED_LABEL] = "true" if node.agent_connected else "false"
    labels[AGENT_VERSION_LABEL] = str(_require_version(node.agent_version))
    return labels


def _require_version(version: str) -> int:
    code = agent_version_code(version)
    if code is None:
        raise CQLEncodingError(f"agent version {version!r} is not like 1.14.5 (each part at most 999)")
    return code
