"""Human output for long restic runs: throttled progress lines and the closing summaries.

restic's ``--json`` mode prints ``status`` lines (several per second unless told otherwise) and a
final ``summary``. ``JsonStream`` consumes them: it prints at most one progress line per interval
with percent, bytes, files and ETA, and keeps the summary. The summary lines keep the wording
upstream's end-to-end tests grep for (``processed N files``, ``snapshot ID saved``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(count: float) -> str:
    """Return ``count`` bytes in binary units, e.g. ``3.4 MiB``."""
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """Return ``seconds`` as ``m:ss`` or ``h:mm:ss``, like restic."""
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds_left:02d}"
    return f"{minutes}:{seconds_left:02d}"


def _number(status: Mapping[str, Any], *names: str) -> float:
    for name in names:
        value = status.get(name)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def _eta(status: Mapping[str, Any], fraction: float) -> str:
    remaining = status.get("seconds_remaining")
    if not isinstance(remaining, int | float):
        elapsed = _number(status, "seconds_elapsed")
        if not 0 < fraction < 1 or not elapsed:
            return "unknown"
        remaining = elapsed / fraction - elapsed
    return format_duration(remaining)


def format_status(label: str, status: Mapping[str, Any]) -> str:
    """Return one progress line for a backup or restore ``status`` message."""
    fraction = _number(status, "percent_done")
    done = _number(status, "bytes_done", "bytes_restored")
    files = _number(status, "files_done", "files_restored")
    return (
        f"{label}: {fraction * 100:.1f}% done, "
        f"{format_bytes(done)} of {format_bytes(_number(status, 'total_bytes'))}, "
        f"{files:.0f} of {_number(status, 'total_files'):.0f} files, "
        f"ETA {_eta(status, fraction)}"
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
        self._label = label
        self._interval = interval
        self._clock = clock
        self._last_print = clock()
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
            self._status(message)

    def _status(self, status: Mapping[str, Any]) -> None:
        now = self._clock()
        if now - self._last_print < self._interval:
            return
        self._last_print = now
        logger.info("%s", format_status(self._label, status))


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
        format_bytes(_number(summary, "data_added")),
        format_bytes(_number(summary, "data_added_packed")),
    )
    logger.info(
        "processed %d files, %s in %s",
        _number(summary, "total_files_processed"),
        format_bytes(_number(summary, "total_bytes_processed")),
        format_duration(_number(summary, "total_duration")),
    )


def log_restore_summary(summary: Mapping[str, Any], *, seconds: float) -> None:
    """Print the closing line of a restore from restic's JSON summary."""
    logger.info(
        "Restored %d files, %s in %s (%d deleted)",
        _number(summary, "files_restored"),
        format_bytes(_number(summary, "bytes_restored")),
        format_duration(seconds),
        _number(summary, "files_deleted"),
    )
