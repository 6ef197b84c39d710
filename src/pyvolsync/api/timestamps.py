"""Kubernetes timestamps (RFC 3339, `2026-11-26T01:30:00Z`) read into aware datetimes.

Object metadata, status fields and Leases all carry them; the operator, the planners and the CLI
read them the same way through this one function.
"""

from __future__ import annotations

import datetime


def parse_time(text: str | None) -> datetime.datetime | None:
    """Return the time of an RFC 3339 string as an aware datetime, or None when it is empty or
    malformed (a field someone else wrote wrongly reads as unset rather than stopping a reconcile).
    """
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
