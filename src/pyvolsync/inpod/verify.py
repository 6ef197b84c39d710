"""Verifying a restore (``verify``): does ``DATA_DIR`` hold what the snapshot recorded?

A backup nobody has restored is a hope, so a restore drill restores a snapshot into a scratch
volume. But restic and kopia call a restore done once they wrote what they read: that says
nothing of files the volume already held, of a snapshot whose own record disagrees, or of a file
changed since. ``verify`` runs after ``restore`` and checks the tree itself: the count and bytes
of its regular files against the snapshot's record, the SHA-256 of a sample of files against
their content read back from the repository, the paths the user says must exist, and the least
bytes the tree must hold. Every problem found is named in the one-line message, and any problem
fails the operation (``verify-failed``).

Everything here is the same for every engine. An engine supplies the snapshot's record (its
files and bytes; None when it has none) and a reader of one file's content, built by
``reader_of`` from the engine's ``browse.Browser``: the very reading ``cat`` streams through.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import random
import stat
from collections.abc import Callable, Iterable, Sequence

from pyvolsync import contract
from pyvolsync.inpod import browse, errors, guard, progress, report, settings, volume

logger = logging.getLogger(__name__)

Reader = Callable[[str], str | None]
"""Return the SHA-256 (hex) of the content of the file at a path inside the snapshot (``/a/b``);
None when the snapshot holds no such file."""


def _raise(error: OSError) -> None:
    raise error


def tree(data_dir: str) -> dict[str, int]:
    """Return the size of each regular file below ``data_dir`` by its path inside the volume
    (``/a/b``), leaving out the top-level ``lost+found``; raise OSError when a folder cannot be
    read."""
    sizes: dict[str, int] = {}
    left_out = os.path.join(data_dir, volume.LOST_AND_FOUND)
    for folder, folders, names in os.walk(data_dir, onerror=_raise):
        if folder == data_dir:
            folders[:] = [name for name in folders if name != volume.LOST_AND_FOUND]
        for name in names:
            path = os.path.join(folder, name)
            status = os.lstat(path)
            if stat.S_ISREG(status.st_mode) and path != left_out:
                sizes["/" + os.path.relpath(path, data_dir)] = status.st_size
    return sizes


def sample(paths: Iterable[str], count: int, *, seed: str) -> list[str]:
    """Return up to ``count`` of ``paths``, chosen pseudo-randomly from ``seed`` (the snapshot
    ID): the same paths, count and seed always give the same choice. Sorted."""
    ordered = sorted(paths)
    return sorted(random.Random(seed).sample(ordered, min(count, len(ordered))))


def reader_of(browser: browse.Browser, snapshot: contract.CatalogEntry) -> Reader:
    """Return the reader of a file's content in ``snapshot`` through ``browser`` (the engine's
    own reading, as ``cat`` streams a file)."""

    def read(path: str) -> str | None:
        listed = browser.tree(snapshot, path, recursive=False) or ()
        entry = next((item for item in listed if item.path == path), None)
        if entry is None or entry.type != "file":
            return None
        digest = hashlib.sha256()
        browser.stream(snapshot, entry, archive=False, sink=digest.update)
        return digest.hexdigest()

    return read


def chosen(
    entries: Sequence[contract.CatalogEntry],
    *,
    restored: Sequence[str],
    named: str,
    selected: str,
) -> contract.CatalogEntry | None:
    """Return the snapshot to verify among ``entries``: the last one this run ``restored``, else
    the one ``PYVOLSYNC_SNAPSHOT`` names (ConfigurationError when it names none), else
    ``selected``, the one a restore would choose ("" for none). None when there is none."""
    if restored:
        wanted = restored[-1]
    elif named:
        return report.chosen_snapshot(entries, named)
    else:
        wanted = selected
    return next((entry for entry in entries if entry.id == wanted), None)


def nothing_to_verify(reason: str) -> errors.MoverError:
    """Return the failure of a verify that found no snapshot (``reason`` says which was looked
    for)."""
    return errors.PermanentError(
        contract.ErrorKind.VERIFY_FAILED, f"{reason}: there is nothing to verify"
    )


def files(count: int) -> str:
    """Return ``1 file``, ``2 files``."""
    return f"{count} file" if count == 1 else f"{count} files"


def _named(snapshot: contract.CatalogEntry) -> str:
    return f"snapshot {snapshot.id[:8]} ({snapshot.time})"


def count_problems(found: guard.Figures, record: guard.Figures) -> list[str]:
    """Return how the files and bytes found differ from the snapshot's record."""
    problems = []
    if found.files != record.files:
        hint = " (did the volume hold other files before the restore?)"
        problems.append(
            f"the volume holds {files(found.files)} where the snapshot records {record.files}"
            + (hint if found.files > record.files else "")
        )
    if found.bytes != record.bytes:
        problems.append(
            f"the volume's files hold {found.bytes} bytes where the snapshot records {record.bytes}"
        )
    return problems


def missing_paths(data_dir: str, required: Sequence[str]) -> list[str]:
    """Return the problem of the ``required`` paths (``/a/b``) ``data_dir`` lacks, all named."""
    missing = [
        path for path in required if not os.path.lexists(os.path.join(data_dir, path.lstrip("/")))
    ]
    return [f"required paths missing: {', '.join(missing)}"] if missing else []


def too_small(total: int, minimum: int) -> list[str]:
    """Return the problem of a tree holding fewer than ``minimum`` bytes."""
    if total >= minimum:
        return []
    return [
        f"the volume's files hold {progress.format_bytes(total)} ({total} bytes), less than "
        f"{contract.EnvVar.VERIFY_MIN_BYTES}={minimum}"
    ]


def _local_digest(data_dir: str, path: str) -> str:
    with open(os.path.join(data_dir, path.lstrip("/")), "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def content_problems(data_dir: str, paths: Sequence[str], reader: Reader) -> list[str]:
    """Return the sampled ``paths`` whose restored content is not the snapshot's, each named."""
    differing, absent, unreadable = [], [], []
    for path in paths:
        expected = reader(path)
        if expected is None:
            absent.append(path)
            continue
        try:
            actual = _local_digest(data_dir, path)
        except OSError as error:
            unreadable.append(f"{path} ({error.strerror})")
            continue
        if actual != expected:
            differing.append(path)
    named = (
        ("content differs from the snapshot (SHA-256)", differing),
        ("not a file in the snapshot", absent),
        ("could not be read", unreadable),
    )
    return [f"{what}: {', '.join(items)}" for what, items in named if items]


def summary(
    found: guard.Figures, record: guard.Figures | None, sampled: int, wanted: settings.Browsing
) -> str:
    """Return what a verify that passed found, one line (``Transfer.verified``)."""
    size = progress.format_bytes(found.bytes)
    parts = [
        f"{files(found.files)} and {size} as the snapshot records"
        if record is not None
        else f"{files(found.files)} and {size} (the snapshot records no counts)",
        f"{files(sampled)} sampled, each matching the repository"
        if wanted.verify_sample
        else f"no content compared ({contract.EnvVar.VERIFY_SAMPLE}=0)",
    ]
    if wanted.paths:
        parts.append(f"{len(wanted.paths)} required paths present")
    if wanted.verify_min_bytes:
        parts.append(f"at least {progress.format_bytes(wanted.verify_min_bytes)}")
    return "; ".join(parts)


def _walked(data_dir: str) -> dict[str, int]:
    try:
        return tree(data_dir)
    except OSError as error:
        raise errors.PermanentError(
            contract.ErrorKind.VERIFY_FAILED,
            f"{data_dir} could not be read to verify it: {error.filename}: {error.strerror}",
        ) from None


def _no_counts(snapshot: contract.CatalogEntry) -> tuple[str, ...]:
    warning = (
        f"{_named(snapshot)} records no file and byte counts (restic records them since 0.17): "
        "they were not compared"
    )
    logger.warning("%s", warning)
    return (warning,)


def against_snapshot(
    *,
    data_dir: str,
    snapshot: contract.CatalogEntry,
    record: guard.Figures | None,
    reader: Reader,
    wanted: settings.Browsing,
) -> contract.OperationResult:
    """Check ``data_dir`` against ``snapshot`` and its ``record``; return the verify's result,
    failed (``verify-failed``) with every problem named when any is found."""
    logger.info("Verifying %s against %s", data_dir, _named(snapshot))
    sizes = _walked(data_dir)
    found = guard.Figures(files=len(sizes), bytes=sum(sizes.values()))
    logger.info("%s holds %d files, %d bytes", data_dir, found.files, found.bytes)
    sampled = sample(sizes, wanted.verify_sample, seed=snapshot.id)
    logger.info("Comparing the content of %d sampled files with the repository", len(sampled))
    problems = [
        *(count_problems(found, record) if record is not None else []),
        *missing_paths(data_dir, wanted.paths),
        *too_small(found.bytes, wanted.verify_min_bytes),
        *content_problems(data_dir, sampled, reader),
    ]
    result = contract.OperationResult(
        operation=contract.Operation.VERIFY,
        outcome=contract.Outcome.SUCCEEDED,
        snapshot_id=snapshot.id,
        files_restored=found.files,
        bytes_restored=found.bytes,
        files_sampled=len(sampled),
        warnings=_no_counts(snapshot) if record is None else (),
    )
    if problems:
        return _failed(result, f"the restore of {_named(snapshot)} did not verify", problems)
    return _passed(result, snapshot, summary(found, record, len(sampled), wanted))


def _failed(
    result: contract.OperationResult, heading: str, problems: Sequence[str]
) -> contract.OperationResult:
    return dataclasses.replace(
        result,
        outcome=contract.Outcome.FAILED,
        error_kind=contract.ErrorKind.VERIFY_FAILED,
        message=f"{heading}: {'; '.join(problems)}",
    )


def _passed(
    result: contract.OperationResult, snapshot: contract.CatalogEntry, verified: str
) -> contract.OperationResult:
    message = f"{_named(snapshot)} verified: {verified}"
    logger.info("%s", message)
    outcome = (
        contract.Outcome.SUCCEEDED_WITH_WARNINGS if result.warnings else contract.Outcome.SUCCEEDED
    )
    return dataclasses.replace(result, outcome=outcome, verified=verified, message=message)
