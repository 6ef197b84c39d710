"""The ReplicationSource resource: back up one PersistentVolumeClaim on a trigger.

Field for field the same as upstream's `volsync.backube/v1alpha1` ReplicationSource, so any
manifest written for upstream parses here. Every spec field is optional, as upstream's are; the
effective values (cache size, keep-last 1, prune interval) come from `defaults`, and what the
schema cannot say (valid cron, supported copy method, one mover) is checked by `validation`.
"""

from __future__ import annotations

from typing import Any

import pydantic

from pyvolsync.api import common, resources, wire


class ResticRetainPolicy(wire.FrozenWireModel):
    """Which snapshots `restic forget` keeps after each backup (its --keep-* options)."""

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
    rsync: wire.PreservedObject | None = None
    """The rsync mover (accepted as data; pyvolsync does not run it)."""
    rsync_tls: wire.PreservedObject | None = None
    """The rsync-TLS mover (accepted as data; pyvolsync does not run it)."""
    rclone: wire.PreservedObject | None = None
    """The rclone mover (accepted as data; pyvolsync does not run it)."""
    syncthing: wire.PreservedObject | None = None
    """The syncthing mover (accepted as data; pyvolsync does not run it)."""
    external: common.ExternalSpec | None = None
    """Handled by another controller; pyvolsync leaves such objects alone."""

    def mover_sections(self) -> tuple[str, ...]:
        """Return the wire names of the mover sections that are set, in field order."""
        return common.set_sections(self, ("restic", "rsync", "rsync_tls", "rclone", "syncthing"))


class ResticSourceStatus(wire.WireModel):
    """Restic-specific state of a source."""

    last_pruned: wire.Time | None = None
    """When `restic prune` last ran."""
    last_unlocked: wire.Str | None = None
    """The `spec.restic.unlock` value last acted on."""
    last_checked: wire.Time | None = None
    """When `restic check` last found the repository without damage (pyvolsync's addition)."""


class ReplicationSourceStatus(common.CommonStatus):
    """Observed state of a ReplicationSource."""

    restic: ResticSourceStatus | None = None
    """Restic-specific state."""
    syncthing: wire.PreservedObject | None = None
    """Status of the syncthing mover (not run by pyvolsync; kept as data)."""


class ReplicationSource(wire.WireModel):
    """Backs up a PersistentVolumeClaim to a restic repository on a schedule or on demand."""

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
