"""The contract between the operator and the in-pod mover, in one place both sides import.

The operator starts a mover Job with environment variables and reads back what happened from the
pod's termination message; the mover reads the same variables and writes that message. Keeping the
names, the operations, the result document and the exit codes here means neither side can drift
from the other. The environment names are upstream VolSync's, so Jobs and repositories stay
interchangeable. This module imports only the standard library: the mover image depends on it.

The result document is JSON, capped at ``TERMINATION_MESSAGE_LIMIT`` bytes (Kubernetes truncates a
termination message beyond 4 KiB). ``MoverResult.to_json`` shortens warnings first, then messages,
so the document always stays valid JSON; ``MoverResult.from_json`` ignores fields it does not know,
so an older operator can read a newer mover's result.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import posixpath
import re
import tarfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

SCHEMA_VERSION = 1
TERMINATION_MESSAGE_LIMIT = 4096
DEFAULT_RESULT_PATH = "/dev/termination-log"
RESTIC_HOST = "volsync"
"""The ``--host`` of every snapshot, as upstream, so repositories stay interchangeable."""
SOURCE_TAG_PREFIX = "pyvolsync-source="
"""Tag of a snapshot taken for a ReplicationSource: this prefix then ``<namespace>/<name>``."""
PINNED = "pyvolsync-pinned"
"""A pinned snapshot's restic tag (``forget --keep-tag`` keeps it) or kopia pin (kopia's
retention keeps every pinned snapshot): ``pyvolsync pin`` adds it, ``pyvolsync unpin`` removes
it."""
GUARD_PIN = "pyvolsync-guard"
"""kopia: the pin the anomaly guard puts on the source's newest snapshot for the time of a
backup (kopia applies retention inside ``snapshot create``, before the guard can judge the new
snapshot); removed after it, or replaced by ``PINNED`` when the new snapshot is suspicious."""


def snapshot_path(text: str) -> str:
    """Return a path inside a snapshot as both sides write it: ``/a/b`` (absolute, normalised,
    no trailing slash); raise ValueError for one with ``..``, which would leave the volume."""
    if any(part == ".." for part in text.split("/")):
        raise ValueError(f"{text!r} leaves the volume ('..' is not allowed)")
    return posixpath.normpath("/" + text.strip("/")) if text.strip("/") else "/"


class EnvVar(enum.StrEnum):
    """Environment variables the mover reads (upstream's names, then pyvolsync's own)."""

    DATA_DIR = "DATA_DIR"
    RESTIC_REPOSITORY = "RESTIC_REPOSITORY"
    RESTIC_PASSWORD = "RESTIC_PASSWORD"
    RESTIC_CACHE_DIR = "RESTIC_CACHE_DIR"
    FORGET_OPTIONS = "FORGET_OPTIONS"
    RESTORE_AS_OF = "RESTORE_AS_OF"
    SELECT_PREVIOUS = "SELECT_PREVIOUS"
    RESTORE_OPTIONS = "RESTORE_OPTIONS"
    PRIVILEGED_MOVER = "PRIVILEGED_MOVER"
    CUSTOM_CA = "CUSTOM_CA"
    CHECK_READ_DATA_SUBSET = "CHECK_READ_DATA_SUBSET"
    SOURCE = "PYVOLSYNC_SOURCE"
    """``<namespace>/<name>`` of the ReplicationSource: its snapshots carry ``SOURCE_TAG_PREFIX``
    followed by it, and its retention only ever forgets those (and untagged ones)."""
    RESULT_PATH = "PYVOLSYNC_RESULT_PATH"
    PROGRESS_INTERVAL = "PYVOLSYNC_PROGRESS_INTERVAL"
    PROBE_TIMEOUT = "PYVOLSYNC_PROBE_TIMEOUT"
    LOCK_WAIT = "PYVOLSYNC_LOCK_WAIT"
    """Seconds a restic command waits for a lock another running restic holds (default 120)."""
    TERMINATION_GRACE = "PYVOLSYNC_TERMINATION_GRACE"
    LOG_FORMAT = "PYVOLSYNC_LOG_FORMAT"
    SNAPSHOT = "PYVOLSYNC_SNAPSHOT"
    """The snapshot ID (or a unique prefix of it, 4 characters at least) that ``pin``, ``unpin``
    and ``forget`` act on, and that the browsing operations read (unset: the newest, or the
    newest at or before ``PYVOLSYNC_AS_OF``)."""
    AS_OF = "PYVOLSYNC_AS_OF"
    """Browsing: read the newest snapshot taken at or before this RFC 3339 time."""
    PATHS = "PYVOLSYNC_PATHS"
    """Browsing: a JSON list of paths inside the snapshot (``/`` is the volume's root);
    ``verify``: the paths that must exist in ``DATA_DIR`` after the restore."""
    PATTERN = "PYVOLSYNC_PATTERN"
    """``find``: a shell pattern matched against each path and each name (``*.db``)."""
    OTHER_SNAPSHOT = "PYVOLSYNC_OTHER_SNAPSHOT"
    """``diff``: the snapshot compared with ``PYVOLSYNC_SNAPSHOT``."""
    PIN_BACKUP = "PYVOLSYNC_PIN_BACKUP"
    """``true``: the backup's snapshot is pinned as it is taken (the safety copy of an in-place
    restore)."""
    ABSENT_REMOVED = "PYVOLSYNC_ABSENT_REMOVED"
    """``true``: ``restore-paths`` removes a path the snapshot lacks instead of refusing (the
    undo of an in-place restore that created it)."""
    FROM_FOLDER = "PYVOLSYNC_FROM_FOLDER"
    """``restore-paths``: read the paths from this mounted folder (a volume made from a
    VolumeSnapshot: an in-place restore's safety copy) instead of the repository."""
    GUARD = "PYVOLSYNC_GUARD"
    """The anomaly guard's thresholds (``Guard.to_text``); unset or empty: no guard."""
    RETENTION_HELD = "PYVOLSYNC_RETENTION_HELD"
    """Why retention is held (an anomaly nobody acknowledged yet): the backup forgets nothing."""
    DRY_RUN = "PYVOLSYNC_DRY_RUN"
    """``true``: ``restore-paths`` checks the snapshot and the paths and prints what it would
    restore, touching nothing."""
    VERIFY_SAMPLE = "PYVOLSYNC_VERIFY_SAMPLE"
    """``verify``: how many restored files have their SHA-256 compared with their content in the
    repository (default 20; 0: none), chosen pseudo-randomly but the same for the same
    snapshot."""
    VERIFY_MIN_BYTES = "PYVOLSYNC_VERIFY_MIN_BYTES"
    """``verify``: the least bytes the restored files must hold together (default 0: any)."""


class KopiaEnvVar(enum.StrEnum):
    """Environment variables the kopia engine reads: the perfectra1n/volsync fork's names, then
    pyvolsync's own (``KOPIA_MAINTENANCE_*``). ``DATA_DIR``, ``CUSTOM_CA``, ``PRIVILEGED_MOVER``
    and the ``PYVOLSYNC_*`` knobs are shared with restic (``EnvVar``)."""

    REPOSITORY = "KOPIA_REPOSITORY"
    PASSWORD = "KOPIA_PASSWORD"
    CACHE_DIR = "KOPIA_CACHE_DIR"
    OVERRIDE_USERNAME = "KOPIA_OVERRIDE_USERNAME"
    OVERRIDE_HOSTNAME = "KOPIA_OVERRIDE_HOSTNAME"
    OVERRIDE_MAINTENANCE_USERNAME = "KOPIA_OVERRIDE_MAINTENANCE_USERNAME"
    OVERRIDE_MAINTENANCE_HOSTNAME = "KOPIA_OVERRIDE_MAINTENANCE_HOSTNAME"
    SOURCE_PATH_OVERRIDE = "KOPIA_SOURCE_PATH_OVERRIDE"
    COMPRESSION = "KOPIA_COMPRESSION"
    PARALLELISM = "KOPIA_PARALLELISM"
    RETAIN_HOURLY = "KOPIA_RETAIN_HOURLY"
    RETAIN_DAILY = "KOPIA_RETAIN_DAILY"
    RETAIN_WEEKLY = "KOPIA_RETAIN_WEEKLY"
    RETAIN_MONTHLY = "KOPIA_RETAIN_MONTHLY"
    RETAIN_YEARLY = "KOPIA_RETAIN_YEARLY"
    RETAIN_LATEST = "KOPIA_RETAIN_LATEST"
    RESTORE_AS_OF = "KOPIA_RESTORE_AS_OF"
    PREVIOUS = "KOPIA_PREVIOUS"
    SHALLOW = "KOPIA_SHALLOW"
    ENABLE_FILE_DELETION = "KOPIA_ENABLE_FILE_DELETION"
    BEFORE_SNAPSHOT = "KOPIA_BEFORE_SNAPSHOT"
    AFTER_SNAPSHOT = "KOPIA_AFTER_SNAPSHOT"
    METADATA_CACHE_SIZE_LIMIT_MB = "KOPIA_METADATA_CACHE_SIZE_LIMIT_MB"
    CONTENT_CACHE_SIZE_LIMIT_MB = "KOPIA_CONTENT_CACHE_SIZE_LIMIT_MB"
    ADDITIONAL_ARGS = "KOPIA_ADDITIONAL_ARGS"
    """Extra ``kopia snapshot create`` arguments: a JSON list of strings (pyvolsync's operator),
    or the fork's ``|VOLSYNC_ARG_SEP|``-joined text (split on that whole separator)."""
    MAINTENANCE_TAKEOVER = "KOPIA_MAINTENANCE_TAKEOVER"
    """``true``: the maintenance operation makes its identity the repository's maintenance owner
    when another one is; otherwise it fails with ``maintenance-not-owner``."""
    MAINTENANCE_TAKEOVER_FROM = "KOPIA_MAINTENANCE_TAKEOVER_FROM"
    """Comma-separated ``user@host`` owners maintenance takes over from without being told:
    the operator lists the identities of the ReplicationSources that write the repository (the
    backup that created a repository became its owner, and sources never run maintenance)."""
    MAINTENANCE_OWNER = "KOPIA_MAINTENANCE_OWNER"
    """``user@host`` that owns maintenance: a backup that creates the repository hands ownership
    to it (kopia makes the creator the owner)."""
    S3_BUCKET = "KOPIA_S3_BUCKET"
    S3_ENDPOINT = "KOPIA_S3_ENDPOINT"
    S3_DISABLE_TLS = "KOPIA_S3_DISABLE_TLS"
    B2_BUCKET = "KOPIA_B2_BUCKET"
    AZURE_CONTAINER = "KOPIA_AZURE_CONTAINER"
    AZURE_STORAGE_ACCOUNT = "KOPIA_AZURE_STORAGE_ACCOUNT"
    AZURE_STORAGE_KEY = "KOPIA_AZURE_STORAGE_KEY"
    GCS_BUCKET = "KOPIA_GCS_BUCKET"


KOPIA_MANDATORY_ENV = (
    EnvVar.DATA_DIR,
    KopiaEnvVar.REPOSITORY,
    KopiaEnvVar.PASSWORD,
    KopiaEnvVar.CACHE_DIR,
)


MANDATORY_ENV = (
    EnvVar.DATA_DIR,
    EnvVar.RESTIC_REPOSITORY,
    EnvVar.RESTIC_PASSWORD,
    EnvVar.RESTIC_CACHE_DIR,
)

KEEP_COUNT_FLAGS = (
    "--keep-last",
    "--keep-hourly",
    "--keep-daily",
    "--keep-weekly",
    "--keep-monthly",
    "--keep-yearly",
)
"""``FORGET_OPTIONS`` flags that take a count of snapshots."""

KEEP_DURATION_FLAGS = (
    "--keep-within",
    "--keep-within-hourly",
    "--keep-within-daily",
    "--keep-within-weekly",
    "--keep-within-monthly",
    "--keep-within-yearly",
)
"""``FORGET_OPTIONS`` flags that take a restic duration such as ``2y5m7d3h``."""


class Engine(enum.StrEnum):
    """The backup program a mover drives: the first argument of ``pyvolsync-mover``."""

    RESTIC = "restic"
    KOPIA = "kopia"


class Operation(enum.StrEnum):
    """What the mover is asked to do, given as command-line arguments in this order."""

    UNLOCK = "unlock"
    BACKUP = "backup"
    PRUNE = "prune"
    RESTORE = "restore"
    VERIFY = "verify"
    """After ``restore`` (a restore drill): check ``DATA_DIR`` against the snapshot restored, its
    recorded files and bytes, a sample of content hashes, ``PYVOLSYNC_PATHS`` and
    ``PYVOLSYNC_VERIFY_MIN_BYTES``."""
    CHECK = "check"
    MAINTENANCE = "maintenance"
    """kopia only: full maintenance (garbage collection, compaction) as the repository's owner."""
    SNAPSHOTS = "snapshots"
    """Read-only: print the catalog of the mover's snapshots as one line (``catalog_line``)."""
    PIN = "pin"
    """Pin the snapshot ``PYVOLSYNC_SNAPSHOT`` names (``PINNED``); print its catalog entry."""
    UNPIN = "unpin"
    """Remove the snapshot's pins; print its catalog entry."""
    FORGET = "forget"
    """Forget the one snapshot ``PYVOLSYNC_SNAPSHOT`` names (refused while it is pinned); print
    its catalog entry as it was. Its data is freed by the next prune (kopia: maintenance)."""
    LS = "ls"
    """Read-only: print the entries of the first of ``PYVOLSYNC_PATHS`` (a tree line)."""
    CAT = "cat"
    """Read-only: stream the content of the file ``PYVOLSYNC_PATHS`` names (stream lines)."""
    DOWNLOAD = "download"
    """Read-only: stream each of ``PYVOLSYNC_PATHS`` as a tar archive (stream lines)."""
    FIND = "find"
    """Read-only: print the entries matching ``PYVOLSYNC_PATTERN`` in every snapshot."""
    DIFF = "diff"
    """Read-only: print what changed from ``PYVOLSYNC_SNAPSHOT`` to ``PYVOLSYNC_OTHER_SNAPSHOT``."""
    RESTORE_PATHS = "restore-paths"
    """Make each of ``PYVOLSYNC_PATHS`` in ``DATA_DIR`` exactly what the snapshot holds (other
    files untouched); print the entries restored (a tree line)."""
    REMOVE_PATHS = "remove-paths"
    """Remove each of ``PYVOLSYNC_PATHS`` from ``DATA_DIR`` (undoing a restore into a volume that
    was empty)."""


class Outcome(enum.StrEnum):
    """How an operation, or the whole run, ended."""

    SUCCEEDED = "succeeded"
    SUCCEEDED_WITH_WARNINGS = "succeeded-with-warnings"
    SOURCE_EMPTY = "source-empty"
    NO_ELIGIBLE_SNAPSHOT = "no-eligible-snapshot"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        """Return True unless the outcome is a failure."""
        return self is not Outcome.FAILED


class ErrorKind(enum.StrEnum):
    """Why an operation failed; the operator turns it into a condition reason and a retry policy."""

    REPOSITORY_LOCKED = "repository-locked"
    WRONG_PASSWORD = "wrong-password"
    REPOSITORY_MISSING = "repository-missing"
    REPOSITORY_UNREACHABLE = "repository-unreachable"
    REPOSITORY_DAMAGED = "repository-damaged"
    REPOSITORY_READ_ONLY = "repository-read-only"
    NO_SPACE = "no-space"
    INVALID_CONFIGURATION = "invalid-configuration"
    RESTIC_FAILED = "restic-failed"
    KOPIA_FAILED = "kopia-failed"
    MAINTENANCE_NOT_OWNER = "maintenance-not-owner"
    """kopia: another user@host owns the repository's maintenance."""
    ACTION_FAILED = "action-failed"
    """kopia: the before-snapshot action failed (or timed out); no snapshot was taken."""
    VERIFY_FAILED = "verify-failed"
    """``verify``: the restored tree is not what the snapshot holds (counts, bytes, a sampled
    file's content), a required path is missing, it is too small, or there was no snapshot."""
    CANCELLED = "cancelled"

    @property
    def retriable(self) -> bool:
        """Return True when running the same Job again later may succeed without a user's fix."""
        return self in _RETRIABLE_KINDS

    @property
    def exit_code(self) -> ExitCode:
        """Return the mover's process exit code for a run that failed with this kind."""
        return _EXIT_CODE_BY_KIND.get(self, ExitCode.FAILED)


_RETRIABLE_KINDS = frozenset(
    {
        ErrorKind.REPOSITORY_LOCKED,
        ErrorKind.REPOSITORY_UNREACHABLE,
        ErrorKind.RESTIC_FAILED,
        ErrorKind.KOPIA_FAILED,
        ErrorKind.ACTION_FAILED,
        ErrorKind.CANCELLED,
    }
)


class ExitCode(enum.IntEnum):
    """The mover's process exit codes (the result document carries the details)."""

    OK = 0
    """Every operation ended well, including source-empty and no-eligible-snapshot."""
    FAILED = 1
    """restic or kopia failed, or kopia's before-snapshot action."""
    INVALID_CONFIGURATION = 2
    """A bad environment variable or argument; nothing was run."""
    REPOSITORY = 3
    """The repository is locked or unreachable: trying again later may work (as upstream's 3)."""
    NOT_RETRIABLE = 4
    """The repository is damaged or cannot be written, a volume is full, (kopia) another
    identity owns maintenance, or a restore did not verify: running the same Job again cannot
    help."""
    REPOSITORY_MISSING = 10
    """Nothing at RESTIC_REPOSITORY / KOPIA_REPOSITORY (restic's own code); retrying cannot help."""
    WRONG_PASSWORD = 12
    """The password does not open the repository (restic's own code); retrying cannot help."""
    CANCELLED = 143
    """SIGTERM: restic was stopped and given time to release its lock."""


_EXIT_CODE_BY_KIND = {
    ErrorKind.INVALID_CONFIGURATION: ExitCode.INVALID_CONFIGURATION,
    ErrorKind.REPOSITORY_LOCKED: ExitCode.REPOSITORY,
    ErrorKind.WRONG_PASSWORD: ExitCode.WRONG_PASSWORD,
    ErrorKind.REPOSITORY_MISSING: ExitCode.REPOSITORY_MISSING,
    ErrorKind.REPOSITORY_UNREACHABLE: ExitCode.REPOSITORY,
    ErrorKind.REPOSITORY_DAMAGED: ExitCode.NOT_RETRIABLE,
    ErrorKind.REPOSITORY_READ_ONLY: ExitCode.NOT_RETRIABLE,
    ErrorKind.NO_SPACE: ExitCode.NOT_RETRIABLE,
    ErrorKind.MAINTENANCE_NOT_OWNER: ExitCode.NOT_RETRIABLE,
    ErrorKind.VERIFY_FAILED: ExitCode.NOT_RETRIABLE,
    ErrorKind.CANCELLED: ExitCode.CANCELLED,
}


class ResultDocumentError(ValueError):
    """A termination message that is not a mover result document."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Transfer:
    """The snapshot a backup saved, a restore read or a verify checked, and the counters (a
    verify's ``files_restored``/``bytes_restored``: what it found in ``DATA_DIR``); zero if not
    run."""

    snapshot_id: str = ""
    files_new: int = 0
    files_changed: int = 0
    files_unmodified: int = 0
    bytes_added: int = 0
    bytes_processed: int = 0
    files_restored: int = 0
    bytes_restored: int = 0
    snapshots_found: int = 0
    """For a restore: how many snapshots of this volume (host and path) the repository holds,
    before ``RESTORE_AS_OF``/``SELECT_PREVIOUS``; with no eligible one, 0 means a new app."""
    snapshots_kept: int = 0
    """For a backup: the source's snapshots the repository keeps after retention (restic: its
    tagged and untagged ones of host ``volsync`` and the same path; kopia: its identity's)."""
    snapshots_pinned: int = 0
    """For a backup: how many of those are pinned."""
    oldest_snapshot: str = ""
    """For a backup: when the oldest of them was taken (UTC, whole seconds); "" when the mover
    could not list them (or is older than this field)."""
    newest_snapshot: str = ""
    """For a backup: when the newest of them was taken."""
    suspicious: str = ""
    """For a backup: why the anomaly guard found its snapshot suspicious ("" when it did not)."""
    last_good: str = ""
    """For a suspicious backup: the ID of the source's previous snapshot, pinned by the guard."""
    files_sampled: int = 0
    """For a verify: how many restored files had their content compared with the snapshot's."""
    verified: str = ""
    """For a verify that passed: what was found as the snapshot records it, one line ("" when
    the restore was not verified)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperationResult(Transfer):
    """What one operation did."""

    operation: Operation
    outcome: Outcome
    error_kind: ErrorKind | None = None
    message: str = ""
    duration_seconds: float = 0.0
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoverResult(Transfer):
    """The termination message of a mover run: overall outcome plus one entry per operation.

    The counters and ``snapshot_id`` at the top are the backup's (or the restore's) so the
    operator need not search ``operations``; ``warnings`` collects every operation's warnings.
    """

    outcome: Outcome
    error_kind: ErrorKind | None = None
    message: str = ""
    restic_version: str = ""
    """restic's version on a restic run ("" on any other engine's), as before ``engine``."""
    engine: str = ""
    """The engine that ran (``contract.Engine``); "" from a mover older than the field."""
    engine_version: str = ""
    started_at: str = ""
    duration_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    operations: tuple[OperationResult, ...] = ()
    schema_version: int = SCHEMA_VERSION

    @property
    def exit_code(self) -> ExitCode:
        """Return the process exit code that goes with this result."""
        if self.outcome.ok:
            return ExitCode.OK
        return self.error_kind.exit_code if self.error_kind else ExitCode.FAILED

    def redacted(self, mask: Callable[[str], str]) -> MoverResult:
        """Return a copy whose free texts (messages, warnings) went through ``mask``."""
        operations = tuple(
            dataclasses.replace(
                item, message=mask(item.message), warnings=tuple(map(mask, item.warnings))
            )
            for item in self.operations
        )
        return dataclasses.replace(
            self,
            message=mask(self.message),
            warnings=tuple(map(mask, self.warnings)),
            operations=operations,
        )

    def to_json(self, *, limit: int = TERMINATION_MESSAGE_LIMIT) -> str:
        """Return the document as JSON of at most ``limit`` UTF-8 bytes, shortening texts to fit."""
        return _fit(_result_to_dict(self), limit=limit)

    @classmethod
    def from_json(cls, text: str | bytes) -> MoverResult:
        """Parse a termination message; raise ResultDocumentError if it is not a result document.

        Unknown fields are ignored and malformed optional fields fall back to their defaults, so a
        document from a newer mover still parses.
        """
        try:
            document = json.loads(text)
        except ValueError as error:
            raise ResultDocumentError(f"not JSON: {error}") from None
        if not isinstance(document, dict):
            raise ResultDocumentError("not a JSON object")
        return _result_from_dict(document)


def _operation_to_dict(item: OperationResult) -> dict[str, Any]:
    document = {"operation": item.operation, "outcome": item.outcome, **dataclasses.asdict(item)}
    document["warnings"] = list(item.warnings)
    return document


_LEADING_FIELDS = ("schema_version", "outcome", "error_kind", "message")


def _result_to_dict(result: MoverResult) -> dict[str, Any]:
    names = [field.name for field in dataclasses.fields(result)]
    ordered = [*_LEADING_FIELDS, *(name for name in names if name not in _LEADING_FIELDS)]
    document = {
        name: getattr(result, name) for name in ordered if name not in ("operations", "warnings")
    }
    document["warnings"] = list(result.warnings)
    document["operations"] = [_operation_to_dict(item) for item in result.operations]
    return document


def _field_values(cls: type[Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fields of ``cls`` found in ``document`` with the right scalar type."""
    expected: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float)}
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        value = document.get(field.name)
        wanted = expected.get(str(field.type))
        if wanted is not None and isinstance(value, wanted) and not isinstance(value, bool):
            values[field.name] = value
    return values


EnumType = TypeVar("EnumType", bound=enum.Enum)


def _enum_or_none(kind: type[EnumType], value: object) -> EnumType | None:
    try:
        return kind(value)
    except ValueError:
        return None


def _texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _operation_from_dict(document: Mapping[str, Any]) -> OperationResult | None:
    operation = _enum_or_none(Operation, document.get("operation"))
    outcome = _enum_or_none(Outcome, document.get("outcome"))
    if operation is None or outcome is None:
        return None
    return OperationResult(
        **_field_values(OperationResult, document),
        operation=operation,
        outcome=outcome,
        error_kind=_enum_or_none(ErrorKind, document.get("error_kind")),
        warnings=_texts(document.get("warnings")),
    )


def _result_from_dict(document: Mapping[str, Any]) -> MoverResult:
    outcome = _enum_or_none(Outcome, document.get("outcome"))
    if outcome is None:
        raise ResultDocumentError(f"unknown outcome {document.get('outcome')!r}")
    raw_operations = document.get("operations")
    operations = [
        _operation_from_dict(item)
        for item in (raw_operations if isinstance(raw_operations, list) else [])
        if isinstance(item, dict)
    ]
    return MoverResult(
        **_field_values(MoverResult, document),
        outcome=outcome,
        error_kind=_enum_or_none(ErrorKind, document.get("error_kind")),
        warnings=_texts(document.get("warnings")),
        operations=tuple(item for item in operations if item is not None),
    )


def _encoded_size(document: Mapping[str, Any]) -> int:
    return len(_dumps(document).encode())


def _dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: max(length - 3, 0)] + "..."


def _fit(document: dict[str, Any], *, limit: int) -> str:
    """Shrink ``document`` in place until its JSON fits ``limit`` bytes and return the JSON."""
    for step in _SHRINK_STEPS:
        if _encoded_size(document) <= limit:
            break
        step(document, limit)
    text = _dumps(document)
    if len(text.encode()) > limit:
        minimal = {key: document[key] for key in ("schema_version", "outcome", "error_kind")}
        text = _dumps(minimal)
    return text


def _clear_operation_warnings(document: dict[str, Any], limit: int) -> None:
    """Operation warnings repeat the top-level list, so they go first."""
    for item in document["operations"]:
        item["warnings"] = []


def _shorten_warnings(document: dict[str, Any], limit: int) -> None:
    document["warnings"] = [_shorten(text, 240) for text in document["warnings"]]


def _drop_warnings(document: dict[str, Any], limit: int) -> None:
    warnings = list(document["warnings"])
    total = len(warnings)
    while warnings:
        warnings.pop()
        document["warnings"] = [*warnings, f"... and {total - len(warnings)} more warnings"]
        if _encoded_size(document) <= limit:
            return


def _shorten_messages(length: int) -> Callable[[dict[str, Any], int], None]:
    def shorten(document: dict[str, Any], limit: int) -> None:
        document["message"] = _shorten(document["message"], length * 4)
        for item in document["operations"]:
            if "message" in item:
                item["message"] = _shorten(item["message"], length)

    return shorten


def _drop_operations(document: dict[str, Any], limit: int) -> None:
    document["operations"] = [
        {"operation": item["operation"], "outcome": item["outcome"]}
        for item in document["operations"]
    ]


_SHRINK_STEPS: Sequence[Callable[[dict[str, Any], int], None]] = (
    _clear_operation_warnings,
    _shorten_warnings,
    _shorten_messages(400),
    _drop_warnings,
    _shorten_messages(100),
    _drop_operations,
    _shorten_messages(40),
)


# --- progress lines ------------------------------------------------------------------------

_BYTE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5}
_PROGRESS_LINE = re.compile(
    r"(?P<operation>backup|restore|check): (?P<percent>[\d.]+)% done, "
    r"(?P<done>[\d.]+) (?P<done_unit>[KMGTP]?i?B) of "
    r"(?P<total>[\d.]+) (?P<total_unit>[KMGTP]?i?B), "
    r"(?P<files_done>\d+) of (?P<files_total>\d+) files, ETA (?P<eta>[\d:]+|unknown)"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Progress:
    """How far a running mover is, as its progress log lines say (bytes to 0.1 of a unit)."""

    operation: str
    percent: float
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    eta_seconds: int | None


def parse_progress(line: str) -> Progress | None:
    """Return the progress a mover log line reports, or None for any other line.

    The mover prints ``backup: 42.0% done, 3.4 MiB of 8.0 MiB, 12 of 100 files, ETA 0:05``
    at most every ``PYVOLSYNC_PROGRESS_INTERVAL`` seconds; the operator reads the newest one.
    """
    match = _PROGRESS_LINE.search(line)
    if match is None:
        return None
    return Progress(
        operation=match["operation"],
        percent=float(match["percent"]),
        bytes_done=round(float(match["done"]) * _BYTE_UNITS[match["done_unit"]]),
        bytes_total=round(float(match["total"]) * _BYTE_UNITS[match["total_unit"]]),
        files_done=int(match["files_done"]),
        files_total=int(match["files_total"]),
        eta_seconds=_clock_seconds(match["eta"]),
    )


def _clock_seconds(text: str) -> int | None:
    """Return ``h:mm:ss`` or ``m:ss`` as seconds; None for "unknown"."""
    if text == "unknown":
        return None
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


_READ_DATA_SUBSET = re.compile(
    r"(?P<part>[0-9]+)/(?P<total>[0-9]+)|(?P<percent>[0-9]+(?:\.[0-9]+)?)%|[0-9]+[KMGT]"
)
READ_DATA_SUBSET_FORMS = "n/t (1 <= n <= t), a percentage such as 10% or a size such as 500M"


def valid_read_data_subset(text: str) -> bool:
    """Return whether `text` is a subset `restic check --read-data-subset` takes: n/t with
    1 <= n <= t, a percentage above 0 and at most 100, or a size. The operator checks its setting
    with this and the mover the value it is given, so both accept exactly the same."""
    match = _READ_DATA_SUBSET.fullmatch(text)
    if match is None:
        return False
    if match.group("part"):
        return 0 < int(match.group("part")) <= int(match.group("total"))
    if match.group("percent"):
        return 0 < float(match.group("percent")) <= 100
    return True


GUARD_SETTINGS = ("files-drop", "bytes-drop", "deleted")
"""The anomaly guard's thresholds, each a percentage from 1 to 100."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Guard:
    """When the anomaly guard finds a new snapshot suspicious, compared with the previous one.

    ``files_drop`` and ``bytes_drop``: the share of the previous snapshot's files (bytes) the new
    one lacks; ``deleted``: the share of the previous snapshot's files that are gone from the new
    one, even if as many new files took their place (files encrypted under new names).
    """

    files_drop: int = 50
    bytes_drop: int = 50
    deleted: int = 50

    def to_text(self) -> str:
        """Return the thresholds as the mover reads them: ``files-drop=50,bytes-drop=50,...``."""
        values = (self.files_drop, self.bytes_drop, self.deleted)
        return ",".join(
            f"{name}={value}" for name, value in zip(GUARD_SETTINGS, values, strict=True)
        )

    @classmethod
    def from_text(cls, text: str) -> Guard:
        """Parse ``to_text``'s form; raise ValueError naming what is wrong."""
        values: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = item.partition("=")
            if name not in GUARD_SETTINGS:
                raise ValueError(f"{name!r} is not one of {', '.join(GUARD_SETTINGS)}")
            values[name.replace("-", "_")] = guard_percent(value)
        return cls(**values)


def guard_percent(text: str) -> int:
    """Return a threshold written as ``50`` or ``50%``; raise ValueError unless it is 1 to 100."""
    digits = text.strip().removesuffix("%").strip()
    if not digits.isdigit() or not 1 <= int(digits) <= 100:
        raise ValueError(f"{text!r} is not a percentage from 1 to 100 (such as 50%)")
    return int(digits)


CATALOG_KEY = "pyvolsync-catalog"
"""The key of the one JSON object a ``snapshots`` run prints: ``{CATALOG_KEY: [entry, ...]}``."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class CatalogEntry:
    """One snapshot as the catalog shows it, whichever engine wrote it."""

    id: str
    time: str
    """When the snapshot was started, in UTC at whole seconds (``2026-12-03T04:05:06Z``): the
    form a restore's as-of time takes, so a time copied from the catalog selects the snapshot."""
    size: int | None = None
    """Bytes of the files in the snapshot."""
    files: int | None = None
    added: int | None = None
    """Bytes the snapshot added to the repository (restic reports it; kopia does not)."""
    tags: tuple[str, ...] = ()
    hostname: str = ""
    paths: tuple[str, ...] = ()
    identity: str = ""
    """Who took it: kopia's ``user@host:/path``; restic's ``namespace/name`` source tag, if any."""
    pinned: bool = False
    """Kept whatever the retention policy says (restic: the ``PINNED`` tag; kopia: any pin)."""


def oldest_first(entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    """Return the entries oldest first. ``time`` is to the second; snapshots of the same second
    keep the order they are given in, which is the engine's to the sub-second (each engine's
    catalog lists its snapshots in the order they were taken)."""
    numbered = sorted(enumerate(entries), key=lambda pair: (pair[1].time, pair[0]))
    return [entry for _, entry in numbered]


def newest_first(entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    """Return the entries newest first (the reverse of ``oldest_first``)."""
    return oldest_first(entries)[::-1]


def catalog_line(entries: Sequence[CatalogEntry]) -> str:
    """Return the one line a ``snapshots`` run prints: the entries, oldest first."""
    ordered = oldest_first(entries)
    return json.dumps({CATALOG_KEY: [dataclasses.asdict(entry) for entry in ordered]})


def _catalog_entry(item: Mapping[str, Any]) -> CatalogEntry:
    known = {field.name for field in dataclasses.fields(CatalogEntry)}
    values: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in item.items()
        if key in known
    }
    return CatalogEntry(**values)


def parse_catalog(log: str) -> list[CatalogEntry] | None:
    """Return the entries of the catalog line in ``log``; None when no line holds one."""
    for line in log.splitlines():
        if CATALOG_KEY not in line or not line.startswith("{"):
            continue
        try:
            return [_catalog_entry(item) for item in json.loads(line)[CATALOG_KEY]]
        except (ValueError, TypeError, KeyError):
            continue
    return None


SNAPSHOT_ID_MINIMUM = 4
_SNAPSHOT_ID = re.compile(r"[0-9a-f]+")


class SnapshotNotFoundError(LookupError):
    """A snapshot ID that names no snapshot, or more than one; the text says which."""


def find_entry(entries: Sequence[CatalogEntry], wanted: str) -> CatalogEntry:
    """Return the entry whose ID is ``wanted`` or starts with it; raise SnapshotNotFoundError
    (naming the newest IDs, or the candidates) when none or several do, or it is no ID."""
    text = wanted.strip().lower()
    if len(text) < SNAPSHOT_ID_MINIMUM or not _SNAPSHOT_ID.fullmatch(text):
        raise SnapshotNotFoundError(
            f"{wanted!r} is not a snapshot ID: give at least {SNAPSHOT_ID_MINIMUM} of the "
            "hexadecimal characters `pyvolsync snapshots` shows"
        )
    matching = [entry for entry in entries if entry.id.startswith(text)]
    if len(matching) == 1:
        return matching[0]
    if matching:
        named = ", ".join(f"{entry.id} ({entry.time})" for entry in matching[:5])
        raise SnapshotNotFoundError(
            f"{wanted!r} is ambiguous: it begins {named}; give more of the ID"
        )
    newest = newest_first(entries)[:3]
    hint = (
        "; the newest are " + ", ".join(f"{entry.id[:8]} ({entry.time})" for entry in newest)
        if newest
        else "; there are no snapshots"
    )
    raise SnapshotNotFoundError(f"no snapshot ID begins with {wanted!r}{hint}")


TREE_KEY = "pyvolsync-tree"
"""The key of the one JSON line ``ls``, ``find`` and ``diff`` print."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class TreeEntry:
    """One file, folder or link inside a snapshot, whichever engine wrote it."""

    path: str
    """Absolute inside the snapshot: ``/`` is the volume's root."""
    type: str
    """``file``, ``dir``, ``symlink`` or ``other``."""
    mode: str = ""
    """As ``ls -l`` shows it: ``-rw-r--r--``."""
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: str = ""
    """UTC at whole seconds (``2026-12-03T04:05:06Z``)."""
    target: str = ""
    """A symlink's target."""
    snapshot: str = ""
    """``find``: the snapshot that holds it."""
    change: str = ""
    """``diff``: ``added``, ``removed`` or ``modified``."""


def tree_line(entries: Sequence[TreeEntry], *, snapshot: str = "") -> str:
    """Return the one line a browsing operation prints: the entries, and the snapshot read."""
    return json.dumps(
        {TREE_KEY: [dataclasses.asdict(entry) for entry in entries], "snapshot": snapshot}
    )


def parse_tree(log: str) -> tuple[list[TreeEntry], str] | None:
    """Return the entries and the snapshot of the tree line in ``log``; None without one."""
    known = {field.name for field in dataclasses.fields(TreeEntry)}
    for line in log.splitlines():
        if TREE_KEY not in line or not line.startswith("{"):
            continue
        try:
            document = json.loads(line)
            entries = [
                TreeEntry(**{key: value for key, value in item.items() if key in known})
                for item in document[TREE_KEY]
            ]
        except (ValueError, TypeError, KeyError):
            continue
        return entries, str(document.get("snapshot", ""))
    return None


STREAM_KEY = "pyvolsync-stream"
"""A stream starts with ``{"pyvolsync-stream": {"path": ..., "archive": bool}}``, goes on with
data lines (``STREAM_DATA_PREFIX`` then base64 of at most ``STREAM_CHUNK`` bytes) and ends with
``{"pyvolsync-stream-end": {"bytes": N, "sha256": HEX}}``: pod logs carry text lines, and the
reader checks that every byte arrived."""
STREAM_END_KEY = "pyvolsync-stream-end"
STREAM_DATA_PREFIX = "@"
STREAM_CHUNK = 8192
"""Bytes per data line: its base64 stays under the 16 KiB at which container runtimes split a
log line."""


class StreamError(ValueError):
    """The streams of a log did not arrive whole (a chunk lost, a stream cut short)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class StreamHeader:
    """What a stream carries: the path inside the snapshot, and whether it is a tar archive."""

    path: str
    archive: bool


class _Incoming:
    """One stream being read: its sink, and the bytes and hash seen so far."""

    def __init__(self, header: StreamHeader, sink: Callable[[bytes], None]) -> None:
        self.header = header
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0

    def take(self, encoded: str) -> None:
        data = base64.b64decode(encoded, validate=True)
        self.hash.update(data)
        self.size += len(data)
        self.sink(data)

    def end(self, trailer: Mapping[str, Any]) -> StreamHeader:
        if trailer.get("bytes") != self.size or trailer.get("sha256") != self.hash.hexdigest():
            raise StreamError(
                f"{self.header.path}: {self.size} bytes arrived of {trailer.get('bytes')} sent, "
                "or their SHA-256 differs: the download is incomplete"
            )
        return self.header


class StreamDecoder:
    """Decodes the streams among log lines fed one by one (other lines pass by), each into the
    sink ``sink_for`` returns for its header; ``on_whole`` hears of each stream received whole.
    A stream whose byte count or SHA-256 differs from its trailer raises StreamError, and so
    does ``finish`` when a stream has no trailer."""

    def __init__(
        self,
        sink_for: Callable[[StreamHeader], Callable[[bytes], None]],
        on_whole: Callable[[StreamHeader], None] = lambda header: None,
    ) -> None:
        self.sink_for = sink_for
        self.on_whole = on_whole
        self.current: _Incoming | None = None

    def feed(self, raw: str) -> None:
        """Read one log line."""
        line = raw.rstrip("\n")
        if self.current is not None and line.startswith(STREAM_DATA_PREFIX):
            self.current.take(line[len(STREAM_DATA_PREFIX) :])
        elif line.startswith("{") and STREAM_KEY in line:
            document = json.loads(line)
            if STREAM_KEY in document:
                opened = document[STREAM_KEY]
                header = StreamHeader(path=str(opened["path"]), archive=bool(opened["archive"]))
                self.current = _Incoming(header, self.sink_for(header))
            elif STREAM_END_KEY in document and self.current is not None:
                self.on_whole(self.current.end(document[STREAM_END_KEY]))
                self.current = None

    def finish(self) -> None:
        """Raise StreamError when the last stream was cut short."""
        if self.current is not None:
            raise StreamError(
                f"the stream of {self.current.header.path} was cut short after "
                f"{self.current.size} bytes"
            )


def read_streams(
    lines: Iterable[str], sink_for: Callable[[StreamHeader], Callable[[bytes], None]]
) -> list[StreamHeader]:
    """Decode the streams among ``lines`` (``StreamDecoder``); return the headers of those
    received whole."""
    done: list[StreamHeader] = []
    decoder = StreamDecoder(sink_for, done.append)
    for line in lines:
        decoder.feed(line)
    decoder.finish()
    return done


class TarExtraction:
    """Extracts one tar archive into a folder while it arrives: ``write`` feeds a pipe that a
    thread reads, so neither side holds the archive.

    ``exact`` keeps every mode bit and, when running as root, the numeric owners (an in-place
    restore); otherwise tarfile's ``tar`` filter applies (a download to a person's machine:
    no set-user-ID bits, no group or world write). Either way no member may leave ``target``.
    """

    def __init__(self, target: str, *, exact: bool = False) -> None:
        reading, writing = os.pipe()
        self.writer = os.fdopen(writing, "wb")
        self.failure: BaseException | None = None
        self.exact = exact
        self.thread = threading.Thread(
            target=self._extract, args=(os.fdopen(reading, "rb"), target), daemon=True
        )
        self.thread.start()

    def _extract(self, stream: Any, target: str) -> None:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                if self.exact:
                    _extract_exactly(archive, target)
                else:
                    archive.extractall(target, filter="tar")
            while stream.read(65536):
                pass
        except BaseException as error:  # reported by close()
            self.failure = error
        finally:
            stream.close()

    def write(self, data: bytes) -> None:
        """Pass the next bytes of the archive on."""
        try:
            self.writer.write(data)
        except BrokenPipeError:
            self.thread.join()
            raise StreamError(f"the archive could not be extracted: {self.failure}") from None

    def close(self) -> None:
        """Finish; raise StreamError when the archive could not be extracted."""
        with contextlib.suppress(BrokenPipeError):
            self.writer.close()
        self.thread.join()
        if self.failure is not None:
            raise StreamError(f"the archive could not be extracted: {self.failure}")


def _extract_exactly(archive: tarfile.TarFile, target: str) -> None:
    """Extract every member as archived, links' own times too (``extractall`` leaves a link
    with the time of its extraction); folders get their times last, once nothing more is
    written into them."""
    folders: list[tarfile.TarInfo] = []
    for member in archive:
        _inside(member, target)
        path = os.path.join(target, member.name)
        archive.extract(member, target, set_attrs=not member.isdir(), numeric_owner=True,
                        filter="fully_trusted")  # fmt: skip
        if member.isdir():
            folders.append(member)
        elif member.issym():
            os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
    for folder in reversed(folders):
        path = os.path.join(target, folder.name)
        archive.chown(folder, path, numeric_owner=True)
        archive.chmod(folder, path)
        archive.utime(folder, path)


def _inside(member: tarfile.TarInfo, target: str) -> tarfile.TarInfo:
    """Keep ``member`` exactly as archived, unless its name leaves the target folder."""
    if member.name.startswith("/") or ".." in member.name.split("/"):
        raise tarfile.OutsideDestinationError(member, os.path.join(target, member.name))
    return member
