"""status.lastSyncDuration is written and read in Go's duration format, as upstream writes it."""

from __future__ import annotations

import datetime

import pytest

from pyvolsync.api import durations


def span(**parts: float) -> datetime.timedelta:
    return datetime.timedelta(**parts)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (span(), "0s"),
        (span(seconds=41, milliseconds=2), "41.002s"),
        (span(minutes=1, seconds=33, microseconds=549926), "1m33.549926s"),
        (span(minutes=2, seconds=10), "2m10s"),
        (span(hours=1), "1h0m0s"),
        (span(hours=26, minutes=3, seconds=4), "26h3m4s"),
        (span(milliseconds=1.5), "1.5ms"),
        (span(microseconds=250), "250\u00b5s"),
        (span(seconds=-90), "-1m30s"),
    ],
)
def test_format_matches_go(duration: datetime.timedelta, text: str) -> None:
    assert durations.format_duration(duration) == text
    assert durations.parse_duration(text) == duration


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("1m33.549925697s", span(minutes=1, seconds=33, microseconds=549925)),
        ("0", span()),
        ("1h30m", span(hours=1, minutes=30)),
        ("1.5h", span(minutes=90)),
        (".5s", span(milliseconds=500)),
        ("300us", span(microseconds=300)),
        ("300\u03bcs", span(microseconds=300)),
        ("+2s", span(seconds=2)),
    ],
)
def test_parse_reads_every_go_spelling(text: str, duration: datetime.timedelta) -> None:
    assert durations.parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "5", "1d", "1 m", "s", "1m-2s", "abc"])
def test_parse_refuses_what_go_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a Go duration"):
        durations.parse_duration(text)
