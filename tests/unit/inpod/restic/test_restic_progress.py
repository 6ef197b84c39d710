"""Progress lines: throttled, with percent, bytes, files and ETA; summaries upstream can grep."""

import json
import logging
import re

import pytest

from pyvolsync.inpod import progress
from pyvolsync.inpod.restic import progress as restic_progress


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _status(percent: float) -> str:
    return json.dumps(
        {
            "message_type": "status",
            "percent_done": percent,
            "total_files": 100,
            "files_done": int(percent * 100),
            "total_bytes": 4 * 1024**3,
            "bytes_done": int(percent * 4 * 1024**3),
            "seconds_remaining": 125,
        }
    )


def test_progress_is_printed_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    stream = restic_progress.JsonStream("backup", interval=10, clock=clock)

    with caplog.at_level(logging.INFO):
        for second in range(0, 35):
            clock.now = float(second)
            stream(_status(second / 40))

    assert len(caplog.messages) == 3
    assert caplog.messages[0] == (
        "backup: 25.0% done, 1.0 GiB of 4.0 GiB, 25 of 100 files, ETA 2:05"
    )


def test_the_summary_is_kept_and_not_printed(caplog: pytest.LogCaptureFixture) -> None:
    stream = restic_progress.JsonStream("backup", interval=10)

    with caplog.at_level(logging.INFO):
        stream('{"message_type": "summary", "snapshot_id": "abc"}\n')

    assert stream.summary == {"message_type": "summary", "snapshot_id": "abc"}
    assert caplog.messages == []


def test_eta_is_estimated_when_restic_gives_none() -> None:
    line = progress.format_status(
        "restore",
        restic_progress.status_of(
            {"percent_done": 0.25, "seconds_elapsed": 30, "total_bytes": 2048}
        ),
    )

    assert line.endswith("ETA 1:30")


def test_backup_summary_has_the_lines_upstream_tests_grep(caplog: pytest.LogCaptureFixture) -> None:
    summary = {
        "files_new": 10,
        "files_changed": 1,
        "files_unmodified": 1,
        "total_files_processed": 12,
        "total_bytes_processed": int(3.4 * 1024**2),
        "total_duration": 2.2,
    }

    with caplog.at_level(logging.INFO):
        restic_progress.log_backup_summary(summary)

    assert "processed 12 files, 3.4 MiB in 0:02" in caplog.messages
    assert any(re.search(r"processed .* files", message) for message in caplog.messages)


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**4, "5.0 TiB")]
)
def test_bytes_use_binary_units(count: int, text: str) -> None:
    assert progress.format_bytes(count) == text


@pytest.mark.parametrize(("seconds", "text"), [(2.2, "0:02"), (125, "2:05"), (3725, "1:02:05")])
def test_durations_read_like_restic(seconds: float, text: str) -> None:
    assert progress.format_duration(seconds) == text
