"""restic's JSON output: throttled progress lines and the closing summaries.

restic's ``--json`` mode prints ``status`` lines (several per second unless told otherwise) and a
final ``summary``. ``JsonStream`` consumes them: it turns each status into the engines' common
progress line (printed at most once per interval) and keeps the summary. The summary lines keep
the wording upstream's end-to-end tests grep for (``processed N files``, ``snapshot ID saved``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pyvolsync.inpod import progress

logger = logging.getLogger(__name__)


def _number(status: Mapping[str, Any], *names: str) -> float:
    for name in names:
        value = status.get(name)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def status_of(message: Mapping[str, Any]) -> progress.Status:
    """Return the progress of a backup, restore or check ``status`` message."""
    remaining = message.get("seconds_remaining")
    return progress.Status(
        fraction=_number(message, "percent_done"),
        bytes_done=_number(message, "bytes_done", "bytes_restored"),
        bytes_total=_number(message, "total_bytes"),
        files_done=_number(message, "files_done", "files_restored"),
        files_total=_number(message, "total_files"),
        seconds_remaining=float(remaining) if isinstance(remaining, int | float) else None,
        seconds_elapsed=_number(message, "seconds_elapsed"),
    )


class JsonStream:
    """Consumes restic's JSON stdout: prints progress now and then, keeps the summary."""

    def __init__(
        self,
        label: str,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._throttle = progress.Throttle(label, interval=interval, clock=clock)
        self.summary: dict[str, Any] | None = None

    def __call__(self, line: str) -> None:
        """Handle one line of restic's stdout."""
        try:
            message = json.loads(line)
        except ValueError:
            if line.strip():
                logger.info("%s", line.rstrip("\n"))
            return
        if not isinstance(message, dict):
            return
        kind = message.get("message_type")
        if kind == "summary":
            self.summary = message
        elif kind == "status":
            self._throttle.offer(status_of(message))


def log_backup_summary(summary: Mapping[str, Any]) -> None:
    """Print the closing lines of a backup from restic's JSON summary."""
    logger.info(
        "Files: %d new, %d changed, %d unmodified",
        _number(summary, "files_new"),
        _number(summary, "files_changed"),
        _number(summary, "files_unmodified"),
    )
    logger.info(
        "Added to the repository: %s (%s stored)",
        progress.format_bytes(_number(summary, "data_added")),
        progress.format_bytes(_number(summary, "data_added_packed")),
    )
    logger.info(
        "processed %d files, %s in %s",
        _number(summary, "total_files_processed"),
        progress.format_bytes(_number(summary, "total_bytes_processed")),
        progress.format_duration(_number(summary, "total_duration")),
    )


def log_restore_summary(summary: Mapping[str, Any], *, seconds: float) -> None:
    """Print the closing line of a restore from restic's JSON summary."""
    logger.info(
        "Restored %d files, %s in %s (%d deleted)",
        _number(summary, "files_restored"),
        progress.format_bytes(_number(summary, "bytes_restored")),
        progress.format_duration(seconds),
        _number(summary, "files_deleted"),
    )
