"""Choosing the snapshot to restore: exact host and path, RESTORE_AS_OF, SELECT_PREVIOUS, ties."""

import datetime
import json

import pytest

from pyvolsync import contract
from pyvolsync.inpod import times
from pyvolsync.inpod.restic import selection


def _listing(*rows: tuple[str, str, str, list[str]]) -> str:
    return json.dumps(
        [
            {"id": ident, "time": time, "hostname": host, "paths": paths}
            for ident, time, host, paths in rows
        ]
    )


SNAPSHOTS = selection.parse_snapshots(
    _listing(
        ("aaaa0001", "2024-05-01T10:00:00.123456789Z", "volsync", ["/data"]),
        ("aaaa0002", "2024-05-02T10:00:00+02:00", "volsync", ["/data"]),
        ("aaaa0003", "2024-05-03T10:00:00.5Z", "volsync", ["/data"]),
        ("other-host", "2024-05-04T10:00:00Z", "laptop", ["/data"]),
        ("other-path", "2024-05-04T10:00:00Z", "volsync", ["/mnt/data"]),
        ("two-paths", "2024-05-04T10:00:00Z", "volsync", ["/data", "/etc"]),
        ("prefix", "2024-05-04T10:00:00Z", "volsync", ["/data2"]),
    )
)


def _select(*, as_of: str | None = None, previous: int = 0) -> str | None:
    chosen = selection.select(
        SNAPSHOTS,
        data_dir="/data",
        as_of=times.parse_rfc3339(as_of) if as_of else None,
        previous=previous,
    )
    return chosen.id if chosen else None


def test_newest_snapshot_of_exactly_the_data_dir_and_host_is_chosen() -> None:
    assert _select() == "aaaa0003"


def test_previous_skips_older_snapshots() -> None:
    assert _select(previous=1) == "aaaa0002"
    assert _select(previous=2) == "aaaa0001"
    assert _select(previous=3) is None


def test_restore_as_of_picks_the_newest_at_or_before_it() -> None:
    assert _select(as_of="2024-05-02T12:00:00Z") == "aaaa0002"
    assert _select(as_of="2024-05-02T08:00:00Z") == "aaaa0002"  # 10:00+02:00 is 08:00Z
    assert _select(as_of="2024-05-02T07:59:59Z") == "aaaa0001"
    assert _select(as_of="2024-04-30T00:00:00Z") is None


def test_restore_as_of_compares_whole_seconds_like_the_snapshot_table() -> None:
    assert _select(as_of="2024-05-03T10:00:00Z") == "aaaa0003"
    assert _select(as_of="2024-05-01T10:00:00Z") == "aaaa0001"


def test_restore_as_of_then_previous() -> None:
    assert _select(as_of="2024-05-02T12:00:00Z", previous=1) == "aaaa0001"


def test_snapshots_in_the_same_second_are_ordered_by_time_then_id() -> None:
    same_second = selection.parse_snapshots(
        _listing(
            ("bbbb", "2024-05-01T10:00:00.2Z", "volsync", ["/data"]),
            ("aaaa", "2024-05-01T10:00:00.2Z", "volsync", ["/data"]),
            ("cccc", "2024-05-01T10:00:00.1Z", "volsync", ["/data"]),
        )
    )

    eligible = selection.eligible(same_second, data_dir="/data")

    assert [snapshot.id for snapshot in eligible] == ["bbbb", "aaaa", "cccc"]


@pytest.mark.parametrize(
    "text",
    ["2024-05-01", "2024-05-01T10:00:00", "yesterday", "2024-05-01T10:00Z", "1714557600"],
)
def test_times_that_are_not_rfc3339_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        times.parse_rfc3339(text)


def test_rfc3339_offsets_and_nanoseconds_are_understood() -> None:
    parsed = times.parse_rfc3339("2024-05-01T12:00:00.123456789+02:00")

    assert parsed == datetime.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=datetime.UTC)


def test_the_catalog_reads_times_in_any_offset_as_utc_seconds_and_keeps_the_counters() -> None:
    listing = (
        '[{"time": "2026-11-25T11:00:00.123456789+01:00", "id": "abcdef0123", '
        '"hostname": "volsync", "paths": ["/data"], "tags": ["pyvolsync-source=media/app"], '
        '"summary": {"total_bytes_processed": 5, "total_files_processed": 2, "data_added": 3}}, '
        '{"time": "2026-11-24T10:00:00Z", "id": "0123456789", "hostname": "volsync", '
        '"paths": ["/data"]}]'
    )
    entries = selection.catalog(listing)
    assert [(entry.time, entry.identity) for entry in entries] == [
        ("2026-11-24T10:00:00Z", ""),
        ("2026-11-25T10:00:00Z", "media/app"),
    ], "in the order they were taken"
    assert (entries[1].size, entries[1].files, entries[1].added) == (5, 2, 3)
    assert (entries[0].size, entries[0].files, entries[0].added) == (None, None, None)
    catalog = contract.parse_catalog(contract.catalog_line(entries))
    assert catalog is not None
    assert [entry.id for entry in catalog] == ["0123456789", "abcdef0123"], "oldest first"


def test_snapshots_of_the_same_second_keep_the_order_they_were_taken_in() -> None:
    listing = (
        '[{"time": "2026-11-25T10:00:00.900Z", "id": "0000aaaa", "hostname": "volsync", '
        '"paths": ["/data"]}, {"time": "2026-11-25T10:00:00.100Z", "id": "ffffbbbb", '
        '"hostname": "volsync", "paths": ["/data"]}]'
    )

    entries = selection.catalog(listing)

    assert [entry.id for entry in entries] == ["ffffbbbb", "0000aaaa"]
    assert [entry.id for entry in contract.newest_first(entries)] == ["0000aaaa", "ffffbbbb"]
    line = contract.parse_catalog(contract.catalog_line(entries)) or []
    assert [entry.id for entry in line] == ["ffffbbbb", "0000aaaa"], "the CLI sees the same order"
