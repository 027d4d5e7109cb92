"""Reading a Copilot workload manifest: type, `${VAR}` interpolation, environment overrides.

Copilot's order (internal/pkg/manifest): unmarshal, refuse an unknown `type`, interpolate string
values (`${COPILOT_APPLICATION_NAME}`, `${COPILOT_ENVIRONMENT_NAME}`, then the OS environment),
merge `environments.<env>` over the base (maps merged key by key, scalars and lists replaced,
and a union field switching form drops its other form: `image.location` over `image.build`,
`count.spot` over autoscaling, `efs.uid/gid` over `efs.id`), then validate the merged result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ecsk.core.copilot.fields import COPILOT_TYPES, UNSUPPORTED_TYPES, unsupported_fields
from ecsk.core.models.errors import ValidationIssue

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
NAME_RULE = (
    "value must start with a letter, contain only lower-case letters, numbers, and hyphens, "
    "and have no consecutive or trailing hyphen"
)
"""Copilot's basic name validation (app, environment and workload names)."""
MAX_NAME = 40
_INTERPOLATION = re.compile(r"(\\?)\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")


class ManifestError(ValueError):
    """The manifest is refused; `issues` lists every problem (field path, Copilot's sentence)."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


def problem(path: str, message: str, rule: str = "copilot.invalid") -> ValidationIssue:
    return ValidationIssue(path, message, rule)


@dataclass(frozen=True)
class Workload:
    """A manifest merged for one environment, with the fields ecsk does not map named."""

    name: str
    kind: str
    body: dict[str, Any]
    warnings: list[ValidationIssue] = field(default_factory=list)


def check_name(what: str, name: str) -> None:
    """Copilot's rule for app, environment and service names (they become DNS labels here too)."""
    if not NAME_PATTERN.match(name or "") or len(name) > MAX_NAME:
        rule = NAME_RULE if len(name or "") <= MAX_NAME else f"value must not exceed {MAX_NAME} characters"
        raise ManifestError([problem(what, f"{what} {name!r} is invalid: {rule}")])


# --- interpolation -----------------------------------------------------------------------------


def _interpolate_text(text: str, predefined: Mapping[str, str], environ: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        escaped, key = m.group(1), m.group(2)
        if escaped:
            return "${" + key + "}"
        if key in predefined:
            if key in environ and environ[key] != predefined[key]:
                raise ManifestError(
                    [
                        problem(
                            "",
                            f'predefined environment variable "{key}" cannot be overridden by OS '
                            "environment variable with the same name",
                        )
                    ]
                )
            return predefined[key]
        if key in environ:
            return environ[key]
        raise ManifestError([problem("", f'environment variable "{key}" is not defined')])

    return _INTERPOLATION.sub(one, text)


def interpolate(value: Any, predefined: Mapping[str, str], environ: Mapping[str, str]) -> Any:
    """Copilot interpolates string values (never keys); a result that is a JSON list of strings
    becomes a list, as Copilot does for `${SUBNETS}`-style variables."""
    if isinstance(value, dict):
        return {k: interpolate(v, predefined, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, predefined, environ) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    out = _interpolate_text(value, predefined, environ)
    if out.startswith("["):
        try:
            parsed = json.loads(out)
        except ValueError:
            return out
        if isinstance(parsed, list) and parsed and all(isinstance(v, str) for v in parsed):
            return parsed
    return out


# --- environment overrides ----------------------------------------------------------------------

_AUTOSCALING = ("range", "cooldown", "cpu_percentage", "memory_percentage", "requests", "response_time")
_EXCLUSIVE: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    "image": ((("build",), ("location",)), (("location",), ("build",))),
    "count": ((("spot",), _AUTOSCALING), (_AUTOSCALING, ("spot",))),
    "efs": ((("uid", "gid"), ("id", "root_dir", "auth")), (("id", "root_dir", "auth"), ("uid", "gid"))),
}
"""Copilot's union transformers: when the override sets one form, the base's other form goes."""


def merge(base: Any, override: Any, key: str = "") -> Any:
    if override is None:
        return base  # mergo never overrides with an empty value
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    out = dict(base)
    for given, dropped in _EXCLUSIVE.get(key, ()):
        if any(k in override for k in given):
            for k in dropped:
                out.pop(k, None)
    for k, v in override.items():
        out[k] = merge(out.get(k), v, str(k))
    return out


# --- loading -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML as Copilot's Go parser (yaml.v3) reads it: only true/false are booleans, so the
    Scheduled Job's `on:` key stays the string "on" (YAML 1.1 would make it True)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def parse_map(text: str) -> dict[str, Any]:
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ManifestError([problem("", f"unmarshal to workload manifest: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise ManifestError([problem("", "unmarshal to workload manifest: the document is not a YAML map")])
    return raw


def workload_type(raw: Mapping[str, Any]) -> str:
    kind = raw.get("type")
    if kind not in COPILOT_TYPES:
        raise ManifestError([problem("type", f"invalid manifest type: {kind if kind is not None else ''}")])
    assert isinstance(kind, str)
    if kind in UNSUPPORTED_TYPES:
        raise ManifestError(
            [problem("type", f"{kind} is not supported by ecsk: {UNSUPPORTED_TYPES[kind]}", "copilot.type")]
        )
    return kind


def load(text: str, app: str, env: str, environ: Mapping[str, str] | None = None) -> Workload:
    """The manifest `text` as deployed to `env` of `app`, or ManifestError."""
    raw = parse_map(text)
    kind = workload_type(raw)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ManifestError([problem("name", '"name" must be specified')])
    check_name("name", name)
    predefined = {"COPILOT_APPLICATION_NAME": app, "COPILOT_ENVIRONMENT_NAME": env}
    body = interpolate(raw, predefined, dict(environ or {}))
    overrides = body.pop("environments", None) or {}
    if not isinstance(overrides, dict):
        raise ManifestError([problem("environments", '"environments" must be a map of environment names')])
    merged = merge(body, overrides.get(env), "")
    return Workload(name=name, kind=kind, body=merged, warnings=unsupported_fields(merged, kind))
