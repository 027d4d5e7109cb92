"""Copilot's scalar value formats: Go durations, platforms, count ranges, schedules, commands.

Copilot reads these with Go's `time.ParseDuration`, `shlex`, its own platform table and its
schedule conversion (`internal/pkg/deploy/cloudformation/stack/scheduled_job.go`); the parsers
here accept and refuse the same inputs, with Copilot's error sentences, so a manifest that
`copilot svc deploy` refuses is refused here in the same words.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ecsk.core.common.schedules import ScheduleError, parse_schedule


class ValueProblem(ValueError):
    """A value Copilot refuses; the message is Copilot's sentence (without the field path)."""


# --- durations --------------------------------------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def duration(value: object) -> float:
    """Seconds from a Go duration (`90s`, `1h30m`, `250ms`); a bare 0 is Go's zero duration.

    Go's yaml.v3 decodes `time.Duration` fields with time.ParseDuration, so a unit is required
    (`interval: 10` is refused) and its error reads `time: invalid duration "10"`."""
    if isinstance(value, bool):
        raise ValueProblem(f'time: invalid duration "{value}"')
    if value == 0:
        return 0.0
    text = str(value).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if not body:
        raise ValueProblem(f'time: invalid duration "{text}"')
    total, pos = 0.0, 0
    for m in _PART.finditer(body):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(body):
        if re.fullmatch(r"\d+(\.\d*)?", body):
            raise ValueProblem(f'time: missing unit in duration "{text}"')
        raise ValueProblem(f'time: invalid duration "{text}"')
    return sign * total


def whole_seconds(value: object, what: str) -> int:
    """A duration ECS or Application Auto Scaling take in whole seconds."""
    seconds = duration(value)
    if seconds != int(seconds):
        raise ValueProblem(f"{what} must be a whole number of seconds")
    return int(seconds)


# --- commands ---------------------------------------------------------------------------------


def command(value: object) -> list[str]:
    """`entrypoint` / `command`: a string is split like a shell (Copilot uses google/shlex), a
    list is taken as is."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueProblem(f"unable to split the string into words: {exc}") from exc
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise ValueProblem("unable to unmarshal into string or slice of strings")


# --- platform ---------------------------------------------------------------------------------

VALID_SHORT_PLATFORMS = (
    "linux/amd64",
    "linux/x86_64",
    "linux/arm",
    "linux/arm64",
    "windows/amd64",
    "windows/x86_64",
)
"""Copilot's `validShortPlatforms` (internal/pkg/manifest/workload_ecs.go), in its order."""
_WINDOWS_FAMILIES = {
    "windows": "WINDOWS_SERVER_2019_CORE",
    "windows_server_2019_core": "WINDOWS_SERVER_2019_CORE",
    "windows_server_2019_full": "WINDOWS_SERVER_2019_FULL",
    "windows_server_2022_core": "WINDOWS_SERVER_2022_CORE",
    "windows_server_2022_full": "WINDOWS_SERVER_2022_FULL",
}
_ARCH = {"amd64": "X86_64", "x86_64": "X86_64", "arm": "ARM64", "arm64": "ARM64"}


@dataclass(frozen=True)
class Platform:
    """ECS's runtimePlatform and the `docker build --platform` string."""

    os_family: str
    architecture: str
    docker: str

    @property
    def is_windows(self) -> bool:
        return self.os_family != "LINUX"

    @property
    def is_arm(self) -> bool:
        return self.architecture == "ARM64"


DEFAULT_PLATFORM = Platform("LINUX", "X86_64", "linux/amd64")


def platform(value: object) -> Platform:
    """`platform: linux/arm64` or `{osfamily, architecture}`, with Copilot's refusals."""
    if value is None:
        return DEFAULT_PLATFORM
    if isinstance(value, dict):
        family, arch = value.get("osfamily"), value.get("architecture")
        if (family is None) != (arch is None):
            raise ValueProblem(
                'fields "osfamily" and "architecture" must either both be specified or both be empty'
            )
        if family is None:
            return DEFAULT_PLATFORM
        fam, ar = str(family).lower(), str(arch).lower()
        if fam == "linux" and ar in _ARCH:
            return Platform("LINUX", _ARCH[ar], f"linux/{ar}")
        if fam in _WINDOWS_FAMILIES and ar in ("amd64", "x86_64"):
            return Platform(_WINDOWS_FAMILIES[fam], "X86_64", f"windows/{ar}")
        raise ValueProblem(
            f"platform pair ('{family}', '{arch}') is invalid: fields ('osfamily', 'architecture') must be "
            "one of linux/x86_64, linux/amd64, linux/arm, linux/arm64, windows/x86_64, windows/amd64, "
            "windows_server_2019_core/x86_64, windows_server_2019_core/amd64, "
            "windows_server_2019_full/x86_64, windows_server_2019_full/amd64, "
            "windows_server_2022_core/x86_64, windows_server_2022_core/amd64, "
            "windows_server_2022_full/x86_64 or windows_server_2022_full/amd64"
        )
    text = str(value)
    if text.count("/") != 1:
        raise ValueProblem(f"platform '{text}' must be in the format [OS]/[Arch]")
    if text not in VALID_SHORT_PLATFORMS:
        listed = ", ".join(VALID_SHORT_PLATFORMS[:-1]) + f" and {VALID_SHORT_PLATFORMS[-1]}"
        raise ValueProblem(f"platform '{text}' is invalid; valid platforms are: {listed}")
    os_name, arch = text.split("/")
    if os_name == "windows":
        return Platform(_WINDOWS_FAMILIES["windows"], "X86_64", text)
    return Platform("LINUX", _ARCH[arch], text)


# --- count range ------------------------------------------------------------------------------

_RANGE = re.compile(r"^(\d+)-(\d+)$")


@dataclass(frozen=True)
class Range:
    minimum: int
    maximum: int
    spot_from: int | None = None


def count_range(value: object) -> Range:
    """`range: 1-10` or `range: {min, max, spot_from}`, refused in Copilot's words."""
    if isinstance(value, dict):
        lo, hi, spot = value.get("min"), value.get("max"), value.get("spot_from")
        if lo is None or hi is None:
            raise ValueProblem('"min/max" must be specified')
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi, spot or 0)):
            raise ValueProblem('unable to unmarshal "range" field')
        assert isinstance(lo, int) and isinstance(hi, int)
        if lo < 0 or hi < 0 or (spot or 0) < 0:
            raise ValueProblem(
                f"min value {lo}, max value {hi}, and spot_from value {spot or 0} must all be positive"
            )
        if lo > hi:
            raise ValueProblem(f"min value {lo} cannot be greater than max value {hi}")
        return Range(lo, hi, spot if isinstance(spot, int) else None)
    m = _RANGE.match(str(value))
    if not m:
        raise ValueProblem(f"invalid range value {value}: valid format is ${{min}}-${{max}}")
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo > hi:
        raise ValueProblem(f"min value {lo} cannot be greater than max value {hi}")
    return Range(lo, hi)


# --- schedules --------------------------------------------------------------------------------

_PRESETS = {
    "@hourly": "0 * * * ? *",
    "@midnight": "0 0 * * ? *",
    "@daily": "0 0 * * ? *",
    "@weekly": "0 0 ? * 1 *",
    "@monthly": "0 0 1 * ? *",
    "@annually": "0 0 1 1 ? *",
    "@yearly": "0 0 1 1 ? *",
}
DISABLED_SCHEDULE = "rate(5 minutes)"
"""What Copilot gives the (disabled) rule for `schedule: none`."""


def _to_rate(text: str) -> str:
    try:
        seconds = duration(text)
    except ValueProblem as exc:
        raise ValueProblem(f"parse fixed interval: parse duration: {exc}") from exc
    if seconds % 60:
        raise ValueProblem("parse fixed interval: duration must be a whole number of minutes or hours")
    if seconds < 60:
        raise ValueProblem("parse fixed interval: duration must be greater than or equal to 1 minute")
    minutes = int(seconds // 60)
    return f"rate({minutes} minute{'s' if minutes != 1 else ''})"


def _specified(field: str) -> bool:
    return not any(ch in field for ch in "*?")


def _to_aws_cron(text: str) -> str:
    fields = text.split()
    if len(fields) != 5:
        raise ValueProblem(
            f"schedule is not valid cron, rate, or preset: "
            f"expected exactly 5 fields, found {len(fields)}: [{text}]"
        )
    dom, dow = fields[2], fields[4]
    if not _specified(dom) and not _specified(dow):
        fields[4], fields[2] = "?", "*"
    elif not _specified(dom):
        fields[2] = "?"
    elif not _specified(dow):
        fields[4] = "?"
    else:
        raise ValueProblem("parse cron schedule: cannot specify both DOW and DOM in cron expression")
    fields[4] = "".join(chr(ord(c) + 1) if c.isdigit() else c for c in fields[4])
    return f"cron({' '.join([*fields, '*'])})"


def schedule(value: object) -> tuple[str, bool]:
    """(EventBridge schedule expression, enabled) the way Copilot converts `on.schedule`:
    presets to AWS cron, `@every D` to a rate in minutes, 5-field cron to AWS's 6 fields (DOW
    1-indexed, `?` added), `rate(...)`/`cron(...)` as given, `none` to a disabled rule. The
    result is then checked with the same parser the ScheduledTask reconciler uses."""
    text = str(value or "").strip()
    if not text:
        raise ValueProblem('"schedule" must be specified')
    if text == "none":
        return DISABLED_SCHEDULE, False
    if text.startswith(("rate(", "cron(")):
        expr = text
    elif text.startswith("@every "):
        expr = _to_rate(text[len("@every ") :].strip())
    elif text.startswith("@"):
        if text not in _PRESETS:
            raise ValueProblem(
                f"schedule is not valid cron, rate, or preset: unrecognized descriptor: {text}"
            )
        expr = f"cron({_PRESETS[text]})"
    else:
        expr = _to_aws_cron(text)
    try:
        parse_schedule(expr)
    except ScheduleError as exc:
        raise ValueProblem(str(exc)) from exc
    return expr, True
