"""App Runner's rules for CreateService/UpdateService input, stated once.

Each field rule is data (the spec path, App Runner's wire path, the constraint), so the same
table drives the operator's and the API's check (`check`, Python) and admission (`cel_rules`,
the CRD's x-kubernetes-validations with a messageExpression): `kubectl apply`, the operator and
`aws apprunner create-service` refuse with one sentence. The sentences are the AWS API's
constraint wording ("1 validation error detected: Value '3 vCPU' at 'instanceConfiguration.cpu'
failed to satisfy constraint: Member must satisfy regular expression pattern: ..."), with the
patterns and ranges of App Runner's service model (botocore apprunner 2020-05-15).

App Runner refuses Cpu/Memory pairs outside its supported configurations; its exact sentence is
not published, so ecsk's names both values and lists the supported pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.core.apprunner.identity import CONFIG_ARN_PATTERN, INVALID_ARN_PREFIX, invalid_arn, parse_config_arn
from ecsk.core.apprunner.models import (
    DEFAULT_CPU,
    DEFAULT_MAX_SIZE,
    DEFAULT_MEMORY,
    DEFAULT_MIN_SIZE,
    AppRunnerService,
)
from ecsk.core.models.errors import ValidationIssue, model_issues
from ecsk.core.validation.issues import Issues

Json = dict[str, Any]

CPU_UNITS: dict[str, int] = {
    "256": 256, "512": 512, "1024": 1024, "2048": 2048, "4096": 4096,
    "0.25 vCPU": 256, "0.5 vCPU": 512, "1 vCPU": 1024, "2 vCPU": 2048, "4 vCPU": 4096,
}  # fmt: skip
"""Every Cpu value App Runner accepts (pattern 256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU)."""
MEMORY_MB: dict[str, int] = {
    **{str(mb): mb for mb in (512, 1024, 2048, 3072, 4096, 6144, 8192, 10240, 12288)},
    **{f"{gb:g} GB": int(gb * 1024) for gb in (0.5, 1, 2, 3, 4, 6, 8, 10, 12)},
}
"""Every Memory value (pattern 512|...|12288|(0.5|1|2|3|4|6|8|10|12) GB)."""
CPU_PATTERN = "256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU"
MEMORY_PATTERN = "512|1024|2048|3072|4096|6144|8192|10240|12288|(0.5|1|2|3|4|6|8|10|12) GB"
SUPPORTED: tuple[tuple[int, int], ...] = (
    (256, 512), (256, 1024), (512, 1024), (1024, 2048), (1024, 3072), (1024, 4096),
    (2048, 4096), (2048, 6144), (4096, 8192), (4096, 10240), (4096, 12288),
)  # fmt: skip
"""App Runner's supported configurations (vCPU units, MB): 0.25/0.5 GB ... 4 vCPU/12 GB."""
SERVICE_NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9-_]{3,39}"
RESERVED_ENV_PREFIX = "AWSAPPRUNNER"
SCALING_ONE_OF = (
    "AutoScalingConfiguration and AutoScalingConfigurationArn can't both be set: "
    "AutoScalingConfiguration is ecsk's inline form of the configuration an ARN names."
)
SOURCE_ONE_OF = "You must specify exactly one of ImageRepository and CodeRepository in SourceConfiguration."


def _vcpu(units: int) -> str:
    return f"{units / 1024:g} vCPU"


def _gb(mb: int) -> str:
    return f"{mb / 1024:g} GB"


SUPPORTED_TEXT = ", ".join(f"{_vcpu(c)}/{_gb(m)}" for c, m in SUPPORTED)
COMBINATION_MESSAGE = (
    "Cpu '{cpu}' and Memory '{memory}' is not a supported instance configuration. "
    f"Supported Cpu/Memory combinations: {SUPPORTED_TEXT}."
)


@dataclass(frozen=True)
class FieldRule:
    """One constraint on one field: `path` in the spec (PascalCase), `wire` as App Runner's
    error names it (camelCase), and either a length/value range or a full-match pattern."""

    path: tuple[str, ...]
    wire: str
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    length: bool = False
    """minimum/maximum bound the string's length, not the value."""

    @property
    def regex(self) -> str:
        """The pattern as both Python and RE2 (CEL) read it: a `.` of a number is literal, and a
        `-` in a character class comes last (App Runner's text is shown as is)."""
        return (self.pattern or "").replace(".", "[.]").replace("0-9-_", "0-9_-")

    def constraint(self, value: Any) -> str | None:
        """App Runner's "Member must ..." clause `value` breaks, or None."""
        if self.pattern is not None and not re.fullmatch(self.regex, str(value)):
            return f"Member must satisfy regular expression pattern: {self.pattern}"
        measure = len(str(value)) if self.length else value
        what = "length" if self.length else "value"
        if self.minimum is not None and measure < self.minimum:
            return f"Member must have {what} greater than or equal to {self.minimum}"
        if self.maximum is not None and measure > self.maximum:
            return f"Member must have {what} less than or equal to {self.maximum}"
        return None


SCALING_FIELDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("MaxConcurrency", "maxConcurrency", 1, 200),
    ("MinSize", "minSize", 1, 25),
    ("MaxSize", "maxSize", 1, None),
)
"""CreateAutoScalingConfiguration's ranges (ASConfigMaxConcurrency, ASConfigMinSize,
ASConfigMaxSize): App Runner's model bounds MaxSize below only (25 instances is the default of
an account quota, not a rule of the API)."""
MIN_MAX = "MinSize must be less than or equal to MaxSize"


def scaling_rules(parent: tuple[str, ...] = ()) -> tuple[FieldRule, ...]:
    """The auto scaling field rules under `parent`: the inline block of a service (ecsk's
    extension) and the AppRunnerAutoScalingConfiguration resource share them."""
    return tuple(FieldRule((*parent, field), wire, lo, hi) for field, wire, lo, hi in SCALING_FIELDS)


def min_max_issue(path: str, lo: int, hi: int) -> ValidationIssue | None:
    """MinSize above MaxSize (each with App Runner's default when absent)."""
    if lo <= hi:
        return None
    return ValidationIssue(path, f"{MIN_MAX} (MinSize {lo}, MaxSize {hi}).", "apprunner.min-max")


def min_max_cel() -> Json:
    """The same rule at admission, on the object holding MinSize and MaxSize."""
    return {
        "rule": f"(has(self.MinSize) ? self.MinSize : {DEFAULT_MIN_SIZE}) <= "
        f"(has(self.MaxSize) ? self.MaxSize : {DEFAULT_MAX_SIZE})",
        "message": f"{MIN_MAX}.",
        "fieldPath": ".MinSize",
    }


def _hc(field: str, wire: str) -> FieldRule:
    return FieldRule(("HealthCheckConfiguration", field), f"healthCheckConfiguration.{wire}", 1, 20)


FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule(("ServiceName",), "serviceName", 4, 40, length=True),
    FieldRule(("ServiceName",), "serviceName", pattern=SERVICE_NAME_PATTERN),
    FieldRule(
        ("SourceConfiguration", "ImageRepository", "ImageIdentifier"),
        "sourceConfiguration.imageRepository.imageIdentifier",
        1,
        1024,
        length=True,
    ),
    FieldRule(
        ("SourceConfiguration", "ImageRepository", "ImageConfiguration", "StartCommand"),
        "sourceConfiguration.imageRepository.imageConfiguration.startCommand",
        pattern="[^\\x0a\\x0d]+",
    ),
    FieldRule(("InstanceConfiguration", "Cpu"), "instanceConfiguration.cpu", pattern=CPU_PATTERN),
    FieldRule(("InstanceConfiguration", "Memory"), "instanceConfiguration.memory", pattern=MEMORY_PATTERN),
    FieldRule(("HealthCheckConfiguration", "Path"), "healthCheckConfiguration.path", 1, None, length=True),
    _hc("Interval", "interval"),
    _hc("Timeout", "timeout"),
    _hc("HealthyThreshold", "healthyThreshold"),
    _hc("UnhealthyThreshold", "unhealthyThreshold"),
    *scaling_rules(("AutoScalingConfiguration",)),
)


def _get(spec: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = spec
    for part in path:
        if not isinstance(node, Mapping) or node.get(part) is None:
            return None
        node = node[part]
    return node


def field_issues(
    spec: Mapping[str, Any], rules: tuple[FieldRule, ...] = FIELD_RULES
) -> Iterator[ValidationIssue]:
    """Every broken field rule, in App Runner's "Value '...' at '...' failed to satisfy" form."""
    for rule in rules:
        value = _get(spec, rule.path)
        if value is None or isinstance(value, (dict, list)):
            continue
        broken = rule.constraint(value)
        if broken:
            yield ValidationIssue(
                ".".join(rule.path),
                f"Value '{value}' at '{rule.wire}' failed to satisfy constraint: {broken}",
                "apprunner.constraint",
            )


def cpu_memory(spec: AppRunnerService) -> tuple[int, int] | None:
    """(vCPU units, MB) with App Runner's defaults, or None when a value is not one it accepts."""
    cfg = spec.InstanceConfiguration
    cpu = CPU_UNITS.get((cfg.Cpu if cfg else None) or DEFAULT_CPU)
    memory = MEMORY_MB.get((cfg.Memory if cfg else None) or DEFAULT_MEMORY)
    return (cpu, memory) if cpu is not None and memory is not None else None


def _semantic(spec: AppRunnerService, issues: Issues) -> None:
    source = spec.SourceConfiguration
    if source.CodeRepository is not None:
        issues.add(
            "SourceConfiguration.CodeRepository",
            "Source code repositories are not supported by ecsk (no GitHub/Bitbucket connection): "
            "build the image with `ecsk apprunner deploy --source DIR` and use ImageRepository.",
            "apprunner.code-repository",
        )
    if source.ImageRepository is None:
        issues.add(
            "SourceConfiguration.ImageRepository",
            SOURCE_ONE_OF,
            "apprunner.source",
        )
        return
    config = source.ImageRepository.ImageConfiguration
    if config and config.Port is not None and not (config.Port.isdigit() and 1 <= int(config.Port) <= 65535):
        issues.add(
            "SourceConfiguration.ImageRepository.ImageConfiguration.Port",
            f"Port '{config.Port}' is not valid: it must be a port number from 1 to 65535.",
            "apprunner.port",
        )
    names = (
        {*(config.RuntimeEnvironmentVariables or {}), *(config.RuntimeEnvironmentSecrets or {})}
        if config
        else set()
    )
    for name in sorted(names):
        if name.upper().startswith(RESERVED_ENV_PREFIX):
            issues.add(
                "SourceConfiguration.ImageRepository.ImageConfiguration",
                f"Environment variable '{name}': keys with a prefix of {RESERVED_ENV_PREFIX} are "
                "reserved for system use and aren't valid.",
                "apprunner.reserved-env",
            )
    _scaling(spec, issues)
    pair = cpu_memory(spec)
    cfg = spec.InstanceConfiguration
    if pair is not None and pair not in SUPPORTED:
        issues.add(
            "InstanceConfiguration",
            COMBINATION_MESSAGE.format(
                cpu=(cfg.Cpu if cfg else None) or DEFAULT_CPU,
                memory=(cfg.Memory if cfg else None) or DEFAULT_MEMORY,
            ),
            "apprunner.cpu-memory",
        )


def _scaling(spec: AppRunnerService, issues: Issues) -> None:
    """The inline block's MinSize/MaxSize; the ARN's form; not both (they name one thing twice)."""
    arn = spec.AutoScalingConfigurationArn
    if arn is not None and spec.AutoScalingConfiguration is not None:
        issues.add("AutoScalingConfigurationArn", SCALING_ONE_OF, "apprunner.autoscaling-one-of")
    if arn is not None and parse_config_arn(arn) is None:
        issues.add("AutoScalingConfigurationArn", invalid_arn(arn), "apprunner.autoscaling-arn")
    _, lo, hi = spec.scaling
    broken = min_max_issue("AutoScalingConfiguration.MinSize", lo, hi)
    if broken is not None:
        issues.append(broken)


def check(raw: Mapping[str, Any]) -> tuple[AppRunnerService | None, list[ValidationIssue]]:
    """The spec as the model and every problem found (shape first, then App Runner's rules)."""
    shape = model_issues(AppRunnerService, raw)
    issues = Issues(field_issues(raw))
    if shape:
        return None, [*shape, *issues]
    spec = AppRunnerService.model_validate(dict(raw))
    _semantic(spec, issues)
    return spec, list(issues)


def message(issues: list[ValidationIssue]) -> str:
    """App Runner's InvalidRequestException text: "N validation error(s) detected: ..."."""
    n = len(issues)
    noun = "error" if n == 1 else "errors"
    return f"{n} validation {noun} detected: " + "; ".join(i.message for i in issues)


# --- admission: the same rules as CEL ---------------------------------------------------------


def _cel_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cel_condition(field: str, rule: FieldRule) -> str:
    return f"self.{field}.matches({_cel_string('^(' + rule.regex + ')$')})"


def cel_field_rules(rule: FieldRule) -> tuple[tuple[str, ...], list[Json]]:
    """One rule per clause. Strings quote the refused value (their length is bounded in the
    schema); integers cannot (the apiserver prices `string(int)` as unbounded), so their
    sentence names the field and the clause only."""
    *parent, field = rule.path
    where = f"at '{rule.wire}' failed to satisfy constraint: "
    quoted = rule.length or rule.pattern is not None
    clauses: list[tuple[str, str]] = []
    if rule.pattern is not None:
        clauses.append(
            (_cel_condition(field, rule), f"Member must satisfy regular expression pattern: {rule.pattern}")
        )
    measure = f"size(self.{field})" if rule.length else f"self.{field}"
    what = "length" if rule.length else "value"
    if rule.minimum is not None:
        clauses.append(
            (
                f"{measure} >= {rule.minimum}",
                f"Member must have {what} greater than or equal to {rule.minimum}",
            )
        )
    if rule.maximum is not None:
        clauses.append(
            (f"{measure} <= {rule.maximum}", f"Member must have {what} less than or equal to {rule.maximum}")
        )
    out: list[Json] = []
    for condition, clause in clauses:
        cel: Json = {"rule": f"!has(self.{field}) || ({condition})", "fieldPath": f".{field}"}
        if quoted:
            # The apiserver drops a message holding a line break (falling back to "failed rule:
            # <the CEL>"), so a value with one is not quoted.
            head, tail = _cel_string("Value '"), _cel_string(f"' {where}{clause}")
            plain = _cel_string(f"Value {where}{clause}")
            cel["messageExpression"] = (
                f"self.{field}.matches('[\\n\\r]') ? {plain} : {head} + self.{field} + {tail}"
            )
        else:
            cel["message"] = f"Value {where}{clause}"
        out.append(cel)
    return tuple(parent), out


def _cel_map(values: Mapping[str, int]) -> str:
    return "{" + ", ".join(f"'{k}': {v}" for k, v in values.items()) + "}"


def _combination_rule() -> Json:
    cpu = f"(has(self.Cpu) ? {_cel_map(CPU_UNITS)}[self.Cpu] : {CPU_UNITS[DEFAULT_CPU]})"
    mem = f"(has(self.Memory) ? {_cel_map(MEMORY_MB)}[self.Memory] : {MEMORY_MB[DEFAULT_MEMORY]})"
    pairs = ", ".join(f"[{c}, {m}]" for c, m in SUPPORTED)
    known = (
        f"(!has(self.Cpu) || self.Cpu in {_cel_map(CPU_UNITS)}) && "
        f"(!has(self.Memory) || self.Memory in {_cel_map(MEMORY_MB)})"
    )
    text = COMBINATION_MESSAGE.split("{cpu}")
    head, rest = text[0], text[1].split("{memory}")
    cpu_text = f"(has(self.Cpu) ? self.Cpu : '{DEFAULT_CPU}')"
    mem_text = f"(has(self.Memory) ? self.Memory : '{DEFAULT_MEMORY}')"
    return {
        "rule": f"!({known}) || [{cpu}, {mem}] in [{pairs}]",
        "messageExpression": (
            f"{_cel_string(head)} + {cpu_text} + {_cel_string(rest[0])} + {mem_text} + {_cel_string(rest[1])}"
        ),
    }


def cel_rules() -> dict[tuple[str, ...], list[Json]]:
    """x-kubernetes-validations by schema path (inside `spec`) for the AppRunnerService CRD."""
    out: dict[tuple[str, ...], list[Json]] = {}
    for rule in FIELD_RULES:
        path, cels = cel_field_rules(rule)
        out.setdefault(path, []).extend(cels)
    out.setdefault(("InstanceConfiguration",), []).append(_combination_rule())
    out.setdefault(("AutoScalingConfiguration",), []).append(min_max_cel())
    arn = "self.AutoScalingConfigurationArn"
    out.setdefault((), []).extend(
        [
            {
                "rule": f"!has(self.AutoScalingConfiguration) || !has({arn})",
                "message": SCALING_ONE_OF,
                "fieldPath": ".AutoScalingConfigurationArn",
            },
            {
                "rule": f"!has({arn}) || {arn}.matches({_cel_string('^(' + CONFIG_ARN_PATTERN + ')$')})",
                "messageExpression": f'{_cel_string(INVALID_ARN_PREFIX)} + {arn} + "\'"',
                "fieldPath": ".AutoScalingConfigurationArn",
            },
        ]
    )
    out.setdefault(("SourceConfiguration",), []).append(
        {
            "rule": "has(self.ImageRepository) || has(self.CodeRepository)",
            "message": SOURCE_ONE_OF,
        }
    )
    return out
