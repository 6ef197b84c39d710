"""The ReplicationSource resource: back up one PersistentVolumeClaim on a trigger.

Field for field the same as upstream's `volsync.backube/v1alpha1` ReplicationSource plus the
perfectra1n/volsync fork's `spec.kopia`, so any manifest written for either parses here. Every
spec field is optional, as theirs are; the effective values (cache size, keep-last 1, prune
interval) come from `defaults`, and what the schema cannot say (valid cron, supported copy
method, one mover, kopia's compression names) is checked by `validation`.
"""

from __future__ import annotations

from typing import Any

import pydantic

from pyvolsync.api import common, kopia, othermovers, resources, wire


class RetainCounts(wire.FrozenWireModel):
    """The per-period counts both engines' retention policies have."""

    hourly: wire.Int32 | None = None
    """Keep the latest snapshot of each of this many hours."""
    daily: wire.Int32 | None = None
    """Keep the latest snapshot of each of this many days."""
    weekly: wire.Int32 | None = None
    """Keep the latest snapshot of each of this many weeks."""
    monthly: wire.Int32 | None = None
    """Keep the latest snapshot of each of this many months."""
    yearly: wire.Int32 | None = None
    """Keep the latest snapshot of each of this many years."""


class ResticRetainPolicy(RetainCounts):
    """Which snapshots `restic forget` keeps after each backup (its --keep-* options)."""

    within: wire.Str | None = None
    """Keep every snapshot this recent relative to the newest one, e.g. 3d or 1y2m3d4h."""
    last: wire.Str | None = None
    """Keep this many most recent snapshots (a number, or "unlimited")."""


class ResticSourceSpec(common.EngineSpecBase):
    """Back up with restic."""

    prune_interval_days: wire.Int32 | None = None
    """Days between `restic prune` runs (default 7)."""
    retain: ResticRetainPolicy | None = None
    """Snapshots to keep; without one only the latest is kept."""
    unlock: wire.Str | None = None
    """Run `restic unlock` once before the next backup each time this value changes."""


class KopiaRetainPolicy(RetainCounts):
    """Which snapshots kopia keeps after each backup (its --keep-* policy)."""

    latest: wire.Int32 | None = None
    """Keep this many most recent snapshots."""


class KopiaActions(wire.FrozenWireModel):
    """Shell commands the mover runs around each snapshot."""

    before_snapshot: wire.Str | None = None
    """Runs before the snapshot; when it fails, no snapshot is taken."""
    after_snapshot: wire.Str | None = None
    """Runs after the snapshot; when it fails, the sync warns."""


class KopiaSourceSpec(kopia.KopiaSpecBase):
    """Back up with kopia."""

    retain: KopiaRetainPolicy | None = None
    """Snapshots to keep; kopia's own defaults apply to what is unset."""
    compression: wire.Str | None = None
    """Kopia compression algorithm for new data, e.g. zstd or s2-default."""
    parallelism: wire.Int32 | None = None
    """Number of parallel upload streams."""
    actions: KopiaActions | None = None
    """Commands to run before and after each snapshot."""
    source_path_override: kopia.AbsolutePath | None = None
    """Path the snapshots are filed under instead of the mover's /data."""


class ReplicationSourceSpec(wire.FrozenWireModel):
    """What to back up, when, and with which mover (exactly one mover section)."""

    source_pvc: wire.Str | None = None
    """The PersistentVolumeClaim to back up, in this namespace."""
    trigger: common.Trigger | None = None
    """When to back up."""
    paused: wire.Bool | None = None
    """Hold the mover: no new transfer starts while true."""
    restic: ResticSourceSpec | None = None
    """Back up with restic (the mover pyvolsync runs)."""
    kopia: KopiaSourceSpec | None = None
    """Back up with kopia (the fork's engine, which pyvolsync runs too)."""
    rsync: othermovers.RsyncSourceSpec | None = None
    """The rsync mover (stored; pyvolsync does not run it)."""
    rsync_tls: othermovers.RsyncTLSSourceSpec | None = None
    """The rsync-TLS mover (stored; pyvolsync does not run it)."""
    rclone: othermovers.RcloneSourceSpec | None = None
    """The rclone mover (stored; pyvolsync does not run it)."""
    syncthing: othermovers.SyncthingSourceSpec | None = None
    """The syncthing mover (stored; pyvolsync does not run it)."""
    external: common.ExternalSpec | None = None
    """Handled by another controller; pyvolsync leaves such objects alone."""

    def mover_sections(self) -> tuple[str, ...]:
        """Return the wire names of the mover sections that are set, in field order."""
        return common.set_sections(
            self, ("restic", "kopia", "rsync", "rsync_tls", "rclone", "syncthing")
        )


class ResticSourceStatus(wire.WireModel):
    """Restic-specific state of a source."""

    last_pruned: wire.Time | None = None
    """When `restic prune` last ran."""
    last_unlocked: wire.Str | None = None
    """The `spec.restic.unlock` value last acted on."""
    last_checked: wire.Time | None = None
    """When `restic check` last found the repository without damage (pyvolsync's addition)."""


class KopiaSourceStatus(kopia.KopiaCacheStatus):
    """Kopia-specific state of a source."""

    last_maintenance: wire.Time | None = None
    """When repository maintenance last ran for this source."""
    next_scheduled_maintenance: wire.Time | None = None
    """When repository maintenance is next due."""
    maintenance_failures: wire.Integer | None = None
    """Maintenance runs that failed in a row."""
    kopia_maintenance: wire.Str | None = None
    """The KopiaMaintenance object that maintains this source's repository."""


class SnapshotCatalog(wire.WireModel):
    """The source's snapshots in its repository after the latest backup's retention (a
    pyvolsync addition): the catalog `pyvolsync snapshots` lists, summed up."""

    count: wire.Int32 | None = None
    """How many snapshots of this source the repository keeps."""
    pinned: wire.Int32 | None = None
    """How many of them are pinned (`pyvolsync pin`): retention never removes those."""
    oldest: wire.Time | None = None
    """When the oldest of them was taken: the furthest back a restore can go."""
    newest: wire.Time | None = None
    """When the newest of them was taken."""


class Anomaly(wire.WireModel):
    """A backup the anomaly guard found suspicious, not yet acknowledged (a pyvolsync addition):
    while it is set, retention and prune are held for the source."""

    snapshot_id: wire.Str | None = None
    """The suspicious snapshot (as the backup saved it)."""
    time: wire.Time | None = None
    """When the backup that took it ended."""
    reason: wire.Str | None = None
    """What the guard found: how many files or bytes are gone, compared with the snapshot before."""
    last_good: wire.Str | None = None
    """The snapshot before it, pinned by the guard so that retention never removes it."""


class Drill(wire.WireModel):
    """The latest restore drill of the source (a pyvolsync addition): its newest snapshot
    restored into a scratch volume and verified (``pyvolsync.dev/drill-*`` annotations)."""

    time: wire.Time | None = None
    """When the latest drill ended."""
    result: wire.Str | None = None
    """``Succeeded`` or ``Failed``."""
    snapshot_id: wire.Str | None = None
    """The snapshot it restored."""
    files: wire.Int64 | None = None
    """Files that came back."""
    bytes: wire.Int64 | None = None
    """Bytes that came back."""
    message: wire.Str | None = None
    """What was verified, or what went wrong."""
    last_manual: wire.Str | None = None
    """The ``pyvolsync.dev/drill-now`` value the latest drill answered."""
    next_time: wire.Time | None = None
    """When the next scheduled drill is due."""


class HookRun(wire.WireModel):
    """One run of an app hook (``pyvolsync.dev/before-backup-*`` or ``after-backup-*``)."""

    start_time: wire.Time | None = None
    """When it started; a run older than the sync's start belongs to an earlier sync."""
    end_time: wire.Time | None = None
    """When it ended (unset while it runs)."""
    result: wire.Str | None = None
    """``Succeeded``, ``Failed`` or ``Skipped`` (no running pod to run it in)."""
    message: wire.Str | None = None
    """What it printed last, or what went wrong."""


class Hooks(wire.WireModel):
    """The app hooks of the latest (or running) sync (a pyvolsync addition)."""

    before_backup: HookRun | None = None
    after_backup: HookRun | None = None


class ReplicationSourceStatus(common.CommonStatus):
    """Observed state of a ReplicationSource."""

    snapshots: SnapshotCatalog | None = None
    """The source's snapshots after the latest backup's retention (a pyvolsync addition)."""
    anomaly: Anomaly | None = None
    """A suspicious backup nobody has acknowledged yet (a pyvolsync addition; `pyvolsync ack`)."""
    drill: Drill | None = None
    """The latest restore drill (a pyvolsync addition)."""
    hooks: Hooks | None = None
    """The app hooks of the latest sync (a pyvolsync addition)."""
    restic: ResticSourceStatus | None = None
    """Restic-specific state."""
    kopia: KopiaSourceStatus | None = None
    """Kopia-specific state."""
    rsync: othermovers.RsyncStatus | None = None
    """Status of the rsync mover (not run by pyvolsync; kept as data)."""
    rsync_tls: othermovers.RsyncTLSSourceStatus | None = None
    """Status of the rsync-TLS mover (not run by pyvolsync; kept as data)."""
    syncthing: othermovers.SyncthingSourceStatus | None = None
    """Status of the syncthing mover (not run by pyvolsync; kept as data)."""


class ReplicationSource(wire.WireModel):
    """Backs up a PersistentVolumeClaim to a restic or kopia repository, scheduled or on demand."""

    api_version: wire.Str = resources.API_VERSION
    """The API version, volsync.backube/v1alpha1."""
    kind: wire.Str = resources.SOURCE_KIND
    """The kind, ReplicationSource."""
    metadata: dict[str, Any] = pydantic.Field(default_factory=dict)
    """Standard object metadata."""
    spec: ReplicationSourceSpec | None = None
    """What to back up and how."""
    status: ReplicationSourceStatus | None = None
    """What the operator observed."""
