"""restic's operations (unlock, backup, prune, restore, verify, check, the catalog, pins and
browsing), each returning its result.

Each operation is a short sequence of restic commands built by ``commands`` and run by the
``runner``; an operation raises ``MoverError`` when it cannot go on. Two rules from users' pain:
only a backup creates a repository, and only when restic says it does not exist (exit 10), so a
mistyped repository can never make a restore hand an application an empty volume; and an empty
source or a missing snapshot is an explicit outcome, never a silent success.

A command that finds the repository locked (restic exit 11) runs ``restic unlock`` and, if that
removed a stale lock (one of a dead process on this host, or older than 30 minutes), runs once
more: a mover killed mid-backup must not block every later forget, prune and check. The result
message says so.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyvolsync import contract
from pyvolsync.inpod import browse, errors, guard, inplace, report, verify, volume
from pyvolsync.inpod.restic import browsing, commands, config, failures, progress, selection
from pyvolsync.inpod.restic.failures import ResticExit, exit_of

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What every operation works with."""

    config: config.MoverConfig
    runner: failures.Runner
    notes: list[str] = dataclasses.field(default_factory=list)
    """What an operation did besides its job (a stale lock removed, a repository created)."""
    restored: list[str] = dataclasses.field(default_factory=list)
    """The IDs of the snapshots this run restored, in order: ``verify`` checks the last."""


def _with_notes(context: Context, result: contract.OperationResult) -> contract.OperationResult:
    """Return ``result`` with the notes taken so far added to its message; forget them."""
    return report.with_notes(result, context.notes)


_REMOVED_LOCKS = re.compile(r"successfully removed ([0-9]+) locks?")

Attempt = TypeVar("Attempt")
Listed = TypeVar("Listed")


def _remove_stale_locks(context: Context) -> int:
    """Run ``restic unlock`` (stale locks only); return how many locks it removed."""
    completed = context.runner.run(commands.unlock(), quiet=True)
    if exit_of(completed) is not ResticExit.SUCCESS:
        logger.warning("restic unlock failed: %s", completed.reason)
        return 0
    found = _REMOVED_LOCKS.search(completed.stdout)
    return int(found.group(1)) if found else 0


def _unlocking(
    context: Context,
    action: str,
    attempt: Callable[[tuple[str, ...]], tuple[failures.Completed, Attempt]],
) -> tuple[failures.Completed, Attempt]:
    """Run ``attempt``; if the repository was locked, remove a stale lock and run it again, or,
    when the lock is alive (another source's mover working in a shared repository), run it
    again waiting up to ``PYVOLSYNC_LOCK_WAIT`` seconds for that lock (``attempt`` gets
    restic's global options to put before its command)."""
    completed, value = attempt(())
    if exit_of(completed) is not ResticExit.REPOSITORY_LOCKED:
        return completed, value
    logger.warning("restic %s: the repository is locked (%s)", action, completed.reason)
    removed = _remove_stale_locks(context)
    wait = round(context.config.lock_wait)
    if removed == 0 and wait == 0:
        logger.warning("no lock was stale: the repository stays locked")
        return completed, value
    if removed == 0:
        # Sources sharing a repository: one's forget holds it alone for a moment.
        logger.warning("no lock was stale: another restic holds it; waiting up to %d s", wait)
        return attempt(("--retry-lock", f"{wait}s"))
    note = f"removed {removed} stale lock(s) before restic {action} (restic unlock)"
    logger.warning("%s; trying again", note)
    context.notes.append(note)
    return attempt(())


def _run_unlocking(context: Context, action: str, arguments: tuple[str, ...]) -> failures.Completed:
    """Run restic ``arguments`` (output logged), removing stale locks if it finds one."""
    completed, _ = _unlocking(
        context, action, lambda wait: (context.runner.run((*wait, *arguments), echo=True), None)
    )
    return completed


def _create_repository(context: Context) -> None:
    logger.info("No repository at RESTIC_REPOSITORY yet (restic exit code 10): creating it")
    initialised = context.runner.run(commands.init(), echo=True)
    if exit_of(initialised) is not ResticExit.SUCCESS:
        raise failures.failure(initialised, action="creating the repository")
    context.notes.append("there was no repository at RESTIC_REPOSITORY: a new one was created")


def _unreadable(completed: failures.Completed, *, action: str) -> errors.MoverError:
    """Return the error for a repository that could not be opened for ``action``.

    A failure restic gives no exit code for is reported as unreachable: the repository is there
    (or it would say 10) but cannot be read.
    """
    kind = failures.failure_kind(completed)
    if kind is contract.ErrorKind.RESTIC_FAILED:
        kind = contract.ErrorKind.REPOSITORY_UNREACHABLE
    return failures.error(kind, f"{action} failed: {completed.reason}")


def _unreadable_warnings(completed: failures.Completed) -> tuple[str, ...]:
    warnings = [
        error.message
        if not error.item or error.item in error.message
        else f"{error.item}: {error.message}"
        for error in completed.stderr.errors
    ]
    missing = completed.stderr.error_count - len(completed.stderr.errors)
    if missing > 0:
        warnings.append(f"... and {missing} more files could not be read")
    if exit_of(completed) is ResticExit.INCOMPLETE and not warnings:
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


def _backup_attempt(
    context: Context, wait: tuple[str, ...]
) -> tuple[failures.Completed, dict[str, Any] | None]:
    settings = context.config
    stream = progress.JsonStream("backup", interval=settings.progress_interval)
    arguments = commands.backup(
        data_dir=settings.data_dir, source=settings.source, pinned=settings.browsing.pin_backup
    )
    completed = context.runner.run((*wait, *arguments), cwd=settings.data_dir, on_line=stream)
    return completed, stream.summary


def _backup_once(context: Context) -> tuple[failures.Completed, dict[str, Any] | None]:
    return _unlocking(context, "backup", lambda wait: _backup_attempt(context, wait))


def _run_backup(context: Context) -> tuple[failures.Completed, dict[str, Any]]:
    """Back up, creating the repository first if restic says it does not exist (exit 10).

    Asking the backup itself, rather than probing first, saves a key derivation per run.
    """
    completed, summary = _backup_once(context)
    if exit_of(completed) is ResticExit.REPOSITORY_MISSING:
        _create_repository(context)
        completed, summary = _backup_once(context)
    saved = exit_of(completed) in (ResticExit.SUCCESS, ResticExit.INCOMPLETE)
    if not saved or summary is None:
        raise failures.failure(completed, action="backup")
    return completed, summary


def forget(context: Context) -> None:
    """Apply the retention policy of ``FORGET_OPTIONS`` (nothing when it is empty)."""
    if not context.config.forget_flags:
        logger.info("No retention policy (FORGET_OPTIONS is empty): keeping every snapshot")
        return
    logger.info("=== Starting forget ===")
    arguments = commands.forget(context.config.forget_flags, source=context.config.source)
    completed = _run_unlocking(context, "forget", arguments)
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action="applying the retention policy (forget)")


def backup(context: Context) -> contract.OperationResult:
    """Back up ``DATA_DIR`` (creating the repository if restic says it is missing), then forget."""
    data_dir = context.config.data_dir
    logger.info("=== Starting backup ===")
    if volume.is_empty(data_dir):
        return report.source_empty(data_dir)
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
        saved = _guarded(context, saved)
        _retain(context, saved)
    except errors.MoverError as error:
        return dataclasses.replace(
            saved, outcome=contract.Outcome.FAILED, error_kind=error.kind, message=error.message
        )
    return _with_notes(context, _with_catalog(context, saved))


def _retain(context: Context, saved: contract.OperationResult) -> None:
    """Apply retention after the backup ``saved``, unless the guard holds it."""
    if saved.suspicious:
        logger.warning("Retention was not applied: the new snapshot is suspicious")
    elif context.config.retention_held:
        logger.warning("Retention is held: %s", context.config.retention_held)
    else:
        forget(context)


def _previous(
    snapshots: list[selection.Snapshot], entries: list[contract.CatalogEntry], new_id: str
) -> tuple[contract.CatalogEntry, contract.CatalogEntry, selection.Snapshot] | None:
    """Return the source's snapshot taken just before ``new_id``, the new one's catalog entry and
    the new one as restic lists it; None when there is no previous one."""
    entry_of = {entry.id: entry for entry in entries}
    taken = sorted(
        (item for item in snapshots if item.id in entry_of), key=lambda item: (item.time, item.id)
    )
    position = next((index for index, item in enumerate(taken) if item.id == new_id), 0)
    if position == 0:
        return None
    new = taken[position]
    return entry_of[taken[position - 1].id], entry_of[new_id], new


def _guarded(context: Context, saved: contract.OperationResult) -> contract.OperationResult:
    """Return the backup's result as the anomaly guard judges it; when its snapshot is
    suspicious, the source's previous snapshot is pinned (the last good one)."""
    thresholds, settings = context.config.guard, context.config
    if thresholds is None:
        return saved
    snapshots, entries = _listed(context, _snapshots_and_catalog)
    mine = selection.of_source(entries, data_dir=settings.data_dir, source=settings.source)
    found = _previous(snapshots, mine, saved.snapshot_id)
    if found is None:
        logger.info("Anomaly guard: no earlier snapshot of this source to compare with")
        return saved
    previous, new_entry, new = found
    before, after = guard.Figures.of(previous), guard.Figures.of(new_entry)
    if before is None or after is None:
        logger.info("Anomaly guard: snapshot %s has no summary to compare with", previous.id[:8])
        return saved
    kept = new.kept if new.parent == previous.id else None
    deleted = None if kept is None else max(before.files - kept, 0)
    reason = guard.verdict(before, after, deleted=deleted, guard=thresholds)
    if not reason:
        logger.info("Anomaly guard: the snapshot looks like the previous one (%s)", previous.id[:8])
        return saved
    logger.warning("Anomaly guard: snapshot %s is suspicious: %s", saved.snapshot_id[:8], reason)
    last_good = _pin_last_good(context, previous, snapshots)
    return dataclasses.replace(saved, suspicious=reason, last_good=last_good)


def _pin_last_good(
    context: Context, entry: contract.CatalogEntry, snapshots: list[selection.Snapshot]
) -> str:
    """Pin the snapshot ``entry`` (if it is not yet); return its ID as restic has it now."""
    if entry.pinned:
        logger.info("The last good snapshot %s was already pinned", entry.id[:8])
        return entry.id
    completed = _run_unlocking(context, "tag", commands.pin(entry.id))
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action="pinning the last good snapshot (restic tag)")
    before = next(item for item in snapshots if item.id == entry.id)
    now = selection.rewritten(_listed(context, selection.parse_snapshots), before)
    pinned = now.id if now is not None else entry.id
    logger.warning("Pinned the last good snapshot %s (now %s)", entry.id[:8], pinned[:8])
    return pinned


def _with_catalog(context: Context, result: contract.OperationResult) -> contract.OperationResult:
    """Return the backup's result with the summary of the source's snapshots after retention."""
    settings = context.config
    return report.with_catalog(
        result,
        lambda: selection.of_source(
            _listed(context, selection.catalog), data_dir=settings.data_dir, source=settings.source
        ),
    )


def _listed(context: Context, parse: Callable[[str], Listed]) -> Listed:
    """Return the mover's snapshots as ``parse`` reads ``restic snapshots --json``."""
    timeout = context.config.probe_timeout or None
    completed = context.runner.run(commands.snapshots(), quiet=True, timeout=timeout)
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise _unreadable(completed, action="listing the snapshots of the repository")
    try:
        return parse(completed.stdout)
    except (ValueError, KeyError, TypeError) as error:
        raise failures.error(
            contract.ErrorKind.RESTIC_FAILED, f"restic snapshots --json was not understood: {error}"
        ) from None


def _choose_snapshot(
    context: Context,
) -> tuple[selection.Snapshot | None, list[selection.Snapshot]]:
    snapshots = _listed(context, selection.parse_snapshots)
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
    return chosen, eligible


def _shared_warnings(
    eligible: list[selection.Snapshot], chosen: selection.Snapshot
) -> tuple[str, ...]:
    """Warn when several ReplicationSources wrote snapshots of the same host and path."""
    found = selection.sources(eligible)
    if len(found) < 2:
        return ()
    taken_by = f"taken by {chosen.source}" if chosen.source else "without a source tag"
    return (
        f"the repository holds snapshots of {len(found)} ReplicationSources with host "
        f"{contract.RESTIC_HOST} and path {chosen.paths[0]} ({', '.join(found)}): the newest "
        f"eligible one was restored, {chosen.short_id} {taken_by}; give each source its own "
        "repository",
    )


def _none_eligible(context: Context) -> str:
    """Return which snapshot a restore looked for, when there is none."""
    settings = context.config
    as_of = settings.restore_as_of.isoformat() if settings.restore_as_of else "now"
    return (
        f"no snapshot of host {contract.RESTIC_HOST} and path {settings.data_dir} at or before "
        f"{as_of} with {settings.select_previous} older ones skipped"
    )


def _no_snapshot(context: Context, *, found: int) -> contract.OperationResult:
    message = f"{_none_eligible(context)}: nothing was restored"
    return report.no_eligible_snapshot(message, found=found)


def restore(context: Context) -> contract.OperationResult:
    """Restore the selected snapshot into ``DATA_DIR``; never create a repository."""
    settings = context.config
    logger.info("=== Starting restore ===")
    chosen, eligible = _choose_snapshot(context)
    if chosen is None:
        return _no_snapshot(context, found=len(eligible))
    logger.info("Selected restic snapshot with id: %s", chosen.id)
    logger.info(
        "Restoring snapshot %s of %s into %s",
        chosen.short_id,
        chosen.time.isoformat(),
        settings.data_dir,
    )
    started = time.monotonic()
    arguments = commands.restore(
        chosen.id, target=settings.data_dir, delete=settings.restore_delete
    )

    def attempt(wait: tuple[str, ...]) -> tuple[failures.Completed, dict[str, Any] | None]:
        stream = progress.JsonStream("restore", interval=settings.progress_interval)
        return context.runner.run((*wait, *arguments), on_line=stream), stream.summary

    completed, summary = _unlocking(context, "restore", attempt)
    if exit_of(completed) is not ResticExit.SUCCESS or summary is None:
        raise failures.failure(completed, action="restore")
    volume.sync_filesystem(settings.data_dir)
    context.restored.append(chosen.id)
    progress.log_restore_summary(summary, seconds=time.monotonic() - started)
    warnings = _shared_warnings(eligible, chosen)
    for warning in warnings:
        logger.warning("%s", warning)
    result = contract.OperationResult(
        operation=contract.Operation.RESTORE,
        outcome=contract.Outcome.SUCCEEDED_WITH_WARNINGS
        if warnings
        else contract.Outcome.SUCCEEDED,
        snapshot_id=chosen.id,
        snapshots_found=len(eligible),
        warnings=warnings,
        message=warnings[0] if warnings else "",
    )
    return _with_notes(context, _with_counters(result, summary))


def unlock(context: Context) -> contract.OperationResult:
    """Remove stale locks (those of dead processes on this host, or older than 30 minutes)."""
    logger.info("=== Starting unlock ===")
    completed = context.runner.run(commands.unlock(), echo=True, quiet=True)
    message = ""
    if exit_of(completed) is ResticExit.REPOSITORY_MISSING:
        message = "the repository does not exist yet: nothing to unlock"
        logger.info("%s", message)
    elif exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action="unlock")
    return contract.OperationResult(
        operation=contract.Operation.UNLOCK, outcome=contract.Outcome.SUCCEEDED, message=message
    )


def prune(context: Context) -> contract.OperationResult:
    """Remove data that no snapshot references any more."""
    logger.info("=== Starting prune ===")
    completed = _run_unlocking(context, "prune", commands.prune())
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action="prune")
    result = contract.OperationResult(
        operation=contract.Operation.PRUNE, outcome=contract.Outcome.SUCCEEDED
    )
    return _with_notes(context, result)


def _damage(summary: Mapping[str, Any]) -> errors.MoverError:
    packs = summary.get("broken_packs") or []
    named = f"; damaged packs: {', '.join(map(str, packs[:5]))}" if packs else ""
    return failures.error(
        contract.ErrorKind.REPOSITORY_DAMAGED,
        f"restic check found {summary.get('num_errors')} errors{named}",
    )


def check(context: Context) -> contract.OperationResult:
    """Check the repository's structure and, if asked, read a subset of its data."""
    logger.info("=== Starting check ===")
    subset = context.config.check_read_data_subset

    def attempt(wait: tuple[str, ...]) -> tuple[failures.Completed, dict[str, Any]]:
        stream = progress.JsonStream("check", interval=context.config.progress_interval)
        arguments = (*wait, *commands.check(read_data_subset=subset))
        completed = context.runner.run(arguments, on_line=stream)
        return completed, stream.summary or {}

    completed, summary = _unlocking(context, "check", attempt)
    if isinstance(summary.get("num_errors"), int) and summary["num_errors"] > 0:
        raise _damage(summary)
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action="check")
    logger.info("no errors were found")
    result = contract.OperationResult(
        operation=contract.Operation.CHECK, outcome=contract.Outcome.SUCCEEDED
    )
    return _with_notes(context, result)


def snapshots(context: Context) -> contract.OperationResult:
    """Print the catalog of the mover's snapshots (host ``volsync``, every source); read-only."""
    entries = _listed(context, selection.catalog)
    logger.info("%d snapshots of host %s in the repository", len(entries), contract.RESTIC_HOST)
    return report.catalog(entries)


def _snapshots_and_catalog(
    text: str,
) -> tuple[list[selection.Snapshot], list[contract.CatalogEntry]]:
    return selection.parse_snapshots(text), selection.catalog(text)


def _chosen(context: Context) -> tuple[selection.Snapshot, contract.CatalogEntry]:
    """Return the snapshot ``PYVOLSYNC_SNAPSHOT`` names, as restic and as the catalog see it."""
    snapshots, entries = _listed(context, _snapshots_and_catalog)
    entry = report.chosen_snapshot(entries, context.config.browsing.snapshot)
    return next(item for item in snapshots if item.id == entry.id), entry


def _retag(
    context: Context, operation: contract.Operation, *, pinning: bool
) -> contract.OperationResult:
    logger.info("=== Starting %s ===", operation)
    snapshot, entry = _chosen(context)
    named = f"snapshot {entry.id[:8]} ({entry.time})"
    if entry.pinned == pinning:
        state = "pinned" if pinning else "not pinned"
        return report.catalog([entry], operation=operation, message=f"{named} was already {state}")
    arguments = commands.pin(entry.id) if pinning else commands.unpin(entry.id)
    completed = _run_unlocking(context, "tag", arguments)
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action=f"{operation} (restic tag)")
    snapshots, entries = _listed(context, _snapshots_and_catalog)
    now = selection.rewritten(snapshots, snapshot)
    if now is None:
        raise failures.error(
            contract.ErrorKind.RESTIC_FAILED, f"{named} could not be found after restic tag"
        )
    changed = next(item for item in entries if item.id == now.id)
    done = "pinned: retention keeps it" if pinning else "unpinned: retention may remove it"
    message = f"{named} {done}; restic wrote it anew as {now.id[:8]}"
    return _with_notes(context, report.catalog([changed], operation=operation, message=message))


def pin(context: Context) -> contract.OperationResult:
    """Pin the snapshot ``PYVOLSYNC_SNAPSHOT`` names, so that retention never removes it."""
    return _retag(context, contract.Operation.PIN, pinning=True)


def unpin(context: Context) -> contract.OperationResult:
    """Remove the pin of the snapshot ``PYVOLSYNC_SNAPSHOT`` names."""
    return _retag(context, contract.Operation.UNPIN, pinning=False)


def forget_one(context: Context) -> contract.OperationResult:
    """Forget the one snapshot ``PYVOLSYNC_SNAPSHOT`` names, unless it is pinned."""
    logger.info("=== Starting forget of one snapshot ===")
    _, entry = _chosen(context)
    report.refuse_pinned(entry)
    completed = _run_unlocking(context, "forget", commands.forget_snapshot(entry.id))
    if exit_of(completed) is not ResticExit.SUCCESS:
        raise failures.failure(completed, action="forget")
    message = f"snapshot {entry.id[:8]} ({entry.time}) was forgotten; the next prune frees its data"
    result = report.catalog([entry], operation=contract.Operation.FORGET, message=message)
    return _with_notes(context, result)


def _to_verify(
    context: Context,
) -> tuple[contract.CatalogEntry | None, list[contract.CatalogEntry]]:
    """Return the snapshot ``verify`` checks (``verify.chosen``), among the ones a restore may
    choose, and those."""
    snapshots, entries = _listed(context, _snapshots_and_catalog)
    settings = context.config
    eligible = selection.eligible(snapshots, data_dir=settings.data_dir)
    selected = selection.select(
        eligible,
        data_dir=settings.data_dir,
        as_of=settings.restore_as_of,
        previous=settings.select_previous,
    )
    identifiers = {snapshot.id for snapshot in eligible}
    candidates = [entry for entry in entries if entry.id in identifiers]
    entry = verify.chosen(
        candidates,
        restored=context.restored,
        named=settings.browsing.snapshot,
        selected=selected.id if selected else "",
    )
    return entry, candidates


def verify_restore(context: Context) -> contract.OperationResult:
    """Check ``DATA_DIR`` against the snapshot restored (``pyvolsync.inpod.verify``): its
    summary's counts, and a sample of files read back with ``restic dump``."""
    logger.info("=== Starting verify ===")
    entry, candidates = _to_verify(context)
    if entry is None:
        raise verify.nothing_to_verify(_none_eligible(context))
    browser = browsing.ResticBrowser(runner=context.runner, listed=lambda: candidates)
    return verify.against_snapshot(
        data_dir=context.config.data_dir,
        snapshot=entry,
        record=guard.Figures.of(entry),
        reader=verify.reader_of(browser, entry),
        wanted=context.config.browsing,
    )


def _browser(context: Context) -> browsing.ResticBrowser:
    settings = context.config
    return browsing.ResticBrowser(
        runner=context.runner,
        listed=lambda: selection.of_source(
            _listed(context, selection.catalog), data_dir=settings.data_dir, source=settings.source
        ),
    )


Operation = Callable[[Context], contract.OperationResult]


def _browsing(operation: contract.Operation) -> Operation:
    """Return the browsing ``operation`` (``pyvolsync.inpod.browse``) with restic's browser."""
    run = browse.BROWSING[operation]
    return lambda context: run(_browser(context), context.config.browsing)


OPERATIONS: dict[contract.Operation, Operation] = {
    contract.Operation.UNLOCK: unlock,
    contract.Operation.BACKUP: backup,
    contract.Operation.PRUNE: prune,
    contract.Operation.RESTORE: restore,
    contract.Operation.VERIFY: verify_restore,
    contract.Operation.CHECK: check,
    contract.Operation.SNAPSHOTS: snapshots,
    contract.Operation.PIN: pin,
    contract.Operation.UNPIN: unpin,
    contract.Operation.FORGET: forget_one,
    **{operation: _browsing(operation) for operation in browse.BROWSING},
    **inplace.operations(_browser),
}
