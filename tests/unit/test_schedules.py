"""EventBridge schedule expressions: AWS's parsing rules and the CronJob mapping decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecsk.core.common.schedules import AtSchedule, CronSchedule, RateSchedule, ScheduleError, parse_schedule


def test_rate_singular_and_plural_follow_aws() -> None:
    assert isinstance(parse_schedule("rate(1 minute)"), RateSchedule)
    assert isinstance(parse_schedule("rate(5 minutes)"), RateSchedule)
    with pytest.raises(ScheduleError, match="singular"):
        parse_schedule("rate(1 minutes)")
    with pytest.raises(ScheduleError, match="plural"):
        parse_schedule("rate(5 minute)")
    with pytest.raises(ScheduleError):
        parse_schedule("rate(0 minutes)")
    with pytest.raises(ScheduleError):
        parse_schedule("rate(5 weeks)")


@pytest.mark.parametrize(
    ("expr", "cron"),
    [
        ("rate(1 minute)", "* * * * *"),
        ("rate(15 minutes)", "*/15 * * * *"),
        ("rate(1 hour)", "0 * * * *"),
        ("rate(6 hours)", "0 */6 * * *"),
        ("rate(1 day)", "0 0 * * *"),
    ],
)
def test_rate_to_cronjob(expr: str, cron: str) -> None:
    assert parse_schedule(expr).to_cronjob() == cron


def test_rate_without_even_period_is_refused_for_cronjob() -> None:
    with pytest.raises(ScheduleError, match="cannot be expressed"):
        parse_schedule("rate(7 minutes)").to_cronjob()
    with pytest.raises(ScheduleError):
        parse_schedule("rate(2 days)").to_cronjob()


def test_rate_fire_times_follow_anchor() -> None:
    s = parse_schedule("rate(10 minutes)", anchor=datetime(2026, 1, 1, 0, 3, tzinfo=UTC))
    times = s.next_fire_times(datetime(2026, 1, 1, 0, 20, tzinfo=UTC), 2)
    assert times == [datetime(2026, 1, 1, 0, 23, tzinfo=UTC), datetime(2026, 1, 1, 0, 33, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("expr", "cron"),
    [
        ("cron(0 12 * * ? *)", "0 12 * * *"),
        ("cron(15 10 ? * MON-FRI *)", "15 10 * * 1,2,3,4,5"),
        ("cron(0/15 * * * ? *)", "0/15 * * * *"),
        ("cron(0 8 1 JAN,JUL ? *)", "0 8 1 1,7 *"),
        ("cron(0 18 ? * SUN *)", "0 18 * * 0"),
    ],
)
def test_cron_to_cronjob(expr: str, cron: str) -> None:
    assert parse_schedule(expr).to_cronjob() == cron


def test_cron_requires_six_fields_and_one_question_mark() -> None:
    with pytest.raises(ScheduleError, match="6 fields"):
        parse_schedule("cron(0 12 * * ?)")
    with pytest.raises(ScheduleError, match="'\\?'"):
        parse_schedule("cron(0 12 * * * *)")
    with pytest.raises(ScheduleError, match="'\\?'"):
        parse_schedule("cron(0 12 ? * ? *)")
    with pytest.raises(ScheduleError, match="out of range"):
        parse_schedule("cron(60 12 * * ? *)")


@pytest.mark.parametrize(
    "expr",
    [
        "cron(0 10 L * ? *)",
        "cron(0 10 15W * ? *)",
        "cron(0 10 ? * 6#3 *)",
        "cron(0 10 ? * 6L *)",
        "cron(0 10 LW * ? *)",
    ],
)
def test_special_markers_refused_for_cronjob_but_computed(expr: str) -> None:
    s = parse_schedule(expr)
    with pytest.raises(ScheduleError, match="cannot be expressed"):
        s.to_cronjob()
    assert len(s.next_fire_times(datetime(2026, 1, 1, tzinfo=UTC), 3)) == 3


def test_cron_special_fire_times() -> None:
    after = datetime(2026, 1, 1, tzinfo=UTC)
    # last day of month
    assert parse_schedule("cron(0 10 L * ? *)").next_fire_times(after, 2) == [
        datetime(2026, 1, 31, 10, tzinfo=UTC),
        datetime(2026, 2, 28, 10, tzinfo=UTC),
    ]
    # third Friday (6 = FRI) of January 2026 is the 16th
    assert parse_schedule("cron(0 10 ? * 6#3 *)").next_fire_times(after)[0] == datetime(
        2026, 1, 16, 10, tzinfo=UTC
    )
    # 15W: Feb 15 2026 is a Sunday -> Monday 16th
    got = parse_schedule("cron(0 10 15W 2 ? *)").next_fire_times(after)[0]
    assert got == datetime(2026, 2, 16, 10, tzinfo=UTC)
    # last Friday of January 2026 is the 30th
    assert parse_schedule("cron(0 10 ? * 6L *)").next_fire_times(after)[0] == datetime(
        2026, 1, 30, 10, tzinfo=UTC
    )
    # last weekday of May 2026: 31st is Sunday -> Friday 29th
    assert parse_schedule("cron(0 10 LW 5 ? *)").next_fire_times(after)[0] == datetime(
        2026, 5, 29, 10, tzinfo=UTC
    )


def test_cron_year_field_and_active_years() -> None:
    s = parse_schedule("cron(0 0 1 1 ? 2027-2028)")
    assert isinstance(s, CronSchedule)
    assert s.to_cronjob() == "0 0 1 1 *"
    assert not s.active_in_year(2026) and s.active_in_year(2027)
    assert s.next_fire_times(datetime(2026, 6, 1, tzinfo=UTC), 5) == [
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2028, 1, 1, tzinfo=UTC),
    ]


def test_cron_timezone_and_dst() -> None:
    s = parse_schedule("cron(30 2 * * ? *)", timezone="America/New_York")
    # 2026-03-08 02:30 does not exist in New York (spring forward): skipped
    times = s.next_fire_times(datetime(2026, 3, 7, 12, tzinfo=UTC), 2)
    assert times == [datetime(2026, 3, 9, 6, 30, tzinfo=UTC), datetime(2026, 3, 10, 6, 30, tzinfo=UTC)]
    assert s.timezone == "America/New_York"
    with pytest.raises(ScheduleError, match="IANA"):
        parse_schedule("cron(0 1 * * ? *)", timezone="Mars/Olympus")


def test_at_is_one_time_and_not_a_cronjob() -> None:
    s = parse_schedule("at(2030-05-01T12:00:00)", timezone="Europe/Paris")
    assert isinstance(s, AtSchedule)
    assert s.fire_time == datetime(2030, 5, 1, 10, tzinfo=UTC)
    assert s.next_fire_times(datetime(2030, 5, 1, 11, tzinfo=UTC)) == []
    with pytest.raises(ScheduleError, match="one-time"):
        s.to_cronjob()
    with pytest.raises(ScheduleError):
        parse_schedule("at(2030-13-01T12:00:00)")


def test_unknown_form() -> None:
    with pytest.raises(ScheduleError, match="expected cron"):
        parse_schedule("every 5 minutes")


def test_cron_fire_times_plain() -> None:
    s = parse_schedule("cron(0/20 9 ? * MON *)")
    got = s.next_fire_times(datetime(2026, 1, 5, 9, 20, tzinfo=UTC), 3)  # Monday
    assert got == [
        datetime(2026, 1, 5, 9, 40, tzinfo=UTC),
        datetime(2026, 1, 12, 9, 0, tzinfo=UTC),
        datetime(2026, 1, 12, 9, 20, tzinfo=UTC),
    ]
