"""Choosing the kopia snapshot to restore, in Python, from ``kopia snapshot list --json``.

The listing is already one identity's (``user@host:/path``). The rule: newest first (ties by
ID), the newest started at or before ``KOPIA_RESTORE_AS_OF`` (compared as times, whatever the
offset either is written with, at whole seconds as ``kopia snapshot list`` prints them), then
``KOPIA_PREVIOUS`` older than that. The fork compared the times as text, which picks the wrong
snapshot for any offset other than UTC's ``Z``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json

from pyvolsync import contract
from pyvolsync.inpod.times import parse_rfc3339, utc_seconds


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    """The fields of a kopia snapshot manifest that selection needs."""

    id: str
    start_time: datetime.datetime
    source: str
    """``user@host:/path``."""
    files: int = 0
    size: int = 0
    """Bytes of the files in the snapshot."""

    @property
    def short_id(self) -> str:
        """Return the first 8 characters of the ID."""
        return self.id[:8]


def _source(item: dict[str, object]) -> str:
    source = item.get("source")
    if not isinstance(source, dict):
        return ""
    return f"{source.get('userName')}@{source.get('host')}:{source.get('path')}"


def _summary(item: dict[str, object], name: str) -> int:
    root = item.get("rootEntry")
    summary = root.get("summ") if isinstance(root, dict) else None
    value = summary.get(name) if isinstance(summary, dict) else None
    return value if isinstance(value, int) else 0


def parse_snapshots(text: str) -> list[Snapshot]:
    """Return the snapshots of ``kopia snapshot list --json``; raise ValueError if malformed."""
    document = json.loads(text or "[]")
    if not isinstance(document, list):
        raise ValueError("kopia snapshot list --json did not return a list")
    return [
        Snapshot(
            id=str(item["id"]),
            start_time=parse_rfc3339(str(item["startTime"])),
            source=_source(item),
            files=_summary(item, "files"),
            size=_summary(item, "size"),
        )
        for item in document
    ]


def newest_first(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Return ``snapshots`` newest first (same start time: by ID)."""
    return sorted(snapshots, key=lambda snapshot: (snapshot.start_time, snapshot.id), reverse=True)


def select(
    snapshots: list[Snapshot], *, as_of: datetime.datetime | None, previous: int
) -> Snapshot | None:
    """Return the snapshot to restore, or None when none is eligible."""
    candidates = newest_first(snapshots)
    if as_of is not None:
        candidates = [
            snapshot
            for snapshot in candidates
            if snapshot.start_time.replace(microsecond=0) <= as_of
        ]
    return candidates[previous] if previous < len(candidates) else None


def _tags(item: dict[str, object]) -> tuple[str, ...]:
    tags = item.get("tags")
    if not isinstance(tags, dict):
        return ()
    return tuple(f"{key}:{value}" for key, value in sorted(tags.items()))


def catalog(text: str) -> list[contract.CatalogEntry]:
    """Return the catalog of ``kopia snapshot list --json``; raise ValueError if malformed."""
    document = json.loads(text or "[]")
    if not isinstance(document, list):
        raise ValueError("kopia snapshot list --json did not return a list")
    entries = []
    pairs = zip(document, parse_snapshots(text), strict=True)
    for item, snapshot in sorted(pairs, key=lambda pair: pair[1].start_time):
        source = item.get("source") if isinstance(item.get("source"), dict) else {}
        entries.append(
            contract.CatalogEntry(
                id=snapshot.id,
                time=utc_seconds(snapshot.start_time),
                size=snapshot.size,
                files=snapshot.files,
                tags=_tags(item),
                hostname=str(source.get("host", "")),
                paths=(str(source.get("path", "")),),
                identity=snapshot.source,
                pinned=bool(item.get("pins")),
            )
        )
    return entries


@dataclasses.dataclass(frozen=True, kw_only=True)
class Manifest:
    """What pinning needs of a snapshot manifest: its pins, and what a pin leaves unchanged
    (kopia writes a pinned or unpinned snapshot anew, under a new ID)."""

    pins: tuple[str, ...]
    content: tuple[str, str]
    """The start time as kopia wrote it and the root object."""

    @property
    def root(self) -> str:
        """Return the snapshot's root folder object, where browsing starts."""
        return self.content[1]


def manifests(text: str) -> dict[str, Manifest]:
    """Return each snapshot's manifest (by ID) from ``kopia snapshot list --json``."""
    document = json.loads(text or "[]")
    if not isinstance(document, list):
        raise ValueError("kopia snapshot list --json did not return a list")
    found = {}
    for item in document:
        root = item.get("rootEntry") if isinstance(item.get("rootEntry"), dict) else {}
        found[str(item["id"])] = Manifest(
            pins=tuple(str(name) for name in item.get("pins") or ()),
            content=(str(item.get("startTime")), str(root.get("obj"))),
        )
    return found
