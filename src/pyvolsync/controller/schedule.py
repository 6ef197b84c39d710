"""When a scheduled ReplicationSource or ReplicationDestination syncs next.

Upstream VolSync fires every source whose cron matches at the same instant, so a cluster full of
hourly ``0 * * * *`` sources stampedes its storage at minute 0. Here each object may get a stable
offset inside a jitter window, derived from its namespace and name: the same object always lands
on the same second, different objects spread evenly, and ``status.nextSyncTime`` shows the real
time. Manual triggers never pass through this module, so they are never delayed.

Cron expressions are evaluated in a configured time zone (UTC by default), not in whatever local
zone the operator's process happens to have.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import zoneinfo

import croniter

UTC = datetime.UTC


@dataclasses.dataclass(frozen=True, kw_only=True)
class Schedule:
    """A cron expression with the zone it is read in and the jitter window applied to it."""

    expression: str
    timezone: datetime.tzinfo = UTC
    jitter_window: datetime.timedelta = datetime.timedelta(0)


def timezone_named(name: str) -> datetime.tzinfo:
    """Given an IANA zone name such as ``Europe/Berlin`` (or ``UTC``), return that zone.

    Raise ValueError naming the setting when the zone is unknown.
    """
    if name.upper() == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r} for the schedule time zone setting"
        ) from error


def jitter_offset(key: str, window: datetime.timedelta) -> datetime.timedelta:
    """Return the stable offset in ``[0, window)`` for the object identified by ``key``.

    The key is usually ``namespace/name``; a hash of it spreads objects evenly over the window
    with one-second resolution, and the same key always maps to the same offset.
    """
    seconds = int(window.total_seconds())
    if seconds <= 0:
        return datetime.timedelta(0)
    digest = hashlib.sha256(key.encode()).digest()
    return datetime.timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


def next_fire_time(schedule: Schedule, *, after: datetime.datetime, key: str) -> datetime.datetime:
    """Return the first jittered fire time strictly after ``after`` (an aware datetime), in UTC.

    Each nominal cron time ``t`` becomes ``t + offset``; the first such time after ``after`` is
    found by asking cron for its first time after ``after - offset``.
    """
    offset = jitter_offset(key, schedule.jitter_window)
    start = (after - offset).astimezone(schedule.timezone)
    iterator = croniter.croniter(schedule.expression, start)
    nominal: datetime.datetime = iterator.get_next(datetime.datetime)
    return (nominal + offset).astimezone(UTC)


def missed_deadline(
    schedule: Schedule, *, last_sync: datetime.datetime, now: datetime.datetime, key: str
) -> bool:
    """Return True when a whole interval passed without a sync, as upstream's out-of-sync rule.

    Upstream says a source is out of sync when the fire time after the next one (counted from
    the last completed sync) is already in the past.
    """
    following = next_fire_time(schedule, after=last_sync, key=key)
    return next_fire_time(schedule, after=following, key=key) < now
