"""kopia's progress lines become the common progress line; its sizes and durations are read."""

from __future__ import annotations

import pytest

from pyvolsync import contract
from pyvolsync.inpod import progress, times
from pyvolsync.inpod.kopia import progress as kopia_progress
from pyvolsync.inpod.kopia import selection


def test_a_backup_line_with_an_estimate() -> None:
    line = (" / 1 hashing, 3 hashed (80 MB), 2 cached (60.1 MB), uploaded 77.5 MB, "
            "estimated 200 MB (70.1%) 1m3s left")  # fmt: skip

    counters = kopia_progress.parse_backup(line)

    assert counters is not None
    assert (counters.files_hashed, counters.files_cached) == (3, 2)
    printed = progress.format_status("backup", counters.status)
    assert printed == "backup: 70.1% done, 133.6 MiB of 190.7 MiB, 5 of 6 files, ETA 1:03"
    assert contract.parse_progress(printed) is not None


def test_a_restore_line() -> None:
    status = kopia_progress.parse_restore(
        "Processed 5 (137.7 MB) of 6 (140.1 MB) 12 MB/s (98.3%) remaining 2.5s.   "
    )

    assert status is not None
    assert (status.files_done, status.files_total, status.seconds_remaining) == (5, 6, 2.5)


@pytest.mark.parametrize(("text", "count"), [("0 B", 0), ("1.5 KB", 1500), ("2 GiB", 2 * 1024**3)])
def test_sizes(text: str, count: int) -> None:
    assert kopia_progress.parse_size(text) == count


@pytest.mark.parametrize(
    ("text", "seconds"), [("1h2m3.5s", 3723.5), ("250ms", 0.25), ("soon", None)]
)
def test_go_durations(text: str, seconds: float | None) -> None:
    assert kopia_progress.parse_duration(text) == seconds


def test_selection_compares_times_not_text() -> None:
    listing = (
        '[{"id": "a", "startTime": "2024-05-01T10:00:00Z"},'
        ' {"id": "b", "startTime": "2024-05-01T12:00:00.5Z"}]'
    )
    snapshots = selection.parse_snapshots(listing)

    chosen = selection.select(
        snapshots,
        as_of=times.parse_rfc3339("2024-05-01T13:30:00+02:00"),
        previous=0,
    )
    assert chosen is not None and chosen.id == "a"
