"""A schedule's own time zone: ``CRON_TZ=Europe/Berlin 0 3 * * *``.

Upstream VolSync reads ``trigger.schedule`` with a cron library that takes a ``CRON_TZ=`` (or
``TZ=``) prefix naming an IANA zone, and its CRD pattern lets such a schedule through; so a
per-source zone needs no new field, and a cluster that goes back to upstream keeps reading the
schedule in the same zone. The prefix wins over the operator's ``--schedule-timezone``.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo

ZONE_PREFIX = re.compile(r"^(?:CRON_TZ|TZ)=(\S*)\s+")


def split_zone(expression: str) -> tuple[str | None, str]:
    """Return the zone a schedule names (None when it names none) and the cron part."""
    text = expression.strip()
    found = ZONE_PREFIX.match(text)
    if found is None:
        return None, text
    return found.group(1), text[found.end() :].strip()


def zone_named(name: str) -> datetime.tzinfo:
    """Given an IANA zone name such as ``Europe/Berlin`` (or ``UTC``), return that zone; raise
    ValueError saying what is wrong."""
    if name.upper() == "UTC":
        return datetime.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or "
            "America/New_York"
        ) from error
