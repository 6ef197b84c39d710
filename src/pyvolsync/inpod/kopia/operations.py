"""The kopia operations (backup, restore, verify, maintenance, catalog, pins, browsing), each
returning its result.

Three rules where the fork went wrong: a repository is created only when kopia says there is
none (a backup, never a restore or maintenance, and never after a wrong password or an
unreachable store); retention is set on the same ``user@host:/path`` the snapshots record; and
maintenance never takes ownership from another identity unless ``KOPIA_MAINTENANCE_TAKEOVER``
says so. An empty source and a missing snapshot are explicit outcomes, never a silent success.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pyvolsync import contract
from pyvolsync.inpod import (
    browse,
    errors,
    guard,
    inplace,
    progress,
    report,
    runner,
    verify,
    volume,
)
from pyvolsync.inpod.kopia import backends, browsing, commands, config, failures, selection

logger = logging.getLogger(__name__)

Listed = TypeVar("Listed")

ACTION_TIMEOUT = 300.0
"""Seconds a before- or after-snapshot action may take, as in the fork."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What every operation works with."""

    config: config.KopiaConfig
    backend: backends.Backend
    kopia: failures.Runner
    shell: runner.Runner[runner.StderrReader]
    notes: list[str] = dataclasses.field(default_factory=list)
    restored: list[str] = dataclasses.field(default_factory=list)
    """The IDs of the snapshots this run restored, in order: ``verify`` checks the last."""


def _with_progress(label: str, interval: float) -> Callable[[bool], failures.KopiaStderr]:
    """Return a stderr reader factory that prints kopia's progress as the common line."""
    throttle = progress.Throttle(label, interval=interval)
    return lambda quiet: failures.KopiaStderr(quiet=quiet, on_progress=throttle.offer)


def _create(context: Context, identity: config.Identity) -> None:
    logger.info("No repository at %s yet (kopia: not initialized): creating it",
                contract.KopiaEnvVar.REPOSITORY)  # fmt: skip
    created = context.kopia.run(commands.create(context.backend, context.config, identity),
                                quiet=True)  # fmt: skip
    if created.returncode != 0:
        raise failures.failure(created, action="creating the repository")
    context.notes.append("there was no repository at KOPIA_REPOSITORY: a new one was created")
    owner = context.config.maintenance_owner
    if owner and owner != str(identity):
        handed = context.kopia.run(commands.maintenance_owner(owner), quiet=True)
        if handed.returncode != 0:
            logger.warning("could not make %s the maintenance owner: %s", owner, handed.reason)


def connect(context: Context, identity: config.Identity, *, create: bool) -> None:
    """Connect as ``identity``; create the repository only if ``create`` and kopia says there is
    none. Any failure kopia gives no better name is reported as an unreachable repository."""
    settings = context.config
    arguments = commands.connect(context.backend, settings, identity)
    completed = context.kopia.run(arguments, quiet=True, timeout=settings.probe_timeout or None)
    if completed.returncode == 0:
        logger.info("Connected to the %s repository as %s", context.backend.kind, identity)
        return
    kind = failures.failure_kind(completed)
    if kind is contract.ErrorKind.REPOSITORY_MISSING and create:
        _create(context, identity)
        return
    if kind is contract.ErrorKind.KOPIA_FAILED:
        kind = contract.ErrorKind.REPOSITORY_UNREACHABLE
    raise failures.error(kind, f"connecting to the repository failed: {completed.reason}")


def _action(context: Context, name: str, command: str) -> runner.Completed[runner.StderrReader]:
    logger.info("Running the %s action", name)
    return context.shell.run(
        ("-c", command), cwd=context.config.data_dir, echo=True, timeout=ACTION_TIMEOUT
    )


def _before(context: Context) -> None:
    command = context.config.before_snapshot
    if not command:
        return
    completed = _action(context, "before-snapshot", command)
    if completed.returncode != 0:
        raise failures.error(
            contract.ErrorKind.ACTION_FAILED,
            f"the before-snapshot action failed ({completed.reason}): no snapshot was taken",
        )


def _after(context: Context) -> tuple[str, ...]:
    """Run the after-snapshot action; return a warning if it failed (the snapshot stands)."""
    command = context.config.after_snapshot
    if not command:
        return ()
    completed = _action(context, "after-snapshot", command)
    if completed.returncode == 0:
        return ()
    warning = f"the after-snapshot action failed: {completed.reason}"
    logger.warning("%s", warning)
    return (warning,)


def _number(document: Any, *path: str) -> int:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return int(document) if isinstance(document, int | float) else 0


def _saved(context: Context, completed: failures.Completed) -> contract.OperationResult:
    """Return the backup's result from kopia's manifest (stdout) and its last progress line."""
    try:
        manifest = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise failures.error(
            contract.ErrorKind.KOPIA_FAILED,
            f"kopia snapshot create --json printed no manifest: {completed.stdout[:200]!r}",
        ) from None
    counters = completed.stderr.backup
    failed = _number(manifest, "rootEntry", "summ", "numFailed")
    warnings = (f"{failed} files could not be read and are not in the snapshot",) if failed else ()
    logger.info("snapshot %s saved (%s)", str(manifest.get("id", ""))[:8], context.config.target)
    return contract.OperationResult(
        operation=contract.Operation.BACKUP,
        outcome=contract.Outcome.SUCCEEDED,
        snapshot_id=str(manifest.get("id", "")),
        files_new=counters.files_hashed if counters else 0,
        files_unmodified=counters.files_cached if counters else 0,
        bytes_processed=_number(manifest, "rootEntry", "summ", "size"),
        warnings=warnings,
    )


def _snapshot(context: Context) -> contract.OperationResult:
    settings = context.config
    if volume.is_empty(settings.data_dir):
        return report.source_empty(settings.data_dir)
    connect(context, settings.identity, create=True)
    policy = context.kopia.run(commands.policy(settings), quiet=True)
    if policy.returncode != 0:
        raise failures.failure(policy, action=f"setting the policy of {settings.target}")
    if settings.retention_held:
        logger.warning("Retention is held: %s", settings.retention_held)
    previous = _hold_previous(context)
    logger.info("Creating snapshot of %s as %s", settings.data_dir, settings.target)
    completed = context.kopia.run(
        commands.snapshot(settings),
        cwd=settings.data_dir,
        reader=_with_progress("backup", settings.progress_interval),
    )
    if completed.returncode != 0:
        raise failures.failure(completed, action="kopia snapshot create")
    return _guarded(context, _saved(context, completed), previous)


def _newest(
    context: Context,
) -> tuple[list[contract.CatalogEntry], Manifests, contract.CatalogEntry | None]:
    entries, found = _listed(context, _catalog_and_manifests)
    return entries, found, (entries[-1] if entries else None)


def _hold_previous(context: Context) -> selection.Manifest | None:
    """Pin the identity's newest snapshot for the time of the backup (``GUARD_PIN``), so the
    retention ``snapshot create`` applies cannot remove it before the guard has judged the new
    one; return its manifest (None when the guard is off or there is no snapshot yet)."""
    if context.config.guard is None:
        return None
    _, found, newest = _newest(context)
    if newest is None:
        return None
    manifest = found[newest.id]
    if contract.GUARD_PIN not in manifest.pins:
        _repin(context, newest.id, add=(contract.GUARD_PIN,), remove=())
    return manifest


def _repin(
    context: Context, snapshot_id: str, *, add: tuple[str, ...], remove: tuple[str, ...]
) -> None:
    completed = context.kopia.run(commands.repin(snapshot_id, add=add, remove=remove), quiet=True)
    if completed.returncode != 0:
        raise failures.failure(completed, action="the anomaly guard's pin (kopia snapshot pin)")


def _guarded(
    context: Context, saved: contract.OperationResult, previous: selection.Manifest | None
) -> contract.OperationResult:
    """Return the backup's result as the anomaly guard judges it, comparing its snapshot with
    the one before it: a suspicious one leaves that one pinned (``PINNED``, the last good one);
    otherwise the guard's pin goes."""
    thresholds = context.config.guard
    if thresholds is None or previous is None or not saved.snapshot_id:
        return saved
    entries, found, _ = _newest(context)
    before = next((item for item in entries if found[item.id].content == previous.content), None)
    after = next((item for item in entries if item.id == saved.snapshot_id), None)
    if before is None or after is None:
        logger.info("Anomaly guard: the snapshot before this one is gone; nothing to compare")
        return saved
    figures, now = guard.Figures.of(before), guard.Figures.of(after)
    if figures is None or now is None:
        logger.info("Anomaly guard: snapshot %s records no counts to compare", before.id[:8])
        _release(context, before.id)
        return saved
    reason = guard.verdict(figures, now, deleted=None, guard=thresholds)
    pins = found[before.id].pins
    if not reason:
        logger.info("Anomaly guard: the snapshot looks like the previous one (%s)", before.id[:8])
        _release(context, before.id)
        return saved
    logger.warning("Anomaly guard: snapshot %s is suspicious: %s", saved.snapshot_id[:8], reason)
    added = () if contract.PINNED in pins else (contract.PINNED,)
    _repin(context, before.id, add=added, remove=(contract.GUARD_PIN,))
    last_good = _rewritten(context, found[before.id])
    logger.warning("Pinned the last good snapshot %s (now %s)", before.id[:8], last_good[:8])
    return dataclasses.replace(saved, suspicious=reason, last_good=last_good)


def _release(context: Context, snapshot_id: str) -> None:
    """Remove the guard's pin, then apply the retention the backup could not apply to it."""
    _repin(context, snapshot_id, add=(), remove=(contract.GUARD_PIN,))
    if context.config.retention_held:
        return
    completed = context.kopia.run(commands.expire(context.config), quiet=True)
    if completed.returncode != 0:
        raise failures.failure(completed, action="applying retention (kopia snapshot expire)")


def _rewritten(context: Context, manifest: selection.Manifest) -> str:
    """Return the ID kopia gave the snapshot of ``manifest`` when it wrote it anew (a pin)."""
    entries, found, _ = _newest(context)
    return next((item.id for item in entries if found[item.id].content == manifest.content), "")


def backup(context: Context) -> contract.OperationResult:
    """Run the before action, snapshot ``DATA_DIR`` (creating the repository if kopia says there
    is none), apply retention on the way, then run the after action."""
    logger.info("=== Starting backup ===")
    _before(context)
    try:
        result = _snapshot(context)
    except errors.MoverError:
        _after(context)
        raise
    if result.snapshot_id:
        result = _with_catalog(context, result)
    warnings = (*result.warnings, *_after(context))
    if warnings and result.outcome is contract.Outcome.SUCCEEDED:
        result = dataclasses.replace(
            result,
            outcome=contract.Outcome.SUCCEEDED_WITH_WARNINGS,
            message=warnings[0],
            warnings=warnings,
        )
    return report.with_notes(result, context.notes)


def _with_catalog(context: Context, result: contract.OperationResult) -> contract.OperationResult:
    """Return the backup's result with the summary of the identity's snapshots after retention."""
    return report.with_catalog(result, lambda: _listed(context, selection.catalog))


def _listed(context: Context, parse: Callable[[str], Listed]) -> Listed:
    """Return the identity's snapshots as ``parse`` reads ``kopia snapshot list --json``."""
    settings = context.config
    completed = context.kopia.run(
        commands.snapshots(settings), quiet=True, timeout=settings.probe_timeout or None
    )
    if completed.returncode != 0:
        raise failures.failure(completed, action=f"listing the snapshots of {settings.target}")
    try:
        return parse(completed.stdout)
    except (ValueError, KeyError, TypeError) as error:
        raise failures.error(
            contract.ErrorKind.KOPIA_FAILED,
            f"kopia snapshot list --json was not understood: {error}",
        ) from None


def _none_eligible(context: Context, *, found: int) -> str:
    """Return which snapshot a restore looked for, when there is none."""
    settings = context.config
    as_of = settings.restore_as_of.isoformat() if settings.restore_as_of else "now"
    return (
        f"no snapshot of {settings.target} at or before {as_of} with {settings.previous} older "
        f"ones skipped ({found} snapshots of it in the repository)"
    )


def _no_snapshot(context: Context, *, found: int) -> contract.OperationResult:
    message = (
        f"{_none_eligible(context, found=found)}: nothing was restored and "
        f"{context.config.data_dir} was left as it was"
    )
    return report.no_eligible_snapshot(message, found=found)


def _keep_lost_and_found(data_dir: str) -> Callable[[], None]:
    """Return what puts the volume's ``lost+found`` back if the restore deletes it (kopia's
    ``--delete-extra`` cannot leave an entry out); it comes back empty, with its mode and owner."""
    path = os.path.join(data_dir, volume.LOST_AND_FOUND)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return lambda: None

    def restore() -> None:
        if os.path.isdir(path):
            return
        os.mkdir(path, status.st_mode & 0o7777)
        os.chown(path, status.st_uid, status.st_gid)
        logger.warning("%s was not in the snapshot and was deleted with the extra files; it "
                       "was made again, empty", path)  # fmt: skip

    return restore


def restore(context: Context) -> contract.OperationResult:
    """Restore the selected snapshot of the identity into ``DATA_DIR``; never create anything."""
    settings = context.config
    logger.info("=== Starting restore ===")
    connect(context, settings.identity, create=False)
    found = _listed(context, selection.parse_snapshots)
    logger.info("%d snapshots of %s in the repository", len(found), settings.target)
    chosen = selection.select(found, as_of=settings.restore_as_of, previous=settings.previous)
    if chosen is None:
        return _no_snapshot(context, found=len(found))
    logger.info("Selected kopia snapshot with id: %s", chosen.id)
    logger.info("Restoring snapshot %s of %s into %s", chosen.short_id,
                chosen.start_time.isoformat(), settings.data_dir)  # fmt: skip
    put_back = _keep_lost_and_found(settings.data_dir) if settings.delete_extra else None
    completed = context.kopia.run(
        commands.restore(chosen.id, settings),
        cwd=settings.data_dir,
        reader=_with_progress("restore", settings.progress_interval),
    )
    if completed.returncode != 0:
        raise failures.failure(completed, action="kopia snapshot restore")
    if put_back is not None:
        put_back()
    volume.sync_filesystem(settings.data_dir)
    context.restored.append(chosen.id)
    result = contract.OperationResult(
        operation=contract.Operation.RESTORE,
        outcome=contract.Outcome.SUCCEEDED,
        snapshot_id=chosen.id,
        snapshots_found=len(found),
        files_restored=chosen.files,
        bytes_restored=chosen.size,
    )
    return report.with_notes(result, context.notes)


def _owner(context: Context) -> str:
    completed = context.kopia.run(commands.maintenance_info(), quiet=True)
    if completed.returncode != 0:
        raise failures.failure(completed, action="kopia maintenance info")
    try:
        return str(json.loads(completed.stdout).get("owner", ""))
    except (ValueError, AttributeError):
        raise failures.error(
            contract.ErrorKind.KOPIA_FAILED, "kopia maintenance info --json was not understood"
        ) from None


def _take_over(context: Context, identity: config.Identity, owner: str) -> None:
    """Become the maintenance owner if told to, or if a source writing the repository owns it
    (it created the repository); otherwise fail naming the owner."""
    from_source = owner in context.config.maintenance_takeover_from
    if not context.config.maintenance_takeover and not from_source:
        raise failures.error(
            contract.ErrorKind.MAINTENANCE_NOT_OWNER,
            f"the repository's maintenance is owned by {owner or 'nobody'}, not {identity}: "
            "nothing was run",
        )
    completed = context.kopia.run(commands.maintenance_owner(str(identity)), quiet=True)
    if completed.returncode != 0:
        raise failures.failure(completed, action=f"making {identity} the maintenance owner")
    why = (
        "a ReplicationSource writing the repository, which created it"
        if from_source
        else f"{contract.KopiaEnvVar.MAINTENANCE_TAKEOVER}=true"
    )
    note = f"{identity} took over maintenance from {owner or 'nobody'} ({why})"
    logger.warning("%s", note)
    context.notes.append(note)


def maintenance(context: Context) -> contract.OperationResult:
    """Run full maintenance as the maintenance identity, which must own it (or take it over)."""
    identity = context.config.maintenance_identity
    logger.info("=== Starting maintenance ===")
    connect(context, identity, create=False)
    owner = _owner(context)
    logger.info("Maintenance owner: %s", owner or "none")
    if owner != str(identity):
        _take_over(context, identity, owner)
    started = time.monotonic()
    completed = context.kopia.run(commands.maintenance_run())
    if completed.returncode != 0:
        raise failures.failure(completed, action="kopia maintenance run --full")
    logger.info("Maintenance finished in %s", progress.format_duration(time.monotonic() - started))
    result = contract.OperationResult(
        operation=contract.Operation.MAINTENANCE, outcome=contract.Outcome.SUCCEEDED
    )
    return report.with_notes(result, context.notes)


def snapshots(context: Context) -> contract.OperationResult:
    """Print the catalog of the identity's snapshots; read-only (never creates a repository)."""
    settings = context.config
    connect(context, settings.identity, create=False)
    entries = _listed(context, selection.catalog)
    logger.info("%d snapshots of %s in the repository", len(entries), settings.target)
    return report.catalog(entries)


Manifests = dict[str, selection.Manifest]


def _catalog_and_manifests(text: str) -> tuple[list[contract.CatalogEntry], Manifests]:
    return selection.catalog(text), selection.manifests(text)


def _chosen(context: Context) -> tuple[contract.CatalogEntry, selection.Manifest]:
    """Connect; return the snapshot ``PYVOLSYNC_SNAPSHOT`` names and its manifest."""
    connect(context, context.config.identity, create=False)
    entries, found = _listed(context, _catalog_and_manifests)
    entry = report.chosen_snapshot(entries, context.config.browsing.snapshot)
    return entry, found[entry.id]


def _changed(
    context: Context,
    operation: contract.Operation,
    before: selection.Manifest,
    message: str,
) -> contract.OperationResult:
    """Return the result of a pin or unpin: the snapshot's catalog entry under its new ID."""
    entries, found = _listed(context, _catalog_and_manifests)
    now = [item for item in entries if found[item.id].content == before.content]
    if not now:
        raise failures.error(
            contract.ErrorKind.KOPIA_FAILED, f"the snapshot could not be found after {operation}"
        )
    changed = f"{message}; kopia wrote it anew as {now[0].id[:8]}"
    return report.with_notes(
        report.catalog(now[:1], operation=operation, message=changed), context.notes
    )


def _set_pin(
    context: Context, operation: contract.Operation, *, pinning: bool
) -> contract.OperationResult:
    logger.info("=== Starting %s ===", operation)
    entry, manifest = _chosen(context)
    named = f"snapshot {entry.id[:8]} ({entry.time})"
    if (contract.PINNED in manifest.pins) if pinning else not manifest.pins:
        state = "already pinned" if pinning else "not pinned"
        return report.catalog([entry], operation=operation, message=f"{named} was {state}")
    arguments = commands.pin(entry.id) if pinning else commands.unpin(entry.id, manifest.pins)
    completed = context.kopia.run(arguments, quiet=True)
    if completed.returncode != 0:
        raise failures.failure(completed, action=f"{operation} (kopia snapshot pin)")
    message = (
        f"{named} pinned: retention keeps it"
        if pinning
        else f"{named} unpinned ({', '.join(manifest.pins)}): retention may remove it"
    )
    return _changed(context, operation, manifest, message)


def pin(context: Context) -> contract.OperationResult:
    """Pin the snapshot ``PYVOLSYNC_SNAPSHOT`` names, so that retention never removes it."""
    return _set_pin(context, contract.Operation.PIN, pinning=True)


def unpin(context: Context) -> contract.OperationResult:
    """Remove every pin of the snapshot ``PYVOLSYNC_SNAPSHOT`` names (pyvolsync's and others')."""
    return _set_pin(context, contract.Operation.UNPIN, pinning=False)


def forget_one(context: Context) -> contract.OperationResult:
    """Delete the one snapshot ``PYVOLSYNC_SNAPSHOT`` names, unless it is pinned."""
    logger.info("=== Starting forget of one snapshot ===")
    entry, _ = _chosen(context)
    report.refuse_pinned(entry)
    completed = context.kopia.run(commands.delete(entry.id), quiet=True)
    if completed.returncode != 0:
        raise failures.failure(completed, action="forget (kopia snapshot delete)")
    message = f"snapshot {entry.id[:8]} ({entry.time}) was forgotten; maintenance frees its data"
    result = report.catalog([entry], operation=contract.Operation.FORGET, message=message)
    return report.with_notes(result, context.notes)


def _record(item: dict[str, Any]) -> guard.Figures | None:
    """Return the files and bytes a manifest records for the whole tree: its root's summary
    (``rootEntry.summ``); None when it has none. Not ``stats``: its ``fileCount`` counts only
    the files that snapshot hashed, not those it took unchanged from the one before."""
    root = item.get("rootEntry")
    summary = root.get("summ") if isinstance(root, dict) else None
    if isinstance(summary, dict) and "files" in summary and "size" in summary:
        return guard.Figures(files=_number(summary, "files"), bytes=_number(summary, "size"))
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Listing:
    """``kopia snapshot list --json`` as ``verify`` reads it."""

    snapshots: list[selection.Snapshot]
    entries: list[contract.CatalogEntry]
    roots: dict[str, str]
    records: dict[str, guard.Figures | None]


def _listing(text: str) -> _Listing:
    document = json.loads(text or "[]")
    if not isinstance(document, list):
        raise ValueError("kopia snapshot list --json did not return a list")
    return _Listing(
        snapshots=selection.parse_snapshots(text),
        entries=selection.catalog(text),
        roots={key: item.root for key, item in selection.manifests(text).items()},
        records={str(item["id"]): _record(item) for item in document},
    )


def verify_restore(context: Context) -> contract.OperationResult:
    """Check ``DATA_DIR`` against the snapshot restored (``pyvolsync.inpod.verify``): its
    manifest's counts, and a sample of files read back with ``kopia show``."""
    settings = context.config
    logger.info("=== Starting verify ===")
    connect(context, settings.identity, create=False)
    listing = _listed(context, _listing)
    selected = selection.select(
        listing.snapshots, as_of=settings.restore_as_of, previous=settings.previous
    )
    entry = verify.chosen(
        listing.entries,
        restored=context.restored,
        named=settings.browsing.snapshot,
        selected=selected.id if selected else "",
    )
    if entry is None:
        raise verify.nothing_to_verify(_none_eligible(context, found=len(listing.snapshots)))
    browser = browsing.KopiaBrowser(context.kopia, lambda: (listing.entries, listing.roots))
    browser.catalog()
    return verify.against_snapshot(
        data_dir=settings.data_dir,
        snapshot=entry,
        record=listing.records[entry.id],
        reader=verify.reader_of(browser, entry),
        wanted=settings.browsing,
    )


def _browser(context: Context) -> browsing.KopiaBrowser:
    def listed() -> tuple[list[contract.CatalogEntry], dict[str, str]]:
        connect(context, context.config.identity, create=False)
        entries, found = _listed(context, _catalog_and_manifests)
        return entries, {identifier: item.root for identifier, item in found.items()}

    return browsing.KopiaBrowser(context.kopia, listed)


Operation = Callable[[Context], contract.OperationResult]


def _browsing(operation: contract.Operation) -> Operation:
    """Return the browsing ``operation`` (``pyvolsync.inpod.browse``) with kopia's browser."""
    run = browse.BROWSING[operation]
    return lambda context: run(_browser(context), context.config.browsing)


OPERATIONS: dict[contract.Operation, Operation] = {
    contract.Operation.BACKUP: backup,
    contract.Operation.RESTORE: restore,
    contract.Operation.VERIFY: verify_restore,
    contract.Operation.MAINTENANCE: maintenance,
    contract.Operation.SNAPSHOTS: snapshots,
    contract.Operation.PIN: pin,
    contract.Operation.UNPIN: unpin,
    contract.Operation.FORGET: forget_one,
    **{operation: _browsing(operation) for operation in browse.BROWSING},
    **inplace.operations(_browser),
}
