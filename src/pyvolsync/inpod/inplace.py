"""Restoring chosen paths into the live volume: ``restore-paths`` and ``remove-paths``.

"I deleted a config file" and "the app broke its database last night" are fixed by putting one
or two paths back, not a whole volume. ``restore-paths`` makes each chosen path of ``DATA_DIR``
exactly what the snapshot holds (a folder's files the snapshot lacks go away) and leaves every
other file alone. It reads through the engine's ``Browser`` (the same tar stream ``download``
uses), so every engine restores paths the same way.

Nothing is touched before every path has been found in the snapshot (a missing one is named
with the closest names). Each path is extracted next to its place under a temporary name and
then swapped in, so a run that fails or is killed while data arrives leaves the old path as it
was; the temporary folders a killed run left are removed by the next run. ``remove-paths``
removes paths (undoing a restore into a volume that was empty: there is no snapshot of it).
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import stat
from collections.abc import Callable
from typing import Protocol, TypeVar

from pyvolsync import contract
from pyvolsync.inpod import browse, errors, folder, settings, times, volume

logger = logging.getLogger(__name__)

WORK_PREFIX = ".pyvolsync-restoring-"
"""The temporary folder next to a path being restored (removed when done, or by the next run)."""


def _checked_paths(wanted: settings.Browsing) -> tuple[str, ...]:
    paths = browse.named_paths(wanted)
    if "/" in paths:
        raise errors.ConfigurationError(
            "restoring / in place would replace the whole volume: name the files and folders, "
            "or restore the volume into a PVC (`pyvolsync restore NAME --to PVC`)"
        )
    return paths


def _entries(
    browser: browse.Browser,
    snapshot: contract.CatalogEntry,
    paths: tuple[str, ...],
    *,
    absent_removed: bool,
) -> list[contract.TreeEntry | str]:
    """Return each path's entry in the snapshot, or the path itself when the snapshot lacks it
    and ``absent_removed``; otherwise raise ConfigurationError naming the missing path."""
    found: list[contract.TreeEntry | str] = []
    for path in paths:
        listed = browser.tree(snapshot, path, recursive=False)
        if listed is not None:
            found.append(browse.entry_of(listed, path))
        elif absent_removed:
            found.append(path)
        else:
            raise browse.not_found(browser, snapshot, path)
    return found


def _remove(target: str) -> None:
    """Remove a file, link or folder (a link to a folder is removed, not followed)."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(target)
    else:
        os.unlink(target)


def _sweep(folder: str) -> None:
    """Remove the temporary folders an earlier, killed run left in ``folder``."""
    with os.scandir(folder) as listed:
        for item in listed:
            if item.name.startswith(WORK_PREFIX) and item.is_dir(follow_symlinks=False):
                shutil.rmtree(item.path)


def _restore_one(
    browser: browse.Browser,
    snapshot: contract.CatalogEntry,
    entry: contract.TreeEntry,
    *,
    data_dir: str,
) -> None:
    target = data_dir + entry.path
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    _sweep(folder)
    work = os.path.join(folder, f"{WORK_PREFIX}{os.getpid()}")
    os.mkdir(work, 0o700)
    extraction = contract.TarExtraction(work, exact=True)
    try:
        browser.stream(snapshot, entry, archive=True, sink=extraction.write)
    finally:
        extraction.close()
    arrived = os.path.join(work, posixpath.basename(entry.path))
    if entry.type == "dir":
        os.makedirs(arrived, exist_ok=True)
    _set_attributes(arrived, entry)
    _remove(target)
    os.rename(arrived, target)
    os.rmdir(work)
    logger.info("%s restored", entry.path)


def _set_attributes(path: str, entry: contract.TreeEntry) -> None:
    """Give the restored path its own mode, time and (as root) owner from the snapshot: restic's
    archive of a folder holds what is in it, not the folder itself."""
    if os.geteuid() == 0:
        os.lchown(path, entry.uid, entry.gid)
    if entry.type != "symlink":
        os.chmod(path, stat.S_IMODE(browse.unix_mode(entry.mode)))
    if entry.mtime:
        seconds = times.parse_rfc3339(entry.mtime).timestamp()
        os.utime(path, (seconds, seconds), follow_symlinks=False)


def restore_paths(
    browser: browse.Browser, wanted: settings.Browsing, *, data_dir: str
) -> contract.OperationResult:
    """Make each chosen path of ``data_dir`` what the chosen snapshot holds (dry run: say so)."""
    paths = _checked_paths(wanted)
    snapshot = browse.chosen(browser.catalog(), wanted)
    found = _entries(browser, snapshot, paths, absent_removed=wanted.absent_removed)
    entries = [item for item in found if isinstance(item, contract.TreeEntry)]
    named = f"snapshot {snapshot.id[:8]} ({snapshot.time})"
    if wanted.dry_run:
        message = f"{len(entries)} paths of {named} can be restored"
        return browse.printed(contract.Operation.RESTORE_PATHS, entries, snapshot, message)
    logger.info("=== Restoring %d paths of %s in place ===", len(found), named)
    for item in found:
        if isinstance(item, str):
            _remove(data_dir + item)
            logger.info("%s removed: %s does not hold it", item, named)
        else:
            _restore_one(browser, snapshot, item, data_dir=data_dir)
    volume.sync_filesystem(data_dir)
    message = f"{len(entries)} paths restored from {named}, {len(found) - len(entries)} removed"
    return browse.printed(contract.Operation.RESTORE_PATHS, entries, snapshot, message)


def remove_paths(wanted: settings.Browsing, *, data_dir: str) -> contract.OperationResult:
    """Remove each chosen path from ``data_dir`` (absent already is fine)."""
    paths = _checked_paths(wanted)
    for path in paths:
        _remove(data_dir + path)
        logger.info("%s removed", path)
    volume.sync_filesystem(data_dir)
    return contract.OperationResult(
        operation=contract.Operation.REMOVE_PATHS,
        outcome=contract.Outcome.SUCCEEDED,
        message=f"{len(paths)} paths removed",
    )


class _Configured(Protocol):
    @property
    def browsing(self) -> settings.Browsing: ...

    @property
    def data_dir(self) -> str: ...


class _Context(Protocol):
    @property
    def config(self) -> _Configured: ...


Context = TypeVar("Context", bound=_Context)


def folder_browser(root: str) -> browse.Browser:
    """Return the browser of a mounted copy of the volume (see ``pyvolsync.inpod.folder``)."""
    return folder.FolderBrowser(root)


def operations(
    browser_of: Callable[[Context], browse.Browser],
) -> dict[contract.Operation, Callable[[Context], contract.OperationResult]]:
    """Return ``restore-paths`` and ``remove-paths`` for an engine whose contexts give its
    ``Browser`` through ``browser_of``."""

    def restoring(context: Context) -> contract.OperationResult:
        found = context.config
        folder = found.browsing.from_folder
        browser = folder_browser(folder) if folder else browser_of(context)
        return restore_paths(browser, found.browsing, data_dir=found.data_dir)

    def removing(context: Context) -> contract.OperationResult:
        return remove_paths(context.config.browsing, data_dir=context.config.data_dir)

    return {contract.Operation.RESTORE_PATHS: restoring, contract.Operation.REMOVE_PATHS: removing}
