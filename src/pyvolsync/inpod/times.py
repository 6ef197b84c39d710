"""RFC 3339 times, as every engine's restore-as-of setting and snapshot listing write them.

Both restic and kopia print nanoseconds, which ``datetime`` cannot hold, and users write any UTC
offset; ``parse_rfc3339`` takes both and returns an aware time, so times are compared as times
and never as text.
"""

from __future__ import annotations

import datetime
import re

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_rfc3339(text: str) -> datetime.datetime:
    """Return the aware datetime of an RFC 3339 time; raise ValueError if ``text`` is not one."""
    if not _RFC3339.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2024-05-01T12:00:00Z")
    normalized = text.strip().upper().replace("Z", "+00:00")
    whole, _, rest = normalized.partition(".")
    if rest:
        digits = re.match(r"[0-9]+", rest)
        fraction = digits.group(0) if digits else ""
        normalized = f"{whole}.{fraction[:6].ljust(6, '0')}{rest[len(fraction) :]}"
    return datetime.datetime.fromisoformat(normalized)


def utc_seconds(moment: datetime.datetime) -> str:
    """Return ``moment`` in UTC at whole seconds, as ``2026-12-03T04:05:06Z``."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
