"""Progress lines every engine prints the same way, so the operator reads one format.

``backup: 42.0% done, 3.4 MiB of 8.0 MiB, 12 of 100 files, ETA 0:05`` is what
``contract.parse_progress`` understands; the operator shows the newest one while a mover runs.
Each engine turns its own progress output into a ``Status`` and hands it to a ``Throttle``, which
prints at most one line per ``PYVOLSYNC_PROGRESS_INTERVAL``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

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


@dataclasses.dataclass(frozen=True, kw_only=True)
class Status:
    """How far an operation is: a fraction of its bytes, and its files."""

    fraction: float
    bytes_done: float
    bytes_total: float
    files_done: float
    files_total: float
    seconds_remaining: float | None = None
    seconds_elapsed: float = 0.0

    def eta(self) -> str:
        """Return the time left as ``m:ss``, estimated from the elapsed time if not given."""
        remaining = self.seconds_remaining
        if remaining is None:
            if not 0 < self.fraction < 1 or not self.seconds_elapsed:
                return "unknown"
            remaining = self.seconds_elapsed / self.fraction - self.seconds_elapsed
        return format_duration(remaining)


def format_status(label: str, status: Status) -> str:
    """Return the progress line of ``status`` for the operation ``label``."""
    return (
        f"{label}: {status.fraction * 100:.1f}% done, "
        f"{format_bytes(status.bytes_done)} of {format_bytes(status.bytes_total)}, "
        f"{status.files_done:.0f} of {status.files_total:.0f} files, ETA {status.eta()}"
    )


class Throttle:
    """Prints a progress line for ``label`` at most once per ``interval`` seconds."""

    def __init__(
        self, label: str, *, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._label = label
        self._interval = interval
        self._clock = clock
        self._last_print = clock()

    def offer(self, status: Status) -> None:
        """Print ``status`` if the interval has passed since the last line."""
        now = self._clock()
        if now - self._last_print < self._interval:
            return
        self._last_print = now
        logger.info("%s", format_status(self._label, status))
