"""The schedule decides when syncs start: cron in a chosen zone plus a stable per-object jitter."""

import datetime

import pytest

from pyvolsync.controller import schedule

UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_hourly_without_jitter_fires_on_the_hour() -> None:
    hourly = schedule.Schedule(expression="0 * * * *")
    assert schedule.next_fire_time(hourly, after=at("2026-03-01T10:15:00"), key="a/b") == at(
        "2026-03-01T11:00:00"
    )


def test_a_fire_time_is_strictly_after_the_reference() -> None:
    hourly = schedule.Schedule(expression="@hourly")
    assert schedule.next_fire_time(hourly, after=at("2026-03-01T11:00:00"), key="a/b") == at(
        "2026-03-01T12:00:00"
    )


def test_names_of_days_and_months_are_understood() -> None:
    mondays = schedule.Schedule(expression="30 2 * JAN MON")
    assert schedule.next_fire_time(mondays, after=at("2026-01-01T00:00:00"), key="a/b") == at(
        "2026-01-05T02:30:00"
    )


def test_the_zone_decides_which_midnight() -> None:
    berlin = schedule.Schedule(
        expression="0 0 * * *", timezone=schedule.timezone_named("Europe/Berlin")
    )
    # Midnight in Berlin in winter is 23:00 UTC the evening before.
    assert schedule.next_fire_time(berlin, after=at("2026-01-10T12:00:00"), key="a/b") == at(
        "2026-01-10T23:00:00"
    )


def test_an_unknown_zone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        schedule.timezone_named("Mars/Base")


def test_jitter_is_stable_per_object_and_inside_the_window() -> None:
    window = datetime.timedelta(minutes=10)
    first = schedule.jitter_offset("apps/photos", window)
    assert first == schedule.jitter_offset("apps/photos", window)
    assert datetime.timedelta(0) <= first < window


def test_jitter_spreads_many_objects_over_the_window() -> None:
    window = datetime.timedelta(minutes=10)
    offsets = [schedule.jitter_offset(f"ns{n % 20}/app{n}", window) for n in range(1000)]
    per_minute = [0] * 10
    for offset in offsets:
        per_minute[int(offset.total_seconds() // 60)] += 1
    # 1,000 objects over 10 one-minute buckets: each bucket holds roughly a tenth.
    assert min(per_minute) > 60
    assert max(per_minute) < 140


def test_jittered_fire_time_is_the_nominal_time_plus_the_offset() -> None:
    hourly = schedule.Schedule(expression="0 * * * *", jitter_window=datetime.timedelta(minutes=10))
    offset = schedule.jitter_offset("apps/photos", hourly.jitter_window)
    fire = schedule.next_fire_time(hourly, after=at("2026-03-01T10:30:00"), key="apps/photos")
    assert fire == at("2026-03-01T11:00:00") + offset


def test_a_time_inside_the_current_offset_still_fires_this_hour() -> None:
    hourly = schedule.Schedule(expression="0 * * * *", jitter_window=datetime.timedelta(minutes=10))
    offset = schedule.jitter_offset("apps/photos", hourly.jitter_window)
    just_before = at("2026-03-01T11:00:00") + offset - datetime.timedelta(seconds=1)
    fire = schedule.next_fire_time(hourly, after=just_before, key="apps/photos")
    assert fire == at("2026-03-01T11:00:00") + offset


def test_missed_deadline_after_two_intervals() -> None:
    every_ten = schedule.Schedule(expression="*/10 * * * *")
    last = at("2026-03-01T10:00:00")
    assert not schedule.missed_deadline(
        every_ten, last_sync=last, now=at("2026-03-01T10:15:00"), key="k"
    )
    assert schedule.missed_deadline(
        every_ten, last_sync=last, now=at("2026-03-01T10:31:00"), key="k"
    )
