"""PutAttributes / DeleteAttributes / ListAttributes on container instances (Nodes), pure part.

A custom attribute lives on the Node twice: as the `attribute.ecs.ecsk.io/<encoded name>` label the
compiled constraints select on, and in the `ecs.ecsk.io/attributes` JSON annotation that keeps the
original spelling (label encodings of long or unusual text are hashed and cannot be read back, and a
regex must see the original value). Both are written in one merge patch, so a reader never sees one
without the other. The CLI (`ecsk attributes`) does the I/O.

Validation follows the ECS API reference for `Attribute` and `PutAttributes`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecsk.core.cql.labels import attribute_label_key, attribute_label_value
from ecsk.core.placement.instances import is_container_instance
from ecsk.core.placement.nodes import ATTRIBUTES_ANNOTATION
from ecsk.core.placement.nodes import custom_attributes as node_custom_attributes

MAX_ATTRIBUTES_PER_CALL = 10
MAX_CUSTOM_ATTRIBUTES = 10
TARGET_TYPE = "container-instance"
INSTANCE_ID_LABEL = "ecs.ecsk.io/instance-id"

NAME_RULE = (
    "The name must contain between 1 and 128 characters. The name may contain letters (uppercase and "
    "lowercase), numbers, hyphens (-), underscores (_), forward slashes (/), back slashes (\\), "
    "or periods (.)."
)
VALUE_RULE = (
    "The value must contain between 1 and 128 characters. It can contain letters (uppercase and "
    "lowercase), numbers, hyphens (-), underscores (_), periods (.), at signs (@), forward slashes (/), "
    "back slashes (\\), colons (:), or spaces. The value can't start or end with a space."
)
LIMIT_EXCEEDED = (
    "You can apply up to 10 custom attributes for each resource. You can view the attributes of a "
    "resource with ListAttributes. You can remove existing attributes on a resource with DeleteAttributes."
)
PER_CALL = "You can specify up to 10 attributes in a single call."
RESERVED = "Attribute names that start with 'ecs.' are reserved for the built-in attributes Amazon ECS sets."

_NAME_RE = re.compile(r"[A-Za-z0-9_\-/.\\]{1,128}")
_VALUE_RE = re.compile(r"[A-Za-z0-9_\-.@/\\: ]{1,128}")
_ARN_RE = re.compile(r"arn:[^:]+:ecs:[^:]*:[^:]*:container-instance/(?:[^/]+/)?(?P<id>[^/]+)")


class AttributeRequestError(ValueError):
    """A refused request, with the ECS exception name (`InvalidParameterException`, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Attribute:
    """One ECS `Attribute`, AWS field names and shapes."""

    name: str
    value: str | None = None
    targetType: str | None = None
    targetId: str | None = None

    def to_aws(self) -> dict[str, str]:
        out = {"name": self.name}
        for key in ("value", "targetType", "targetId"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


# --- parsing the CLI's input ---------------------------------------------------------------------


def _from_mapping(item: Mapping[str, Any]) -> Attribute:
    unknown = set(item) - {"name", "value", "targetType", "targetId"}
    if unknown:
        raise AttributeRequestError(
            "InvalidParameterException", f"unknown Attribute field(s): {', '.join(sorted(unknown))}"
        )
    if not isinstance(item.get("name"), str):
        raise AttributeRequestError("InvalidParameterException", "Attribute name is required.")
    return Attribute(
        name=item["name"],
        value=None if item.get("value") is None else str(item["value"]),
        targetType=item.get("targetType"),
        targetId=item.get("targetId"),
    )


def parse_attributes(args: Sequence[str]) -> list[Attribute]:
    """`--attributes` as the AWS CLI takes it: shorthand items (`name=stack,value=prod,targetId=i-1`,
    one per argument) or JSON (a list of Attribute objects, or one object)."""
    out: list[Attribute] = []
    for arg in args:
        text = arg.strip()
        if text.startswith(("[", "{")):
            try:
                doc = json.loads(text)
            except ValueError as exc:
                raise AttributeRequestError(
                    "InvalidParameterException", f"--attributes is not valid JSON: {exc}"
                ) from exc
            items = doc if isinstance(doc, list) else [doc]
            if not all(isinstance(i, dict) for i in items):
                raise AttributeRequestError(
                    "InvalidParameterException", "--attributes JSON must hold Attribute objects"
                )
            out.extend(_from_mapping(i) for i in items)
            continue
        fields: dict[str, str] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep:
                raise AttributeRequestError(
                    "InvalidParameterException",
                    f"expected key=value in {arg!r} (name=...,value=...,targetId=...)",
                )
            fields[key.strip()] = value
        out.append(_from_mapping(fields))
    return out


# --- validation ----------------------------------------------------------------------------------


def target_name(target_id: str) -> str:
    """The short id of a container instance: a full container-instance ARN is cut to its id."""
    m = _ARN_RE.fullmatch(target_id)
    return m.group("id") if m else target_id


def validate(attributes: Sequence[Attribute], *, put: bool) -> None:
    """ECS's rules for PutAttributes (`put`) and DeleteAttributes; raises on the first violation."""
    if not attributes:
        raise AttributeRequestError("InvalidParameterException", "At least one attribute is required.")
    if put and len(attributes) > MAX_ATTRIBUTES_PER_CALL:
        raise AttributeRequestError("InvalidParameterException", PER_CALL)
    for a in attributes:
        if not _NAME_RE.fullmatch(a.name):
            raise AttributeRequestError(
                "InvalidParameterException", f"Attribute name {a.name!r} is invalid. {NAME_RULE}"
            )
        if a.name.startswith("ecs."):
            raise AttributeRequestError("InvalidParameterException", f"{a.name}: {RESERVED}")
        if (
            put
            and a.value is not None
            and (not _VALUE_RE.fullmatch(a.value) or a.value != a.value.strip(" "))
        ):
            raise AttributeRequestError(
                "InvalidParameterException", f"Attribute value {a.value!r} is invalid. {VALUE_RULE}"
            )
        if not a.targetId:
            raise AttributeRequestError(
                "InvalidParameterException",
                f"Attribute {a.name}: targetId (the container instance) is required.",
            )
        if a.targetType not in (None, TARGET_TYPE):  # ecsk has one target type: no need to name it
            raise AttributeRequestError(
                "InvalidParameterException", f"targetType must be {TARGET_TYPE} (got {a.targetType!r})."
            )


# --- nodes ---------------------------------------------------------------------------------------


def find_node(nodes: Iterable[Mapping[str, Any]], target_id: str) -> Mapping[str, Any] | None:
    """The Node a targetId names: its name (what `ec2InstanceId` compiles to), or the EC2 instance
    id fleet nodes carry in `ecs.ecsk.io/instance-id`, or a container-instance ARN of either.
    Fargate nodes are not container instances (ECS has none for Fargate tasks), so never a target."""
    short = target_name(target_id)
    by_label = None
    for node in nodes:
        if not is_container_instance(node):
            continue
        meta = node.get("metadata") or {}
        if meta.get("name") == short:
            return node
        if (meta.get("labels") or {}).get(INSTANCE_ID_LABEL) == short:
            by_label = node
    return by_label


def by_target_node(
    nodes: Iterable[Mapping[str, Any]], attributes: Sequence[Attribute]
) -> dict[str, list[Attribute]]:
    """The attributes of a Put/DeleteAttributes call grouped by the node each targets; ECS's
    TargetNotFoundException for a target that is no container instance."""
    nodes = list(nodes)
    grouped: dict[str, list[Attribute]] = {}
    for a in attributes:
        node = find_node(nodes, a.targetId or "")
        if node is None:
            raise AttributeRequestError(
                "TargetNotFoundException",
                f"Could not find container instance {a.targetId}. You can view your available container "
                "instances with ListContainerInstances.",
            )
        grouped.setdefault(str(node["metadata"]["name"]), []).append(a)
    return grouped


def custom_attributes(node: Mapping[str, Any]) -> dict[str, str | None]:
    """The attributes PutAttributes manages on this node (ecsk's annotation, else the verbatim
    `attribute.ecs.ecsk.io/*` labels someone wrote by hand). Built-in `ecs.*` names that were put
    under the prefix (e.g. `ecs.ami-id` by a fleet tool) are kept too, so rewriting the annotation
    never drops them; they do not count against the limit of 10."""
    return {name: value or None for name, value in node_custom_attributes(node).items()}


def _annotation(attrs: Mapping[str, str | None]) -> str | None:
    return json.dumps(dict(sorted(attrs.items())), separators=(",", ":")) if attrs else None


def put_patch(node: Mapping[str, Any], attributes: Sequence[Attribute]) -> dict[str, Any] | None:
    """The merge patch applying PutAttributes to one node, or None when nothing would change.

    The patch carries the node's resourceVersion: the annotation is read-modify-write, so two
    concurrent calls must not lose each other's attributes (the API server answers 409; retry)."""
    before = custom_attributes(node)
    after = dict(before)
    for a in attributes:
        after[a.name] = a.value
    if sum(1 for name in after if not name.startswith("ecs.")) > MAX_CUSTOM_ATTRIBUTES:
        raise AttributeRequestError("AttributeLimitExceededException", LIMIT_EXCEEDED)
    return _patch(node, before, after)


def delete_patch(node: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any] | None:
    """The merge patch applying DeleteAttributes to one node (absent names are a no-op)."""
    before = custom_attributes(node)
    after = {k: v for k, v in before.items() if k not in set(names)}
    gone = {n for n in names if n not in after}
    return _patch(node, before, after, also_remove=gone)


def _patch(
    node: Mapping[str, Any],
    before: Mapping[str, str | None],
    after: Mapping[str, str | None],
    also_remove: Iterable[str] = (),
) -> dict[str, Any] | None:
    meta = node.get("metadata") or {}
    current_labels = meta.get("labels") or {}
    labels: dict[str, str | None] = {}
    for name, value in after.items():
        key, encoded = attribute_label_key(name), attribute_label_value(value, name)
        if current_labels.get(key) != encoded:
            labels[key] = encoded
    for name in set(before) - set(after) | set(also_remove):
        key = attribute_label_key(name)
        if key in current_labels and name not in after:
            labels[key] = None
    annotation = _annotation(after)
    current_annotation = (meta.get("annotations") or {}).get(ATTRIBUTES_ANNOTATION)
    if not labels and annotation == current_annotation:
        return None
    patch_meta: dict[str, Any] = {"annotations": {ATTRIBUTES_ANNOTATION: annotation}}
    if labels:
        patch_meta["labels"] = labels
    if meta.get("resourceVersion"):
        patch_meta["resourceVersion"] = meta["resourceVersion"]
    return {"metadata": patch_meta}


def list_attributes(
    nodes: Iterable[Mapping[str, Any]], name: str | None = None, value: str | None = None
) -> list[dict[str, str]]:
    """ListAttributes for container instances: every custom attribute, optionally one name (and
    value), as AWS `Attribute` dicts whose targetId is the node name."""
    out: list[dict[str, str]] = []
    for node in sorted(nodes, key=lambda n: str((n.get("metadata") or {}).get("name", ""))):
        target = str((node.get("metadata") or {}).get("name", ""))
        for k, v in sorted(custom_attributes(node).items()):
            if name is not None and k != name:
                continue
            if value is not None and v != value:
                continue
            out.append(Attribute(k, v, TARGET_TYPE, target).to_aws())
    return out
