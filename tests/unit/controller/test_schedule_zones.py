"""Schedules in a time zone across daylight-saving changes, with the clock given (fast, pure).

What a user expects of ``CRON_TZ=Europe/Berlin 0 3 * * *``: the backup runs at 03:00 on the
clocks of Berlin all year, 23 or 25 hours apart on the days the clocks change; a time the clock
skips fires once at the jump instead of being lost; a time the clock shows twice fires once,
while an hourly schedule keeps firing every real hour. The wiring (status.nextSyncTime on the
real cluster) is in tests/integration/reconcile/test_sources.py.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest

from pyvolsync.api import common, validation
from pyvolsync.controller import schedule

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def fires(
    expression: str, after: str, count: int, zone: datetime.tzinfo = datetime.UTC
) -> list[str]:
    """Return the next ``count`` fire times (UTC, ISO) of ``expression`` after ``after``."""
    rule = schedule.Schedule(expression=expression, timezone=zone)
    found, moment = [], at(after)
    for _ in range(count):
        moment = schedule.next_fire_time(rule, after=moment, key="ns/app")
        found.append(moment.strftime("%Y-%m-%dT%H:%MZ"))
    return found


def test_a_daily_backup_stays_at_three_on_the_local_clock_across_both_changes() -> None:
    daily = "CRON_TZ=Europe/Berlin 0 3 * * *"

    # 2026-03-29: 02:00 CET becomes 03:00 CEST; 2026-10-25: 03:00 CEST becomes 02:00 CET.
    assert fires(daily, "2026-03-27T12:00Z", 3) == [
        "2026-03-28T02:00Z", "2026-03-29T01:00Z", "2026-03-30T01:00Z",
    ]  # fmt: skip
    assert fires(daily, "2026-10-23T12:00Z", 3) == [
        "2026-10-24T01:00Z", "2026-10-25T02:00Z", "2026-10-26T02:00Z",
    ]  # fmt: skip


def test_a_time_the_clock_skips_fires_once_at_the_jump() -> None:
    assert fires("CRON_TZ=Europe/Berlin 30 2 * * *", "2026-03-28T12:00Z", 2) == [
        "2026-03-29T01:00Z",  # 03:00 CEST: the moment 02:00 jumped to 03:00
        "2026-03-30T00:30Z",  # 02:30 CEST
    ]


def test_a_time_the_clock_shows_twice_fires_once() -> None:
    assert fires("CRON_TZ=Europe/Berlin 30 2 * * *", "2026-10-24T12:00Z", 2) == [
        "2026-10-25T00:30Z",  # 02:30 CEST, the first time
        "2026-10-26T01:30Z",  # the next day: not 01:30Z, the repeated 02:30 CET
    ]


def test_an_hourly_schedule_fires_every_real_hour_through_both_changes() -> None:
    hourly = "CRON_TZ=Europe/Berlin 0 * * * *"

    assert fires(hourly, "2026-03-28T23:30Z", 4) == [
        "2026-03-29T00:00Z", "2026-03-29T01:00Z", "2026-03-29T02:00Z", "2026-03-29T03:00Z",
    ]  # fmt: skip
    assert fires(hourly, "2026-10-24T23:30Z", 4) == [
        "2026-10-25T00:00Z", "2026-10-25T01:00Z", "2026-10-25T02:00Z", "2026-10-25T03:00Z",
    ]  # fmt: skip
    # New York goes back at 06:00Z (02:00 EDT becomes 01:00 EST): every 15 real minutes still.
    assert fires("CRON_TZ=America/New_York */15 * * * *", "2026-11-01T05:50Z", 5) == [
        "2026-11-01T06:00Z", "2026-11-01T06:15Z", "2026-11-01T06:30Z", "2026-11-01T06:45Z",
        "2026-11-01T07:00Z",
    ]  # fmt: skip


@pytest.mark.parametrize("expression", ["0 3 * * *", "30 2 * * *", "15 1 * * *"])
def test_a_year_of_daily_backups_loses_no_day_and_repeats_none(expression: str) -> None:
    found = fires(f"CRON_TZ=Europe/Berlin {expression}", "2025-12-31T23:00Z", 365)

    days = [at(text).astimezone(BERLIN).date() for text in found]
    assert days == [datetime.date(2026, 1, 1) + datetime.timedelta(days=n) for n in range(365)]


def test_the_schedule_s_own_zone_wins_over_the_operator_s() -> None:
    assert fires("CRON_TZ=Asia/Kolkata 0 3 * * *", "2026-06-01T00:00Z", 1, zone=BERLIN) == [
        "2026-06-01T21:30Z"
    ]
    assert fires("TZ=UTC 0 3 * * *", "2026-06-01T00:00Z", 1, zone=BERLIN) == ["2026-06-01T03:00Z"]
    assert fires("0 3 * * *", "2026-06-01T00:00Z", 1, zone=BERLIN) == ["2026-06-01T01:00Z"]


def test_upstream_s_crd_pattern_accepts_a_zone_prefix() -> None:
    assert re.search(common.SCHEDULE_PATTERN, "CRON_TZ=Europe/Berlin 0 3 * * *")


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        ("CRON_TZ=Mars/Base 0 3 * * *", "unknown time zone 'Mars/Base'"),
        ("CRON_TZ= 0 3 * * *", "unknown time zone ''"),
        ("CRON_TZ=Europe/Berlin 61 3 * * *", "not a valid cron expression"),
        ("CRON_TZ=Europe/Berlin 0 3 * *", "this one has 4"),
    ],
)
def test_a_bad_zone_or_cron_part_is_named(expression: str, said: str) -> None:
    problem = validation.schedule_problem(expression)
    assert problem is not None and said in problem
    assert validation.schedule_problem("CRON_TZ=Europe/Berlin 0 3 * * *") is None
