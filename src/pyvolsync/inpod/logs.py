"""The mover's log lines: plain text for people (default) or JSON lines for log pipelines.

Both go to stdout, which is the pod's log, and both pass through the masking filter first, so a
secret cannot reach either format. Plain lines keep upstream's shape (warnings and errors carry a
``WARNING:`` / ``ERROR:`` prefix) because upstream's tests and users grep them.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

from pyvolsync.inpod import masking

FORMATS = ("plain", "json")


def _with_traceback(record: logging.LogRecord) -> str:
    """Return the record's message, followed by its (already masked) traceback if any."""
    message = record.getMessage()
    return f"{message}\n{record.exc_text}" if record.exc_text else message


class PlainFormatter(logging.Formatter):
    """The message alone; warnings and errors prefixed with their level."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the line for ``record``."""
        message = _with_traceback(record)
        return message if record.levelno < logging.WARNING else f"{record.levelname}: {message}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, RFC 3339), level, logger and message."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line for ``record``."""
        moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        return json.dumps(
            {
                "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": _with_traceback(record),
            },
            ensure_ascii=False,
        )


def configure(masker: masking.Masker, *, log_format: str = "plain") -> None:
    """Send the ``pyvolsync`` loggers to stdout in ``log_format``, secrets masked."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    handler.addFilter(masking.MaskingFilter(masker))
    root = logging.getLogger("pyvolsync")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    if log_format not in FORMATS:
        root.warning(
            "unknown log format %r; using plain text (choose from %s)", log_format, FORMATS
        )
