"""Keep secret values out of everything the mover prints or reports.

The mover's environment holds the repository password, backend keys and sometimes credentials
inside the repository URL (``rest:https://user:password@host/``). restic may echo any of them in
an error. Every log line and the result document go through one ``Masker`` built from the
environment, so a secret can only leak if it is not in the environment at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

MASK = "***"

_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|SAS|CREDENTIAL|AUTH", re.IGNORECASE)
_NOT_SECRET_NAME = re.compile(r"_FILE$|_COMMAND$|^RESTIC_REPOSITORY$")
_URL_CREDENTIALS = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^@\s/]+)@")


def url_passwords(text: str) -> list[str]:
    """Return the passwords written into URLs in ``text`` (``scheme://user:password@``)."""
    return [match.group("password") for match in _URL_CREDENTIALS.finditer(text)]


def is_secret_name(name: str) -> bool:
    """Return True for an environment variable whose value must never be shown."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Return the values in ``environ`` that must never be shown."""
    values = [value for name, value in environ.items() if is_secret_name(name)]
    for value in environ.values():
        values.extend(url_passwords(value))
    return values


SHORT_SECRET = 8
"""Secrets shorter than this are masked only as whole words, so that a password such as ``x``
does not turn every ``x`` of the log into ``***``."""


def _pattern(secret: str) -> re.Pattern[str]:
    escaped = re.escape(secret)
    if len(secret) < SHORT_SECRET:
        escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
    return re.compile(escaped)


class Masker:
    """Replace known secret values, and any URL password, with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        ordered = sorted({value for value in secrets if value}, key=len, reverse=True)
        self._patterns = [_pattern(secret) for secret in ordered]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Masker:
        """Return a masker for the secrets found in ``environ``."""
        return cls(secret_values(environ))

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret replaced."""
        for pattern in self._patterns:
            text = pattern.sub(MASK, text)
        return _URL_CREDENTIALS.sub(rf"\g<prefix>{MASK}@", text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks the fully formatted message of every record."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self._masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its masked text; never drop a record."""
        record.msg = self._masker(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self._masker(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
