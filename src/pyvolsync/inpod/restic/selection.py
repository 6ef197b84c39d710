"""Choosing the snapshot to restore, in Python, from ``restic snapshots --json``.

Upstream's script greps ``/data`` out of restic's human table, which also matches other paths and
other hosts, collides on snapshots taken in the same second and restores the *oldest* snapshot
for a negative ``previous``. Here the rule is explicit: snapshots of host ``volsync`` whose only
path is exactly ``DATA_DIR``, newest first (ties broken by ID), the newest at or before
``RESTORE_AS_OF``, then ``SELECT_PREVIOUS`` older than that.

Snapshot times are compared with ``RESTORE_AS_OF`` at whole seconds, as upstream does, so a time
copied from the ``restic snapshots`` table selects that snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime
import json

from pyvolsync import contract
from pyvolsync.inpod.times import parse_rfc3339, utc_seconds


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The fields of a restic snapshot that selection needs."""

    id: str
    time: datetime.datetime
    hostname: str
    paths: tuple[str, ...]
    tags: tuple[str, ...] = ()
    original: str = ""
    """The ID the snapshot had before restic rewrote it (``restic tag``), or ""."""
    parent: str = ""
    """The snapshot restic compared this one with when it took it, or ""."""
    kept: int | None = None
    """How many of the parent's files this one still has (changed or not); None if unknown."""

    @property
    def source(self) -> str:
        """Return ``<namespace>/<name>`` of the ReplicationSource that took it, or ""."""
        for tag in self.tags:
            if tag.startswith(contract.SOURCE_TAG_PREFIX):
                return tag[len(contract.SOURCE_TAG_PREFIX) :]
        return ""

    @property
    def short_id(self) -> str:
        """Return the 8-character ID restic prints."""
        return self.id[:8]


def parse_snapshots(text: str) -> list[Snapshot]:
    """Return the snapshots listed by ``restic snapshots --json``; raise ValueError if malformed."""
    document = json.loads(text or "[]")
    if not isinstance(document, list):
        raise ValueError("restic snapshots --json did not return a list")
    return [
        Snapshot(
            id=str(item["id"]),
            time=parse_rfc3339(str(item["time"])),
            hostname=str(item.get("hostname", "")),
            paths=tuple(item.get("paths") or ()),
            tags=tuple(str(tag) for tag in item.get("tags") or ()),
            original=str(item.get("original") or ""),
            parent=str(item.get("parent") or ""),
            kept=_kept(item.get("summary")),
        )
        for item in document
    ]


def sources(snapshots: list[Snapshot]) -> list[str]:
    """Return the ReplicationSources (``<namespace>/<name>``) that took ``snapshots``, sorted."""
    return sorted({snapshot.source for snapshot in snapshots if snapshot.source})


def eligible(snapshots: list[Snapshot], *, data_dir: str) -> list[Snapshot]:
    """Return the mover's snapshots of exactly ``data_dir``, newest first (ties by ID)."""
    matching = [
        snapshot
        for snapshot in snapshots
        if snapshot.hostname == contract.RESTIC_HOST and snapshot.paths == (data_dir,)
    ]
    return sorted(matching, key=lambda snapshot: (snapshot.time, snapshot.id), reverse=True)


def select(
    snapshots: list[Snapshot],
    *,
    data_dir: str,
    as_of: datetime.datetime | None,
    previous: int,
) -> Snapshot | None:
    """Return the snapshot to restore, or None when no snapshot is eligible."""
    candidates = eligible(snapshots, data_dir=data_dir)
    if as_of is not None:
        candidates = [
            snapshot for snapshot in candidates if snapshot.time.replace(microsecond=0) <= as_of
        ]
    return candidates[previous] if previous < len(candidates) else None


def _counter(summary: object, name: str) -> int | None:
    value = summary.get(name) if isinstance(summary, dict) else None
    return value if isinstance(value, int) else None


def _kept(summary: object) -> int | None:
    changed, unmodified = _counter(summary, "files_changed"), _counter(summary, "files_unmodified")
    return None if changed is None or unmodified is None else changed + unmodified


def catalog(text: str) -> list[contract.CatalogEntry]:
    """Return the catalog of ``restic snapshots --json``; raise ValueError if malformed."""
    document = json.loads(text or "[]")
    if not isinstance(document, list):
        raise ValueError("restic snapshots --json did not return a list")
    entries = []
    taken = sorted(zip(document, parse_snapshots(text), strict=True), key=lambda pair: pair[1].time)
    for item, snapshot in taken:
        summary = item.get("summary")
        entries.append(
            contract.CatalogEntry(
                id=snapshot.id,
                time=utc_seconds(snapshot.time),
                size=_counter(summary, "total_bytes_processed"),
                files=_counter(summary, "total_files_processed"),
                added=_counter(summary, "data_added"),
                tags=snapshot.tags,
                hostname=snapshot.hostname,
                paths=snapshot.paths,
                identity=snapshot.source,
                pinned=contract.PINNED in snapshot.tags,
            )
        )
    return entries


def rewritten(snapshots: list[Snapshot], before: Snapshot) -> Snapshot | None:
    """Return ``before`` as it is now: itself, or the snapshot ``restic tag`` wrote in its place
    (which records the first ID as ``original``); None when it is gone."""
    first = before.original or before.id
    for snapshot in snapshots:
        if snapshot.id == before.id or (snapshot.original or snapshot.id) == first:
            return snapshot
    return None


def of_source(
    entries: list[contract.CatalogEntry], *, data_dir: str, source: str
) -> list[contract.CatalogEntry]:
    """Return the catalog entries retention applies to for ``source`` (its own snapshots and
    untagged ones of host ``volsync`` and path ``data_dir``; every one of them without a
    ``source``)."""
    return [
        entry
        for entry in entries
        if entry.hostname == contract.RESTIC_HOST
        and entry.paths == (data_dir,)
        and (not source or entry.identity in (source, ""))
    ]
