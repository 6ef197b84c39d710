"""The five operations (unlock, backup, prune, restore, check), each returning its result.

Each operation is a short sequence of restic commands built by ``commands`` and run by the
``runner``; an operation raises ``MoverError`` when it cannot go on. Two rules from users' pain:
only a backup creates a repository, and only when restic says it does not exist (exit 10), so a
mistyped repository can never make a restore hand an application an empty volume; and an empty
source or a missing snapshot is an explicit outcome, never a silent success.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from pyvolsync import contract
from pyvolsync.mover import commands, config, errors, progress, runner, selection

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What every operation works with."""

    config: config.MoverConfig
    runner: runner.Runner


def _create_repository(context: Context) -> None:
    logger.info("No repository at RESTIC_REPOSITORY yet (restic exit code 10): creating it")
    initialised = context.runner.run(commands.init(), echo=True)
    if initialised.exit is not runner.ResticExit.SUCCESS:
        raise runner.failure(initialised, action="creating the repository")


def _unreadable(completed: runner.Completed, *, action: str) -> errors.MoverError:
    """Return the error for a repository that could not be opened for ``action``.

    A failure restic gives no exit code for is reported as unreachable: the repository is there
    (or it would say 10) but cannot be read.
    """
    kind = runner.failure_kind(completed)
    if kind is contract.ErrorKind.RESTIC_FAILED:
        kind = contract.ErrorKind.REPOSITORY_UNREACHABLE
    return errors.error(kind, f"{action} failed: {completed.reason}")


def _source_is_empty(data_dir: str) -> bool:
    try:
        with os.scandir(data_dir) as entries:
            return all(entry.name == commands.LOST_AND_FOUND for entry in entries)
    except OSError as error:
        raise errors.ConfigurationError(
            f"{contract.EnvVar.DATA_DIR}={data_dir!r} cannot be read: {error.strerror}"
        ) from None


def _nothing_done(
    operation: contract.Operation,
    outcome: contract.Outcome,
    *,
    message: str,
    markers: tuple[str, ...],
) -> contract.OperationResult:
    """Log why an operation had nothing to do (upstream's marker lines first) and say so."""
    for line in (*markers, message):
        logger.warning("%s", line)
    return contract.OperationResult(operation=operation, outcome=outcome, message=message)


def _unreadable_warnings(completed: runner.Completed) -> tuple[str, ...]:
    warnings = [
        error.message
        if not error.item or error.item in error.message
        else f"{error.item}: {error.message}"
        for error in completed.errors
    ]
    missing = completed.error_count - len(completed.errors)
    if missing > 0:
        warnings.append(f"... and {missing} more files could not be read")
    if completed.exit is runner.ResticExit.INCOMPLETE and not warnings:
        warnings.append(f"restic exit code 3: {completed.reason}")
    return tuple(warnings)


def _with_counters(
    result: contract.OperationResult, summary: Mapping[str, Any]
) -> contract.OperationResult:
    """Return ``result`` with the counters of restic's JSON ``summary``."""

    def number(name: str) -> int:
        value = summary.get(name)
        return int(value) if isinstance(value, int | float) else 0

    return dataclasses.replace(
        result,
        files_new=number("files_new"),
        files_changed=number("files_changed"),
        files_unmodified=number("files_unmodified"),
        bytes_added=number("data_added"),
        bytes_processed=number("total_bytes_processed"),
        files_restored=number("files_restored"),
        bytes_restored=number("bytes_restored"),
    )


def _backup_once(context: Context) -> tuple[runner.Completed, dict[str, Any] | None]:
    data_dir = context.config.data_dir
    stream = progress.JsonStream("backup", interval=context.config.progress_interval)
    completed = context.runner.run(commands.backup(data_dir=data_dir), cwd=data_dir, on_line=stream)
    return completed, stream.summary


def _run_backup(context: Context) -> tuple[runner.Completed, dict[str, Any]]:
    """Back up, creating the repository first if restic says it does not exist (exit 10).

    Asking the backup itself, rather than probing first, saves a key derivation per run.
    """
    completed, summary = _backup_once(context)
    if completed.exit is runner.ResticExit.REPOSITORY_MISSING:
        _create_repository(context)
        completed, summary = _backup_once(context)
    saved = completed.exit in (runner.ResticExit.SUCCESS, runner.ResticExit.INCOMPLETE)
    if not saved or summary is None:
        raise runner.failure(completed, action="backup")
    return completed, summary


def forget(context: Context) -> None:
    """Apply the retention policy of ``FORGET_OPTIONS`` (nothing when it is empty)."""
    if not context.config.forget_flags:
        logger.info("No retention policy (FORGET_OPTIONS is empty): keeping every snapshot")
        return
    logger.info("=== Starting forget ===")
    completed = context.runner.run(commands.forget(context.config.forget_flags), echo=True)
    if completed.exit is not runner.ResticExit.SUCCESS:
        raise runner.failure(completed, action="applying the retention policy (forget)")


def backup(context: Context) -> contract.OperationResult:
    """Back up ``DATA_DIR`` (creating the repository if restic says it is missing), then forget."""
    data_dir = context.config.data_dir
    logger.info("=== Starting backup ===")
    if _source_is_empty(data_dir):
        return _nothing_done(
            contract.Operation.BACKUP,
            contract.Outcome.SOURCE_EMPTY,
            message=f"{data_dir} is empty (or holds only lost+found): no snapshot was taken and "
            "retention was not applied",
            markers=("=== Directory is empty skipping backup ===",),
        )
    completed, summary = _run_backup(context)
    progress.log_backup_summary(summary)
    snapshot_id = str(summary.get("snapshot_id", ""))
    logger.info("snapshot %s saved", snapshot_id[:8])
    warnings = _unreadable_warnings(completed)
    outcome = contract.Outcome.SUCCEEDED_WITH_WARNINGS if warnings else contract.Outcome.SUCCEEDED
    message = f"{len(warnings)} files could not be read and are not in the snapshot"
    result = contract.OperationResult(
        operation=contract.Operation.BACKUP,
        outcome=outcome,
        snapshot_id=snapshot_id,
        warnings=warnings,
        message=message if warnings else "",
    )
    saved = _with_counters(result, summary)
    try:
        forget(context)
    except errors.MoverError as error:
        return dataclasses.replace(
            saved, outcome=contract.Outcome.FAILED, error_kind=error.kind, message=error.message
        )
    return saved


def _choose_snapshot(context: Context) -> tuple[selection.Snapshot | None, int]:
    timeout = context.config.probe_timeout or None
    completed = context.runner.run(commands.snapshots(), quiet=True, timeout=timeout)
    if completed.exit is not runner.ResticExit.SUCCESS:
        raise _unreadable(completed, action="listing the snapshots of the repository")
    try:
        snapshots = selection.parse_snapshots(completed.stdout)
    except (ValueError, KeyError, TypeError) as error:
        raise errors.error(
            contract.ErrorKind.RESTIC_FAILED, f"restic snapshots --json was not understood: {error}"
        ) from None
    settings = context.config
    eligible = selection.eligible(snapshots, data_dir=settings.data_dir)
    logger.info(
        "%d snapshots in the repository, %d of host %s and path %s",
        len(snapshots),
        len(eligible),
        contract.RESTIC_HOST,
        settings.data_dir,
    )
    chosen = selection.select(
        eligible,
        data_dir=settings.data_dir,
        as_of=settings.restore_as_of,
        previous=settings.select_previous,
    )
    return chosen, len(eligible)


def _no_snapshot(context: Context, *, found: int) -> contract.OperationResult:
    settings = context.config
    as_of = settings.restore_as_of.isoformat() if settings.restore_as_of else "now"
    message = (
        f"no snapshot of host {contract.RESTIC_HOST} and path {settings.data_dir} at or before "
        f"{as_of} with {settings.select_previous} older ones skipped: nothing was restored"
    )
    nothing = _nothing_done(
        contract.Operation.RESTORE,
        contract.Outcome.NO_ELIGIBLE_SNAPSHOT,
        message=message,
        markers=("No eligible snapshots found", "=== No data will be restored ==="),
    )
    return dataclasses.replace(nothing, snapshots_found=found)


def sync_filesystem(path: str) -> None:
    """Flush the filesystem holding ``path`` to disk (syncfs, else a global sync)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(descriptor) != 0:
            os.sync()
    except AttributeError:
        os.sync()
    finally:
        os.close(descriptor)


def restore(context: Context) -> contract.OperationResult:
    """Restore the selected snapshot into ``DATA_DIR``; never create a repository."""
    settings = context.config
    logger.info("=== Starting restore ===")
    chosen, found = _choose_snapshot(context)
    if chosen is None:
        return _no_snapshot(context, found=found)
    logger.info("Selected restic snapshot with id: %s", chosen.id)
    logger.info(
        "Restoring snapshot %s of %s into %s",
        chosen.short_id,
        chosen.time.isoformat(),
        settings.data_dir,
    )
    started = time.monotonic()
    stream = progress.JsonStream("restore", interval=settings.progress_interval)
    arguments = commands.restore(
        chosen.id, target=settings.data_dir, delete=settings.restore_delete
    )
    completed = context.runner.run(arguments, on_line=stream)
    if completed.exit is not runner.ResticExit.SUCCESS or stream.summary is None:
        raise runner.failure(completed, action="restore")
    sync_filesystem(settings.data_dir)
    progress.log_restore_summary(stream.summary, seconds=time.monotonic() - started)
    result = contract.OperationResult(
        operation=contract.Operation.RESTORE,
        outcome=contract.Outcome.SUCCEEDED,
        snapshot_id=chosen.id,
        snapshots_found=found,
    )
    return _with_counters(result, stream.summary)


def unlock(context: Context) -> contract.OperationResult:
    """Remove stale locks (those of dead processes on this host, or older than 30 minutes)."""
    logger.info("=== Starting unlock ===")
    completed = context.runner.run(commands.unlock(), echo=True, quiet=True)
    message = ""
    if completed.exit is runner.ResticExit.REPOSITORY_MISSING:
        message = "the repository does not exist yet: nothing to unlock"
        logger.info("%s", message)
    elif completed.exit is not runner.ResticExit.SUCCESS:
        raise runner.failure(completed, action="unlock")
    return contract.OperationResult(
        operation=contract.Operation.UNLOCK, outcome=contract.Outcome.SUCCEEDED, message=message
    )


def prune(context: Context) -> contract.OperationResult:
    """Remove data that no snapshot references any more."""
    logger.info("=== Starting prune ===")
    completed = context.runner.run(commands.prune(), echo=True)
    if completed.exit is not runner.ResticExit.SUCCESS:
        raise runner.failure(completed, action="prune")
    return contract.OperationResult(
        operation=contract.Operation.PRUNE, outcome=contract.Outcome.SUCCEEDED
    )


def _damage(summary: Mapping[str, Any]) -> errors.MoverError:
    packs = summary.get("broken_packs") or []
    named = f"; damaged packs: {', '.join(map(str, packs[:5]))}" if packs else ""
    return errors.error(
        contract.ErrorKind.REPOSITORY_DAMAGED,
        f"restic check found {summary.get('num_errors')} errors{named}",
    )


def check(context: Context) -> contract.OperationResult:
    """Check the repository's structure and, if asked, read a subset of its data."""
    logger.info("=== Starting check ===")
    stream = progress.JsonStream("check", interval=context.config.progress_interval)
    subset = context.config.check_read_data_subset
    completed = context.runner.run(commands.check(read_data_subset=subset), on_line=stream)
    summary = stream.summary or {}
    if isinstance(summary.get("num_errors"), int) and summary["num_errors"] > 0:
        raise _damage(summary)
    if completed.exit is not runner.ResticExit.SUCCESS:
        raise runner.failure(completed, action="check")
    logger.info("no errors were found")
    return contract.OperationResult(
        operation=contract.Operation.CHECK, outcome=contract.Outcome.SUCCEEDED
    )


Operation = Callable[[Context], contract.OperationResult]

OPERATIONS: dict[contract.Operation, Operation] = {
    contract.Operation.UNLOCK: unlock,
    contract.Operation.BACKUP: backup,
    contract.Operation.PRUNE: prune,
    contract.Operation.RESTORE: restore,
    contract.Operation.CHECK: check,
}
