"""The anomaly guard: is a new snapshot so unlike the previous one that retention must wait?

An app that wipes or encrypts its own data keeps being backed up, and retention then forgets the
good snapshots one by one until none is left. The guard compares each new snapshot with the
previous one of the same source, the one restic itself compared it with: a sharp drop in files
or bytes, an empty snapshot after a non-empty one, or most of the previous files deleted (even
when as many new ones took their place) makes it suspicious. The backup then pins the previous
snapshot and forgets nothing, and the operator holds retention and prune until a person
acknowledges. The baseline moves on with every snapshot, so an accepted change never fires twice.

A drop counts only when it covers at least ``MINIMUM_FILES`` files or ``MINIMUM_BYTES`` bytes: a
small volume whose database folds a 3-file write-ahead log back into one file is not an attack.
This module is engine-neutral: each engine supplies the figures.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from pyvolsync import contract
from pyvolsync.inpod import errors

logger = logging.getLogger(__name__)

MINIMUM_FILES = 10
MINIMUM_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True, kw_only=True)
class Figures:
    """What a snapshot holds."""

    files: int
    bytes: int

    @classmethod
    def of(cls, entry: contract.CatalogEntry) -> Figures | None:
        """Return what a catalog entry says its snapshot holds; None when it does not say."""
        if entry.files is None or entry.size is None:
            return None
        return cls(files=entry.files, bytes=entry.size)


def _reaches(part: int, whole: int, percent: int) -> bool:
    return whole > 0 and part * 100 >= percent * whole


def _share(part: int, whole: int) -> str:
    return f"{part * 100 // whole}%"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def verdict(previous: Figures, new: Figures, *, deleted: int | None, guard: contract.Guard) -> str:
    """Return why ``new`` looks wrong after ``previous`` ("" when it does not).

    ``deleted`` is how many of the previous snapshot's files are not in the new one (None when
    the engine cannot tell).
    """
    if previous.files > 0 and new.files == 0:
        return f"the snapshot is empty; the previous one held {previous.files} files"
    reasons = []
    lost_files = previous.files - new.files
    if lost_files >= MINIMUM_FILES and _reaches(lost_files, previous.files, guard.files_drop):
        share = _share(lost_files, previous.files)
        reasons.append(f"{lost_files} of {previous.files} files are gone ({share})")
    lost_bytes = previous.bytes - new.bytes
    if lost_bytes >= MINIMUM_BYTES and _reaches(lost_bytes, previous.bytes, guard.bytes_drop):
        share = _share(lost_bytes, previous.bytes)
        reasons.append(f"it holds {_size(new.bytes)}, {share} less than {_size(previous.bytes)}")
    if (
        not reasons
        and deleted is not None
        and deleted >= MINIMUM_FILES
        and _reaches(deleted, previous.files, guard.deleted)
    ):
        share = _share(deleted, previous.files)
        reasons.append(
            f"{deleted} of the previous {previous.files} files were deleted or renamed ({share})"
        )
    return "; ".join(reasons)


def from_environ(environ: Mapping[str, str]) -> contract.Guard | None:
    """Return the guard ``PYVOLSYNC_GUARD`` sets (None when unset or empty: no guard)."""
    text = environ.get(contract.EnvVar.GUARD, "").strip()
    if not text:
        return None
    try:
        return contract.Guard.from_text(text)
    except ValueError as error:
        raise errors.ConfigurationError(f"{contract.EnvVar.GUARD}={text!r}: {error}") from None
