"""Why the mover failed, as a small tree of exceptions that carry a contract ``ErrorKind``.

::

    MoverError(kind, message)
    ├── RetriableError       the same Job may succeed later (locked, unreachable, engine failed)
    │   └── CancelledError   SIGTERM stopped the engine
    └── PermanentError       a person must act (wrong password, missing repository, bad config)
        └── ConfigurationError

Every message says what to do next. What to do depends on the engine (restic's lock, kopia's
maintenance owner), so each engine passes its own remedies to ``error``; the two that do not
(a bad setting, SIGTERM) are here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyvolsync import contract

COMMON_REMEDIES = {
    contract.ErrorKind.CANCELLED: "The mover was asked to stop (SIGTERM); the Job is retried.",
    contract.ErrorKind.INVALID_CONFIGURATION: "Fix the setting named above.",
}


NO_SPACE = re.compile(r"no space left on device|disk quota exceeded", re.IGNORECASE)
"""What Go programs (restic, kopia) print when a volume is full."""
NETWORK = re.compile(
    r"connection refused|no such host|dial tcp|i/o timeout|network is unreachable"
    r"|connection reset|tls handshake|x509:|context deadline exceeded|server misbehaving"
    r"|timeout awaiting|no route to host",
    re.IGNORECASE,
)
"""What Go programs print when the repository's server cannot be reached."""


class MoverError(Exception):
    """A failure with a contract error kind and a message that says what to do."""

    def __init__(self, kind: contract.ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class RetriableError(MoverError):
    """Running the same Job again later may succeed."""


class PermanentError(MoverError):
    """Nothing changes until a person fixes something."""


class CancelledError(RetriableError):
    """SIGTERM stopped the mover."""

    def __init__(self, message: str = "cancelled by SIGTERM") -> None:
        super().__init__(contract.ErrorKind.CANCELLED, message)


class ConfigurationError(PermanentError):
    """An environment variable or argument is wrong; ``message`` names it."""

    def __init__(self, message: str) -> None:
        super().__init__(contract.ErrorKind.INVALID_CONFIGURATION, message)


def error(
    kind: contract.ErrorKind, message: str, remedies: Mapping[contract.ErrorKind, str]
) -> MoverError:
    """Return the error of the right branch for ``kind``, with the engine's remedy appended."""
    remedy = remedies.get(kind) or COMMON_REMEDIES.get(kind, "")
    text = f"{message}. {remedy}" if remedy else message
    if kind is contract.ErrorKind.CANCELLED:
        return CancelledError(text)
    if kind is contract.ErrorKind.INVALID_CONFIGURATION:
        return ConfigurationError(text)
    return (RetriableError if kind.retriable else PermanentError)(kind, text)
