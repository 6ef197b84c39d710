"""When a scheduled ReplicationSource or ReplicationDestination syncs next.

Upstream VolSync fires every source whose cron matches at the same instant, so a cluster full of
hourly ``0 * * * *`` sources stampedes its storage at minute 0. Here each object may get a stable
offset inside a jitter window, derived from its namespace and name: the same object always lands
on the same second, different objects spread evenly, and ``status.nextSyncTime`` shows the real
time. Manual triggers never pass through this module, so they are never delayed.

Cron expressions are evaluated in a configured time zone (UTC by default), or in the zone a
schedule names itself (``CRON_TZ=Europe/Berlin 0 3 * * *``), never in whatever local zone the
operator's process happens to have; daylight-saving changes are handled as cron does.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib

import croniter

from pyvolsync.api import zones

UTC = datetime.UTC
CRON_FIELD_COUNT = 5
CLOCK_SHIFT = datetime.timedelta(hours=3)
"""More than any daylight-saving change moves a clock (one hour; two at most, in history)."""
STEADY_SPAN = datetime.timedelta(days=2)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Schedule:
    """A cron expression with the zone it is read in and the jitter window applied to it."""

    expression: str
    timezone: datetime.tzinfo = UTC
    jitter_window: datetime.timedelta = datetime.timedelta(0)


def timezone_named(name: str) -> datetime.tzinfo:
    """Given an IANA zone name such as ``Europe/Berlin`` (or ``UTC``), return that zone.

    Raise ValueError saying what is wrong when the zone is unknown.
    """
    return zones.zone_named(name)


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
    the first nominal time after ``after - offset``. A ``CRON_TZ=`` prefix in the expression
    names the zone it is read in, over ``schedule.timezone``.
    """
    offset = jitter_offset(key, schedule.jitter_window)
    named, expression = zones.split_zone(schedule.expression)
    zone = zones.zone_named(named) if named else schedule.timezone
    nominal = next_nominal(expression, zone, after=after - offset)
    return (nominal + offset).astimezone(UTC)


def next_nominal(
    expression: str, zone: datetime.tzinfo, *, after: datetime.datetime
) -> datetime.datetime:
    """Return the first time after ``after`` that the cron ``expression`` names on the clocks of
    ``zone``, the way cron treats daylight-saving changes:

    - a time the clock skips (02:30 when 02:00 jumps to 03:00) fires once, at the jump;
    - a time the clock shows twice (01:30 when 02:00 goes back to 01:00) fires once, the first
      time, unless the hour field is a wildcard (``*``, ``*/2``): such a schedule follows the
      clock and fires both times, so an hourly backup keeps every real hour.

    Near a clock change, wall-clock times are listed from a little before ``after``, since a
    repeated hour puts later instants at earlier clock times, and the earliest instant after
    ``after`` wins; elsewhere the first one is it.
    """
    if zone is UTC:
        found: datetime.datetime = croniter.croniter(expression, after.astimezone(UTC)).get_next(
            datetime.datetime
        )
        return found
    follows_clock = _hour_field(expression).startswith("*")
    steady_now = _steady(zone, after - CLOCK_SHIFT, after + CLOCK_SHIFT)
    clock = croniter.croniter(
        expression, _clock(after, zone) - (datetime.timedelta(0) if steady_now else CLOCK_SHIFT)
    )
    best: datetime.datetime | None = None
    while True:
        wall: datetime.datetime = clock.get_next(datetime.datetime)
        if best is not None and wall > _clock(best, zone) + CLOCK_SHIFT:
            return best
        for instant in _instants(wall, zone, both_times=follows_clock):
            if instant > after and (best is None or instant < best):
                best = instant
        if best is not None and _steady(zone, after - CLOCK_SHIFT, best + CLOCK_SHIFT):
            return best


def _steady(zone: datetime.tzinfo, start: datetime.datetime, end: datetime.datetime) -> bool:
    """Whether the clocks of ``zone`` keep one offset from ``start`` to ``end``: the same at both
    ends of at most two days (clock changes are months apart), so nothing earlier can follow."""
    if end - start > STEADY_SPAN:
        return False
    return start.astimezone(zone).utcoffset() == end.astimezone(zone).utcoffset()


def _clock(instant: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    """Return what the clocks of ``zone`` show at ``instant`` (a naive datetime); through UTC,
    since converting a datetime to its own zone returns it unchanged, a skipped time too."""
    return instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _hour_field(expression: str) -> str:
    fields = expression.split()
    if len(fields) == CRON_FIELD_COUNT:
        return fields[1]
    return "*" if expression.strip() == "@hourly" else "0"


def _instants(
    wall: datetime.datetime, zone: datetime.tzinfo, *, both_times: bool
) -> list[datetime.datetime]:
    """Return the instants at which the clocks of ``zone`` show ``wall``: the jump for a
    skipped time, the first (or both) of a repeated one."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if _clock(first, zone) != wall:
        return [_jump(zone, before=second, after=first)]
    # In UTC: aware datetimes of one zone compare by their clock time, blind to the fold.
    if first.utcoffset() != second.utcoffset():
        return (
            [first.astimezone(UTC), second.astimezone(UTC)]
            if both_times
            else [first.astimezone(UTC)]
        )
    return [first.astimezone(UTC)]


def _jump(
    zone: datetime.tzinfo, *, before: datetime.datetime, after: datetime.datetime
) -> datetime.datetime:
    """Return the instant the clocks of ``zone`` jump forward, between the instants ``before``
    (still on the old offset) and ``after`` (on the new one), to the second."""
    low, high = int(before.timestamp()), int(after.timestamp())
    target = datetime.datetime.fromtimestamp(high, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.datetime.fromtimestamp(high, UTC)


def missed_deadline(
    schedule: Schedule, *, last_sync: datetime.datetime, now: datetime.datetime, key: str
) -> bool:
    """Return True when a whole interval passed without a sync, as upstream's out-of-sync rule.

    Upstream says a source is out of sync when the fire time after the next one (counted from
    the last completed sync) is already in the past.
    """
    following = next_fire_time(schedule, after=last_sync, key=key)
    return next_fire_time(schedule, after=following, key=key) < now
