"""Go duration strings, the format of `status.lastSyncDuration`.

Upstream stores how long a sync took as a metav1.Duration, which is Go's `time.Duration` text:
`1m33.549925697s`, `41.002s`, `1h0m0s`, `250ms`. Dashboards and scripts parse that field, so
pyvolsync writes it in exactly that format and reads both its own and upstream's values.
"""

from __future__ import annotations

import datetime
import re

# Nanoseconds per unit, with every spelling Go's ParseDuration accepts.
UNIT_NANOSECONDS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
SECOND_NANOSECONDS = UNIT_NANOSECONDS["s"]


def format_duration(duration: datetime.timedelta) -> str:
    """Return `duration` as Go's Duration.String does, e.g. 1h2m3.5s, 41.002s, 1.5ms, 0s."""
    microseconds = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    sign = "-" if microseconds < 0 else ""
    nanoseconds = abs(microseconds) * 1_000
    if nanoseconds == 0:
        return "0s"
    if nanoseconds < SECOND_NANOSECONDS:
        return sign + _small(nanoseconds)
    hours, rest = divmod(nanoseconds, UNIT_NANOSECONDS["h"])
    minutes, rest = divmod(rest, UNIT_NANOSECONDS["m"])
    seconds = _decimal(rest, SECOND_NANOSECONDS) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def parse_duration(text: str) -> datetime.timedelta:
    """Return the duration a Go duration string means; raise ValueError naming it if malformed.

    Precision below a microsecond is dropped (a timedelta cannot hold it).
    """
    body = text.removeprefix("-").removeprefix("+")
    if body == "0":
        return datetime.timedelta(0)
    parts = PART.findall(body)
    if not body or "".join(number + unit for number, unit in parts) != body:
        raise ValueError(f"{text!r} is not a Go duration such as 1m30s")
    nanoseconds = sum(_nanoseconds(number, unit) for number, unit in parts)
    duration = datetime.timedelta(microseconds=nanoseconds // 1_000)
    return -duration if text.startswith("-") else duration


def _small(nanoseconds: int) -> str:
    """Return a sub-second duration in the largest unit below a second, as Go does."""
    if nanoseconds < UNIT_NANOSECONDS["us"]:
        return f"{nanoseconds}ns"
    if nanoseconds < UNIT_NANOSECONDS["ms"]:
        return _decimal(nanoseconds, UNIT_NANOSECONDS["us"]) + "\u00b5s"
    return _decimal(nanoseconds, UNIT_NANOSECONDS["ms"]) + "ms"


def _decimal(amount: int, unit: int) -> str:
    """Return amount/unit in decimal without trailing zeros, e.g. 1500/1000 -> 1.5."""
    whole, fraction = divmod(amount, unit)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def _nanoseconds(number: str, unit: str) -> int:
    """Return the nanoseconds of one `<number><unit>` part, exactly (no float rounding)."""
    whole, _, fraction = number.partition(".")
    scale = UNIT_NANOSECONDS[unit]
    fraction_value = int(fraction) * scale // 10 ** len(fraction) if fraction else 0
    return int(whole or "0") * scale + fraction_value
