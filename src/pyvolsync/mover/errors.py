"""Why the mover failed, as a small tree of exceptions that carry a contract ``ErrorKind``.

::

    MoverError(kind, message)
    ├── RetriableError       the same Job may succeed later (locked, unreachable, restic failed)
    │   └── CancelledError   SIGTERM stopped restic
    └── PermanentError       a person must act (wrong password, missing repository, bad config)
        └── ConfigurationError

Every message says what to do next (``REMEDIES``). The runner turns a failed restic command into
one of these (``runner.failure``).
"""

from __future__ import annotations

from pyvolsync import contract

REMEDIES = {
    contract.ErrorKind.REPOSITORY_LOCKED: (
        "Another restic process holds a lock on the repository, or a killed one on another "
        "host left a lock that is not stale yet (restic counts a lock as stale after 30 "
        "minutes; the mover removes stale locks by itself). Wait for the other process to "
        "finish, or run the unlock operation (spec.restic.unlock) once the lock is stale."
    ),
    contract.ErrorKind.WRONG_PASSWORD: (
        "RESTIC_PASSWORD does not open this repository: check the RESTIC_PASSWORD key of the "
        "repository Secret."
    ),
    contract.ErrorKind.REPOSITORY_MISSING: (
        "There is no restic repository at RESTIC_REPOSITORY: check the RESTIC_REPOSITORY key of "
        "the repository Secret (a restore never creates a repository)."
    ),
    contract.ErrorKind.REPOSITORY_UNREACHABLE: (
        "Check RESTIC_REPOSITORY, the backend credentials in the repository Secret and the "
        "network path to the repository."
    ),
    contract.ErrorKind.REPOSITORY_DAMAGED: (
        "Read restic's troubleshooting guide, then repair the repository "
        "(restic repair index / restic repair packs / restic repair snapshots)."
    ),
    contract.ErrorKind.REPOSITORY_READ_ONLY: (
        "The repository cannot be written (a read-only file system or no write permission): "
        "check the repository volume's mount and the permissions of the repository directory."
    ),
    contract.ErrorKind.NO_SPACE: (
        "A volume is full: free space or grow the cache volume (RESTIC_CACHE_DIR), the "
        "destination volume or the repository's storage."
    ),
    contract.ErrorKind.RESTIC_FAILED: "See restic's messages above; the Job is retried.",
    contract.ErrorKind.CANCELLED: "The mover was asked to stop (SIGTERM); the Job is retried.",
    contract.ErrorKind.INVALID_CONFIGURATION: "Fix the setting named above.",
}


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


def error(kind: contract.ErrorKind, message: str) -> MoverError:
    """Return the error of the right branch for ``kind``, with the remedy appended."""
    text = f"{message}. {REMEDIES[kind]}"
    if kind is contract.ErrorKind.CANCELLED:
        return CancelledError(text)
    if kind is contract.ErrorKind.INVALID_CONFIGURATION:
        return ConfigurationError(text)
    return (RetriableError if kind.retriable else PermanentError)(kind, text)
