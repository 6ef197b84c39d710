"""Kubernetes timestamps are read the same way everywhere, and a malformed one reads as unset."""

from __future__ import annotations

import datetime

import pytest

from pyvolsync.api import timestamps


def test_a_utc_timestamp_becomes_an_aware_datetime() -> None:
    parsed = timestamps.parse_time("2026-11-26T01:30:05Z")

    assert parsed == datetime.datetime(2026, 11, 26, 1, 30, 5, tzinfo=datetime.UTC)


def test_an_offset_and_fractions_are_kept() -> None:
    parsed = timestamps.parse_time("2026-11-26T02:30:05.250000+01:00")

    assert parsed == datetime.datetime(2026, 11, 26, 1, 30, 5, 250000, tzinfo=datetime.UTC)


@pytest.mark.parametrize("text", [None, "", "yesterday", "2026-13-01T00:00:00Z"])
def test_an_empty_or_malformed_timestamp_reads_as_unset(text: str | None) -> None:
    assert timestamps.parse_time(text) is None
