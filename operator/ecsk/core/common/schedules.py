"""EventBridge / Application Auto Scaling schedule expressions, parsed once and used everywhere.

ECS scheduled tasks (EventBridge rules / Scheduler) and Application Auto Scaling scheduled actions
share three expression forms: `cron(m h dom mon dow year)`, `rate(N unit)` and `at(timestamp)`.
Kubernetes only knows the 5-field CronJob schedule, so this module parses to a typed object that
can (a) say whether and how it maps onto a CronJob and (b) compute fire times itself, which the
operator needs for `at()` and year-restricted crons and the autoscaling emulation needs anyway.

Decisions (see docs/operator.md):
- the year field is kept; a CronJob cannot express it, so `to_cronjob()` returns the 5-field
  schedule and `active_in_year()` tells the operator when to suspend the CronJob;
- `L`, `W`, `#` and `LW` have no Kubernetes equivalent (robfig/cron in kube-controller-manager
  does not accept them): `to_cronjob()` refuses them with a `ScheduleError`, fire times are still
  computed here;
- `rate()` maps to a CronJob when the period divides evenly into the next larger unit
  (`*/N`), otherwise it is refused for CronJobs (AWS measures rates from rule creation, Kubernetes
  has no such anchor);
- `at()` never maps to a CronJob: the operator creates a Job when the time arrives.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AtSchedule",
    "CronSchedule",
    "RateSchedule",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
    "resolve_timezone",
]


class ScheduleError(ValueError):
    """A schedule that AWS would reject, or that Kubernetes cannot carry out."""


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
# AWS day-of-week: 1-7 = SUN-SAT.
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def resolve_timezone(name: str | None) -> ZoneInfo:
    """IANA names only, as both EventBridge Scheduler and CronJob `spec.timeZone` require."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"Invalid timezone '{name}': not an IANA time zone name") from exc


@dataclass(frozen=True)
class _Field:
    """One cron field: a set of allowed values plus the special markers AWS supports."""

    raw: str
    values: frozenset[int] = frozenset()
    any: bool = False  # '*' or '?'
    question: bool = False
    last: bool = False  # 'L' (dom: last day; dow: 'L' alone = Saturday, 'nL' = last weekday n)
    last_dow: int | None = None
    nearest_weekday: int | None = None  # 'nW'
    last_weekday: bool = False  # 'LW'
    nth: tuple[int, int] | None = None  # 'd#n'

    @property
    def special(self) -> bool:
        return bool(self.last or self.last_dow or self.nearest_weekday or self.last_weekday or self.nth)


def _num(token: str, lo: int, hi: int, names: dict[str, int] | None, what: str) -> int:
    up = token.upper()
    if names and up in names:
        return names[up]
    if not token.isdigit():
        raise ScheduleError(f"Invalid {what} value '{token}' in cron expression")
    value = int(token)
    if not lo <= value <= hi:
        raise ScheduleError(f"{what} value {value} out of range {lo}-{hi} in cron expression")
    return value


def _parse_field(raw: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> _Field:
    if raw == "*":
        return _Field(raw, frozenset(range(lo, hi + 1)), any=True)
    if raw == "?":
        return _Field(raw, frozenset(range(lo, hi + 1)), any=True, question=True)
    values: set[int] = set()
    for part in raw.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            if not step_s.isdigit() or int(step_s) == 0:
                raise ScheduleError(f"Invalid step '{step_s}' in {what} field of cron expression")
            step = int(step_s)
        if part in ("*", ""):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _num(a, lo, hi, names, what), _num(b, lo, hi, names, what)
            if start > end:
                raise ScheduleError(f"Invalid range '{part}' in {what} field of cron expression")
        else:
            start = _num(part, lo, hi, names, what)
            end = hi if step > 1 else start
        values.update(range(start, end + 1, step))
    return _Field(raw, frozenset(values))


def _parse_dom(raw: str) -> _Field:
    up = raw.upper()
    if up == "L":
        return _Field(raw, last=True)
    if up == "LW":
        return _Field(raw, last_weekday=True)
    m = re.fullmatch(r"(\d{1,2})W", up)
    if m:
        day = _num(m.group(1), 1, 31, None, "day-of-month")
        return _Field(raw, nearest_weekday=day)
    return _parse_field(raw, 1, 31, "day-of-month")


def _parse_dow(raw: str) -> _Field:
    up = raw.upper()
    if up == "L":
        return _Field(raw, last_dow=7)
    m = re.fullmatch(r"([1-7]|[A-Z]{3})L", up)
    if m:
        return _Field(raw, last_dow=_num(m.group(1), 1, 7, _DAYS, "day-of-week"))
    m = re.fullmatch(r"([1-7]|[A-Z]{3})#([1-5])", up)
    if m:
        return _Field(raw, nth=(_num(m.group(1), 1, 7, _DAYS, "day-of-week"), int(m.group(2))))
    return _parse_field(raw, 1, 7, "day-of-week", _DAYS)


def _aws_dow(d: datetime) -> int:
    """AWS numbers SUN=1..SAT=7; Python numbers MON=0..SUN=6."""
    return (d.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class CronSchedule:
    """`cron(minutes hours day-of-month month day-of-week year)` in a time zone."""

    expression: str
    minutes: _Field
    hours: _Field
    dom: _Field
    month: _Field
    dow: _Field
    year: _Field
    timezone: str = "UTC"
    kind: Literal["cron"] = "cron"

    def _day_matches(self, d: datetime) -> bool:
        return self._dom_matches(d) if self.dow.question else self._dow_matches(d)

    def _dom_matches(self, d: datetime) -> bool:
        f = self.dom
        last = calendar.monthrange(d.year, d.month)[1]
        if f.last:
            return d.day == last
        if f.last_weekday:
            day = last
            while datetime(d.year, d.month, day).weekday() >= 5:
                day -= 1
            return d.day == day
        if f.nearest_weekday is not None:
            target = min(f.nearest_weekday, last)
            wd = datetime(d.year, d.month, target).weekday()
            if wd == 5:  # Saturday -> Friday, unless that leaves the month
                target = target - 1 if target > 1 else target + 2
            elif wd == 6:  # Sunday -> Monday, unless that leaves the month
                target = target + 1 if target < last else target - 2
            return d.day == target
        return d.day in f.values

    def _dow_matches(self, d: datetime) -> bool:
        f = self.dow
        dow = _aws_dow(d)
        if f.last_dow is not None:
            last = calendar.monthrange(d.year, d.month)[1]
            return dow == f.last_dow and d.day + 7 > last
        if f.nth is not None:
            want, n = f.nth
            return dow == want and (d.day - 1) // 7 + 1 == n
        return dow in f.values

    def active_in_year(self, year: int) -> bool:
        """The operator suspends the CronJob in years the expression excludes."""
        return year in self.year.values

    def next_fire_times(self, after: datetime, n: int = 1) -> list[datetime]:
        """Fire times strictly after `after` (aware; naive means UTC), returned in UTC."""
        tz = ZoneInfo(self.timezone)
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        local = after.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        out: list[datetime] = []
        last_year = max(self.year.values) if self.year.values else local.year
        day = datetime(local.year, local.month, local.day)
        first = True
        while len(out) < n and day.year <= last_year:
            if day.year in self.year.values and day.month in self.month.values and self._day_matches(day):
                for hour in sorted(self.hours.values):
                    for minute in sorted(self.minutes.values):
                        wall = day.replace(hour=hour, minute=minute)
                        if first and wall < local.replace(tzinfo=None):
                            continue
                        moment = wall.replace(tzinfo=tz)
                        # Skip wall times that do not exist (spring-forward gap).
                        if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
                            continue
                        out.append(moment.astimezone(UTC))
                        if len(out) >= n:
                            return out
            first = False
            day += timedelta(days=1)
        return out

    def to_cronjob(self) -> str:
        """The 5-field CronJob schedule; raises when Kubernetes cannot express the expression."""
        for f, what in ((self.dom, "day-of-month"), (self.dow, "day-of-week")):
            if f.special:
                raise ScheduleError(
                    f"cron {what} '{f.raw}' (L, W or #) cannot be expressed as a Kubernetes CronJob schedule"
                )
        dow = "*" if self.dow.any else ",".join(str(v - 1) for v in sorted(self.dow.values))
        dom = "*" if self.dom.any else _canonical(self.dom)
        return " ".join([_canonical(self.minutes), _canonical(self.hours), dom, _canonical(self.month), dow])


def _canonical(f: _Field) -> str:
    """Names (JAN, MON) become numbers; everything else is passed as the user wrote it."""
    if f.any:
        return "*"
    if re.fullmatch(r"[0-9,\-/*]+", f.raw):
        return f.raw
    return ",".join(str(v) for v in sorted(f.values))


@dataclass(frozen=True)
class RateSchedule:
    """`rate(N unit)`: every N units, anchored at `anchor` (rule creation time in AWS)."""

    expression: str
    value: int
    unit: Literal["minute", "hour", "day"]
    anchor: datetime | None = None
    timezone: str = "UTC"
    kind: Literal["rate"] = "rate"

    @property
    def period(self) -> timedelta:
        return timedelta(**{f"{self.unit}s": self.value})

    def next_fire_times(self, after: datetime, n: int = 1) -> list[datetime]:
        """Without an anchor, fire times align to the period from the Unix epoch (CronJob-like)."""
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        anchor = self.anchor or datetime(1970, 1, 1, tzinfo=UTC)
        if anchor.tzinfo is None:
            anchor = anchor.replace(tzinfo=UTC)
        period = self.period
        if after < anchor:
            first = anchor
        else:
            k = (after - anchor) // period + 1
            first = anchor + k * period
        return [(first + i * period).astimezone(UTC) for i in range(n)]

    def to_cronjob(self) -> str:
        v = self.value
        if self.unit == "minute":
            if v == 1:
                return "* * * * *"
            if 60 % v == 0:
                return f"*/{v} * * * *"
        elif self.unit == "hour":
            if v == 1:
                return "0 * * * *"
            if 24 % v == 0:
                return f"0 */{v} * * *"
        elif v == 1:
            return "0 0 * * *"
        raise ScheduleError(
            f"{self.expression} cannot be expressed as a Kubernetes CronJob schedule: the period must "
            "divide an hour (minutes), a day (hours), or be 1 day"
        )


@dataclass(frozen=True)
class AtSchedule:
    """`at(yyyy-mm-ddThh:mm:ss)`: one run at a wall-clock time in the schedule's time zone."""

    expression: str
    when: datetime  # naive wall-clock time
    timezone: str = "UTC"
    kind: Literal["at"] = "at"
    _utc: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_utc", self.when.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(UTC))

    @property
    def fire_time(self) -> datetime:
        return self._utc

    def next_fire_times(self, after: datetime, n: int = 1) -> list[datetime]:
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        return [self._utc] if self._utc > after and n > 0 else []

    def to_cronjob(self) -> str:
        raise ScheduleError(f"{self.expression} is a one-time schedule: it runs as a Job, not a CronJob")


Schedule = CronSchedule | RateSchedule | AtSchedule

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_CRON = re.compile(r"cron\((.*)\)")


def parse_schedule(expression: str, timezone: str | None = None, anchor: datetime | None = None) -> Schedule:
    """Parse with AWS's rules; the error text names what is wrong, as the AWS APIs do."""
    expr = (expression or "").strip()
    tz = resolve_timezone(timezone).key
    m = _RATE.fullmatch(expr)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        if value <= 0:
            raise ScheduleError(f"Invalid rate expression '{expr}': the value must be a positive integer")
        if value == 1 and unit.endswith("s"):
            raise ScheduleError(
                f"Invalid rate expression '{expr}': use the singular unit for 1 ({unit[:-1]})"
            )
        if value > 1 and not unit.endswith("s"):
            raise ScheduleError(
                f"Invalid rate expression '{expr}': use the plural unit for {value} ({unit}s)"
            )
        return RateSchedule(expr, value, unit.rstrip("s"), anchor, tz)  # type: ignore[arg-type]
    if expr.startswith("rate("):
        raise ScheduleError(
            f"Invalid rate expression '{expr}': expected rate(value unit), unit minute(s), hour(s) or day(s)"
        )
    m = _AT.fullmatch(expr)
    if m:
        try:
            when = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError as exc:
            raise ScheduleError(f"Invalid at expression '{expr}': {exc}") from exc
        return AtSchedule(expr, when, tz)
    if expr.startswith("at("):
        raise ScheduleError(f"Invalid at expression '{expr}': expected at(yyyy-mm-ddThh:mm:ss)")
    m = _CRON.fullmatch(expr)
    if m:
        return _parse_cron(expr, m.group(1), tz)
    raise ScheduleError(f"Invalid schedule expression '{expr}': expected cron(...), rate(...) or at(...)")


def _parse_cron(expr: str, body: str, tz: str) -> CronSchedule:
    parts = body.split()
    if len(parts) != 6:
        raise ScheduleError(
            f"Invalid cron expression '{expr}': expected 6 fields (minutes hours day-of-month month "
            f"day-of-week year), got {len(parts)}"
        )
    mi, hr, dom, mon, dow, yr = parts
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"Invalid cron expression '{expr}': exactly one of day-of-month and day-of-week must be '?'"
        )
    return CronSchedule(
        expression=expr,
        minutes=_parse_field(mi, 0, 59, "minutes"),
        hours=_parse_field(hr, 0, 23, "hours"),
        dom=_parse_dom(dom),
        month=_parse_field(mon, 1, 12, "month", _MONTHS),
        dow=_parse_dow(dow),
        year=_parse_field(yr, 1970, 2199, "year"),
        timezone=tz,
    )
