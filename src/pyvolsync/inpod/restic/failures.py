"""What restic's exit codes and stderr mean, and what a person should do about each failure.

restic documents its exit codes (0, 1, 3, 10, 11, 12, 130; any other code is a failure) and
prints JSON ``error``/``exit_error`` messages on stderr in ``--json`` mode. ``ResticStderr`` reads
those, and stops restic at the first retry message no retry can fix: restic retries a failed
write to the repository for up to 15 minutes even when the cause cannot go away by itself (a
read-only file system, no write permission, a full disk). ``failure`` maps a failed command to a
``MoverError``: by exit code first, then by the few stderr phrases restic has no exit code for.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import re
from typing import Any

from pyvolsync import contract
from pyvolsync.inpod import errors, runner

logger = logging.getLogger(__name__)

KEPT_ERROR_MESSAGES = 200

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
}


def error(kind: contract.ErrorKind, message: str) -> errors.MoverError:
    """Return the error for ``kind`` with restic's remedy appended."""
    return errors.error(kind, message, REMEDIES)


class ResticExit(enum.IntEnum):
    """restic's documented exit codes; any other code is treated as ``FAILURE``."""

    SUCCESS = 0
    FAILURE = 1
    INCOMPLETE = 3
    """backup: some files could not be read, the snapshot was saved without them."""
    REPOSITORY_MISSING = 10
    REPOSITORY_LOCKED = 11
    WRONG_PASSWORD = 12
    INTERRUPTED = 130


def interpret(returncode: int) -> ResticExit:
    """Return the meaning of restic's ``returncode``; unknown codes (and signals) are failures."""
    try:
        return ResticExit(returncode)
    except ValueError:
        return ResticExit.FAILURE


@dataclasses.dataclass(frozen=True)
class ErrorMessage:
    """One JSON ``error`` message from restic's stderr, with the file it is about if any."""

    message: str
    item: str = ""


_RETRY = re.compile(r"returned error, retrying after")
_HOPELESS = re.compile(
    r"read-only file system|permission denied|no space left on device|disk quota exceeded",
    re.IGNORECASE,
)


def hopeless_retry(line: str) -> bool:
    """Return True for a retry message whose cause no retry can remove (e.g. a read-only disk)."""
    return bool(_RETRY.search(line) and _HOPELESS.search(line))


class ResticStderr(runner.StderrReader):
    """restic's stderr: JSON errors (files it could not read), the exit message, plain lines."""

    def __init__(self, *, quiet: bool) -> None:
        super().__init__(quiet=quiet)
        self.errors: list[ErrorMessage] = []
        self.error_count = 0
        self.exit_message = ""

    def handle(self, line: str) -> None:
        """Read one line: a JSON message of restic's, or plain text."""
        document = _json_object(line)
        if document is None:
            super().handle(line)
            return
        kind = document.get("message_type")
        if kind == "exit_error":
            self.exit_message = str(document.get("message", ""))
            self.tail.append(self.exit_message)
        elif kind == "error":
            self._add_error(document)

    def is_hopeless(self, line: str) -> bool:
        """Return True for a retry message whose cause no retry can remove."""
        return hopeless_retry(line)

    def explanation(self) -> str:
        """Return restic's exit message (with the first error it counted), else the last lines
        of stderr."""
        said = self.exit_message.strip()
        if said and self.errors:
            first = self.errors[0]
            where = f"{first.item}: " if first.item else ""
            return f"{said} (the first: {where}{first.message})"
        return said or super().explanation()

    def _add_error(self, document: dict[str, Any]) -> None:
        nested = document.get("error")
        message = nested.get("message") if isinstance(nested, dict) else document.get("message")
        error = ErrorMessage(message=str(message or "").strip(), item=str(document.get("item", "")))
        self.error_count += 1
        if len(self.errors) < KEPT_ERROR_MESSAGES:
            self.errors.append(error)
        self.tail.append(error.message)
        logger.warning("restic: %s", error.message)


def _json_object(line: str) -> dict[str, Any] | None:
    """Return ``line`` parsed as a JSON object, or None if it is not one."""
    if not line.startswith("{"):
        return None
    try:
        document = json.loads(line)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


Completed = runner.Completed[ResticStderr]
Runner = runner.Runner[ResticStderr]


def exit_of(completed: Completed) -> ResticExit:
    """Return the interpreted exit code of a finished restic command."""
    return interpret(completed.returncode)


def new_runner(
    environ: dict[str, str], *, global_options: tuple[str, ...], termination_grace: float
) -> Runner:
    """Return the runner of restic commands."""
    return runner.Runner(
        executable="restic",
        reader=lambda quiet: ResticStderr(quiet=quiet),
        environ=environ,
        global_options=global_options,
        termination_grace=termination_grace,
        missing="the mover image must ship restic 0.17 or newer",
    )


_KIND_BY_EXIT = {
    ResticExit.REPOSITORY_MISSING: contract.ErrorKind.REPOSITORY_MISSING,
    ResticExit.REPOSITORY_LOCKED: contract.ErrorKind.REPOSITORY_LOCKED,
    ResticExit.WRONG_PASSWORD: contract.ErrorKind.WRONG_PASSWORD,
}
_DAMAGED = re.compile(
    r"ciphertext verification failed|checksum mismatch|invalid data returned"
    r"|pack file .* is damaged|blob .* not found in index",
    re.IGNORECASE,
)
"""restic's words for data in the repository that is gone or does not decrypt."""
_READ_ONLY = re.compile(
    r"read-only file system"
    r"|(?:Save\(<[^>]*>\) (?:returned error|failed)|unable to create lock).*permission denied",
    re.IGNORECASE,
)

_KIND_BY_WORDS = (
    (errors.NO_SPACE, contract.ErrorKind.NO_SPACE),
    (_DAMAGED, contract.ErrorKind.REPOSITORY_DAMAGED),
    (_READ_ONLY, contract.ErrorKind.REPOSITORY_READ_ONLY),
    (errors.NETWORK, contract.ErrorKind.REPOSITORY_UNREACHABLE),
)
"""What restic's words say a failure was, the first match winning."""


def failure_kind(completed: Completed) -> contract.ErrorKind:
    """Given a failed restic command, return what kind of failure it was."""
    if completed.timed_out:
        return contract.ErrorKind.REPOSITORY_UNREACHABLE
    kind = _KIND_BY_EXIT.get(exit_of(completed))
    if kind is not None:
        return kind
    stderr = completed.stderr
    counted = (error.message for error in stderr.errors[:KEPT_ERROR_MESSAGES])
    text = "\n".join((*stderr.tail, stderr.exit_message, *counted))
    for pattern, found in _KIND_BY_WORDS:
        if pattern.search(text):
            return found
    return contract.ErrorKind.RESTIC_FAILED


def failure(completed: Completed, *, action: str) -> errors.MoverError:
    """Given a failed restic command and what it was doing, return the error to raise."""
    return error(failure_kind(completed), f"{action} failed: {completed.reason}")
